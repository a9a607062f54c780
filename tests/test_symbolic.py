"""Symbolic input sizes: every formula, substituted with concrete sizes, equals the concrete analysis.

The concrete analysis is the reference here because it is itself checked against PyTorch and torchvision
(test_zoo, test_torch_properties); the leading-term figures are checked against torchvision's measured MACs,
and the formulas of every spec torchvision measured are evaluated at its input size and compared with
torchvision's figures here too (test_formulas_at_torchvision_s_size_are_torchvision_s_figures), so the
oracle is not only paramcalc's own concrete analysis.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from unittest.mock import patch

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import paramcalc
from paramcalc import limits
from paramcalc.cli import main
from paramcalc.engine.dims import format_shape
from paramcalc.engine.layers import LayerError
from paramcalc.engine.conditions import (
    _residue_condition,
    collecting,
    require_divisible,
    require_equal,
    require_positive,
)
from paramcalc.engine.symbolic import SymbolicSize, evaluate, floor_of, floor_within_sizes, leading_text, symbol

from .networks import network, spec_of

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "specs").rglob("*.yaml"),
                                                     *(ROOT / "tests/data/more_models").glob("*.yaml")])
TORCHVISION = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]
BEYOND = json.loads((ROOT / "tests/data/torchvision_beyond.json").read_text())["models"]
FIELDS = json.loads((ROOT / "tests/data/receptive_fields.json").read_text())
H, W = symbol("H"), symbol("W")


def sized(spec: str, height, width) -> tuple:
    """The spec's own input with its last two sizes (a sequence: its length) replaced."""
    own = paramcalc.analyze(ROOT / spec).input_shape
    return (height,) if len(own) == 1 else (*own[:-2], height, width)


@cache
def symbolic(spec: str) -> paramcalc.Analysis:
    return paramcalc.analyze(ROOT / spec, input_shape=sized(spec, "H", "W"))


def fields_that_depend_on_the_size(spec, shape: tuple) -> frozenset[str] | None:
    """The layers whose receptive field (concrete) covers the whole input, or changes when the input's last
    two sizes grow (doubled, tripled, doubled + 1): the only ones a symbolic result may leave without a field
    (a layer that reads the whole map, an adaptive pool's window). None when no other size works, and nothing
    can be said."""
    def field(rf):  # the map's own size changes with the input anyway
        return None if rf is None else (rf.size, rf.stride, rf.padding, rf.is_global)

    def grown(factor: int, extra: int) -> tuple:
        return (*shape[:-2], factor * shape[-2] + extra, factor * shape[-1] + extra) if len(shape) > 1 \
            else (factor * shape[0] + extra,)

    one = paramcalc.analyze(spec, input_shape=shape)
    found: set[str] = {r.name for r in one.records if r.rf is not None and r.rf.is_global}
    known = False
    for factor, extra in ((2, 0), (3, 0), (2, 1)):
        try:
            other = paramcalc.analyze(spec, input_shape=grown(factor, extra))
        except paramcalc.SpecError:
            continue
        known = True
        found |= {a.name for a, b in zip(one.records, other.records, strict=True) if field(a.rf) != field(b.rf)}
    return frozenset(found) if known else None


@cache
def dependent_fields(spec: str) -> frozenset[str]:
    own = paramcalc.analyze(ROOT / spec).input_shape
    found = fields_that_depend_on_the_size(ROOT / spec, own)
    assert found is not None, spec
    return found


def assert_same_as_concrete(result: paramcalc.Analysis, at: paramcalc.Analysis,
                            concrete: paramcalc.Analysis, dependent: frozenset[str] | None) -> None:
    """`dependent`: the layers whose field depends on the input size (None: unknown, any may be missing)."""
    for ours, reference in zip(at.records, concrete.records, strict=True):
        assert ours._replace(rf=None) == reference._replace(rf=None), ours.name
        if ours.rf is not None:  # a field that does not depend on the size is kept, and exact
            assert ours.rf == reference.rf, ours.name
        elif reference.rf is not None and dependent is not None:  # dropped: only where it depends on the size
            assert ours.name in dependent, f"{ours.name}: the symbolic result lost a size-independent field"
    assert at.totals._replace(rf=None) == concrete.totals._replace(rf=None)
    if at.totals.rf is not None:
        assert at.totals.rf == concrete.totals.rf
    assert at.input_shape == concrete.input_shape


@pytest.mark.parametrize("spec", SPECS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(height=st.one_of(st.integers(1, 80), st.integers(1, 1100)),
       width=st.one_of(st.integers(1, 80), st.integers(1, 1100)))
def test_every_formula_of_every_spec_equals_the_concrete_analysis(spec, height, width):
    result = symbolic(spec)
    values = {"H": height, "W": width}
    valid = all(condition.holds(values) for condition, _ in result.conditions)
    try:
        concrete = paramcalc.analyze(ROOT / spec, input_shape=sized(spec, height, width))
    except paramcalc.SpecError:
        assert not valid, f"the formulas claim {height}x{width} works, but the concrete analysis refuses it"
        return
    assert valid, f"{height}x{width} works, but the conditions {result.conditions} refuse it"
    assert_same_as_concrete(result, result.at(values), concrete, dependent_fields(spec))


def broadcast_a_size(result: paramcalc.Analysis) -> bool:
    """Did an add or mul broadcast a size of 1 against a larger one? Formulas never broadcast a size that
    depends on the input (it is 1 only by accident of a few input sizes): those sizes are not claimed."""
    for record in result.leaves():
        shapes = {result.input_shape if name == "input" else result[name].shape for name in record.inputs}
        if record.kind in ("add", "mul") and len(shapes) > 1:
            return True
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=network, height=st.integers(1, 60), width=st.integers(1, 60))
def test_random_networks_formulas_equal_the_concrete_analysis(net, height, width):
    """Stride, padding (numbers, per side, 'same', 'valid'), dilation, groups, ceil_mode, adaptive pooling,
    residual adds and concats, drawn at random; the conditions admit exactly the sizes that work."""
    spec, channels = spec_of(net), net["input"][0]
    try:
        concrete = paramcalc.analyze(spec, input_shape=(channels, height, width))
    except paramcalc.SpecError:
        concrete = None
    try:
        result = paramcalc.analyze(spec, input_shape=(channels, "H", "W"))
    except paramcalc.SpecError:
        assert concrete is None or broadcast_a_size(concrete)
        return
    values = {"H": height, "W": width}
    valid = all(condition.holds(values) for condition, _ in result.conditions)
    if concrete is None:
        assert not valid, f"the conditions {result.conditions} admit {height}x{width}, which does not work"
        return
    if not valid:
        assert broadcast_a_size(concrete), f"{height}x{width} works, but the conditions refuse it"
        return
    assert_same_as_concrete(result, result.at(values), concrete,
                            fields_that_depend_on_the_size(spec, (channels, height, width)))


def test_resnet50_last_map_is_a_simple_formula():
    result = symbolic("specs/resnet50.yaml")
    assert str(result["layer4"].shape[1]) == "ceil(H/32)"
    assert format_shape(result["layer4"].shape) == "2048 x ceil(H/32) x ceil(W/32)"
    assert result.conditions == ()


def test_leading_term_is_the_cost_per_pixel_measured_by_torchvision():
    # at 224 = 7·32 every ceil(224/2^k) is exact, so torchvision's MACs at 224 are the leading term at
    # 224x224 plus the fully-connected layer's 2048·1000, which does not depend on the size
    result = symbolic("specs/resnet50.yaml")
    per_pixel = (TORCHVISION["resnet50"]["macs_conv_linear"] - 2048 * 1000) // (224 * 224)
    assert (TORCHVISION["resnet50"]["macs_conv_linear"] - 2048 * 1000) % (224 * 224) == 0
    assert leading_text(result.totals.macs) == f"≈ {per_pixel:,}·H·W"
    assert result.at({"H": 224, "W": 224}).totals.macs == TORCHVISION["resnet50"]["macs_conv_linear"]


def test_conditions_say_where_a_network_stops_working():
    # VGG's five 2x2 pools need a 32x32 input; AlexNet needs 63 (torchvision's documented minimum)
    assert [str(c) for c, _ in symbolic("specs/vgg16.yaml").conditions] == ["H >= 32", "W >= 32"]
    assert [layer for _, layer in symbolic("specs/vgg16.yaml").conditions] == ["features.pool5"] * 2
    assert [str(c) for c, _ in symbolic("specs/alexnet.yaml").conditions] == ["H >= 63", "W >= 63"]
    example = symbolic("specs/examples/two_paths_downsample.yaml")
    assert [str(c) for c, _ in example.conditions] == ["H >= 2", "W >= 2", "H divisible by 2", "W divisible by 2"]
    with pytest.raises(ValueError, match="H divisible by 2 does not hold"):
        example.at({"H": 55, "W": 56})


def test_floors_compose_and_normalise():
    # floor((floor((H + 1)/2) + 1)/2) = floor((H + 3)/4) = ceil(H/4)
    assert (floor_of("H", 1, 1, 2) + 1) // 2 == floor_of("H", 1, 3, 4)
    assert str(floor_of("H", 1, 3, 4)) == "ceil(H/4)"
    assert str(floor_of("H", 2, 0, 4)) == "floor(H/2)"  # gcd(2, 4) taken out
    assert floor_of("H", 1, 6, 4) == floor_of("H", 1, 2, 4) + 1
    assert -((-H) // 2) == floor_of("H", 1, 1, 2)  # ceil written as -floor(-x) is the same atom
    assert str(2 * H * W + H * H - 3) == "H^2 + 2·H·W - 3"
    for size in range(-20, 40):
        assert floor_of("H", 3, -5, 7).evaluate({"H": size}) == (3 * size - 5) // 7


def test_equal_only_sometimes_becomes_a_condition_and_never_an_error():
    from paramcalc.engine.conditions import collecting

    with collecting() as found:
        assert require_equal(floor_of("H", 1, 1, 2), H // 2)  # ceil(H/2) = floor(H/2) when H is even
    assert [str(c) for c in found] == ["H divisible by 2"]
    with collecting() as found:
        assert require_equal(floor_of("H", 1, 2, 4), floor_of("H", 1, 3, 4))  # H mod 4 != 1
    assert [str(c) for c in found] == ["H mod 4 in {0, 2, 3}"]
    with collecting() as found:
        assert require_equal(H // 2, H // 3)  # they drift apart, but meet at two small sizes
    assert [str(c) for c in found] == ["H in {1, 3}"]
    assert not require_equal(H, 2 * H)  # never for H >= 1
    with pytest.raises(LayerError, match="cannot work out whether H equals W"):
        require_equal(H, W)


def test_params_that_depend_on_the_input_size_are_a_formula(tmp_path):
    spec = "name: t\ninput: [3, H, W]\nlayers:\n  - conv2d: {out: 4, kernel: 3, stride: 2}\n  - flatten\n" \
           "  - {name: fc, linear: 10}\n"
    result = paramcalc.analyze(spec)
    assert format_shape(result["0"].shape) == "4 x floor((H - 1)/2) x floor((W - 1)/2)"
    # 40·floor((H - 1)/2)·floor((W - 1)/2) + 122, with floor((H - 1)/2) = ceil(H/2) - 1 multiplied out
    assert str(result.totals.params) == "40·ceil(H/2)·ceil(W/2) - 40·ceil(H/2) - 40·ceil(W/2) + 162"
    concrete = paramcalc.analyze(spec, input_shape=(3, 9, 12))
    assert_same_as_concrete(result, result.at({"H": 9, "W": 12}), concrete,
                            fields_that_depend_on_the_size(spec, (3, 9, 12)))
    # by hand at 9x12: the conv's map is floor((9 - 3)/2) + 1 = 4 by floor((12 - 3)/2) + 1 = 5, so fc reads
    # 4·4·5 = 80 features: 3·3·3·4 + 4 = 112 conv parameters, 80·10 + 10 = 810 linear ones
    assert result.at({"H": 9, "W": 12}).totals.params == 112 + 810 == concrete.totals.params
    path = tmp_path / "t.yaml"
    path.write_text(spec)
    out = CliRunner().invoke(main, ["show", str(path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "depends on the input size through fc" in out.output
    assert "Valid for        H >= 3 (0), W >= 3 (0)" in out.output


def test_show_at_several_sizes_equals_torchvision():
    out = CliRunner().invoke(main, ["show", "specs/resnet50.yaml", "--input", "3xHxW", "--at", "224x224,225x300",
                                    "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["symbols"] == ["H", "W"]
    assert data["leading"]["macs"].startswith("≈ ")
    assert data["totals"]["output"] == [1, 1000]
    at224 = data["at"][0]
    assert at224["values"] == {"H": 224, "W": 224}
    assert at224["totals"]["macs"] == TORCHVISION["resnet50"]["macs_conv_linear"]
    assert at224["totals"]["params"] == TORCHVISION["resnet50"]["params"]
    assert data["at"][1]["totals"]["macs"] == resnet50_macs_by_hand(225, 300)


def resnet50_macs_by_hand(height: int, width: int) -> int:
    """ResNet-50's MACs at any size from torchvision's layers at 224: each conv's weights (its parameters: no
    bias) times its output positions, and fc's 2048·1000. The maps: conv1 (7x7, stride 2, padding 3)
    floor((n + 6 - 7)/2) + 1, the max-pool (3x3, stride 2, padding 1) and each stride-2 3x3 conv (padding 1)
    floor((n + 2 - 3)/2) + 1; the 1x1 stride-2 downsample convs give the same floor((n - 1)/2) + 1."""
    def halve(n: int, kernel: int, padding: int) -> int:
        return (n + 2 * padding - kernel) // 2 + 1

    sizes = {}  # each map size at 224 -> its size at height x width
    h, w = halve(height, 7, 3), halve(width, 7, 3)
    for at224 in (112, 56, 28, 14, 7):
        sizes[at224] = (h, w)
        h, w = halve(h, 3, 1), halve(w, 3, 1)
    macs = 0
    for _, kind, shape, params in TORCHVISION["resnet50"]["leaves"]:
        if kind == "Conv2d":
            h, w = sizes[shape[2]]
            macs += params * h * w
        elif kind == "Linear":
            macs += 2048 * 1000
    return macs


def test_resnet50_by_hand_at_224_is_torchvision_s():
    assert resnet50_macs_by_hand(224, 224) == TORCHVISION["resnet50"]["macs_conv_linear"]
    assert (resnet50_macs_by_hand(256, 256), resnet50_macs_by_hand(288, 288)) == (5_340_348_416, 6_758_334_464)  # docs/api.md
    assert symbolic("specs/resnet50.yaml").at({"H": 225, "W": 300}).totals.macs == resnet50_macs_by_hand(225, 300)
    assert symbolic("specs/resnet50.yaml").at({"H": 97, "W": 64}).totals.macs == resnet50_macs_by_hand(97, 64)


REFERENCES = [(f"specs/{name}.yaml", tuple(figures["input"][1:]), figures["params"],
               figures.get("macs_conv_linear", figures.get("macs"))) for name, figures in [*TORCHVISION.items(),
                                                                                         *BEYOND.items()]]


@pytest.mark.parametrize("spec, shape, params, macs", REFERENCES, ids=[r[0] for r in REFERENCES])
def test_formulas_at_torchvision_s_size_are_torchvision_s_figures(spec, shape, params, macs):
    # the concrete oracle of the tests above, and the formulas evaluated, against torchvision's own figures
    result = symbolic(spec)
    values = dict(zip(("H", "W"), shape[-2:]))
    at = result.at(values)
    concrete = paramcalc.analyze(ROOT / spec, input_shape=shape)
    assert (at.totals.params, at.totals.macs) == (concrete.totals.params, concrete.totals.macs) == (params, macs)


@pytest.mark.parametrize("layer, field", [("vgg16/features.pool5", FIELDS["published"]["vgg_16"][-1]),
                                          *[(f"resnet18/layer{i}", FIELDS["measured_torchvision"][f"resnet18/layer{i}"])
                                            for i in range(1, 5)],
                                          ("alexnet/features", FIELDS["measured_torchvision"]["alexnet/features"]),
                                          ("vgg19/features", FIELDS["measured_torchvision"]["vgg19/features"])])
def test_symbolic_receptive_fields_are_the_published_and_measured_ones(layer, field):
    # these fields do not depend on the input size, so a symbolic result has them, exactly
    model, name = layer.split("/")
    rf = symbolic(f"specs/{model}.yaml")[name].rf
    assert rf is not None, layer
    assert rf.size == (field["rf"], field["rf"])
    if "stride" in field:
        assert (rf.stride, rf.padding) == ((field["stride"],) * 2, (field["padding"],) * 2)


def test_only_fields_that_depend_on_the_size_are_left_out():
    # a symbolic result leaves out a field only where the input size changes it (global and adaptive pools
    # and what follows them); VGG-16's convolutions and pools keep theirs
    result = symbolic("specs/vgg16.yaml")
    missing = {r.name for r in result.records if r.rf is None}
    assert missing == {"avgpool", "flatten", "classifier", *(f"classifier.{n}" for n in
                       ("fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"))}
    assert missing == dependent_fields("specs/vgg16.yaml")
    assert all(result[f"features.conv{s}_1"].rf is not None for s in range(1, 6))


def test_show_table_prints_formulas_and_conditions():
    out = CliRunner().invoke(main, ["show", "specs/vgg16.yaml", "--input", "3xHxW", "--at", "224x224,31x64"],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = out.output
    assert "512 x floor(H/32) x floor(W/32)" in text
    assert "Valid for        H >= 32 (features.pool5), W >= 32 (features.pool5)" in text
    assert "not valid: H >= 32 does not hold (layer features.pool5)" in text
    assert "H=224, W=224" in text and "15.47 G" in text  # torchvision: 15,470,264,320 MACs


def test_symbols_in_the_spec_itself(tmp_path):
    path = tmp_path / "any.yaml"
    path.write_text("name: any\nvars: {width: 8}\ninput: [3, S, S]\nlayers:\n"
                    "  - conv2d: {out: width, kernel: 3, padding: 1}\n")
    result = paramcalc.analyze(path)
    assert format_shape(result.totals.output_shape) == "8 x S x S"
    assert str(result.totals.macs) == "216·S^2"
    out = CliRunner().invoke(main, ["show", str(path), "--at", "10,20"])
    assert out.exit_code == 0, out.output
    assert "S=10" in out.output and "21.60 k" in out.output  # 216·100


@pytest.mark.parametrize("arguments, message", [
    (["show", "specs/vgg16.yaml", "--at", "224x224"], "--at evaluates a symbolic input"),
    (["show", "specs/vgg16.yaml", "--input", "3xHxW", "--at", "224"], "gives 1 value(s) for 2 symbol(s) (H, W)"),
    (["compare", "specs/vgg16.yaml", "specs/vgg19.yaml", "--input", "3xHxW"], "compare needs concrete input sizes"),
    (["show", "specs/vgg16.yaml", "--input", "3x31x224"], "larger than the padded input height 1"),
    (["show", "specs/vgg16.yaml", "--input", "3xHxW", "--at", "224x224", "--format", "csv"], "--at has no place"),
    (["show", "specs/examples/two_paths_downsample.yaml", "--input", "64x55x56"], "cannot concatenate"),
])
def test_symbolic_mistakes_are_one_clear_message(arguments, message):
    out = CliRunner().invoke(main, arguments)
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output


def test_budgets_need_numbers_and_point_at_the_input_line(tmp_path):
    path = tmp_path / "any.yaml"
    path.write_text("name: any\ninput: [3, H, W]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n")
    out = CliRunner().invoke(main, ["check", str(path), "--max-params", "1k"])
    assert out.exit_code == 2
    assert f"{path}:2:8: check needs concrete input sizes, but the input is 3 x H x W" in out.output


def test_markdown_and_svg_carry_the_formulas(tmp_path):
    out = CliRunner().invoke(main, ["show", "specs/examples/two_paths_downsample.yaml", "--input", "64xHxW",
                                    "--at", "56x56,55x56", "--format", "markdown"])
    assert out.exit_code == 0, out.output
    assert "| valid for | H >= 2 (pool_path), W >= 2 (pool_path), H divisible by 2 (join), W divisible by 2 (join) |" \
        in out.output
    # 36,864·28·28 MACs at 56x56: 3·3·64 weights for each of 64 filters at each of 28·28 positions
    assert f"| H=56, W=56 | 128x28x28 | 36.93 k | {36_864 * 28 * 28 / 1e6:.2f} M |" in out.output
    assert "| H=55, W=56 | not valid: H divisible by 2 does not hold (layer join) |" in out.output
    svg = tmp_path / "t.svg"
    out = CliRunner().invoke(main, ["show", "specs/resnet50.yaml", "--input", "3xHxW", "--export", str(svg)])
    assert out.exit_code == 0, out.output
    assert "ceil(H/32)" in svg.read_text()


# --- deep chains: formulas stay small, and exact, however many strided layers -----------------------------
def torch_size(n: int, layer: tuple) -> int | None:
    """One axis through one layer, as PyTorch works it out (ATen's conv and pooling_output_shape, written out
    here rather than taken from paramcalc): None where PyTorch refuses the size."""
    kind, kernel, stride, padding, dilation, ceil_mode = layer
    span = dilation * (kernel - 1) + 1
    if kind == "conv2d":
        return (n + 2 * padding - span) // stride + 1 if n + 2 * padding >= span else None
    out = (n + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:  # the last window may not start in the right padding
        out -= 1
    return out if out >= 1 else None


def chain_spec(layers: list[tuple]) -> str:
    lines = ["name: chain", "input: [2, H, W]", "layers:"]
    for kind, kernel, stride, padding, dilation, ceil_mode in layers:
        if kind == "conv2d":
            fields = f"out: 2, kernel: {kernel}, stride: {stride}, padding: {padding}, dilation: {dilation}"
        elif kind == "maxpool":
            fields = f"kernel: {kernel}, stride: {stride}, padding: {padding}, dilation: {dilation}, " \
                     f"ceil_mode: {str(ceil_mode).lower()}"
        else:
            fields = f"kernel: {kernel}, stride: {stride}, padding: {padding}, ceil_mode: {str(ceil_mode).lower()}"
        lines.append(f"  - {kind}: {{{fields}}}")
    return "\n".join(lines) + "\n"


@st.composite
def strided_layer(draw) -> tuple:
    kind = draw(st.sampled_from(["conv2d", "maxpool", "avgpool"]))
    kernel = draw(st.integers(1, 5))
    stride = draw(st.one_of(st.integers(1, 4), st.integers(2, 3), st.sampled_from([7, 1000, 65536, 10**9])))
    if draw(st.integers(0, 9)):  # mostly a layer that keeps at least a pixel (else a chain rarely works at all)
        dilation = draw(st.integers(1, 2)) if kind == "conv2d" else 1
        padding = dilation * (kernel - 1) // 2 + 1 if kind == "conv2d" else kernel // 2
    else:  # one that needs a large enough input
        dilation = draw(st.integers(1, 2)) if kind != "avgpool" else 1
        padding = draw(st.integers(0, 3) if kind == "conv2d" else st.integers(0, kernel // 2))
    return kind, kernel, stride, padding, dilation, kind != "conv2d" and draw(st.booleans())


LARGEST = limits.MAX_SIZE
any_size = st.one_of(st.integers(1, 300), st.integers(1, LARGEST),
                     st.sampled_from([LARGEST, LARGEST - 1, 2**29, 2**29 + 1, LARGEST - 3]))


def divisors_of(value) -> list[int]:
    return [atom[4] for monomial in getattr(value, "terms", {}) for atom in monomial]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(strided_layer(), min_size=12, max_size=60), height=any_size, width=any_size)
def test_deep_chains_formulas_equal_pytorch_s_sizes(layers, height, width):
    """Dozens of strided convolutions and pools: each shape's formula, at any size a spec allows (up to
    MAX_SIZE, where divisors past the input's reach are folded away), is PyTorch's size, and the conditions
    admit exactly the sizes PyTorch takes."""
    spec = chain_spec(layers)
    expected: list[tuple] = []
    h, w = height, width
    for layer in layers:
        h, w = torch_size(h, layer) if h else None, torch_size(w, layer) if w else None
        expected.append((2, h, w))
    works = all(None not in shape for shape in expected)
    try:
        result = paramcalc.analyze(spec)
    except paramcalc.SpecError:  # no size works at all (the concrete side must agree at this one)
        assert not works
        return
    for record in result.records:  # every divisor stays within the input's reach
        assert all(divisor <= LARGEST for size in record.shape for divisor in divisors_of(size)), record.shape
    values = {"H": height, "W": width}
    valid = all(condition.holds(values) for condition, _ in result.conditions)
    assert valid == works, (result.conditions, expected)
    if not works:
        with pytest.raises(paramcalc.SpecError):
            paramcalc.analyze(spec, input_shape=(2, height, width))
        return
    at = result.at(values)
    assert [record.shape for record in at.records] == expected
    concrete = paramcalc.analyze(spec, input_shape=(2, height, width))
    assert [record.shape for record in concrete.records] == expected
    assert_same_as_concrete(result, at, concrete, None)


@given(x=st.integers(-10**6, 10**6), c=st.integers(-10**6, 10**6), e=st.integers(-10**6, 10**6),
       a=st.integers(1, 10**4), b=st.integers(1, 10**4))
def test_nested_floors_and_ceils_fold_into_one(x, c, e, a, b):
    # floor((floor((x + c)/a) + e)/b) = floor((x + c + e·a)/(a·b)), and the same for ceil: what lets a tower
    # of strided layers be one division (paramcalc writes ceil(y/a) as floor((y + a - 1)/a))
    assert ((x + c) // a + e) // b == (x + c + e * a) // (a * b)
    assert -(-(-(-(x + c) // a) + e) // b) == -(-(x + c + e * a) // (a * b))
    folded = (floor_of("H", 1, c, a) + e) // b
    assert isinstance(folded, int) or divisors_of(folded) == [a * b] or a * b > LARGEST
    if 1 <= x <= LARGEST:
        assert evaluate(folded, {"H": x}) == (x + c + e * a) // (a * b)


@given(a=st.integers(-6, 6), b=st.integers(-10**25, 10**25), d=st.integers(1, 10**25), largest=st.integers(1, 60))
def test_a_floor_past_the_input_s_reach_is_a_constant_or_one_step(a, b, d, largest):
    """floor((a·H + b)/d) for 1 <= H <= MAX_SIZE (60 here), by brute force: a constant when the divisor is
    beyond the numerator's reach, else at most one step once d > MAX_SIZE, with the divisor kept at most
    |a|·MAX_SIZE, or the one it had."""
    with patch("paramcalc.engine.symbolic.MAX_SIZE", largest):
        value = floor_within_sizes("H", a, b, d)
    truth = [(a * size + b) // d for size in range(1, largest + 1)]
    assert [evaluate(value, {"H": size}) for size in range(1, largest + 1)] == truth
    if len(set(truth)) == 1:  # a floor past the numerator's reach is folded (a·H + b itself is kept)
        assert isinstance(value, int) or divisors_of(value) == [1]
    assert all(divisor <= max(d, 1) and (divisor <= max(largest, abs(a) * largest) or divisor == d)
               for divisor in divisors_of(value))
    if d > max(largest, abs(a) * largest):
        assert all(divisor <= largest for divisor in divisors_of(value))


@given(modulus=st.integers(1, 30), repeats=st.integers(1, 8), data=st.data())
def test_residue_conditions_take_the_smallest_modulus(modulus, repeats, data):
    residues = data.draw(st.sets(st.integers(0, modulus - 1)))
    with collecting() as found:
        answer = _residue_condition("H", modulus * repeats, lambda r: r % modulus in residues, lambda: "it")
    assert answer == bool(residues)
    for size in range(3 * modulus * repeats):
        assert all(condition.holds({"H": size}) for condition in found) == (size % modulus in residues or not residues)
    if found:  # no smaller modulus describes the same sizes
        (condition,) = found
        smallest = next(m for m in range(1, modulus + 1) if modulus % m == 0 and
                        all((r % m in {s % m for s in residues}) == (r in residues) for r in range(modulus)))
        assert condition.bound[0] == smallest


DEEP = "name: t\ninput: [3, H, W]\nlayers:\n  - {{conv2d: {{{conv}}}, repeat: {repeat}}}\n"


def test_huge_strides_repeated_fold_to_one_pixel():
    # audit: ceil(H/10^9) divided by 10^9 480 times made a 4,320-digit divisor (exit 70 formatting it); every
    # size a spec allows is at most 10^9, so ceil(H/10^9) is 1, and the rest is concrete
    result = paramcalc.analyze(DEEP.format(conv="out: 3, kernel: 1, stride: 1000000000", repeat=480))
    assert all(record.shape == (3, 1, 1) for record in result.records)
    assert result.conditions == () and result.totals.macs == 480 * 9 and result.totals.output_shape == (3, 1, 1)


def test_a_field_on_a_map_that_is_one_pixel_at_every_size_is_kept():
    # by hand: a 3x3 window at stride 10^9, padding 1, leaves floor((H - 1)/10^9) + 1 = 1 pixel for every allowed
    # H, whose field is 3 px; the global pool over that 1x1 map adds nothing, and says every unit sees all the
    # input that reaches it
    result = paramcalc.analyze(DEEP.format(conv="out: 3, kernel: 3, stride: 1000000000, padding: 1", repeat=1)
                               + "  - {global_avgpool}\n")
    assert result.records[-2].shape == (3, 1, 1)
    field = result.totals.rf
    assert (field.size, field.stride, field.padding, field.is_global) == ((3, 3), (10**9, 10**9), (1, 1), True)


def test_a_stride_2_tower_of_10000_layers_keeps_30_terms():
    # audit: 1,000 stride-2 layers took 4.3 s, 10,000 over 90 s (a divisor of 2^10000 in every formula and
    # 10,000 terms summed one by one); ceil(H/2^k) is 1 for every allowed H once 2^k > 10^9, i.e. from k = 30
    result = paramcalc.analyze(DEEP.format(conv="out: 3, kernel: 3, stride: 2, padding: 1", repeat=10000))
    shapes = [record.shape for record in result.records[1:]]
    assert [str(shape[1]) for shape in shapes[:29]] == [f"ceil(H/{2**k})" for k in range(1, 30)]
    assert all(shape == (3, 1, 1) for shape in shapes[29:])
    assert result.conditions == ()
    macs = result.totals.macs
    assert len(macs.terms) == 30  # 29 products ceil(H/2^k)·ceil(W/2^k) and one constant
    for size in (1, 2**29, 2**29 + 1, 999_999_999, LARGEST):  # 3·3·3·3 MACs per output pixel, by hand
        by_hand = sum(81 * (-(-size // 2**k)) ** 2 for k in range(1, 10001))
        assert evaluate(macs, {"H": size, "W": size}) == by_hand


def test_check_refuses_a_symbolic_input_before_analysing_it(tmp_path, monkeypatch):
    from paramcalc.engine import checking

    def no_analysis(*args, **kwargs):
        raise AssertionError("check analysed a spec whose input has names")

    path = tmp_path / "deep.yaml"
    path.write_text(DEEP.format(conv="out: 3, kernel: 3, stride: 2, padding: 1", repeat=10000))
    monkeypatch.setattr(checking, "analyze", no_analysis)
    out = CliRunner().invoke(main, ["check", str(path)])
    assert out.exit_code == 2, out.output
    assert f"{path}:2:8: check needs concrete input sizes, but the input is 3 x H x W" in out.output
    monkeypatch.undo()
    named = tmp_path / "named.yaml"  # a name that is one of the spec's vars is a number
    named.write_text("name: t\nvars: {H: 8}\ninput: [3, H, H]\nlayers:\n  - conv2d: {out: 3, kernel: 3}\n")
    out = CliRunner().invoke(main, ["check", str(named), "--max-params", "1k"])
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize("second, trying", [
    ("maxpool: {kernel: 131072}", "131,072"),  # ceil(H/2^17) = floor(H/2^17) when H mod 2^17 is 0: a period of 2^17
    ("conv2d: {out: 1, kernel: 1, stride: 99989}", "1,000,000,000"),  # ceil(H/99991) = ceil(H/99989) where?
])
def test_a_condition_that_takes_too_many_sizes_is_refused_naming_the_limit(second, trying):
    spec = ("name: t\ninput: [1, H, W]\nlayers:\n  - {name: a, conv2d: {out: 1, kernel: 1, stride: 131072}}\n"
            f"  - {{name: b, from: input, {second}}}\n  - {{name: c, add, from: [a, b]}}\n")
    if "99989" in second:
        spec = spec.replace("131072}}", "99991}}", 1)
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(spec)
    message = str(caught.value)
    assert "layer 'c'" in message and "paramcalc cannot work out whether ceil(H/" in message
    assert f"that takes trying {trying} sizes, more than its limit of {limits.MAX_SYMBOLIC_PERIOD:,}" \
        in message


def test_deciding_formats_no_size_unless_it_refuses(monkeypatch):
    # a message is worded only when there is one to give: formatting a deep formula was the audit's crash
    def no_text(self):
        raise AssertionError("a size was formatted for a message nobody reads")

    monkeypatch.setattr(SymbolicSize, "__str__", no_text)
    with collecting() as found:
        assert require_positive(H // 2 - 3)
        assert require_equal(floor_of("H", 1, 1, 2), H // 2)
        assert require_divisible(3, H + 1)
    monkeypatch.undo()
    assert [str(condition) for condition in found] == ["H >= 8", "H divisible by 2", "H mod 3 in {2}"]


# --- sizes that grow: an upper bound, or a refusal, under PyTorch's largest size ----------------------------
GROWING = "name: t\ninput: [3, H, W]\nlayers:\n  - {{{layer}, repeat: {repeat}}}\n"
LIMIT = f"more than PyTorch's largest ({limits.MAX_TENSOR_SIZE:,})"


def test_a_growing_map_is_valid_up_to_the_largest_size_that_stays_within():
    # 2^40·H <= 2^63 - 1 up to H = 2^23 - 1: said as a condition, the way the concrete analysis refuses 2^23
    result = paramcalc.analyze(GROWING.format(layer="upsample: {scale: 2}", repeat=40))
    assert [(str(condition), layer) for condition, layer in result.conditions] == [
        ("H <= 8,388,607", "0.39"), ("W <= 8,388,607", "0.39")]
    assert result.totals.output_shape == (3, 2**40 * H, 2**40 * W)
    assert result.at({"H": 2**23 - 1, "W": 1}).totals.output_shape == (3, 2**40 * (2**23 - 1), 2**40)
    with pytest.raises(ValueError, match="H <= 8,388,607 does not hold"):
        result.at({"H": 2**23, "W": 1})
    assert paramcalc.analyze(GROWING.format(layer="upsample: {scale: 2}", repeat=40),
                             input="3x8388607x1").totals.output_shape == (3, 2**40 * (2**23 - 1), 2**40)
    with pytest.raises(paramcalc.SpecError, match=r"layer '0\.39': the output size 9,223,372,036,854,775,808 is "):
        paramcalc.analyze(GROWING.format(layer="upsample: {scale: 2}", repeat=40), input="3x8388608x1")
    out = CliRunner().invoke(main, ["show", "-", "--input", "3xHxW"],
                             input=GROWING.format(layer="upsample: {scale: 2}", repeat=40))
    assert out.exit_code == 0, out.output
    assert "Valid for        H <= 8,388,607 (0.39), W <= 8,388,607 (0.39)" in out.output


@pytest.mark.parametrize("layer, repeat", [
    ("upsample: {scale: 2}", 100),  # audit: 2^100·H, "valid for every size"
    ("upsample: {scale: 2}", 10000),  # audit: exit 70 after 11 s
    ("conv_transpose2d: {out: 3, kernel: 2, stride: 2}", 10000),  # audit: exit 70, OverflowError
])
def test_a_map_past_the_largest_size_at_every_input_size_is_refused_at_that_layer(tmp_path, layer, repeat):
    # at H = 1 the 63rd doubling makes 2^63: no input size works, as the concrete analysis finds at each one
    path = tmp_path / "grows.yaml"
    path.write_text(GROWING.format(layer=layer, repeat=repeat))
    out = CliRunner().invoke(main, ["show", str(path), "--input", "3xHxW"])
    assert out.exit_code == 2, out.output
    assert out.output.startswith(f"error: {path}:4:5: layer '0.62': the output size 9,223,372,036,854,775,808·H is "
                                 f"{LIMIT} at every input size: at H = 1 it is 9,223,372,036,854,775,808\n"), \
        out.output
    assert "hint: check what makes it grow" in out.output and out.output.count("error") == 1
    concrete = CliRunner().invoke(main, ["show", str(path), "--input", "3x1x1"])
    assert concrete.exit_code == 2 and "layer '0.62': the output size 9,223,372,036,854,775,808 is " \
        f"{LIMIT}" in concrete.output, concrete.output


def test_a_coefficient_past_the_largest_size_is_never_grown_further():
    # (v - 1)·2 + 1 keeps 1 pixel at H = 1 and makes 2^k·(H - 1) + 1: past k = 63 only H = 1 works, and the
    # map is the constant 1 from there (not a 2^10000 coefficient, which was an exit 70)
    result = paramcalc.analyze(GROWING.format(layer="conv_transpose2d: {out: 3, kernel: 1, stride: 2}", repeat=10000))
    assert [str(condition) for condition, _ in result.conditions] == ["H <= 1", "W <= 1"]
    assert result.totals.output_shape == (3, 1, 1)
    for record in result.leaves():
        assert all(abs(coefficient) <= 2 * limits.MAX_TENSOR_SIZE for size in record.shape
                   for coefficient in getattr(size, "terms", {}).values()), record.name
    assert result["0.61"].shape == (3, 2**62 * H - 2**62 + 1, 2**62 * W - 2**62 + 1)
    assert result["0.62"].shape == (3, 1, 1) and result.conditions[0][1] == "0.62"
    spec = GROWING.format(layer="conv_transpose2d: {out: 3, kernel: 1, stride: 2}", repeat=10000)
    assert result.at({"H": 1, "W": 1}).totals == paramcalc.analyze(spec, input="3x1x1").totals
    with pytest.raises(paramcalc.SpecError, match=r"layer '0\.62'"):
        paramcalc.analyze(spec, input="3x2x1")


def test_a_size_of_several_symbols_past_the_largest_is_a_condition_on_the_size():
    # a flattened 64 x H x W map: 64·H·W values, which no single bound on H or on W describes
    result = paramcalc.analyze("name: t\ninput: [64, H, W]\nlayers:\n  - {name: flat, flatten}\n")
    assert [(str(condition), layer) for condition, layer in result.conditions] == [
        (f"64·H·W <= {limits.MAX_TENSOR_SIZE:,}", "flat")]
    (condition, _), = result.conditions
    for height, width in ((10**9, 144_115_188), (10**9, 144_115_189), (144_115_189, 10**9), (3, 3)):
        assert condition.holds({"H": height, "W": width}) == (64 * height * width <= limits.MAX_TENSOR_SIZE)
        try:
            paramcalc.analyze("name: t\ninput: [64, H, W]\nlayers:\n  - {name: flat, flatten}\n",
                              input_shape=(64, height, width))
            works = True
        except paramcalc.SpecError as error:
            assert LIMIT in str(error)
            works = False
        assert works == condition.holds({"H": height, "W": width})
    assert paramcalc.analyze("name: t\ninput: [8, H, W]\nlayers: [flatten]\n").conditions == ()  # 8·10^18 fits


@pytest.mark.parametrize("values, message", [
    ({"H": 10**9 + 1, "W": 224}, "H must be a whole number from 1 to 1,000,000,000, got 1,000,000,001"),
    ({"H": 224, "W": 0}, "W must be a whole number from 1 to 1,000,000,000, got 0"),
    ({"H": 224}, "W must be a whole number from 1 to 1,000,000,000, got no value"),
    ({"H": 224, "W": 2**20000}, "got a number of 20,001 bits"),
    ({"H": 224.0, "W": 224}, "H must be a whole number from 1 to 1,000,000,000, got 224.0"),
    ({"H": True, "W": 224}, "got True"),
])
def test_at_takes_only_the_sizes_the_formulas_are_exact_for(values, message):
    result = symbolic("specs/resnet50.yaml")
    with pytest.raises(ValueError) as refused:
        result.at(values)
    assert message in str(refused.value)
    assert result.at({"H": 10**9, "W": 1}).totals.output_shape == (1000,)  # the largest is taken
    out = CliRunner().invoke(main, ["show", "specs/resnet50.yaml", "--input", "3xHxW", "--at", "224x1000000001"])
    assert out.exit_code == 2 and "each size is a whole number from 1 to 1,000,000,000" in out.output


def grown_size(n: int, layer: tuple, largest: int) -> int | None:
    """One axis through one layer as PyTorch works it out, written out here: nn.Upsample(scale_factor=s) gives
    floor(n·s), nn.ConvTranspose2d (n - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1,
    refused when it is less than 1, and nn.Conv2d as torch_size; None also past the largest size."""
    kind = layer[0]
    if kind == "upsample":
        out = n * layer[1]
    elif kind == "conv_transpose2d":
        _, kernel, stride, padding, extra, dilation = layer
        out = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + extra + 1
    else:
        _, kernel, stride, padding, dilation = layer
        out = torch_size(n, ("conv2d", kernel, stride, padding, dilation, False)) or 0
    return out if 1 <= out <= largest else None


def grown_spec(layers: list[tuple]) -> str:
    lines = ["name: grown", "input: [2, H, W]", "layers:"]
    for layer in layers:
        if layer[0] == "upsample":
            lines.append(f"  - upsample: {{scale: {layer[1]}}}")
        elif layer[0] == "conv_transpose2d":
            _, kernel, stride, padding, extra, dilation = layer
            lines.append(f"  - conv_transpose2d: {{out: 2, kernel: {kernel}, stride: {stride}, padding: {padding}, "
                         f"output_padding: {extra}, dilation: {dilation}}}")
        else:
            _, kernel, stride, padding, dilation = layer
            lines.append(f"  - conv2d: {{out: 2, kernel: {kernel}, stride: {stride}, padding: {padding}, "
                         f"dilation: {dilation}}}")
    return "\n".join(lines) + "\n"


@st.composite
def growing_layer(draw) -> tuple:
    kind = draw(st.sampled_from(["upsample", "conv_transpose2d", "conv_transpose2d", "conv2d"]))
    if kind == "upsample":
        return kind, draw(st.integers(1, 3))
    kernel, stride, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    if kind == "conv2d":
        return kind, kernel, stride, padding, dilation
    extra = draw(st.integers(0, max(stride, dilation) - 1))  # PyTorch: below the stride or the dilation
    return kind, kernel, stride, padding, extra, dilation


def grown_chain(n: int, layers: list[tuple], largest: int) -> list[int] | None:
    sizes: list[int] = []
    for layer in layers:
        out = grown_size(n, layer, largest)
        if out is None:
            return None
        sizes.append(n := out)
    return sizes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(growing_layer(), min_size=1, max_size=14), height=st.integers(1, 300),
       width=st.integers(1, 300), largest=st.one_of(st.integers(20, 5000), st.integers(5000, 10**6)))
def test_growing_chains_conditions_admit_exactly_the_sizes_that_work(layers, height, width, largest):
    """Upsampling, transposed and plain convolutions on a symbolic input, with PyTorch's largest size lowered
    (in paramcalc.limits) so that upper bounds come at small sizes: the conditions, upper bounds included, admit
    exactly the sizes the concrete analysis takes, and the sizes are PyTorch's (by its formulas, above)."""
    spec = grown_spec(layers)
    with patch.object(limits, "MAX_TENSOR_SIZE", largest):
        try:
            result = paramcalc.analyze(spec)
        except paramcalc.SpecError as error:  # no size works: none of these does either
            # (a stride after an upsample after a stride, floor((2·ceil(H/2) - 1)/2), is not one floor: paramcalc
            # says it cannot work it out, as it did before sizes were bounded)
            assume("paramcalc cannot work out floor(" not in str(error))
            assert all(grown_chain(n, layers, largest) is None for n in range(1, 301)), str(error)
            result = None
        def concrete_shapes(h: int, w: int) -> list | None:
            try:
                return [record.shape for record in paramcalc.analyze(spec, input_shape=(2, h, w)).records]
            except paramcalc.SpecError:
                return None

        concrete = concrete_shapes(height, width)
    by_formula = grown_chain(height, layers, largest), grown_chain(width, layers, largest)
    expected = None if None in by_formula else [(2, h, w) for h, w in zip(*by_formula)]
    assert concrete == expected
    event("refused" if result is None else "an upper bound" if any(
        condition.kind == "max" for condition, _ in result.conditions) else "no upper bound")
    if result is None:
        return
    for n in range(1, 301):  # each condition is on one symbol, and H and W go through the same layers
        for name in ("H", "W"):
            holds = all(condition.holds({"H": n, "W": n}) for condition, _ in result.conditions
                        if condition.symbol == name)
            assert holds == (grown_chain(n, layers, largest) is not None), (name, n, result.conditions)
    values = {"H": height, "W": width}
    if expected is None:
        with pytest.raises(ValueError):
            result.at(values)
        return
    at = result.at(values)
    assert [record.shape for record in at.records] == expected
    for record in result.records:  # no coefficient grows past the largest size (times a layer's factor)
        assert all(abs(coefficient) <= 4 * max(largest, 10) * 3 for size in record.shape
                   for coefficient in getattr(size, "terms", {}).values()), record.shape


GROWN = "name: t\ninput: [1, H, W]\nlayers:\n  - {{conv2d: {{out: 1, kernel: 1000}}}}\n  - {{upsample: {{scale: 2}}, repeat: {n}}}\n"


def test_a_size_that_grows_past_the_largest_is_judged_under_the_conditions_found_before():
    # by hand: the 1000-wide kernel needs H >= 1000; (H - 999)·2^n <= 2^63 - 1 holds up to H = 999 + 2^(63-n) (less
    # one when that is exact): H <= 2,022 at n = 53, H <= 1,000 at n = 62, and at n = 63 at no H >= 1000
    for n, bound in ((53, "2,022"), (62, "1,000")):
        conditions = [str(c) for c, _ in paramcalc.analyze(GROWN.format(n=n)).conditions]
        assert conditions == ["H >= 1000", "W >= 1000", f"H <= {bound}", f"W <= {bound}"]
    with pytest.raises(paramcalc.SpecError, match="more than PyTorch's largest"):
        paramcalc.analyze(GROWN.format(n=63))


def test_a_cached_symbolic_analysis_keeps_its_conditions():
    from paramcalc.engine.cache import Cache

    cache = Cache()
    first = paramcalc.analyze(ROOT / "specs/vgg16.yaml", input="3xHxW", cache=cache)
    again = paramcalc.analyze(ROOT / "specs/vgg16.yaml", input="3xHxW", batch=2, cache=cache)
    assert [str(c) for c, _ in first.conditions] == [str(c) for c, _ in again.conditions] == ["H >= 32", "W >= 32"]
