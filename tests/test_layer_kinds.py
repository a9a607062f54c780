"""Each layer kind against hand-worked figures: shape (PyTorch's formulas), params, buffers, MACs, FLOPs.

Every expected number is written as the arithmetic that produces it, from the formula in the README's
table of layer kinds (FLOPs) or from PyTorch's documentation (shapes, parameters).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import paramcalc
from paramcalc import SpecError
from paramcalc.engine.layers import REGISTRY
from paramcalc.engine.layers.pool import adaptive_window_sum

from .helpers import last

# --- convolution ---------------------------------------------------------------------------------

def test_conv_rgb_four_filters():
    r = last("[3, 32, 32]", "- conv2d: {out: 4, kernel: 3, padding: 1}")
    assert r.shape == (4, 32, 32)
    assert r.params == 4 * (3 * 3 * 3 + 1) == 112
    assert r.macs == 4 * 32 * 32 * (3 * 3 * 3)
    assert r.flops == 2 * (4 * 32 * 32 * 27) + 4 * 32 * 32


@pytest.mark.parametrize("conv, size", [
    ("{out: 8, kernel: 3}", (32 - 3) // 1 + 1),                                # valid: 30
    ("{out: 8, kernel: 3, padding: valid}", 30),
    ("{out: 8, kernel: 3, stride: 2, padding: 1}", (32 + 2 - 3) // 2 + 1),     # 16
    ("{out: 8, kernel: 3, dilation: 2}", (32 - 2 * (3 - 1) - 1) // 1 + 1),     # 28
    ("{out: 8, kernel: 4, padding: same}", 32),                                # even kernel, 'same'
    ("{out: 8, kernel: 3, stride: 2, padding: {top: 0, bottom: 1, left: 0, right: 1}}", (32 + 1 - 3) // 2 + 1),
    ("{out: 8, kernel: 7, stride: 2, padding: 3}", (32 + 6 - 7) // 2 + 1),     # 16
    ("{out: 8, kernel: 2, stride: 3}", (32 - 2) // 3 + 1),                     # 11, a remainder dropped
])
def test_conv_output_size(conv, size):
    assert last("[3, 32, 32]", f"- conv2d: {conv}").shape == (8, size, size)


def test_conv_rectangular_kernel_and_padding_pair():
    r = last("[8, 17, 17]", "- conv2d: {out: 8, kernel: [1, 7], padding: [0, 3], bias: false}")
    assert r.shape == (8, 17, 17)
    assert r.params == 8 * 8 * 1 * 7
    assert r.rf.size == (1, 7)


def test_grouped_and_depthwise_conv():
    grouped = last("[8, 8, 8]", "- conv2d: {out: 16, kernel: 3, padding: 1, groups: 4, bias: false}")
    assert grouped.params == 16 * (8 // 4) * 3 * 3
    assert grouped.macs == 16 * 8 * 8 * (8 // 4) * 3 * 3
    depthwise = last("[8, 8, 8]", "- conv2d: {out: 8, kernel: 3, padding: 1, groups: depthwise}")
    assert depthwise.params == 8 * 1 * 3 * 3 + 8


@pytest.mark.parametrize("channels, out, says", [(4, 6, "groups=3 does not divide in_channels=4"),
                                                  (6, 4, "groups=3 does not divide out=4")])
def test_groups_that_do_not_divide_the_channels(channels, out, says):
    with pytest.raises(SpecError) as caught:  # PyTorch: in_channels and out_channels must be divisible by groups
        last(f"[{channels}, 8, 8]", f"- conv2d: {{out: {out}, kernel: 1, groups: 3}}")
    assert says in str(caught.value)


def test_same_padding_even_kernel_splits_extra_after():
    r = last("[1, 10, 10]", "- conv2d: {out: 1, kernel: 4, padding: same}")
    # PyTorch pads d*(k-1) = 3 in total: 1 before, 2 after
    assert r.shape == (1, 10, 10)
    assert r.rf.padding == (1, 1)


def test_pad_layer():
    r = last("[3, 10, 10]", "- pad: {padding: {top: 1, bottom: 2, left: 0, right: 3}}")
    assert r.shape == (3, 10 + 1 + 2, 10 + 0 + 3)
    assert r.params == 0 and r.flops == 0


# --- pooling -------------------------------------------------------------------------------------

def test_maxpool_default_stride_and_flops():
    r = last("[64, 112, 112]", "- maxpool: {kernel: 3, stride: 2, padding: 1}")
    assert r.shape == (64, (112 + 2 - 3) // 2 + 1, 56)
    assert r.flops == (3 * 3 - 1) * 64 * 56 * 56
    assert last("[4, 8, 8]", "- maxpool: 2").shape == (4, 4, 4)  # stride defaults to the kernel


@pytest.mark.parametrize("size, pool, expected", [
    (112, "{kernel: 3, stride: 2, ceil_mode: true}", 56),                  # ceil((112-3)/2)+1
    (112, "{kernel: 3, stride: 2}", 55),                                   # floor((112-3)/2)+1
    (14, "{kernel: 2, stride: 2, ceil_mode: true}", 7),
    (7, "{kernel: 2, stride: 2, ceil_mode: true}", 4),                     # ceil(5/2)+1
    # the last window would start inside the right padding, so PyTorch drops it: 3 -> 2, not 3
    (3, "{kernel: 2, stride: 2, padding: 1, ceil_mode: true}", 2),
])
def test_pool_ceil_mode(size, pool, expected):
    assert last(f"[1, {size}, {size}]", f"- maxpool: {pool}").shape == (1, expected, expected)


def test_avgpool_flops():
    r = last("[2, 8, 8]", "- avgpool: 2")
    assert r.shape == (2, 4, 4)
    assert r.flops == 2 * 2 * 2 * 4 * 4  # kernel elements per output element


def test_adaptive_avgpool_uneven_windows():
    r = last("[2, 10, 10]", "- adaptive_avgpool: 3")
    assert r.shape == (2, 3, 3)
    # windows along one axis: [0, 4), [3, 7), [6, 10): 4 + 4 + 4 = 12 elements
    assert r.flops == 2 * 12 * 12


@given(st.integers(1, 300), st.integers(1, 300))
def test_adaptive_windows_are_counted_and_bounded_as_pytorchs(size, out):
    """PyTorch's window i spans [floor(i·size/out), ceil((i + 1)·size/out)): the elements read are their lengths'
    sum, and the receptive field (a window of `size` at a stride) holds each of them; with more outputs than
    inputs the windows are closer than a pixel apart and the field is not followed."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-((-(i + 1) * size) // out) for i in range(out)]  # ceil
    assert adaptive_window_sum(size, out) == sum(e - s for s, e in zip(starts, ends))
    rf = paramcalc.analyze({"name": "a", "input": [1, size, 1], "layers": [
        {"name": "pool", "adaptive_avgpool": {"out": [out, 1]}}]}).records[0].rf
    if size < out:
        assert rf is None
        return
    (kernel, _), (stride, _), (padding, _) = rf.size, rf.stride, rf.padding
    assert padding == 0 and stride >= 1
    assert all(i * stride <= start and end <= i * stride + kernel for i, (start, end) in enumerate(zip(starts, ends)))


def test_global_pooling():
    avg = last("[512, 7, 7]", "- global_avgpool")
    assert avg.shape == (512, 1, 1)
    assert avg.flops == 512 * 7 * 7
    biggest = last("[512, 7, 7]", "- global_maxpool")
    assert biggest.flops == 512 * (7 * 7 - 1)


# x.mean(dims, keepdim): dims numbered as PyTorch numbers them, 0 the batch; 5 x 6 x 7 keeps the axes apart
@pytest.mark.parametrize("layer, shape", [
    ("mean: [2, 3]", (5,)),                                    # ShuffleNet v2's x.mean([2, 3])
    ("mean: {dims: [2, 3], keepdim: true}", (5, 1, 1)),
    ("mean: [3, 2]", (5,)),                                    # in any order
    ("mean: [-1, -2]", (5,)),
    ("mean: 2", (5, 7)),                                       # one number: the height
    ("mean: {dims: -1, keepdim: true}", (5, 6, 1)),            # the width
    ("mean: 1", (6, 7)),                                       # the channels
    ("mean: {dims: [1], keepdim: true}", (1, 6, 7)),
    ("mean: [1, 3]", (6,)),                                    # channels and width
    ("mean: [1, 2, 3]", ()),                                   # everything of a sample: one value
    ("reduce_mean: {dims: [1, 2, 3], keepdim: true}", (1, 1, 1)),
])
def test_mean_shapes_and_flops(layer, shape):
    r = last("[5, 6, 7]", f"- {layer}")
    assert r.shape == shape
    # each output element averages n inputs: n - 1 adds and a divide, n per output element, one per input element
    assert r.flops == 5 * 6 * 7
    assert (r.params, r.buffers, r.macs) == (0, 0, 0)


def test_mean_flops_per_output_element():
    # tokens 9 x 16: the mean over the 9 tokens is 16 means of 9 values, (9 - 1) adds and 1 divide each
    tokens = last("[9, 16]", "- mean: 1")
    assert tokens.shape == (16,) and tokens.flops == 16 * (9 - 1 + 1)
    # after a conv, with a batch: per sample times the batch
    batched = last("[3, 10, 6]", "- conv2d: {out: 4, kernel: 3}\n- mean: [2, 3]", batch=2)
    assert batched.shape == (4,) and batched.flops == 2 * 4 * (8 * 4)


def test_mean_receptive_field():
    layers = "- {name: conv, conv2d: {out: 4, kernel: 3, padding: 1}}\n- %s"
    # over the map's positions: every output unit reads the whole map, as global pooling
    pooled = last("[3, 10, 6]", layers % "global_avgpool").rf
    assert pooled.is_global and (pooled.size, pooled.stride) == ((3 + 9 * 1, 3 + 5 * 1), (10, 6))
    for mean in ("mean: [2, 3]", "mean: {dims: [2, 3], keepdim: true}"):
        rf = last("[3, 10, 6]", layers % mean).rf
        assert (rf.size, rf.stride, rf.padding, rf.is_global) == (pooled.size, pooled.stride, pooled.padding, True)
    # a linear layer after it as after global pooling and flatten
    head = layers % "mean: [2, 3]" + "\n- {name: fc, linear: 2}"
    assert last("[3, 10, 6]", head).rf == last("[3, 10, 6]", layers % "global_avgpool\n- flatten\n- linear: 2").rf
    assert last("[3, 10, 6]", head).rf.is_global
    # over the channels: each position on its own, the field as the conv's
    conv = last("[3, 10, 6]", layers % "identity").rf
    for mean in ("mean: 1", "mean: {dims: 1, keepdim: true}"):
        rf = last("[3, 10, 6]", layers % mean).rf
        assert (rf.size, rf.stride, rf.padding, rf.is_global) == (conv.size, conv.stride, conv.padding, False)
    # over the height only: the field is no window any more (as softmax over the height)
    assert last("[3, 10, 6]", layers % "mean: 2").rf is None


# --- fully connected and normalisation -----------------------------------------------------------

def test_linear():
    r = last("[256, 6, 6]", "- flatten\n- linear: 4096")
    assert r.shape == (4096,)
    assert r.params == 9216 * 4096 + 4096 == 37_752_832
    assert r.macs == 9216 * 4096
    assert r.flops == 2 * 9216 * 4096 + 4096


def test_linear_without_bias_and_on_last_dimension():
    assert last("[10]", "- linear: {out: 5, bias: false}").params == 50
    r = last("[3, 4, 10]", "- linear: 5")  # PyTorch applies it to the last dimension
    assert r.shape == (3, 4, 5)
    assert r.macs == 3 * 4 * 10 * 5


def test_batchnorm_params_buffers_flops():
    r = last("[64, 112, 112]", "- batchnorm")
    assert (r.params, r.buffers) == (2 * 64, 2 * 64)
    assert r.flops == 2 * 64 * 112 * 112
    plain = last("[64, 4, 4]", "- batchnorm: {affine: false, track_running_stats: false}")
    assert (plain.params, plain.buffers) == (0, 0)
    # without running statistics the batch's own are worked out at inference too, as a layer norm does: mean,
    # centre, square, sum, normalise per value, and the scale and shift with affine
    assert plain.flops == 5 * 64 * 4 * 4
    assert last("[64, 4, 4]", "- batchnorm: {track_running_stats: false}").flops == 7 * 64 * 4 * 4


def test_layernorm_groupnorm_lrn_scale():
    assert last("[96, 56, 56]", "- layernorm2d").params == 2 * 96  # over the channels of a map
    assert last("[96, 56, 56]", "- layernorm2d").flops == 7 * 96 * 56 * 56
    assert last("[96, 56, 56]", "- layernorm2d: {affine: false}").flops == 5 * 96 * 56 * 56
    assert last("[50, 768]", "- layernorm").params == 2 * 768  # nn.LayerNorm: over the last dimension
    assert last("[56, 56, 96]", "- layernorm").params == 2 * 96
    assert last("[56, 56, 96]", "- layernorm: {bias: false}").params == 96
    assert last("[56, 56, 96]", "- layernorm: {affine: false}").params == 0
    assert last("[32, 8, 8]", "- groupnorm: 8").params == 2 * 32
    assert last("[96, 55, 55]", "- lrn: 5").flops == (2 * 5 + 3) * 96 * 55 * 55
    assert last("[96, 7, 7]", "- scale").params == 96


# --- element-wise --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, per_element", [
    ("relu", 1), ("relu6", 2), ("leaky_relu", 2), ("sigmoid", 4), ("tanh", 1), ("silu", 5),
    ("hardsigmoid", 4), ("hardswish", 5), ("gelu", 5), ("softmax", 3), ("dropout", 0), ("identity", 0),
])
def test_elementwise_flops(kind, per_element):
    r = last("[16, 10, 10]", f"- {kind}")
    assert r.shape == (16, 10, 10)
    assert r.params == 0
    assert r.flops == per_element * 16 * 10 * 10


@pytest.mark.parametrize("layer, per_element", [
    ("swish", 5), ("leakyrelu", 2),                       # silu's and leaky_relu's other names
    ("leaky_relu: 0.2", 2), ("leaky_relu: {negative_slope: 0.2}", 2),  # the slope, short and in full
])
def test_activations_by_another_name_or_with_their_setting(layer, per_element):
    r = last("[4, 3, 5]", f"- {layer}")
    assert (r.shape, r.params, r.flops) == ((4, 3, 5), 0, per_element * 4 * 3 * 5)


# --- merges and rearrangements -------------------------------------------------------------------

def test_operands_of_fewer_dimensions_broadcast_from_the_last():
    # PyTorch's broadcasting lines shapes up from the last dimension: (4, 8) + (8,) is (4, 8)
    spec = {"name": "b", "input": [4, 8], "layers": [
        {"name": "v", "mean": {"dims": [1]}}, {"name": "s", "add": None, "from": ["input", "v"]}]}
    result = paramcalc.analyze(spec)
    assert result.records[0].shape == (8,) and result.records[1].shape == (4, 8)
    assert result.records[1].flops == 4 * 8  # one add per output value


def test_channel_shuffle_needs_a_dimension_besides_the_channels():
    # nn.ChannelShuffle: "channel_shuffle expects input with > 2 dims" (a batch, channels and more)
    with pytest.raises(SpecError, match="channel_shuffle needs channels and at least one more dimension"):
        last("[8]", "- {channel_shuffle: 2}")
    assert last("[8, 5]", "- {channel_shuffle: 2}").shape == (8, 5)

def test_add_and_multiply_broadcast():
    r = last("[8, 4, 4]", """
        - {name: a, relu}
        - {name: b, from: input, relu}
        - {name: c, from: input, relu}
        - {add, from: [a, b, c]}
        """)
    assert r.flops == 2 * 8 * 4 * 4
    gate = last("[8, 4, 4]", """
        - {name: pooled, global_avgpool}
        - {name: gate, conv2d: {out: 8, kernel: 1}}
        - {mul, from: [input, gate]}
        """)
    assert gate.shape == (8, 4, 4)
    assert gate.flops == 8 * 4 * 4


def test_concat_adds_channels():
    r = last("[8, 4, 4]", """
        - {name: a, conv2d: {out: 3, kernel: 1}}
        - {name: b, from: input, conv2d: {out: 5, kernel: 1}}
        - {concat, from: [input, a, b]}
        """)
    assert r.shape == (8 + 3 + 5, 4, 4)
    assert r.flops == 0


def test_flatten_shuffle_split():
    assert last("[256, 6, 6]", "- flatten").shape == (256 * 6 * 6,)
    assert last("[116, 4, 4]", "- channel_shuffle: 2").shape == (116, 4, 4)
    assert last("[116, 4, 4]", "- channel_split: {take: 1}").shape == (58, 4, 4)
    # torch.chunk(5 channels, 2) gives chunks of 3 and 2
    assert last("[5, 4, 4]", "- channel_split: {take: 0}").shape == (3, 4, 4)
    assert last("[5, 4, 4]", "- channel_split: {take: 1}").shape == (2, 4, 4)


def test_batch_scales_costs_not_parameters():
    one = last("[3, 32, 32]", "- conv2d: {out: 4, kernel: 3}")
    eight = last("[3, 32, 32]", "- conv2d: {out: 4, kernel: 3}", batch=8)
    # by hand: 3x3 without padding maps 32x32 to 30x30; 4·30·30 outputs of 3·3·3 = 27 MACs each, FLOPs
    # 2·MACs + one bias add per output, activations the 4·30·30 outputs; a batch of 8 does all of it 8 times
    outputs = 4 * 30 * 30
    assert one.params == eight.params == 4 * 27 + 4
    assert (one.macs, one.flops, one.activations) == (outputs * 27, 2 * outputs * 27 + outputs, outputs)
    assert (eight.macs, eight.flops, eight.activations) == (8 * outputs * 27, 8 * (2 * outputs * 27 + outputs),
                                                            8 * outputs)


# --- invalid settings that PyTorch refuses too ---------------------------------------------------

@pytest.mark.parametrize("shape, layer, message", [
    ("[3, 32, 32]", "- conv2d: {out: 8, kernel: 3, stride: 2, padding: same}", "padding 'same' needs stride 1"),
    ("[3, 4, 4]", "- maxpool: {kernel: 2, padding: 2}", "more than half the window"),
    ("[3, 4, 4]", "- channel_shuffle: 2", "groups=2 does not divide channels=3"),
    # torch.chunk(5 channels, 4) gives only 3 chunks (2, 2, 1)
    ("[5, 4, 4]", "- channel_split: {take: 3, parts: 4}", "take=3 but 5 channels give 3 chunks of 2"),
    ("[10]", "- conv2d: {out: 8, kernel: 3}", "conv2d needs a feature map"),
    ("[3, 4, 4]", "- flatten: {start_dim: 0}", "dim=0 is not a dimension"),
    ("[3, 4, 4]", "- mean: [0, 2]", "mean over dimension 0, the batch"),
    ("[3, 4, 4]", "- mean: -4", "mean over dimension -4, the batch"),
    ("[3, 4, 4]", "- mean: [2, 4]", "4 is not a dimension of a sample's 3-d shape 3x4x4"),
    ("[3, 4, 4]", "- mean: [2, -2]", "names dimension 2 twice"),
    ("[3, 4, 4]", "- mean: []", "got an empty list"),
    ("[3, 4, 4]", "- mean: {dims: 2.5}", "must be a dimension number"),
    ("[3, 4, 4]", "- mean", "mean needs 'dims'"),
    # nn.ConvTranspose2d: "in_channels must be divisible by groups", "out_channels must be divisible by groups"
    ("[3, 4, 4]", "- conv_transpose2d: {out: 4, kernel: 2, groups: 2}", "groups=2 does not divide in_channels=3"),
    ("[4, 4, 4]", "- conv_transpose2d: {out: 3, kernel: 2, groups: 2}", "groups=2 does not divide out=3"),
    ("[4, 4, 4]", "- conv2d: {out: 3, kernel: 2, groups: 2}", "groups=2 does not divide out=3"),
    ("[3, 6, 8]", "- pixel_unshuffle: 3", "the factor 3 does not divide the width 8"),
    ("[3, 8, 6]", "- pixel_unshuffle: 3", "the factor 3 does not divide the height 8"),
    ("[6, 4, 8]", "- window_attention: {heads: 2, window_size: 4}", "does not divide the map's height 6"),
    ("[4, 6, 8]", "- window_attention: {heads: 2, window_size: 2, shift: 2}", "shift 2 is not smaller than the window 2"),
    ("[4, 6, 8]", "- window_attention: {heads: 2, window_size: 4}", "does not divide the map's width 6"),
    ("[3, 4, 4]", "- reshape: [-1, -1]", "reshape allows one -1"),
    ("[3, 4, 4]", "- reshape: [-1, -1, -1]", "reshape allows one -1"),
    ("[3, 8, 12]", "- patch_embed: {patch: 4, out: 8, image: 8}", "the model takes 8x8 images, got width 12"),
    ("[3, 12, 8]", "- patch_embed: {patch: 4, out: 8, image: 8}", "the model takes 8x8 images, got height 12"),
    # nn.LSTM: "proj_size has to be smaller than hidden_size"
    ("[5, 4]", "- lstm: {hidden: 4, proj_size: 4}", "proj_size"),
])
def test_refused(shape, layer, message):
    with pytest.raises(SpecError) as caught:
        last(shape, layer)
    assert message in str(caught.value)


def test_every_kind_is_documented():
    for name, kind in REGISTRY.items():
        assert kind.summary and kind.flops_formula, name


@pytest.mark.parametrize("kind", ["maxpool", "avgpool", "maxpool1d", "avgpool3d"])
def test_pooling_takes_no_same_padding(kind):
    # PyTorch's pooling takes numbers only: max_pool2d(padding='same') is a TypeError
    with pytest.raises(SpecError) as caught:
        paramcalc.analyze(f"name: t\ninput: [3, 8, 8, 8]\nlayers: [{{{kind}: {{kernel: 3, padding: same}}}}]\n")
    assert "padding must be a whole number, got 'same'" in str(caught.value)


@pytest.mark.parametrize("bias", [True, False])
def test_patch_embedding(bias):
    # nn.Conv2d(3, 8, 4, stride=4) on 8 x 8 (the one size it takes): 2·2 tokens of 8, each 8 filters of 3·4·4
    r = last("[3, 8, 8]", f"- patch_embed: {{patch: 4, out: 8, image: 8, bias: {str(bias).lower()}}}")
    macs = 4 * 8 * 3 * 16
    assert (r.shape, r.params, r.macs) == ((4, 8), 3 * 16 * 8 + (8 if bias else 0), macs)
    assert r.flops == 2 * macs + (4 * 8 if bias else 0)  # a bias add per token and feature
