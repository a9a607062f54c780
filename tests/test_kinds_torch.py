"""The newer layer kinds against PyTorch modules written here by hand, and against hand-worked arithmetic.

Every reference is built in this file from torch.nn / torch.nn.functional directly (never by paramcalc.torch,
which would share paramcalc's reading of a spec), or written out as the arithmetic that gives it. The one
exception is on purpose: the bridge modules paramcalc.torch.modules.SelfAttention, WindowAttention and Mean are
checked against PyTorch (nn.MultiheadAttention, torchvision's shifted_window_attention transcribed below, x.mean).

Shapes in specs are per sample (no batch); the PyTorch side runs a batch of one, dimensions numbered with the
batch as 0. Sizes differ from axis to axis so that a mix-up of time, height and width shows.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .conftest import require_torch
from .helpers import analyse, last

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode

# the bridge modules, tested against PyTorch (the only use of paramcalc.torch here)
from paramcalc.torch.modules import Mean, SelfAttention, WindowAttention

SOME = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REFUSED = (RuntimeError, ValueError, IndexError, AssertionError)  # how PyTorch refuses a module or an input

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXPOOL = {1: nn.MaxPool1d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 3: nn.AvgPool3d}


# --- helpers -------------------------------------------------------------------------------------

def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def n_buffers(module) -> int:
    return sum(b.numel() for b in module.buffers())


def measured_macs(function, *args) -> int:
    """PyTorch's own count: FlopCounterMode's total FLOPs (2 per multiply-accumulate) // 2."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        function(*args)
    return counter.get_total_flops() // 2


def listed(values) -> str:
    """A YAML flow list: (1, 2) -> '[1, 2]'."""
    return "[" + ", ".join(str(v) for v in values) + "]"


def ours(input_shape, layer: str):
    """paramcalc's record of a one-layer spec, or None when paramcalc refuses it with a SpecError."""
    try:
        return last(listed(input_shape), f"- {layer}")
    except paramcalc.SpecError:
        return None


def torch_run(make, input_shape):
    """(module, per-sample output shape, MACs measured by PyTorch), or None when PyTorch refuses it.

    An empty output counts as refused: PyTorch's 2-D and 3-D transposed convolutions return a size-0 map where
    the 1-D one (and paramcalc, for all three) refuse it.
    """
    try:
        module = make()
        x = torch.zeros(1, *input_shape)
        with torch.no_grad():
            shape = tuple(module(x).shape[1:])
        if 0 in shape:
            return None
        return module, shape, measured_macs(module, x)
    except REFUSED:
        return None


def agree_on_acceptance(record, reference, what: str) -> bool:
    """Both accept (True) or both refuse (False); anything else fails the test."""
    if reference is None:
        assert record is None, f"paramcalc accepted {what}, which PyTorch refuses (paramcalc gives {record.shape})"
        return False
    assert record is not None, f"paramcalc refused {what}, which PyTorch runs (output {reference[1]})"
    return True


# --- strategies ----------------------------------------------------------------------------------

def per_axis(axes: int, low: int, high: int):
    return st.lists(st.integers(low, high), min_size=axes, max_size=axes).map(tuple)


def wild(draw) -> bool:
    """One draw in four may break a rule PyTorch checks (groups, output_padding, pooling's padding), so that both
    sides are seen refusing it; the rest keep to the rules, so that most draws compare figures."""
    return draw(st.integers(0, 3)) == 0


@st.composite
def conv_settings(draw, axes: int, transposed: bool = False):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    channels = groups * draw(st.integers(1, 3))
    out = draw(st.integers(1, 7)) if wild(draw) else groups * draw(st.integers(1, 3))
    top = {1: 30, 2: 14, 3: 10}[axes]
    case = {"axes": axes, "channels": channels, "out": out, "groups": groups, "bias": draw(st.booleans()),
            "sizes": draw(per_axis(axes, 1, top)), "kernel": draw(per_axis(axes, 1, 4)),
            "stride": draw(per_axis(axes, 1, 3)), "padding": draw(per_axis(axes, 0, 3)),
            "dilation": draw(per_axis(axes, 1, 3))}
    if transposed:
        if wild(draw):
            case["output_padding"] = draw(per_axis(axes, 0, 3))
        else:  # below the stride or the dilation, as PyTorch wants
            case["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1))
                                           for s, d in zip(case["stride"], case["dilation"]))
    return case


def conv_layer(kind: str, case: dict) -> str:
    one = case["axes"] == 1  # the 1-D kinds take plain numbers
    field = (lambda v: str(v[0])) if one else listed
    text = (f"{kind}: {{out: {case['out']}, kernel: {field(case['kernel'])}, stride: {field(case['stride'])}, "
            f"padding: {field(case['padding'])}, dilation: {field(case['dilation'])}, groups: {case['groups']}, "
            f"bias: {str(case['bias']).lower()}")
    if "output_padding" in case:
        text += f", output_padding: {field(case['output_padding'])}"
    return text + "}"


# --- conv1d / conv3d -----------------------------------------------------------------------------

@pytest.mark.parametrize("axes", [1, 3])
@SOME
@given(data=st.data())
def test_conv_agrees_with_pytorch(axes, data):
    case = data.draw(conv_settings(axes))
    record = ours((case["channels"], *case["sizes"]), conv_layer(f"conv{axes}d", case))
    reference = torch_run(lambda: CONV[axes](case["channels"], case["out"], case["kernel"], stride=case["stride"],
                                             padding=case["padding"], dilation=case["dilation"],
                                             groups=case["groups"], bias=case["bias"]),
                          (case["channels"], *case["sizes"]))
    if agree_on_acceptance(record, reference, conv_layer(f"conv{axes}d", case)):
        module, shape, macs = reference
        assert (record.shape, record.params, record.macs) == (shape, n_params(module), macs)


def test_conv3d_keeps_time_height_and_width_apart():
    # input 4 x (T 5, H 9, W 13); kernel [1, 3, 5], stride [1, 2, 3], padding [0, 1, 2], dilation [1, 2, 1]
    r = last("[4, 5, 9, 13]", "- conv3d: {out: 6, kernel: [1, 3, 5], stride: [1, 2, 3], padding: [0, 1, 2], "
                               "dilation: [1, 2, 1], groups: 2}")
    t = (5 + 0 - 1 * (1 - 1) - 1) // 1 + 1    # 5
    h = (9 + 2 - 2 * (3 - 1) - 1) // 2 + 1    # 4
    w = (13 + 4 - 1 * (5 - 1) - 1) // 3 + 1   # 5
    assert r.shape == (6, t, h, w) == (6, 5, 4, 5)
    conv = nn.Conv3d(4, 6, (1, 3, 5), stride=(1, 2, 3), padding=(0, 1, 2), dilation=(1, 2, 1), groups=2)
    x = torch.zeros(1, 4, 5, 9, 13)
    assert tuple(conv(x).shape[1:]) == r.shape
    assert r.params == 6 * (4 // 2) * 1 * 3 * 5 + 6 == n_params(conv) == 186
    assert r.macs == 6 * 5 * 4 * 5 * (4 // 2) * (1 * 3 * 5) == measured_macs(conv, x) == 18000


def test_conv1d_by_hand():
    r = last("[6, 17]", "- conv1d: {out: 9, kernel: 4, stride: 3, padding: 2, dilation: 2, groups: 3}")
    length = (17 + 2 * 2 - 2 * (4 - 1) - 1) // 3 + 1  # 5
    conv = nn.Conv1d(6, 9, 4, stride=3, padding=2, dilation=2, groups=3)
    x = torch.zeros(1, 6, 17)
    assert r.shape == (9, length) == tuple(conv(x).shape[1:]) == (9, 5)
    assert r.params == 9 * (6 // 3) * 4 + 9 == n_params(conv) == 81
    assert r.macs == 9 * 5 * (6 // 3) * 4 == measured_macs(conv, x) == 360


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kind, shape, dilation", [("conv1d", (3, 11), 2), ("conv3d", (3, 4, 7, 10), [1, 2, 3])])
def test_same_padding_in_1d_and_3d(kind, shape, dilation):
    axes = len(shape) - 1
    kernel = 4 if axes == 1 else [2, 3, 4]
    dil = dilation if axes == 1 else listed(dilation)
    r = last(listed(shape), f"- {kind}: {{out: 5, kernel: {kernel if axes == 1 else listed(kernel)}, "
                            f"padding: same, dilation: {dil}}}")
    conv = CONV[axes](3, 5, kernel, padding="same", dilation=dilation)
    x = torch.zeros(1, *shape)
    assert r.shape == tuple(conv(x).shape[1:]) == (5, *shape[1:])
    assert r.macs == measured_macs(conv, x)


# --- transposed convolutions ---------------------------------------------------------------------

@pytest.mark.parametrize("axes", [1, 2, 3])
@SOME
@given(data=st.data())
def test_conv_transpose_agrees_with_pytorch(axes, data):
    case = data.draw(conv_settings(axes, transposed=True))
    layer = conv_layer(f"conv_transpose{axes}d", case)
    record = ours((case["channels"], *case["sizes"]), layer)
    reference = torch_run(lambda: CONV_TRANSPOSE[axes](
        case["channels"], case["out"], case["kernel"], stride=case["stride"], padding=case["padding"],
        output_padding=case["output_padding"], groups=case["groups"], bias=case["bias"],
        dilation=case["dilation"]), (case["channels"], *case["sizes"]))
    if agree_on_acceptance(record, reference, layer):
        module, shape, macs = reference
        assert (record.shape, record.params, record.macs) == (shape, n_params(module), macs)


def test_conv_transpose2d_by_hand():
    # 8 channels, 5 x 7 -> 6 channels; kernel [3, 4], stride [2, 3], padding [1, 0], output_padding [1, 2]
    r = last("[8, 5, 7]", "- conv_transpose2d: {out: 6, kernel: [3, 4], stride: [2, 3], padding: [1, 0], "
                          "output_padding: [1, 2], groups: 2}")
    h = (5 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1   # 10
    w = (7 - 1) * 3 - 2 * 0 + 1 * (4 - 1) + 2 + 1   # 24
    module = nn.ConvTranspose2d(8, 6, (3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)
    x = torch.zeros(1, 8, 5, 7)
    assert r.shape == (6, h, w) == tuple(module(x).shape[1:]) == (6, 10, 24)
    assert r.params == 8 * (6 // 2) * 3 * 4 + 6 == n_params(module) == 294
    # every input position meets the whole kernel: 5·7 positions · 8 in · 6/2 out · 3·4
    assert r.macs == 5 * 7 * 8 * (6 // 2) * 3 * 4 == measured_macs(module, x) == 10080


def test_conv_transpose3d_by_hand():
    r = last("[4, 2, 3, 5]", "- conv_transpose3d: {out: 3, kernel: [2, 3, 1], stride: [1, 2, 2], "
                             "dilation: [2, 1, 1], bias: false}")
    t = (2 - 1) * 1 + 2 * (2 - 1) + 1   # 4
    h = (3 - 1) * 2 + 1 * (3 - 1) + 1   # 7
    w = (5 - 1) * 2 + 1 * (1 - 1) + 1   # 9
    module = nn.ConvTranspose3d(4, 3, (2, 3, 1), stride=(1, 2, 2), dilation=(2, 1, 1), bias=False)
    x = torch.zeros(1, 4, 2, 3, 5)
    assert r.shape == (3, t, h, w) == tuple(module(x).shape[1:]) == (3, 4, 7, 9)
    assert r.params == 4 * 3 * 2 * 3 * 1 == n_params(module) == 72
    assert r.macs == 2 * 3 * 5 * 4 * 3 * (2 * 3 * 1) == measured_macs(module, x) == 2160


# --- pooling -------------------------------------------------------------------------------------

@st.composite
def pool_settings(draw, axes: int, kind: str):
    top = {1: 30, 3: 10}[axes]
    kernel = draw(per_axis(axes, 1, 4))
    padding = draw(per_axis(axes, 0, 2)) if wild(draw) else tuple(draw(st.integers(0, k // 2)) for k in kernel)
    case = {"sizes": draw(per_axis(axes, 1, top)), "kernel": kernel, "padding": padding,
            "stride": draw(st.one_of(st.none(), per_axis(axes, 1, 3))),
            "ceil_mode": draw(st.booleans()), "channels": draw(st.integers(1, 3))}
    if kind == "max":
        case["dilation"] = draw(per_axis(axes, 1, 2))
    else:
        case["count_include_pad"] = draw(st.booleans())
    return case


def pool_layer(kind: str, case: dict) -> str:
    one = len(case["sizes"]) == 1
    field = (lambda v: str(v[0])) if one else listed
    parts = [f"kernel: {field(case['kernel'])}", f"padding: {field(case['padding'])}",
             f"ceil_mode: {str(case['ceil_mode']).lower()}"]
    if case["stride"] is not None:
        parts.append(f"stride: {field(case['stride'])}")
    if "dilation" in case:
        parts.append(f"dilation: {field(case['dilation'])}")
    if "count_include_pad" in case:
        parts.append(f"count_include_pad: {str(case['count_include_pad']).lower()}")
    return f"{kind}: {{{', '.join(parts)}}}"


@pytest.mark.parametrize("axes", [1, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
@SOME
@given(data=st.data())
def test_pool_shape_agrees_with_pytorch(kind, axes, data):
    case = data.draw(pool_settings(axes, kind))
    layer = pool_layer(f"{kind}pool{axes}d", case)
    shape = (case["channels"], *case["sizes"])
    record = ours(shape, layer)
    if kind == "max":
        make = lambda: MAXPOOL[axes](case["kernel"], case["stride"], case["padding"], case["dilation"],
                                     ceil_mode=case["ceil_mode"])
    else:
        make = lambda: AVGPOOL[axes](case["kernel"], case["stride"], case["padding"],
                                     ceil_mode=case["ceil_mode"], count_include_pad=case["count_include_pad"])
    reference = torch_run(make, shape)
    if agree_on_acceptance(record, reference, layer):
        assert record.shape == reference[1]


@pytest.mark.parametrize("shape, layer, module", [
    # PyTorch's avg_pool3d (unlike the 1-D and 2-D pools and max_pool3d) refuses an input smaller than the kernel
    # along any axis, even where the padding or ceil_mode would give an output
    ((1, 1, 1, 1), "avgpool3d: {kernel: 2, padding: 1}", lambda: nn.AvgPool3d(2, padding=1)),
    ((1, 2, 5, 5), "avgpool3d: {kernel: 3, padding: 1}", lambda: nn.AvgPool3d(3, padding=1)),
    ((1, 1, 1, 1), "avgpool3d: {kernel: [1, 1, 2], ceil_mode: true}", lambda: nn.AvgPool3d((1, 1, 2), ceil_mode=True)),
    ((1, 1, 1, 1), "maxpool3d: {kernel: [1, 1, 2], ceil_mode: true}", lambda: nn.MaxPool3d((1, 1, 2), ceil_mode=True)),
    ((1, 1, 1), "avgpool: {kernel: [1, 2], ceil_mode: true}", lambda: nn.AvgPool2d((1, 2), ceil_mode=True)),
])
def test_pool_input_smaller_than_kernel(shape, layer, module):
    record, reference = ours(shape, layer), torch_run(module, shape)
    if agree_on_acceptance(record, reference, f"{layer} on {shape}"):
        assert record.shape == reference[1]


@pytest.mark.parametrize("shape, layer, module", [
    ((2, 13), "maxpool1d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
     lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True)),
    ((2, 14), "avgpool1d: {kernel: 4, stride: 3, ceil_mode: true}", lambda: nn.AvgPool1d(4, 3, ceil_mode=True)),
    ((2, 5, 9, 14), "maxpool3d: {kernel: [1, 3, 2], stride: [1, 2, 2], padding: [0, 1, 1], ceil_mode: true}",
     lambda: nn.MaxPool3d((1, 3, 2), (1, 2, 2), (0, 1, 1), ceil_mode=True)),
    ((2, 4, 7, 11), "avgpool3d: {kernel: [2, 3, 4], padding: [1, 1, 2]}",
     lambda: nn.AvgPool3d((2, 3, 4), padding=(1, 1, 2))),
    ((3, 10), "adaptive_avgpool1d: 4", lambda: nn.AdaptiveAvgPool1d(4)),
    ((3, 10), "adaptive_avgpool1d: 13", lambda: nn.AdaptiveAvgPool1d(13)),
    ((3, 5, 9, 14), "adaptive_avgpool3d: [2, 4, 3]", lambda: nn.AdaptiveAvgPool3d((2, 4, 3))),
    ((3, 5, 9, 14), "adaptive_avgpool3d: 1", lambda: nn.AdaptiveAvgPool3d(1)),
])
def test_pool_examples(shape, layer, module):
    assert last(listed(shape), f"- {layer}").shape == tuple(module()(torch.zeros(1, *shape)).shape[1:])


# --- upsampling and pixel shuffles ---------------------------------------------------------------

MODES = {1: ["nearest", "linear"], 2: ["nearest", "bilinear", "bicubic"], 3: ["nearest", "trilinear"]}
# scales a double holds exactly (the sizes come out whole), besides the arbitrary ones drawn below
EXACT_SCALES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4]


@SOME
@given(data=st.data())
def test_upsample_shape_agrees_with_interpolate(data):
    axes = data.draw(st.integers(1, 3))
    mode = data.draw(st.sampled_from(MODES[axes]))
    sizes = data.draw(per_axis(axes, 1, 12))
    how = data.draw(st.sampled_from(["one size", "sizes", "scale"]))
    corners = None if mode == "nearest" else data.draw(st.booleans())
    options = [f"mode: {mode}"] + ([f"align_corners: {str(corners).lower()}"] if corners is not None else [])
    if how == "one size":
        size = data.draw(st.integers(1, 20))
        options.append(f"size: {size}")
        arguments = {"size": (size,) * axes}
    elif how == "sizes":
        size = data.draw(per_axis(axes, 1, 20))
        options.append(f"size: {listed(size)}")
        arguments = {"size": size}
    else:  # also scales whose product PyTorch rounds in double precision (100·0.29 = 28.999999999999996 -> 28)
        scale = data.draw(st.one_of(st.sampled_from(EXACT_SCALES), st.floats(0.05, 4.0).map(lambda v: round(v, 3))))
        options.append(f"scale: {scale}")
        arguments = {"scale_factor": scale}
    layer = f"upsample: {{{', '.join(options)}}}"
    record = ours((2, *sizes), layer)
    reference = torch_run(lambda: (lambda x: F.interpolate(x, mode=mode, align_corners=corners, **arguments)),
                          (2, *sizes))
    if agree_on_acceptance(record, reference, f"{layer} on {sizes}"):
        assert record.shape == reference[1]


@pytest.mark.parametrize("shape, scale", [((3, 10, 7), 1.5), ((3, 7, 10), 2), ((3, 9, 5), 0.5), ((3, 12), 1.5)])
def test_upsample_scale_examples(shape, scale):
    mode = "bilinear" if len(shape) == 3 else "linear"
    r = last(listed(shape), f"- upsample: {{scale: {scale}, mode: {mode}}}")
    expected = tuple(F.interpolate(torch.zeros(1, *shape), scale_factor=scale, mode=mode).shape[1:])
    assert r.shape == expected
    # floor(size·scale): 10·1.5 = 15, 7·1.5 = 10.5 -> 10
    assert r.shape[1:] == tuple(int(size * scale) for size in shape[1:])


def test_upsample_to_the_size_of_a_second_input():
    spec = """\
    - {name: down, conv2d: {out: 5, kernel: 3, stride: [2, 3], padding: 1}}
    - {name: up, upsample: {mode: bilinear}, from: [down, input]}
    """
    r = next(r for r in analyse("[3, 20, 33]", spec).records if r.name == "up")
    x = torch.zeros(1, 3, 20, 33)
    down = nn.Conv2d(3, 5, 3, stride=(2, 3), padding=1)(x)
    assert tuple(down.shape[2:]) == (10, 11)
    up = F.interpolate(down, size=x.shape[2:], mode="bilinear", align_corners=False)
    assert r.shape == tuple(up.shape[1:]) == (5, 20, 33)


@pytest.mark.parametrize("size, scale", [(100, 0.29), (100, 0.57)])
def test_upsample_scale_rounds_as_floating_point(size, scale):
    expected = tuple(F.interpolate(torch.zeros(1, 2, size), scale_factor=scale).shape[1:])
    assert last(f"[2, {size}]", f"- upsample: {{scale: {scale}}}").shape == expected


def test_upsample_scale_just_below_a_whole_number():
    expected = tuple(F.interpolate(torch.zeros(1, 2, 5, 6), scale_factor=1.9999999).shape[1:])
    assert expected == (2, 9, 11)
    assert last("[2, 5, 6]", "- upsample: {scale: 1.9999999}").shape == expected


@pytest.mark.parametrize("shape, layer, module", [
    ((18, 5, 7), "pixel_shuffle: 3", lambda: nn.PixelShuffle(3)),
    ((8, 5, 7), "pixel_shuffle: 2", lambda: nn.PixelShuffle(2)),
    ((12, 5, 7), "pixel_shuffle: 2", lambda: nn.PixelShuffle(2)),     # 12 = 2²·3 channels -> 3 x 10 x 14
    ((3, 6, 9), "pixel_unshuffle: 3", lambda: nn.PixelUnshuffle(3)),
    ((2, 4, 10), "pixel_unshuffle: 2", lambda: nn.PixelUnshuffle(2)),
    ((10, 5, 7), "pixel_shuffle: 2", lambda: nn.PixelShuffle(2)),     # 10 channels: 4 does not divide them
    ((3, 6, 8), "pixel_unshuffle: 3", lambda: nn.PixelUnshuffle(3)),  # 3 does not divide the width 8
])
def test_pixel_shuffles(shape, layer, module):
    record, reference = ours(shape, layer), torch_run(module, shape)
    if agree_on_acceptance(record, reference, f"{layer} on {shape}"):
        assert record.shape == reference[1]


# --- reshaping -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, layer, op", [
    ((3, 5, 7), "permute: [0, 2, 3, 1]", lambda x: x.permute(0, 2, 3, 1)),
    ((3, 5, 7), "permute: [0, 3, 1, 2]", lambda x: x.permute(0, 3, 1, 2)),
    ((2, 3, 5, 7), "permute: [0, 4, 2, 1, 3]", lambda x: x.permute(0, 4, 2, 1, 3)),
    ((6, 11), "transpose: {dim0: 1, dim1: 2}", lambda x: x.transpose(1, 2)),
    ((3, 5, 7), "transpose: {dim0: 1, dim1: -1}", lambda x: x.transpose(1, -1)),
    ((3, 5, 7), "transpose: {dim0: -2, dim1: 1}", lambda x: x.transpose(-2, 1)),
    ((3, 5, 8), "reshape: [-1, 4]", lambda x: x.reshape(1, -1, 4)),
    ((3, 5, 8), "reshape: [5, -1, 2]", lambda x: x.reshape(1, 5, -1, 2)),
    ((3, 5, 8), "reshape: [120]", lambda x: x.reshape(1, 120)),
    ((2, 3, 5, 7), "flatten: {start_dim: 2, end_dim: 3}", lambda x: x.flatten(2, 3)),
    ((2, 3, 5, 7), "flatten: {start_dim: 1, end_dim: 2}", lambda x: x.flatten(1, 2)),
    ((2, 3, 5, 7), "flatten: {start_dim: -3, end_dim: -2}", lambda x: x.flatten(-3, -2)),
    ((2, 3, 5, 7), "flatten: {start_dim: 3, end_dim: 3}", lambda x: x.flatten(3, 3)),
    ((4, 35), "unflatten: {dim: 2, sizes: [5, 7]}", lambda x: x.unflatten(2, (5, 7))),
    ((4, 35), "unflatten: {dim: -1, sizes: [-1, 7]}", lambda x: x.unflatten(-1, (-1, 7))),
    ((12, 5), "unflatten: {dim: 1, sizes: [2, 3, 2]}", lambda x: x.unflatten(1, (2, 3, 2))),
    ((9, 16), "select: {dim: 1, index: 0}", lambda x: x.select(1, 0)),
    ((9, 16), "select: {dim: 2, index: 15}", lambda x: x.select(2, 15)),
    ((3, 5, 7), "select: {dim: -2, index: 4}", lambda x: x.select(-2, 4)),
])
def test_reshaping_agrees_with_torch_ops(shape, layer, op):
    r = last(listed(shape), f"- {layer}")
    assert r.shape == tuple(op(torch.zeros(1, *shape)).shape[1:])
    assert (r.params, r.macs, r.flops) == (0, 0, 0)


# --- mean over dimensions ------------------------------------------------------------------------

@st.composite
def mean_case(draw):
    """A sample shape of rank 1 to 4 and dims that PyTorch numbers with the batch as 0: mostly valid, and now and
    then the batch, a dimension beyond the rank, or one named twice, which both sides must refuse."""
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple))
    rank = len(shape)
    axes = draw(st.lists(st.integers(1, rank), min_size=1, max_size=rank, unique=True))
    dims = [axis - (rank + 1) if draw(st.booleans()) else axis for axis in axes]  # from the end, or not
    if wild(draw):
        dims.insert(draw(st.integers(0, len(dims))), draw(st.sampled_from([0, -(rank + 1), rank + 1, dims[0]])))
    return shape, dims, draw(st.booleans()), draw(st.booleans())


@SOME
@given(mean_case())
def test_mean_agrees_with_pytorch(case):
    shape, dims, keepdim, as_list = case
    written = as_list or len(dims) > 1  # one number as torch.mean takes it, or a list
    layer = f"mean: {{dims: {listed(dims) if written else dims[0]}, keepdim: {str(keepdim).lower()}}}"
    record = ours(shape, layer)
    try:
        reference = torch.zeros(1, *shape).mean(dims if written else dims[0], keepdim=keepdim)
    except REFUSED:
        reference = None
    if reference is not None and any(dim % (len(shape) + 1) == 0 for dim in dims):
        reference = None  # a mean over the batch: PyTorch runs it, paramcalc (per sample) refuses it
    if reference is None:
        assert record is None, f"paramcalc accepted {layer} on {shape}"
        return
    assert record is not None, f"paramcalc refused {layer} on {shape}, which PyTorch runs"
    assert record.shape == tuple(reference.shape[1:])
    assert (record.params, record.macs, record.flops) == (0, 0, math.prod(shape))


@pytest.mark.parametrize("shape, dims, keepdim", [
    ((4, 6, 5), [2, 3], False), ((4, 6, 5), [2, 3], True), ((4, 6, 5), [-1, -2], False), ((4, 6, 5), 1, True),
    ((4, 6, 5), [1, 3], False), ((4, 6, 5), [1, 2, 3], False), ((9, 16), 1, False), ((2, 3, 4, 5), [2, 3, 4], True)])
def test_mean_by_hand_and_its_module(shape, dims, keepdim):
    """The shape as x.mean gives it, FLOPs one per input element (n - 1 adds and a divide per mean of n), no MACs
    for FlopCounterMode either; the bridge module paramcalc.Mean computes the same."""
    text = f"mean: {{dims: {listed(dims) if isinstance(dims, list) else dims}, keepdim: {str(keepdim).lower()}}}"
    r = last(listed(shape), f"- {text}")
    x = torch.randn(2, *shape)
    expected = x.mean(dims, keepdim=keepdim)
    assert r.shape == tuple(expected.shape[1:])
    assert r.flops == math.prod(shape) and (r.params, r.macs) == (0, 0)
    assert measured_macs(lambda t: t.mean(dims, keepdim=keepdim), x) == 0
    assert torch.equal(Mean(dims, keepdim)(x), expected)


@pytest.mark.parametrize("dims, keepdim", [([2, 3], True), ([2, 3], False), (1, True), ([-1], False)])
def test_the_mean_paramcalc_builds_is_torch_mean(dims, keepdim):
    from paramcalc.torch import build

    model = build(f"name: m\ninput: [4, 6, 5]\nlayers:\n  - {{mean: {{dims: {dims}, keepdim: {str(keepdim).lower()}}}}}\n")
    x = torch.randn(2, 4, 6, 5)
    assert torch.equal(model(x), x.mean(dims, keepdim=keepdim))


# --- norms, embeddings, recurrent layers ---------------------------------------------------------

@pytest.mark.parametrize("shape, layer, module", [
    ((10, 24), "layernorm", lambda: nn.LayerNorm(24)),
    ((10, 24), "layernorm: {affine: false}", lambda: nn.LayerNorm(24, elementwise_affine=False)),
    ((10, 24), "layernorm: {bias: false}", lambda: nn.LayerNorm(24, bias=False)),
    ((5, 7, 12), "layernorm", lambda: nn.LayerNorm(12)),
    ((5, 7, 12), "layernorm: {bias: false}", lambda: nn.LayerNorm(12, bias=False)),
])
def test_layernorm_params(shape, layer, module):
    r, reference = last(listed(shape), f"- {layer}"), module()
    assert r.params == n_params(reference)
    assert r.shape == tuple(reference(torch.zeros(1, *shape)).shape[1:])


def test_batchnorm_without_running_statistics_normalises_with_the_batch_s_at_inference():
    """Why such a batch norm counts the statistics' FLOPs: in eval mode it still takes each channel's mean and
    variance over the batch (and the map), so its output has mean 0 per channel."""
    bn = nn.BatchNorm2d(3, affine=False, track_running_stats=False).eval()
    x = torch.randn(4, 3, 5, 6, dtype=torch.float64) * 7 + 2
    assert bn(x).mean((0, 2, 3)).abs().max() < 1e-9
    assert last("[3, 5, 6]", "- batchnorm: {affine: false, track_running_stats: false}").flops == 5 * 3 * 5 * 6


def test_layernorm2d_normalises_over_the_channels():
    r = last("[12, 5, 7]", "- layernorm2d")
    norm = nn.LayerNorm(12)  # applied channels-last, as torchvision's LayerNorm2d does
    out = norm(torch.zeros(1, 12, 5, 7).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert r.shape == tuple(out.shape[1:]) and r.params == n_params(norm) == 2 * 12
    assert last("[12, 5, 7]", "- layernorm2d: {bias: false}").params == n_params(nn.LayerNorm(12, bias=False)) == 12


def test_embedding():
    r = last("[9]", "- embedding: {num: 100, dim: 16}")
    table = nn.Embedding(100, 16)
    assert r.shape == tuple(table(torch.zeros(1, 9, dtype=torch.long)).shape[1:]) == (9, 16)
    assert r.params == n_params(table) == 100 * 16
    assert r.macs == 0


RECURRENT = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("kind, steps, features, options, macs", [
    # LSTM, 2 layers, both ways, projected to 4: per direction and layer 4·6·8 + 4·6·4 + 4·6 = 312 weights
    # (layer 1 reads 2·4 = 8 features too); 5 steps · 2 directions · (312 + 312)
    ("lstm", 5, 8, {"hidden": 6, "layers": 2, "bidirectional": True, "proj_size": 4}, 5 * 2 * (312 + 312)),
    # LSTM, one layer, no bias: 4·7·3 + 4·7·7 = 84 + 196 = 280 weights, 11 steps
    ("lstm", 11, 3, {"hidden": 7, "bias": False}, 11 * (4 * 7 * 3 + 4 * 7 * 7)),
    # GRU, 3 layers: layer 0 3·5·10 + 3·5·5 = 225, layers 1-2 3·5·5 + 3·5·5 = 150 each; 7 steps
    ("gru", 7, 10, {"hidden": 5, "layers": 3}, 7 * (225 + 150 + 150)),
    # GRU both ways: per direction 3·4·6 + 3·4·4 = 120; 3 steps · 2 directions
    ("gru", 3, 6, {"hidden": 4, "bidirectional": True}, 3 * 2 * 120),
    # RNN both ways, 2 layers, no bias: layer 0 9·3 + 9·9 = 108, layer 1 (reads 2·9 = 18) 9·18 + 9·9 = 243; 4 steps
    ("rnn", 4, 3, {"hidden": 9, "layers": 2, "bidirectional": True, "bias": False}, 4 * 2 * (108 + 243)),
    ("rnn", 6, 5, {"hidden": 3, "nonlinearity": "relu"}, 6 * (3 * 5 + 3 * 3)),
])
def test_recurrent_layers(kind, steps, features, options, macs):
    fields = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items())
    r = last(f"[{steps}, {features}]", f"- {kind}: {{{fields}}}")
    torch_options = {{"layers": "num_layers"}.get(k, k): v for k, v in options.items() if k != "hidden"}
    module = RECURRENT[kind](features, options["hidden"], batch_first=True, **torch_options)
    with torch.no_grad():
        output, _ = module(torch.zeros(1, steps, features))
    assert r.shape == tuple(output.shape[1:])
    assert r.params == n_params(module)
    assert r.macs == macs


def test_lstm_params_by_hand():
    # 2 layers, both ways, proj 4: per direction and layer 312 weights + 2·4·6 = 48 biases
    r = last("[5, 8]", "- lstm: {hidden: 6, layers: 2, bidirectional: true, proj_size: 4}")
    assert r.params == 2 * 2 * (312 + 48) == 1440
    assert r.shape == (5, 2 * 4)


# --- attention -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_attention_params_and_macs(bias):
    r = last("[10, 16]", f"- attention: {{heads: 4, bias: {str(bias).lower()}}}")
    assert r.shape == (10, 16)
    assert r.params == n_params(nn.MultiheadAttention(16, 4, bias=bias)) == 4 * 16 * 16 + (4 * 16 if bias else 0)
    # 4·L·E² (projections) + 2·L²·E (Q·Kᵀ and A·V), L = 10, E = 16
    assert r.macs == 4 * 10 * 16 ** 2 + 2 * 10 ** 2 * 16 == 13440


@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_bridge_matches_multihead_attention(bias):
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(16, 4, bias=bias, batch_first=True).eval()
    if bias:  # PyTorch starts the biases at zero: give them values so that they count
        with torch.no_grad():
            reference.in_proj_bias.normal_()
            reference.out_proj.bias.normal_()
    bridge = SelfAttention(16, 4, bias=bias).eval()
    bridge.load_state_dict(reference.state_dict())
    x = torch.randn(2, 10, 16)
    with torch.no_grad():
        expected, _ = reference(x, x, x, need_weights=False)
        torch.testing.assert_close(bridge(x), expected)
    assert n_params(bridge) == last("[10, 16]", f"- attention: {{heads: 4, bias: {str(bias).lower()}}}").params
    assert measured_macs(bridge, x[:1]) == 4 * 10 * 16 ** 2 + 2 * 10 ** 2 * 16


def swin_attention(x, qkv, proj, table, window, heads, shift):
    """torchvision's shifted_window_attention (Swin v1) for maps the window divides, transcribed from
    torchvision/models/swin_transformer.py: the shift is dropped along a side that one window covers."""
    n, h, w, c = x.shape
    shift = [0 if window >= h else shift, 0 if window >= w else shift]
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    windows = (h // window) * (w // window)
    x = x.view(n, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(n * windows, window * window, c)
    qkv = F.linear(x, qkv.weight, qkv.bias).reshape(x.size(0), x.size(1), 3, heads, c // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    index = (relative[..., 0] * (2 * window - 1) + relative[..., 1]).flatten()
    attn = attn + table[index].view(window * window, window * window, -1).permute(2, 0, 1).unsqueeze(0)
    if sum(shift) > 0:
        mask = x.new_zeros((h, w))
        count = 0
        for rows in ((0, -window), (-window, -shift[0]), (-shift[0], None)):
            for cols in ((0, -window), (-window, -shift[1]), (-shift[1], None)):
                mask[rows[0]:rows[1], cols[0]:cols[1]] = count
                count += 1
        mask = mask.view(h // window, window, w // window, window).permute(0, 2, 1, 3).reshape(windows, -1)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(n, windows, heads, x.size(1), x.size(1)) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))
    x = F.softmax(attn, dim=-1).matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = F.linear(x, proj.weight, proj.bias)
    x = x.view(n, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x


@pytest.mark.parametrize("bias", [True, False])
def test_window_attention_by_hand(bias):
    # H 8, W 12, C 12, 3 heads, window 4: N = 96 tokens in (8/4)·(12/4) = 6 windows of 16
    r = last("[8, 12, 12]", f"- window_attention: {{heads: 3, window_size: 4, shift: 2, bias: {str(bias).lower()}}}")
    assert r.shape == (8, 12, 12)
    assert r.params == 4 * 12 ** 2 + (4 * 12 if bias else 0) + (2 * 4 - 1) ** 2 * 3 == (771 if bias else 723)
    assert r.buffers == 4 ** 4 == 256
    assert r.macs == 4 * 96 * 12 ** 2 + 2 * 96 * 4 ** 2 * 12 == 92160
    bridge = WindowAttention(12, 3, 4, shift=2, bias=bias)
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        assert tuple(bridge(x).shape[1:]) == r.shape
    assert measured_macs(bridge, x) == 92160
    assert (n_params(bridge), n_buffers(bridge)) == (r.params, r.buffers)


@pytest.mark.parametrize("shape, window, shift", [
    ((8, 12, 6), 4, 0),
    ((8, 12, 6), 4, 2),
    ((6, 9, 6), 3, 1),
    ((4, 4, 6), 4, 2),   # one window covers the map: no shift at all
    ((4, 12, 6), 4, 2),  # one window covers the height: torchvision shifts along the width only
    ((12, 4, 6), 4, 2),  # ... and here along the height only
])
def test_window_attention_bridge_matches_torchvision(shape, window, shift):
    torch.manual_seed(1)
    bridge = WindowAttention(shape[-1], 2, window, shift=shift).eval()
    with torch.no_grad():
        bridge.relative_position_bias_table.normal_()
        x = torch.randn(2, *shape)
        expected = swin_attention(x, bridge.qkv, bridge.proj, bridge.relative_position_bias_table, window, 2, shift)
        torch.testing.assert_close(bridge(x), expected)


# --- vision-transformer tokens -------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_patch_embed_is_a_strided_conv_flattened_and_transposed(bias):
    r = last("[3, 32, 48]", f"- patch_embed: {{out: 20, patch: 8, bias: {str(bias).lower()}}}")
    conv = nn.Conv2d(3, 20, kernel_size=8, stride=8, bias=bias)
    x = torch.zeros(1, 3, 32, 48)

    def embed(x):
        return conv(x).flatten(2).transpose(1, 2)

    with torch.no_grad():
        assert r.shape == tuple(embed(x).shape[1:]) == ((32 // 8) * (48 // 8), 20)
    assert r.params == n_params(conv) == 20 * 3 * 8 * 8 + (20 if bias else 0)
    assert r.macs == measured_macs(embed, x) == 24 * 20 * 3 * 8 * 8 == 92160


def test_class_token_and_position_embedding():
    features = 20
    tokens = torch.zeros(1, 24, features)
    cls = nn.Parameter(torch.zeros(1, 2, features))
    with_cls = torch.cat([cls.expand(1, -1, -1), tokens], dim=1)
    r = last("[24, 20]", "- class_token: 2")
    assert r.shape == tuple(with_cls.shape[1:]) == (26, 20)
    assert r.params == cls.numel() == 2 * 20
    positions = nn.Parameter(torch.zeros(1, 26, features))
    for layer in ("position_embedding: 26", "position_embedding"):
        r = last("[26, 20]", f"- {layer}")
        assert r.shape == tuple((with_cls + positions).shape[1:])
        assert r.params == positions.numel() == 26 * 20
        assert r.flops == 26 * 20  # one add per element


def test_vit_stem_end_to_end():
    spec = """\
    - patch_embed: {out: 16, patch: 4}
    - class_token
    - position_embedding: 13
    - layernorm
    - attention: 4
    - select: {dim: 1, index: 0}
    """
    a = analyse("[3, 12, 16]", spec)
    conv = nn.Conv2d(3, 16, 4, 4)
    cls, pos = nn.Parameter(torch.zeros(1, 1, 16)), nn.Parameter(torch.zeros(1, 13, 16))
    norm, attention = nn.LayerNorm(16), nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        x = conv(torch.zeros(1, 3, 12, 16)).flatten(2).transpose(1, 2)
        x = norm(torch.cat([cls, x], 1) + pos)
        x = attention(x, x, x, need_weights=False)[0][:, 0]
    assert a.totals.output_shape == tuple(x.shape[1:]) == (16,)
    assert a.totals.params == sum(n_params(m) for m in (conv, norm, attention)) + cls.numel() + pos.numel()


# --- clear errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, layer, words, refused_by_torch", [
    ((3, 5, 7), "permute: [0, 1, 1, 2]", "not a permutation",
     lambda x: x.permute(0, 1, 1, 2)),
    ((3, 5, 7), "permute: [0, 1, 2]", "not a permutation", lambda x: x.permute(0, 1, 2)),
    ((3, 4, 5), "reshape: [5, 7]", "multiply", lambda x: x.reshape(1, 5, 7)),
    ((3, 4, 5), "reshape: [-1, 7]", "cannot be split", lambda x: x.reshape(1, -1, 7)),
    ((4, 35), "unflatten: {dim: 2, sizes: [6, 6]}", "multiply", lambda x: x.unflatten(2, (6, 6))),
    ((10, 16), "attention: 3", "heads do not divide", lambda x: nn.MultiheadAttention(16, 3)),
    ((8, 12, 12), "window_attention: {heads: 3, window_size: 5}", "does not divide", None),
    ((8, 12, 12), "window_attention: {heads: 5, window_size: 4}", "heads do not divide", None),
    ((4, 5, 7), "conv_transpose2d: {out: 2, kernel: 3, stride: 2, output_padding: 2}", "output_padding",
     lambda x: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=2)(x)),
    ((4, 9), "conv_transpose1d: {out: 2, kernel: 3, stride: [2], output_padding: [3], dilation: 3}",
     "output_padding", lambda x: nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=3, dilation=3)(x)),
    ((3, 10, 7), "upsample: {mode: trilinear, scale: 2}", "trilinear",
     lambda x: F.interpolate(x, scale_factor=2, mode="trilinear")),
    ((3, 10, 7), "upsample: {mode: bilinear}", "exactly one", None),
    ((3, 10, 7), "upsample: {mode: bilinear, size: [4, 5, 6]}", "size", lambda x: F.interpolate(x, size=(4, 5, 6))),
    ((3, 4, 7, 10), "conv3d: {out: 2, kernel: 3, stride: [1, 2, 1], padding: same}", "stride 1",
     lambda x: nn.Conv3d(3, 2, 3, stride=(1, 2, 1), padding="same")(x)),
    ((2, 5, 6), "upsample: {scale: 0}", "above 0", lambda x: F.interpolate(x, scale_factor=0.0)),
    ((2, 5, 6), "upsample: {scale: 0.1}", "leaves no output", lambda x: F.interpolate(x, scale_factor=0.1)),
    ((3, 5, 7), "select: {dim: 2, index: 5}", "beyond", lambda x: x.select(2, 5)),
    ((24, 20), "position_embedding: 25", "learned for 25", lambda x: x + torch.zeros(1, 25, 20)),
    ((3, 30, 32), "patch_embed: {out: 8, patch: 8}", "does not divide", None),
    ((3, 5, 7), "mean: [2, 2]", "names dimension 2 twice", lambda x: x.mean([2, 2])),
    ((3, 5, 7), "mean: [2, 4]", "not a dimension", lambda x: x.mean([2, 4])),
    ((3, 5, 7), "mean: [0, 2, 3]", "the batch", None),
])
def test_bad_layers_give_a_clear_spec_error(shape, layer, words, refused_by_torch):
    if refused_by_torch is not None:  # PyTorch refuses the same thing
        with pytest.raises(REFUSED):
            refused_by_torch(torch.zeros(1, *shape))
    with pytest.raises(paramcalc.SpecError) as caught:
        last(listed(shape), f"- {layer}")
    assert words in str(caught.value)


def test_output_padding_below_the_dilation_is_allowed():
    # PyTorch wants output_padding below the stride OR the dilation: 2 >= stride 2, but 2 < dilation 3
    r = last("[4, 9]", "- conv_transpose1d: {out: 2, kernel: 3, stride: 2, output_padding: 2, dilation: 3}")
    module = nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=2, dilation=3)
    assert r.shape == tuple(module(torch.zeros(1, 4, 9)).shape[1:]) == (2, (9 - 1) * 2 + 3 * (3 - 1) + 2 + 1)


# --- focused figures: norms, linear on an N-D input, flatten (hand-built modules and arithmetic) ----------------

@pytest.mark.parametrize("shape, groups, affine", [((12, 5, 7), 4, True), ((12, 5, 7), 3, False),
                                                   ((6, 9, 4), 6, True), ((8, 3, 11), 1, False)])
def test_groupnorm_params_and_flops(shape, groups, affine):
    """nn.GroupNorm's parameters; FLOPs 5 per element, plus 2 (the scale and shift) with affine."""
    r = last(listed(shape), f"- groupnorm: {{groups: {groups}, affine: {str(affine).lower()}}}")
    module = nn.GroupNorm(groups, shape[0], affine=affine)
    assert r.shape == tuple(module(torch.zeros(1, *shape)).shape[1:])
    assert r.params == n_params(module) == (2 * shape[0] if affine else 0)
    assert r.flops == (5 + (2 if affine else 0)) * math.prod(shape)
    assert r.macs == 0


@pytest.mark.parametrize("shape, options, module", [
    ((3, 5, 12), "{affine: false}", lambda: nn.LayerNorm(12, elementwise_affine=False)),
    ((3, 5, 12), "{bias: false}", lambda: nn.LayerNorm(12, bias=False)),
    ((3, 5, 12), "{affine: true, bias: true}", lambda: nn.LayerNorm(12)),
    ((12, 5), "{affine: false, bias: false}", lambda: nn.LayerNorm(5, elementwise_affine=False, bias=False)),
    ((7, 4, 9), "{affine: false}", lambda: nn.LayerNorm(9, elementwise_affine=False)),
])
def test_layernorm_params_on_maps(shape, options, module):
    """Over the last dimension, which differs from the others: a scale per feature, and a shift unless bias is
    false; nothing without affine. FLOPs 5 per element, 7 with the scale and shift."""
    r, reference = last(listed(shape), f"- layernorm: {options}"), module()
    assert r.params == n_params(reference)
    assert r.shape == tuple(reference(torch.zeros(1, *shape)).shape[1:])
    if "affine: false" in options:
        assert r.flops == 5 * math.prod(shape)
    elif "bias: false" not in options:
        assert r.flops == 7 * math.prod(shape)


@pytest.mark.parametrize("options, module", [
    ("{affine: false}", lambda c: nn.LayerNorm(c, elementwise_affine=False)),
    ("{bias: false}", lambda c: nn.LayerNorm(c, bias=False)),
    ("{affine: true}", lambda c: nn.LayerNorm(c)),
])
def test_layernorm2d_params(options, module):
    r, reference = last("[6, 5, 9]", f"- layernorm2d: {options}"), module(6)  # over the 6 channels
    assert r.params == n_params(reference)


@pytest.mark.parametrize("shape, out, bias", [((5, 7, 12), 9, True), ((4, 11), 3, False), ((2, 3, 5, 6), 4, True)])
def test_linear_on_an_n_d_input(shape, out, bias):
    """nn.Linear works on the last dimension: params from it (not the first), MACs in·out per row of the others."""
    r = last(listed(shape), f"- linear: {{out: {out}, bias: {str(bias).lower()}}}")
    module = nn.Linear(shape[-1], out, bias=bias)
    x = torch.zeros(1, *shape)
    assert r.shape == tuple(module(x).shape[1:]) == (*shape[:-1], out)
    assert r.params == n_params(module) == shape[-1] * out + (out if bias else 0)
    rows = math.prod(shape[:-1])
    assert r.macs == rows * shape[-1] * out == measured_macs(module, x)
    assert r.flops == 2 * rows * shape[-1] * out + (rows * out if bias else 0)


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 5, 7)])
@pytest.mark.parametrize("start, end", [(1, 1), (1, 2), (2, 2), (1, -2), (2, -2), (-3, -2), (-2, -2), (1, -1),
                                        (2, 3), (-2, -1)])
def test_flatten_with_any_end_dim(shape, start, end):
    """torch.flatten's shape for every start_dim/end_dim pair that fits the rank (the batch is dimension 0), and a
    linear layer after it taking the last dimension that flatten leaves."""
    rank = len(shape) + 1
    if not (0 < start % rank <= end % rank < rank):
        pytest.skip("not a pair of sample dimensions in order")
    x = torch.zeros(1, *shape)
    flat = x.flatten(start, end)
    r = last(listed(shape), f"- flatten: {{start_dim: {start}, end_dim: {end}}}")
    assert r.shape == tuple(flat.shape[1:])
    assert (r.params, r.macs, r.flops) == (0, 0, 0)
    head = last(listed(shape), f"- flatten: {{start_dim: {start}, end_dim: {end}}}\n- linear: 4")
    assert head.shape == tuple(nn.Linear(flat.shape[-1], 4)(flat).shape[1:])
    assert head.params == n_params(nn.Linear(flat.shape[-1], 4))
