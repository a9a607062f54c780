"""The spec format: numbers, variables and expressions, blocks, repeats, names, branches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import paramcalc
from paramcalc import SpecError

from .helpers import analyse, last


@pytest.mark.parametrize("literal, value", [
    ("64", 64), ("1e3", 1000), ("2.5k", 2500), ("25M", 25_000_000), ("1.5M", 1_500_000), ("0.001G", 1_000_000),
    ("0x40", 64), ("1_000", 1000), ("1.0e+3", 1000), ("'1e2 * 10'", 1000),
])
def test_number_literals_are_exact(literal, value):
    assert last("[8]", f"- linear: {literal}").shape == (value,)


def test_variables_and_expressions():
    r = last("[3, 8, 8]", """
        - conv2d: {out: "width * 2", kernel: "k"}
        """, extra="vars:\n  base: 16\n  width: base * 2\n  k: max(1, 7 // 2)\n")
    assert r.shape == (64, 6, 6)


def test_make_divisible_as_torchvision():
    # torchvision's _make_divisible(32 * 0.75, 8) = 24; (10, 8) -> 16 because rounding down to 8 loses > 10%
    assert last("[8]", "- linear: make_divisible(32 * 0.75, 8)").shape == (24,)
    assert last("[8]", "- linear: make_divisible(10, 8)").shape == (16,)


def test_input_as_text_and_batch_and_dtype():
    result = paramcalc.analyze("name: t\ninput: 3x32x32\nbatch: 4\ndtype: float16\nlayers: [relu]\n")
    assert result.input_shape == (3, 32, 32)
    assert result.batch == 4
    assert result.totals.activation_bytes == 4 * 3 * 32 * 32 * 2


def test_overrides_win_over_the_spec():
    result = paramcalc.analyze("name: t\ninput: [3, 32, 32]\nlayers: [relu]\n", input_shape=(3, 64, 64), batch=2)
    assert result.totals.output_shape == (3, 64, 64)
    assert result.batch == 2


BLOCKS = """\
blocks:
  unit:
    args: {out: ~, stride: 1}
    layers:
      - {name: conv, conv2d: {out: out, kernel: 3, stride: stride, padding: 1, bias: false}}
      - {name: bn, batchnorm}
"""


def test_block_repeat_names_and_index():
    result = analyse("[3, 32, 32]", """
        - {name: stage, repeat: 3, unit: {out: 8, stride: "2 if index == 0 else 1"}}
        """, extra=BLOCKS)
    names = [r.name for r in result.records]
    assert names == ["stage", "stage.0", "stage.0.conv", "stage.0.bn", "stage.1", "stage.1.conv", "stage.1.bn",
                     "stage.2", "stage.2.conv", "stage.2.bn"]
    assert result["stage.0"].shape == (8, 16, 16)
    assert result["stage.2"].shape == (8, 16, 16)
    assert result["stage.1.conv"].params == 3 * 3 * 8 * 8
    assert result["stage"].params == 3 * 3 * 3 * 8 + 2 * 3 * 3 * 8 * 8 + 3 * 2 * 8  # a group sums its layers
    assert result["stage.0"].depth == 1 and result["stage.0.conv"].depth == 2


def test_branches_dotted_references_and_output():
    result = analyse("[3, 32, 32]", """
        - {name: stage, repeat: 2, unit: {out: 8}}
        - {name: side, from: stage.0.conv, relu}
        - {name: head, from: input, conv2d: {out: 1, kernel: 1}}
        """, extra=BLOCKS + "output: side\n")
    assert result["side"].inputs == ("stage.0.conv",)
    assert result.totals.output_shape == (8, 32, 32)
    assert result["head"].params == 3 + 1  # layers off the output path still count


def test_if_false_leaves_the_layer_out_and_its_name_passes_the_input_on():
    text = """
        - {name: a, conv2d: {out: 3, kernel: 1}}
        - {name: maybe, if: use, conv2d: {out: 3, kernel: 1}}
        - {name: sum, add, from: [a, maybe]}
        """
    kept = analyse("[3, 4, 4]", text, extra="vars: {use: true}\n")
    dropped = analyse("[3, 4, 4]", text, extra="vars: {use: false}\n")
    assert kept["sum"].inputs == ("a", "maybe")
    assert dropped["sum"].inputs == ("a", "a")
    assert [r.name for r in dropped.records] == ["a", "sum"]


def test_frozen_parameters_are_not_trainable():
    result = analyse("[3, 8, 8]", """
        - {name: backbone, frozen: true, layers: [{conv2d: {out: 4, kernel: 3}}, batchnorm]}
        - flatten
        - linear: 10
        """)
    assert result.totals.params == (3 * 9 * 4 + 4) + 2 * 4 + (4 * 6 * 6 * 10 + 10)
    assert result.totals.trainable == 4 * 6 * 6 * 10 + 10
    assert result.totals.frozen == 3 * 9 * 4 + 4 + 2 * 4


def test_freezing_a_group_freezes_repeats_and_blocks_inside_it():
    result = analyse("[3, 8, 8]", """
        - {name: backbone, frozen: true, layers: [{name: stage, repeat: 2, unit: {out: 4}}]}
        - {name: head, conv2d: {out: 2, kernel: 1}}
        """, extra=BLOCKS)
    assert result.totals.trainable == 4 * 2 + 2
    assert result.totals.frozen == (3 * 9 * 4 + 2 * 4) + (4 * 9 * 4 + 2 * 4)


def test_spec_from_a_mapping():
    result = paramcalc.analyze({"name": "t", "input": [3, 8, 8], "layers": [{"conv2d": {"out": 2, "kernel": 3}}]})
    assert result.totals.params == 2 * 27 + 2


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "().__class__", "(lambda: 1)()", "[1][0]", "open('x')", "2 ** 1000",
])
def test_expressions_cannot_run_code(expression):
    with pytest.raises(SpecError):
        last("[8]", f'- linear: "{expression}"')


def test_yaml_tags_are_refused():
    with pytest.raises(SpecError, match="tag"):
        paramcalc.analyze("name: t\ninput: !!python/object/apply:os.system ['true']\nlayers: [relu]\n")


@pytest.mark.parametrize("expression, value", [
    ("2 if index == 0 else 1", 2), ("-3 ** 2", -9), ("2 ** -1 * 4", 2), ("(64 + 6 * 32) // 2", 128),
    ("1 < 2 < 3", True), ("max(1, 7 // 2)", 3), ("make_divisible(10, 8, min_value=4)", 16),
    ("not index and 5", 5), ("10 % 4", 2), ("1.5k", 1500), ("0.1 + 0.2 == 0.3", True),
    ("+".join(["1"] * 400), 400),  # a long chain is a loop, not deep recursion
])
def test_expression_language(expression, value):
    from paramcalc.spec.expressions import evaluate

    assert evaluate(expression, {"index": 0}) == value


@given(st.integers(-10**12, 10**12), st.integers(0, 6), st.integers(-8, 8),
       st.sampled_from(["", "k", "M", "G"]))
def test_decimal_literals_are_read_exactly(mantissa, decimals, exponent, suffix):
    from fractions import Fraction

    from paramcalc.spec.literals import SI_SUFFIXES, read_number

    digits = f"{abs(mantissa):0{decimals + 1}d}"
    text = ("-" if mantissa < 0 else "") + (digits[:len(digits) - decimals] + "." + digits[len(digits) - decimals:]
                                            if decimals else digits) + (f"e{exponent}" if exponent else "") + suffix
    expected = Fraction(text.rstrip("kMG")) * SI_SUFFIXES.get(suffix, 1)
    value = read_number(text)
    assert value == expected
    assert isinstance(value, int) == (expected.denominator == 1)


def test_names_numbers_a_repeat_s_copies_from_the_first_one():
    spec = ("name: n\ninput: [8, 4, 4]\nlayers:\n"
            "  - {name: block, repeat: 3, names: denselayer1, layers: [{name: conv, conv2d: {out: 8, kernel: 1}}]}\n"
            "  - {name: after, relu, from: block.denselayer2}\n")
    result = paramcalc.analyze(spec)
    assert [r.name for r in result.records][:4] == ["block", "block.denselayer1", "block.denselayer1.conv",
                                                    "block.denselayer2"]
    assert result["block.denselayer3.conv"].params == 8 * 8 + 8
    assert result["after"].inputs == ("block.denselayer2.conv",)  # the copy's output


@pytest.mark.parametrize("layer, message", [
    ("{name: b, names: layer1, relu}", "'names' goes with 'repeat'"),
    ("{name: b, repeat: 2, names: layer, relu}", "names must be the first copy's name, ending in its number"),
    ("{name: b, repeat: 2, names: [a1], relu}", "names must be the first copy's name"),
])
def test_names_refused(layer, message):
    with pytest.raises(paramcalc.SpecError, match=re.escape(message)):
        paramcalc.analyze(f"name: n\ninput: [8, 4, 4]\nlayers:\n  - {layer}\n")


# --- `module`: the class that runs a layer, when a subclass of its kind's standard one -----------------------
def test_module_names_the_class_of_one_layer_and_changes_no_figure():
    from paramcalc.engine.graph import expand
    from paramcalc.engine.specs import as_spec

    head = "name: n\ninput: [3, 4, 8, 8]\nblocks:\n  unit:\n    layers:\n"
    conv = "{name: conv, conv3d: {out: 8, kernel: 3, padding: 1, bias: false}"
    plain = head + f"      - {conv}}}\n      - {{name: bn, batchnorm3d}}\nlayers:\n  - {{name: b, repeat: 2, unit}}\n"
    marked = plain.replace(f"{conv}}}", f"{conv}, module: Conv3DSimple}}")
    assert paramcalc.analyze(marked).totals == paramcalc.analyze(plain).totals
    nodes = {node.name: node for node in expand(as_spec(marked)).nodes}
    assert nodes["b.0.conv"].module == nodes["b.1.conv"].module == "Conv3DSimple"
    assert nodes["b.0.bn"].module == nodes["b"].module == nodes["b.0"].module == ""  # not inherited, nor on groups


@pytest.mark.parametrize("layer, message, hint", [
    ("{conv3d: {out: 8, kernel: 1}, module: 3}", "'module' must be the name of a Python class, got 3",
     "type(module).__name__"),
    ("{conv3d: {out: 8, kernel: 1}, module: true}", "'module' must be the name of a Python class, got true", None),
    ("{conv3d: {out: 8, kernel: 1}, module: [Conv3DSimple]}", "must be the name of a Python class", None),
    ("{conv3d: {out: 8, kernel: 1}, module: torchvision.models.video.resnet.Conv3DSimple}",
     "must be the name of a Python class", "without its module path: module: Conv3DSimple"),
    ("{conv3d: {out: 8, kernel: 1}, module: Conv-3d}", "must be the name of a Python class", None),
    ("{conv3d: {out: 8, kernel: 1}, module: 3DConv}", "must be the name of a Python class", None),
    ("{name: g, module: Conv3DSimple, layers: [relu]}", "an inline group is a group of layers", "inside the group"),
    ("{relu, functional: true, module: ReLU}", "a layer called as a function (functional: true) runs no module",
     None),
    ("{name: g, functional: true, layers: [{relu, module: MyReLU}]}", "a group marked 'functional: true'", None),
])
def test_module_refused(layer, message, hint):
    with pytest.raises(paramcalc.SpecError, match=re.escape(message)) as caught:
        paramcalc.analyze(f"name: n\ninput: [3, 4, 8, 8]\nlayers:\n  - {layer}\n")
    assert caught.value.pos is not None and caught.value.pos.line == 4
    if hint:
        assert hint in (caught.value.hint or "")


def test_module_on_a_block_use_is_refused_with_its_place_and_exit_2(tmp_path):
    from click.testing import CliRunner

    from paramcalc.cli import main

    path = tmp_path / "net.yaml"
    path.write_text("name: n\ninput: [3, 8, 8]\nblocks:\n  unit: {layers: [relu]}\nlayers:\n"
                    "  - {name: u, unit, module: Unit}\n")
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    assert "net.yaml:6:" in result.output and "block 'unit' is a group of layers" in result.output
    assert "Traceback" not in result.output
