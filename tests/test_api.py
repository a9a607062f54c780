"""The Python API: load from a path, text or mapping; analyse at another size; plain data; rich and
Jupyter display; shell completion of layer names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

import paramcalc

ROOT = Path(__file__).resolve().parent.parent
RGB = ROOT / "specs" / "examples" / "rgb_conv.yaml"


def test_sources_and_sizes():
    from_path = paramcalc.analyze(RGB)
    from_text = paramcalc.analyze(RGB.read_text())
    from_dict = paramcalc.analyze({"name": "rgb_conv", "input": [3, 32, 32],
                                   "layers": [{"name": "conv", "conv2d": {"out": 4, "kernel": 3, "padding": 1}}]})
    assert from_path.totals == from_text.totals == from_dict.totals
    bigger = paramcalc.analyze(RGB, input_shape=(3, 64, 64), batch=2)
    assert bigger.totals.macs == 2 * 4 * 64 * 64 * 27 and bigger.totals.params == 112


def test_plain_data_is_the_json_report():
    result = paramcalc.analyze(RGB)
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["totals"]["params"] == 112 and data["layers"][0]["name"] == "conv"
    assert result["conv"]._asdict()["params"] == 112


def test_renders_in_rich_and_jupyter():
    result = paramcalc.analyze(RGB)
    console = Console(record=True, width=120, file=open(os.devnull, "w"))
    console.print(result)
    text = console.export_text()
    assert "conv2d" in text and "Params           112" in text
    html = result._repr_html_()
    assert html.startswith("<pre") and "rgb_conv" in html and "conv2d" in html


def test_shell_completion_of_layer_names():
    env = {**os.environ, "COMP_WORDS": "paramcalc explain specs/resnet18.yaml layer2.0.c", "COMP_CWORD": "3",
           "_PARAMCALC_COMPLETE": "bash_complete"}
    out = subprocess.run([sys.executable, "-m", "paramcalc"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["plain,layer2.0.conv1", "plain,layer2.0.conv2"]
