"""The teaching examples (figures worked out by hand), and receptive fields against the
published table and torchvision measurements in tests/data/receptive_fields.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paramcalc

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
FIELDS = json.loads((Path(__file__).parent / "data" / "receptive_fields.json").read_text())


def analyse(name: str) -> paramcalc.Analysis:
    return paramcalc.analyze(SPECS / name)


def test_two_3x3_against_one_5x5():
    stack, single = analyse("examples/stack_3x3.yaml"), analyse("examples/conv_5x5.yaml")
    assert stack.totals.params == 3 * 3 * 128 * 128 + 3 * 3 * 128 * 128 == 294_912
    assert single.totals.params == 5 * 5 * 128 * 128 == 409_600
    assert stack.totals.rf.size == single.totals.rf.size == (5, 5)
    assert stack.totals.output_shape == single.totals.output_shape == (128, 56, 56)


def test_rgb_image_through_four_filters():
    result = analyse("examples/rgb_conv.yaml")
    assert result.totals.params == 112
    assert result.totals.output_shape[0] == 4


def test_blur_is_a_3x3_average():
    result = analyse("examples/blur_3x3.yaml")
    assert result["blur_pool"].params == 0
    assert result["blur_conv"].params == 3 * 3 * 3  # one 3x3 filter per channel, no bias
    assert result["blur_pool"].shape == result["blur_conv"].shape == (3, 64, 64)
    assert result["blur_pool"].rf.size == (3, 3)


def test_stride_and_padding_change_shape_not_params():
    result = analyse("examples/stride_padding.yaml")
    sizes = {r.name: r.shape[1:] for r in result.records}
    assert sizes == {"valid": (30, 30), "same": (32, 32), "stride2": (16, 16), "dilated": (32, 32),
                     "asymmetric": (16, 16)}
    assert {r.params for r in result.records} == {3 * 3 * 16 * 16 + 16}


def test_1x1_reduction():
    result = analyse("examples/reduce_1x1.yaml")
    assert result["reduce"].params == 1 * 1 * 256 * 64 + 64
    assert result.totals.output_shape == (64, 28, 28)
    assert result.totals.rf.size == (1, 1)


def test_inception_with_and_without_reductions():
    naive, reduced = analyse("examples/inception_naive.yaml"), analyse("examples/inception_reduced.yaml")
    assert naive.totals.output_shape == (64 + 128 + 32 + 192, 28, 28)
    assert reduced.totals.output_shape == (64 + 128 + 32 + 32, 28, 28)
    conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731  (weights + biases)
    assert naive.totals.params == conv(1, 192, 64) + conv(3, 192, 128) + conv(5, 192, 32)
    assert reduced.totals.params == (conv(1, 192, 64) + conv(1, 192, 96) + conv(3, 96, 128) + conv(1, 192, 16)
                                     + conv(5, 16, 32) + conv(1, 192, 32))
    macs = lambda k, cin, cout: k * k * cin * cout * 28 * 28  # noqa: E731
    assert reduced.totals.macs == (macs(1, 192, 64) + macs(1, 192, 96) + macs(3, 96, 128) + macs(1, 192, 16)
                                   + macs(5, 16, 32) + macs(1, 192, 32))


def test_resnet_blocks():
    basic = analyse("examples/resnet_basic_block.yaml")
    assert basic.totals.output_shape == (128, 28, 28)
    assert basic.totals.params == 3 * 3 * 64 * 128 + 3 * 3 * 128 * 128 + 1 * 1 * 64 * 128 + 3 * (2 * 128)
    bottleneck = analyse("examples/resnet_bottleneck.yaml")
    assert bottleneck.totals.output_shape == (256, 56, 56)
    assert bottleneck.totals.params == 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256 + 2 * 64 + 2 * 64 + 2 * 256
    assert bottleneck["add"].inputs == ("bn3", "input")


def test_dense_block_grows_by_the_growth_rate():
    result = analyse("examples/dense_block.yaml")
    channels = [result[f"denseblock.{i}"].shape[0] for i in range(6)]
    assert channels == [64 + 32 * (i + 1) for i in range(6)]
    assert result.totals.output_shape == ((64 + 6 * 32) // 2, 28, 28)


# --- receptive fields -----------------------------------------------------------------------------

def _endpoint(name: str) -> str:
    """'conv3/conv3_2' -> 'features.conv3_2', 'pool5' -> 'features.pool5' (the zoo's VGG layer names)."""
    return "features." + name.split("/")[-1]


@pytest.mark.parametrize("model, spec", [("vgg_16", "vgg16.yaml"), ("vgg_a", "vgg11.yaml")])
def test_published_vgg_receptive_fields(model, spec):
    result = analyse(spec)
    for row in FIELDS["published"][model]:
        rf = result[_endpoint(row["endpoint"])].rf
        assert (rf.size, rf.stride, rf.padding) == ((row["rf"],) * 2, (row["stride"],) * 2, (row["padding"],) * 2), \
            row["endpoint"]


@pytest.mark.parametrize("key, spec, layer", [
    ("alexnet/features", "alexnet.yaml", "features"),
    ("vgg11/features", "vgg11.yaml", "features"),
    ("vgg16/features", "vgg16.yaml", "features"),
    ("vgg19/features", "vgg19.yaml", "features"),
    ("resnet18/layer1", "resnet18.yaml", "layer1"),
    ("resnet18/layer2", "resnet18.yaml", "layer2"),
    ("resnet18/layer3", "resnet18.yaml", "layer3"),
    ("resnet18/layer4", "resnet18.yaml", "layer4"),
])
def test_measured_torchvision_receptive_fields(key, spec, layer):
    rf = analyse(spec)[layer].rf
    assert rf.size == (FIELDS["measured_torchvision"][key]["rf"],) * 2
    assert rf.aligned


def test_misaligned_paths_are_flagged():
    # one path pads, the other does not: their centres differ by one pixel
    result = paramcalc.analyze("""
name: t
input: [1, 16, 16]
layers:
  - {name: a, conv2d: {out: 1, kernel: 3, padding: 1}}
  - {name: b_pad, from: input, pad: {padding: {top: 0, bottom: 2, left: 0, right: 2}}}
  - {name: b, conv2d: {out: 1, kernel: 3}}
  - {name: merged, add, from: [a, b]}
""")
    assert not result["merged"].rf.aligned
    assert result["a"].rf.aligned


def test_global_layers_see_the_whole_map():
    result = analyse("resnet18.yaml")
    assert not result["layer4"].rf.is_global
    assert result["avgpool"].rf.is_global
    # 7x7 map with effective stride 32: the field grows by (7 - 1) * 32
    assert result["avgpool"].rf.size == (435 + 6 * 32,) * 2


def test_a_window_over_a_channels_last_map_is_not_followed():
    """After a permute to height x width x channels, a conv slides over width x channels and mixes every row of
    the map into its channels: no window on the input map gives its units' field, so none is given."""
    result = paramcalc.analyze("name: t\ninput: [3, 8, 6]\nlayers:\n  - {name: c, conv2d: {out: 4, kernel: 3}}\n"
                               "  - {name: last, permute: [0, 2, 3, 1]}\n  - {name: c2, conv2d: {out: 2, kernel: 3}}\n")
    assert result["last"].rf.size == (3, 3) and result["last"].rf.axes == (0, 1)
    assert result["c2"].shape == (2, 2, 2) and result["c2"].rf is None


def test_a_mean_over_the_map_sees_all_of_it():
    # by hand: the 3x3 conv's 7x8 map averaged: 3 + 6 = 9 rows and 3 + 7 = 10 columns, every unit the same
    spec = "name: m\ninput: [3, H, W]\nlayers:\n  - {name: c, conv2d: {out: 4, kernel: 3}}\n  - {name: m, mean: {dims: [2, 3]}}\n"
    field = paramcalc.analyze(spec, input="3x9x10").totals.rf
    assert (field.size, field.is_global) == ((9, 10), True)
    assert paramcalc.analyze(spec).totals.rf is None  # with symbolic sizes it depends on them: left out


def test_a_merge_with_a_path_not_followed_keeps_a_global_field():
    # by hand: the 3x3 conv's 6x6 map pooled: 3 + 5 = 8 px, the whole input; the resize to one pixel is not
    # followed, and adding it to a unit that sees the whole input leaves a unit that sees the whole input
    result = paramcalc.analyze("name: t\ninput: [3, 8, 8]\nlayers:\n  - {name: a, conv2d: {out: 3, kernel: 3}}\n"
                               "  - {name: g, global_avgpool}\n  - {name: u, upsample: {size: 1}, from: input}\n"
                               "  - {name: s, add, from: [g, u]}\n")
    assert result["u"].rf is None
    assert (result["s"].rf.size, result["s"].rf.is_global) == ((8, 8), True)


def test_a_merge_of_a_map_and_its_channels_last_copy_is_not_followed():
    # the sum of x[c, h, w] and x[h, w, c] at one unit reads two pixels far apart: no window gives that
    result = paramcalc.analyze("name: t\ninput: [4, 4, 4]\nlayers:\n  - {name: p, permute: [0, 2, 3, 1]}\n"
                               "  - {name: s, add, from: [input, p]}\n")
    assert result["p"].rf.axes == (0, 1) and result["s"].rf is None
