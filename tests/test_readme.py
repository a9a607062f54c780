"""The README documents what the code does: set-up commands first, every layer kind with its formula."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcalc.cli import main
from paramcalc.engine.layers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_setup_commands_on_the_first_screen():
    first_screen = "\n".join(README.splitlines()[:20])
    assert "pip install . && paramcalc show specs/vgg16.yaml" in first_screen
    assert "pip install -e '.[test]' && python -m pytest" in first_screen


def test_every_layer_kind_and_formula_is_in_the_table():
    for name, kind in REGISTRY.items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, name
        assert kind.flops_formula in row, name
        for field in kind.fields:
            assert f"`{field.name}`" in row, (name, field.name)


def _pasted(command: str) -> list[str]:
    """The output the README shows under '$ <command>'."""
    lines = README.splitlines()
    start = lines.index(f"$ {command}") + 1
    end = lines.index("```", start)
    return lines[start:end]


@pytest.mark.parametrize("command", [
    "paramcalc show specs/vgg16.yaml",
    "paramcalc show specs/examples/inception_reduced.yaml",
    "paramcalc show specs/resnet50.yaml --depth 2",
    "paramcalc explain specs/vgg16.yaml features.conv2_1",
    "paramcalc layers",
    "paramcalc show specs/examples/stack_3x3.yaml --format json",
    "paramcalc compare specs/examples/stack_3x3.yaml specs/examples/conv_5x5.yaml",
    "paramcalc compare specs/examples/inception_naive.yaml specs/examples/inception_reduced.yaml --layers",
    "paramcalc check specs/resnet50.yaml specs/vgg16.yaml --max-params 100M",
    "paramcalc check specs/resnet50.yaml specs/vgg16.yaml --max-params 100M --format github",
])
def test_pasted_output_is_real(command, monkeypatch):
    pasted = _pasted(command)
    monkeypatch.chdir(ROOT)
    actual = CliRunner().invoke(main, command.split()[1:], env={"COLUMNS": None}).output.splitlines()
    if "..." in pasted:  # abridged: the first and last lines as printed
        cut = pasted.index("...")
        assert pasted[:cut] == actual[:cut]
        assert pasted[cut + 1:] == actual[len(actual) - (len(pasted) - cut - 1):]
    else:
        assert pasted == actual
