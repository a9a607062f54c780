"""The Python API: load from a path, text or mapping; analyse at another size; plain data; rich and
Jupyter display; shell completion of layer names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    # by hand: 4 filters of 3·3·3 weights + 4 biases; 4·32·32 positions (padding 1 keeps 32x32) of 27 MACs
    assert (from_path.totals.params, from_path.totals.macs) == (4 * 3 * 3 * 3 + 4, 4 * 32 * 32 * 27)
    assert from_path.totals.flops == 2 * 4 * 32 * 32 * 27 + 4 * 32 * 32  # 2 per MAC + the bias per output
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


def test_a_sweep_over_input_sizes_stays_bounded_and_exact():
    # a Cache keeps a spec's last results and each layer object's figures for recent input shapes; after a
    # sweep past both limits the memory is bounded and the figures at 224 are still torchvision's. The limits
    # are the documented ones (docs/api.md: "its last 16 results", "its last 64 input shapes"), not the
    # engine's constants, so a limit changed (or lost) in the engine fails here
    from paramcalc.engine.graph import expand

    RESULTS_KEPT, FIGURES_KEPT = 16, 64

    reference = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]["resnet18"]
    fields = json.loads((ROOT / "tests/data/receptive_fields.json").read_text())["measured_torchvision"]
    spec = paramcalc.load_spec(ROOT / "specs" / "resnet18.yaml")
    cache = paramcalc.Cache()
    first = paramcalc.analyze(spec, cache=cache)
    for size in range(97, 97 + 32 * (FIGURES_KEPT + 2), 32):  # every map of every size differs from the others
        paramcalc.analyze(spec, input_shape=(3, size, size), cache=cache)
    layers = {id(node.layer): node.layer for node in expand(spec, cache=cache).nodes if node.layer is not None}
    assert max(len(cache.figures(layer)) for layer in layers.values()) <= FIGURES_KEPT
    assert len(cache.of_spec(spec).results) == RESULTS_KEPT
    again = paramcalc.analyze(spec, input_shape=(3, 224, 224), batch=1, cache=cache)
    assert again is not first  # worked out again: the first result was let go
    assert (again.totals.params, again.totals.buffers, again.totals.macs) == (
        reference["params"], reference["bn_running_stats"], reference["macs_conv_linear"])
    assert again["layer4"].rf.size == (fields["resnet18/layer4"]["rf"],) * 2
    assert paramcalc.analyze(spec, input_shape=(3, 224, 224), batch=1, cache=cache) is again
    assert paramcalc.analyze(spec, input_shape=(3, 224, 224), batch=1) is not again  # no cache, nothing kept


def test_a_symbolic_graph_reports_its_conditions_at_every_analysis():
    # figures of symbolic sizes are not kept on the layer objects, so a second analysis of the same graph
    # finds the conditions again (VGG's five 2x2 pools need 32 pixels)
    from paramcalc.engine.graph import expand

    graph = expand(paramcalc.load_spec(ROOT / "specs" / "vgg16.yaml"), input_shape=(3, "H", "W"))
    for _ in range(2):
        assert [str(c) for c, _ in paramcalc.analyze(graph).conditions] == ["H >= 32", "W >= 32"]


@pytest.mark.parametrize("options, says", [
    ({"input_shape": (2, 2**40, 3)}, "each input size must be a whole number from 1 to 1,000,000,000"),
    ({"input_shape": (3, 0, 8)}, "each input size must be a whole number from 1 to 1,000,000,000"),
    ({"batch": 0}, "the batch must be a whole number from 1 to 1,000,000,000, got 0"),
    ({"batch": True}, "the batch must be a whole number from 1 to 1,000,000,000, got True"),
])
def test_sizes_given_in_python_are_held_to_the_spec_s_bounds(options, says):
    with pytest.raises(paramcalc.SpecError, match=says):
        paramcalc.analyze("name: t\ninput: [3, 8, 8]\nlayers: [relu]\n", **options)


def test_an_input_that_is_not_a_shape_is_shown_short():
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze("name: t\ninput: [3, 8, 8]\nlayers: [relu]\n", input="9" * 5000 + "x3")
    assert "is not a shape like 3x224x224" in str(caught.value) and len(str(caught.value)) < 300
