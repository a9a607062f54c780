"""The README documents what the code does: set-up commands first, every layer kind with its formula."""

from __future__ import annotations

from pathlib import Path

from paramcalc.layers import REGISTRY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


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
