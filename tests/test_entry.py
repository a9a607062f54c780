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
