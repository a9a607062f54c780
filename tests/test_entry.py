"""The installed command (`python -m paramcalc`, as a user runs it) prints what the click command prints in
tests, and refuses what it should refuse without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("arguments", [
    ["show", "specs/resnet18.yaml", "--format", "json"],
    ["show", "specs/resnet18.yaml", "--format=csv", "--batch", "4"],
    ["show", "specs/vgg16.yaml", "--format", "markdown", "--depth", "1", "--exact"],
    ["show", "--input", "3x299x299", "specs/googlenet.yaml", "--format", "json", "--dtype", "float16"],
    ["show", "specs/resnet18.yaml"],
    ["show", "specs/resnet50.yaml", "--depth", "2", "--metric", "flops", "--exact"],
    ["show", "specs/vgg16.yaml", "--input", "3xHxW", "--at", "224x224,31x64"],
    ["show", "specs/vgg16.yaml", "--input", "3xHxW", "--format", "json", "--at", "224x224"],
])
def test_same_output_as_the_click_command(arguments):
    fast = subprocess.run([sys.executable, "-m", "paramcalc", *arguments], cwd=ROOT, capture_output=True, text=True)
    assert fast.returncode == 0, fast.stderr
    slow = CliRunner().invoke(main, arguments, env={"COLUMNS": None}, catch_exceptions=False)
    assert fast.stdout == slow.output


def test_the_installed_command_prints_torchvision_s_figures():
    # the comparison above is paramcalc against paramcalc; the figures themselves against torchvision's
    import json

    models = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]
    fast = subprocess.run([sys.executable, "-m", "paramcalc", "show", "specs/resnet18.yaml", "--format", "json",
                           "--batch", "4"], cwd=ROOT, capture_output=True, text=True)
    assert fast.returncode == 0, fast.stderr
    totals = json.loads(fast.stdout)["totals"]
    resnet18 = models["resnet18"]
    assert (totals["params"], totals["buffers"]) == (resnet18["params"], resnet18["bn_running_stats"])
    assert totals["macs"] == 4 * resnet18["macs_conv_linear"]
    assert totals["output"] == [4, 1000]
    vgg = subprocess.run([sys.executable, "-m", "paramcalc", "show", "specs/vgg16.yaml", "--input", "3xHxW",
                          "--format", "json", "--at", "224x224"], cwd=ROOT, capture_output=True, text=True)
    assert vgg.returncode == 0, vgg.stderr
    at224 = json.loads(vgg.stdout)["at"][0]["totals"]
    assert (at224["params"], at224["macs"]) == (models["vgg16"]["params"], models["vgg16"]["macs_conv_linear"])


def test_errors_are_the_same_messages(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\ninput: [3, 8, 8]\nlayers: [conv2]\n")
    fast = subprocess.run([sys.executable, "-m", "paramcalc", "show", str(bad), "--format", "json"],
                          capture_output=True, text=True)
    slow = CliRunner().invoke(main, ["show", str(bad), "--format", "json"])
    assert fast.returncode == slow.exit_code == 2
    assert fast.stderr == slow.stderr
    assert fast.stdout == ""


def test_a_terminal_gets_the_same_styles():
    arguments = ["show", "specs/alexnet.yaml", "--depth", "1"]
    env = {"FORCE_COLOR": "1", "NO_COLOR": None, "TERM": "xterm"}
    import os

    fast = subprocess.run([sys.executable, "-m", "paramcalc", *arguments], cwd=ROOT, capture_output=True, text=True,
                          env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "FORCE_COLOR": "1",
                               "TERM": "xterm"}, check=False)
    slow = CliRunner().invoke(main, arguments, env=env, catch_exceptions=False)
    assert fast.stdout == slow.output
    assert "\x1b[1malexnet" in fast.stdout and "\x1b[0m" in fast.stdout


@pytest.mark.parametrize("options", [["--batch", "²"], ["--depth", "³"], ["--input", "3x²x4"],
                                     ["--input", "3xHxW", "--at", "2²x4"], ["--format", "json", "--batch", "²"]])
def test_unusual_digits_are_refused_without_a_traceback(options):
    run = subprocess.run([sys.executable, "-m", "paramcalc", "show", "specs/resnet18.yaml", *options], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "Invalid value" in run.stderr
