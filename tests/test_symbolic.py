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

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc
from paramcalc.cli import main
from paramcalc.engine.dims import format_shape
from paramcalc.engine.layers import LayerError
from paramcalc.engine.symbolic import floor_of, leading_text, require_equal, symbol

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
    from paramcalc.engine.symbolic import collecting

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
