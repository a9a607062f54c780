"""Random networks against PyTorch: paramcalc accepts exactly what PyTorch runs, and then agrees with it on
every layer's shape, parameters and FLOPs, and on the MACs.

The PyTorch side is built here directly from the drawn settings (not by paramcalc.torch), so it is an
independent reference. Inputs are not square (height and width drawn from different ranges, never equal), and
kernels, strides, dilations and paddings are drawn per axis (asymmetric padding through padding mappings and
`pad` layers), so that a height/width mix-up shows. Each layer's FLOPs are the hand formula of its kind as
docs/conventions.md gives it, written out below from the drawn settings and PyTorch's shapes.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .conftest import require_torch
from .networks import pair, spec_fields

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

REFUSED = (RuntimeError, ValueError, IndexError)  # how PyTorch refuses a module or an input

# ---------------------------------------------------------------------------------------------------------------
# Strategies: per-axis settings by default, a plain number now and then.


def per_axis(low: int, high: int):
    return st.one_of(st.tuples(st.integers(low, high), st.integers(low, high)), st.integers(low, high))


sides = st.fixed_dictionaries({side: st.integers(0, 3) for side in ("top", "bottom", "left", "right")})
conv_padding = st.one_of(sides, st.tuples(st.integers(0, 2), st.integers(0, 2)), st.integers(0, 3),
                         st.sampled_from(["same", "valid"]))
conv = st.fixed_dictionaries({
    "out": st.integers(1, 6), "kernel": per_axis(1, 4), "stride": per_axis(1, 3), "padding": conv_padding,
    "dilation": per_axis(1, 3), "groups": st.sampled_from([1, 1, 2, 3]), "bias": st.booleans()})


@st.composite
def same_size_conv(draw) -> dict:
    """The branch of a residual add or a dense concat: stride 1, the map's size kept (padding 'same', or the
    dilated span padded by hand, the extra on the bottom and right)."""
    kh, kw, dh, dw = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    padding: Any = draw(st.sampled_from(["same", {"top": span_h // 2, "bottom": span_h - span_h // 2,
                                                  "left": span_w // 2, "right": span_w - span_w // 2}]))
    return {"out": draw(st.integers(1, 4)), "kernel": (kh, kw), "stride": 1, "padding": padding,
            "dilation": (dh, dw), "groups": 1, "bias": draw(st.booleans())}


@st.composite
def window_pool(draw, dilated: bool) -> dict:
    kernel = draw(per_axis(1, 4))
    kh, kw = pair(kernel)
    options = {"kernel": kernel, "stride": draw(st.one_of(st.none(), per_axis(1, 3))),
               "padding": draw(st.one_of(st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2)),
                                         st.integers(0, min(kh, kw) // 2))),
               "ceil_mode": draw(st.booleans())}
    if dilated:
        options["dilation"] = draw(per_axis(1, 2))
    else:
        options["count_include_pad"] = draw(st.booleans())
    return options


@st.composite
def conv_transpose(draw) -> dict:
    stride, dilation = draw(st.tuples(st.integers(1, 3), st.integers(1, 3))), \
        draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    groups = draw(st.sampled_from([1, 1, 2]))
    return {"out": groups * draw(st.integers(1, 3)), "kernel": draw(per_axis(1, 4)), "stride": stride,
            "padding": draw(per_axis(0, 2)), "dilation": dilation, "groups": groups, "bias": draw(st.booleans()),
            "output_padding": tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))}


upsample = st.one_of(
    st.fixed_dictionaries({"size": st.tuples(st.integers(1, 16), st.integers(1, 16)),
                           "mode": st.sampled_from(["nearest", "bilinear", "bicubic"])}),
    st.fixed_dictionaries({"scale": st.sampled_from([0.5, 1.5, 2, 3]),
                           "mode": st.sampled_from(["nearest", "bilinear", "bicubic"])}))

operation = st.one_of(
    st.tuples(st.just("conv2d"), conv),
    st.tuples(st.just("maxpool"), window_pool(dilated=True)),
    st.tuples(st.just("avgpool"), window_pool(dilated=False)),
    st.tuples(st.just("batchnorm"), st.just({})),
    st.tuples(st.just("adaptive_avgpool"), st.fixed_dictionaries({"out": per_axis(1, 6)})),
    st.tuples(st.just("adaptive_maxpool"), st.fixed_dictionaries({"out": per_axis(1, 6)})),
    st.tuples(st.just("pad"), sides),
    st.tuples(st.just("conv_transpose2d"), conv_transpose()),
    st.tuples(st.just("upsample"), upsample),
    st.tuples(st.just("add"), same_size_conv()),      # x + conv(x): a residual branch (out set to x's channels)
    st.tuples(st.just("concat"), same_size_conv()),   # cat(x, conv(x)): a dense connection
)
network = st.fixed_dictionaries({
    # height and width from different ranges, never equal
    "input": st.tuples(st.integers(1, 6), st.integers(1, 14), st.integers(3, 22)).filter(lambda s: s[1] != s[2]),
    "batch": st.integers(1, 2),
    "layers": st.lists(operation, min_size=1, max_size=5),
    "head": st.one_of(st.none(), st.integers(1, 10)),
})


# ---------------------------------------------------------------------------------------------------------------
# The drawn network as a spec.

def channels_before(net: dict, index: int) -> int:
    """The channels entering operation `index`, from the drawn settings alone."""
    channels = net["input"][0]
    for kind, options in net["layers"][:index]:
        if kind in ("conv2d", "conv_transpose2d"):
            channels = options["out"]
        elif kind == "concat":
            channels += options["out"]
    return channels


def branch_of(net: dict, index: int) -> dict:
    kind, options = net["layers"][index]
    return {**options, "out": channels_before(net, index)} if kind == "add" else options


def spec_of(net: dict) -> dict:
    layers: list[dict] = []
    previous = "input"
    for index, (kind, options) in enumerate(net["layers"]):
        name = f"l{index}"
        if kind in ("add", "concat"):
            layers.append({"name": f"branch{index}", "from": previous, "conv2d": spec_fields(branch_of(net, index))})
            layers.append({"name": name, kind: None, "from": [previous, f"branch{index}"]})
        elif kind == "pad":
            layers.append({"name": name, "pad": {"padding": dict(options)}})
        else:
            layers.append({"name": name, kind: spec_fields(options) or None})
        previous = name
    if net["head"]:
        layers += [{"name": "flatten", "flatten": None}, {"name": "head", "linear": net["head"]}]
    return {"name": "random", "input": list(net["input"]), "batch": net["batch"], "layers": layers}


# ---------------------------------------------------------------------------------------------------------------
# The same network in PyTorch, and each layer's FLOPs by hand (docs/conventions.md, "FLOPs").

def torch_conv(x, options: dict) -> tuple[Any, Any]:
    pad = options["padding"]
    if isinstance(pad, dict):  # PyTorch's convolutions pad both sides alike: uneven padding is an F.pad first
        x = F.pad(x, (pad["left"], pad["right"], pad["top"], pad["bottom"]))
        pad = 0
    module = nn.Conv2d(x.shape[1], options["out"], pair(options["kernel"]), stride=pair(options["stride"]),
                       padding=pad, dilation=pair(options["dilation"]), groups=options["groups"],
                       bias=options["bias"])
    return module, x


def adaptive_read(size: int, out: int) -> int:
    """The elements PyTorch's adaptive pooling reads along one axis: window i spans
    [floor(i·size/out), ceil((i + 1)·size/out))."""
    return sum(-(-(i + 1) * size // out) - i * size // out for i in range(out))


def conv_flops(options: dict, x_in, y) -> int:
    """2 per MAC, plus one per output element with a bias; MACs out·H_out·W_out·(in/groups)·kh·kw."""
    kh, kw = pair(options["kernel"])
    batch, out, h_out, w_out = y.shape
    macs = batch * out * h_out * w_out * (x_in.shape[1] // options["groups"]) * kh * kw
    return 2 * macs + (batch * out * h_out * w_out if options["bias"] else 0)


def layer_flops(kind: str, options: dict, x_in, y) -> int:
    """A layer's FLOPs by its kind's hand formula, from the drawn settings and PyTorch's shapes."""
    if kind == "conv2d":
        return conv_flops(options, x_in, y)
    if kind == "conv_transpose2d":  # per input position: H_in·W_in·in·(out/groups)·kh·kw
        kh, kw = pair(options["kernel"])
        batch, channels, h_in, w_in = x_in.shape
        macs = batch * h_in * w_in * channels * (options["out"] // options["groups"]) * kh * kw
        return 2 * macs + (y.numel() if options["bias"] else 0)
    if kind == "maxpool":
        kh, kw = pair(options["kernel"])
        return (kh * kw - 1) * y.numel()
    if kind == "avgpool":
        kh, kw = pair(options["kernel"])
        return kh * kw * y.numel()
    if kind in ("adaptive_avgpool", "adaptive_maxpool"):
        (oh, ow), (batch, channels, h, w) = pair(options["out"]), x_in.shape
        read = batch * channels * adaptive_read(h, oh) * adaptive_read(w, ow)  # one per element each window reads
        return read if kind == "adaptive_avgpool" else read - y.numel()  # max: window - 1 comparisons
    if kind == "batchnorm":
        return 2 * y.numel()
    if kind == "upsample":
        taps = {"nearest": 0, "bilinear": 4, "bicubic": 16}[options["mode"]]
        return (2 * taps - 1) * y.numel() if taps else 0
    if kind == "add":
        return y.numel()  # inputs - 1 = 1 per output element
    if kind in ("pad", "concat", "flatten"):
        return 0
    raise AssertionError(kind)


def run_torch(net: dict) -> list[tuple[tuple, int, int]] | None:
    """(output shape with the batch, params, FLOPs by hand) of every spec layer in order; None when PyTorch refuses
    the network (an empty output counts as refused: PyTorch's transposed convolution returns a size-0 map)."""
    rows: list[tuple[tuple, int, int]] = []
    x = torch.zeros(net["batch"], *net["input"])

    def keep(y, params: int, flops: int):
        if 0 in y.shape:
            raise ValueError("an empty output")
        rows.append((tuple(y.shape), params, flops))
        return y

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # padding 'same' with an even kernel
            for index, (kind, options) in enumerate(net["layers"]):
                if kind in ("conv2d", "add", "concat"):
                    settings_ = branch_of(net, index)
                    module, padded = torch_conv(x, settings_)
                    y = module(padded)
                    branch = keep(y, sum(p.numel() for p in module.parameters()), conv_flops(settings_, x, y))
                    if kind == "conv2d":
                        x = branch
                        continue
                    y = x + branch if kind == "add" else torch.cat([x, branch], 1)
                    x = keep(y, 0, layer_flops(kind, options, x, y))
                    continue
                params = 0
                if kind == "maxpool":
                    module = nn.MaxPool2d(pair(options["kernel"]), options["stride"] and pair(options["stride"]),
                                          pair(options["padding"]), pair(options["dilation"]),
                                          ceil_mode=options["ceil_mode"])
                elif kind == "avgpool":
                    module = nn.AvgPool2d(pair(options["kernel"]), options["stride"] and pair(options["stride"]),
                                          pair(options["padding"]), options["ceil_mode"],
                                          options["count_include_pad"])
                elif kind == "batchnorm":
                    module = nn.BatchNorm2d(x.shape[1]).eval()
                elif kind == "adaptive_avgpool":
                    module = nn.AdaptiveAvgPool2d(pair(options["out"]))
                elif kind == "adaptive_maxpool":
                    module = nn.AdaptiveMaxPool2d(pair(options["out"]))
                elif kind == "pad":
                    module = nn.ZeroPad2d((options["left"], options["right"], options["top"], options["bottom"]))
                elif kind == "conv_transpose2d":
                    module = nn.ConvTranspose2d(x.shape[1], options["out"], pair(options["kernel"]),
                                                stride=options["stride"], padding=pair(options["padding"]),
                                                output_padding=options["output_padding"], groups=options["groups"],
                                                bias=options["bias"], dilation=options["dilation"])
                elif kind == "upsample":
                    module = nn.Upsample(size=options.get("size"), scale_factor=options.get("scale"),
                                         mode=options["mode"])
                else:
                    raise AssertionError(kind)
                params = sum(p.numel() for p in module.parameters())
                y = module(x)
                x = keep(y, params, layer_flops(kind, options, x, y))
            if net["head"]:
                y = torch.flatten(x, 1)
                x = keep(y, 0, 0)
                module = nn.Linear(x.shape[1], net["head"])
                y = module(x)
                # 2·in·out per row plus the bias's out
                x = keep(y, sum(p.numel() for p in module.parameters()),
                         2 * x.shape[0] * x.shape[1] * net["head"] + x.shape[0] * net["head"])
    except REFUSED:
        return None
    return rows


def torch_macs(net: dict) -> int:
    """PyTorch's own count of the whole network: FlopCounterMode's FLOPs (2 per multiply-accumulate) // 2."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run_torch(net)
    return counter.get_total_flops() // 2


def check(net: dict) -> None:
    with torch.no_grad():
        reference = run_torch(net)
    try:
        result = paramcalc.analyze(spec_of(net))
    except paramcalc.SpecError as err:
        assert reference is None, f"paramcalc refused what PyTorch runs: {err}"
        return
    assert reference is not None, "paramcalc accepted what PyTorch refuses"
    ours = [((result.batch, *r.shape), r.params, r.flops) for r in result.records]
    for record, mine, theirs in zip(result.records, ours, reference):
        assert mine == theirs, f"{record.name} ({record.kind}): (shape, params, FLOPs) {mine}, by hand {theirs}"
    assert len(ours) == len(reference)
    assert result.totals.params == sum(params for _, params, _ in reference)
    assert result.totals.flops == sum(flops for _, _, flops in reference)
    assert result.totals.macs == torch_macs(net)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(network)
def test_random_networks_agree_with_pytorch(net):
    check(net)


def test_rectangular_example():
    """One network worked through: a 3 x 7 x 12 input, a 3 x 1 kernel dilated (1, 2) with uneven padding,
    a (2, 3) max pool, an uneven pad and an adaptive pool to 2 x 3 (not an identity)."""
    net = {"input": (3, 7, 12), "batch": 1, "head": 4, "layers": [
        ("conv2d", {"out": 4, "kernel": (3, 1), "stride": (1, 2), "dilation": (1, 2), "groups": 1, "bias": True,
                    "padding": {"top": 1, "bottom": 0, "left": 0, "right": 1}}),
        ("maxpool", {"kernel": (2, 3), "stride": None, "padding": (1, 1), "dilation": 1, "ceil_mode": False}),
        ("pad", {"top": 0, "bottom": 2, "left": 1, "right": 0}),
        ("adaptive_avgpool", {"out": (2, 3)}),
    ]}
    result = paramcalc.analyze(spec_of(net))
    shapes = [r.shape for r in result.records]
    # rows (7 + 1 - 3) + 1 = 6, columns (12 + 1 - 1) // 2 + 1 = 7; pooled (6 + 2 - 2) // 2 + 1 = 4,
    # (7 + 2 - 3) // 3 + 1 = 3; padded 6 x 4; pooled to 2 x 3; flattened 24; 4 features
    assert shapes == [(4, 6, 7), (4, 4, 3), (4, 6, 4), (4, 2, 3), (24,), (4,)]
    conv, pool, _, adaptive, _, _ = result.records
    assert conv.flops == 2 * 4 * 6 * 7 * 3 * 3 + 4 * 6 * 7
    assert pool.flops == (2 * 3 - 1) * 4 * 4 * 3
    # rows: windows of 3 (6 into 2); columns: [0, 2), [1, 3), [2, 4): 6 elements
    assert adaptive.flops == 4 * (3 + 3) * (2 + 2 + 2)
    check(net)
    assert math.prod(shapes[3]) == shapes[4][0]
