"""Receptive fields against gradients: paramcalc's field of a unit against the input pixels that unit depends on.

A random small network is drawn and built here directly in PyTorch (not by paramcalc.torch, which shares
paramcalc's reading of the spec), with every weight positive, max-pooling summed over its window instead (a
max routes the gradient to one element) and an input of ones, so a unit's gradient on the input is non-zero
exactly where the unit depends on the input.

The span of Araujo et al. (u·stride - padding to u·stride - padding + size - 1 on each axis) is an envelope:
inside it a dilation or a stride longer than its kernel leaves holes, and pixels a floor drops at the far edge
are not read although the span covers them. So on the drawn input every unit checked must see nothing outside
its span clipped to the input, and on an input large enough that the edges do not matter the middle unit must
see both ends of its span (test_receptive_fields_agree_with_gradients). A global field's units must each see
all that the whole layer sees of the input (which is not every pixel when a stride skipped some before the
layer read its whole map), or nothing (a unit whose window lies in the padding).

Broadcast merges (a squeeze-and-excitation gate, C x 1 x 1, multiplied into or added to its map) are the
point: every unit after one depends on the whole input, and the field moves with the full-resolution operand.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .conftest import require_torch
from .networks import pair, spec_fields

torch = require_torch()
F = torch.nn.functional

# ---------------------------------------------------------------------------------------------------------------
# Strategies: each operation is (kind, options); the options are as written in the spec where they can be.

axis_pad = st.integers(0, 2)
kernel = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))
conv = st.fixed_dictionaries({
    "out": st.integers(1, 4), "kernel": kernel,
    "stride": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    "padding": st.one_of(axis_pad, st.tuples(axis_pad, axis_pad),
                         st.fixed_dictionaries({side: axis_pad for side in ("top", "bottom", "left", "right")})),
    "dilation": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
})


@st.composite
def pool(draw, dilated: bool) -> dict:
    size = draw(kernel)
    kh, kw = pair(size)
    padding = draw(st.one_of(st.integers(0, min(kh, kw) // 2),
                             st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2))))
    options = {"kernel": size, "stride": draw(st.one_of(st.none(), st.integers(1, 3),
                                                        st.tuples(st.integers(1, 3), st.integers(1, 3)))),
               "padding": padding, "ceil_mode": draw(st.booleans())}
    if dilated:
        options["dilation"] = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    else:
        options["count_include_pad"] = draw(st.booleans())
    return options


@st.composite
def same_conv(draw) -> dict:
    """A convolution that keeps the map's size (stride 1, the dilated span padded, unevenly when it is odd)."""
    (kh, kw), (dh, dw) = draw(st.tuples(st.integers(1, 4), st.integers(1, 4))), \
        draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    padding: Any = {"top": span_h // 2, "bottom": span_h - span_h // 2,
                    "left": span_w // 2, "right": span_w - span_w // 2}
    if span_h % 2 == 0 and span_w % 2 == 0:
        padding = (span_h // 2, span_w // 2)
    return {"out": draw(st.integers(1, 4)), "kernel": (kh, kw), "stride": 1, "padding": padding,
            "dilation": (dh, dw)}


gate = st.fixed_dictionaries({
    "merge": st.sampled_from(["mul", "add"]),
    # global, or not: pooled over the width only (coordinate attention's x.mean(3, keepdim=True)), or a 1x1
    # convolution strided past the map's end (one pixel's gate)
    "pool": st.sampled_from(["global_avgpool", "adaptive_avgpool", "mean", "row_mean", "strided"]),
    "conv": st.booleans(),           # a 1x1 convolution on the pooled gate
    "gate_first": st.booleans(),     # from: [gate, map] rather than [map, gate]
})
sides = st.fixed_dictionaries({side: st.integers(0, 3) for side in ("top", "bottom", "left", "right")})


@st.composite
def cross(draw) -> tuple[dict, dict]:
    """Two size-keeping convolutions of the same map with different fields (a tall kh x 1 one and a wide 1 x kw
    one, each dilated on its own axis), added: the union of their fields."""
    kh, kw = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    tall_span, wide_span = dh * (kh - 1), dw * (kw - 1)
    tall = {"out": 1, "kernel": (kh, 1), "stride": 1, "dilation": (dh, 1),
            "padding": {"top": tall_span // 2, "bottom": tall_span - tall_span // 2, "left": 0, "right": 0}}
    wide = {"out": 1, "kernel": (1, kw), "stride": 1, "dilation": (1, dw),
            "padding": {"top": 0, "bottom": 0, "left": wide_span // 2, "right": wide_span - wide_span // 2}}
    return (tall, wide) if draw(st.booleans()) else (wide, tall)


operation = st.one_of(
    st.tuples(st.just("conv2d"), conv),
    st.tuples(st.just("pad"), sides),                # F.pad, unevenly
    st.tuples(st.just("cross"), cross()),            # conv_a(x) + conv_b(x), different fields
    st.tuples(st.just("adaptive"), st.tuples(st.integers(1, 5), st.integers(1, 5))),  # to an h x w map
    # merge(x, upsample(gap(x))) or merge(x, x * gap(x)): a global operand of x's size merged with x
    st.tuples(st.just("pooled_back"), st.fixed_dictionaries({
        "merge": st.sampled_from(["add", "concat"]), "first": st.booleans(), "via": st.sampled_from(["upsample", "mul"])})),
    st.tuples(st.just("maxpool"), pool(dilated=True)),
    st.tuples(st.just("avgpool"), pool(dilated=False)),
    st.tuples(st.just("add"), same_conv()),       # x + conv(x), the conv's out set to x's channels
    st.tuples(st.just("concat"), same_conv()),    # cat([x, conv(x)], 1)
    st.tuples(st.just("gate"), gate),             # x * conv(pool(x)) or x + conv(pool(x)), broadcast
    st.tuples(st.just("global"), st.sampled_from(["global_avgpool", "adaptive_avgpool", "mean"])),
    st.tuples(st.just("channel_mean"), st.none()),  # x.mean(1, keepdim=True): each position on its own
)
network = st.fixed_dictionaries({
    "input": st.tuples(st.integers(1, 4), st.integers(1, 24), st.integers(1, 24)),
    "layers": st.lists(operation, min_size=1, max_size=5),
})


# ---------------------------------------------------------------------------------------------------------------
# The drawn network as a paramcalc spec.

#: a stride no map reaches, even check_exact's large ones: the convolution reads pixel (0, 0) only
PAST_THE_END = 1_000_000


def _pooled(kind: str, channels: int = 1) -> tuple[str, Any]:
    if kind == "mean":  # x.mean([2, 3], keepdim=True)
        return kind, {"dims": [2, 3], "keepdim": True}
    if kind == "row_mean":
        return "mean", {"dims": [3], "keepdim": True}
    if kind == "strided":
        return "conv2d", {"out": channels, "kernel": 1, "stride": PAST_THE_END}
    return (kind, None) if kind == "global_avgpool" else (kind, {"out": 1})


def spec_of(net: dict) -> dict:
    layers: list[dict] = []
    previous = "input"
    for index, (kind, options) in enumerate(net["layers"]):
        name = f"l{index}"
        if kind in ("add", "concat"):
            fields = spec_fields(options)
            if kind == "add":  # a residual branch keeps the channels too
                fields["out"] = _channels(net, index)
            layers.append({"name": f"branch{index}", "from": previous, "conv2d": fields})
            layers.append({"name": name, kind: None, "from": [previous, f"branch{index}"]})
        elif kind == "gate":
            pooled, fields = _pooled(options["pool"], _channels(net, index))
            layers.append({"name": f"squeeze{index}", "from": previous, pooled: fields})
            gate_name = f"squeeze{index}"
            if options["conv"]:
                layers.append({"name": f"excite{index}", "conv2d": {"out": _channels(net, index), "kernel": 1}})
                gate_name = f"excite{index}"
            operands = [gate_name, previous] if options["gate_first"] else [previous, gate_name]
            layers.append({"name": name, options["merge"]: None, "from": operands})
        elif kind == "global":
            pooled, fields = _pooled(options)
            layers.append({"name": name, pooled: fields})
        elif kind == "channel_mean":
            layers.append({"name": name, "mean": {"dims": 1, "keepdim": True}})
        elif kind == "pad":
            layers.append({"name": name, "pad": {"padding": dict(options)}})
        elif kind == "cross":
            channels = _channels(net, index)
            for letter, branch in zip("ab", options):
                layers.append({"name": f"{letter}{index}", "from": previous,
                               "conv2d": {**spec_fields(branch), "out": channels}})
            layers.append({"name": name, "add": None, "from": [f"a{index}", f"b{index}"]})
        elif kind == "adaptive":
            layers.append({"name": name, "adaptive_avgpool": {"out": list(options)}})
        elif kind == "pooled_back":
            layers.append({"name": f"squeeze{index}", "from": previous, "global_avgpool": None})
            if options["via"] == "upsample":
                layers.append({"name": f"back{index}", "upsample": None, "from": [f"squeeze{index}", previous]})
            else:
                layers.append({"name": f"back{index}", "mul": None, "from": [previous, f"squeeze{index}"]})
            operands = [f"back{index}", previous] if options["first"] else [previous, f"back{index}"]
            layers.append({"name": name, options["merge"]: None, "from": operands})
        else:
            layers.append({"name": name, kind: spec_fields(options)})
        previous = name
    return {"name": "random", "input": list(net["input"]), "layers": layers}


def _channels(net: dict, index: int) -> int:
    """The channels of the map entering operation `index` (of the drawn network, without paramcalc)."""
    channels = net["input"][0]
    for kind, options in net["layers"][:index]:
        if kind == "conv2d":
            channels = options["out"]
        elif kind == "concat":
            channels += options["out"]
        elif kind == "channel_mean":
            channels = 1
        elif kind == "pooled_back" and options["merge"] == "concat":
            channels *= 2
    return channels


# ---------------------------------------------------------------------------------------------------------------
# The same network in PyTorch, with positive weights: every layer's output by its spec name.

def _conv(x, options: dict):
    out, padding = options["out"], options["padding"]
    kh, kw = pair(options["kernel"])
    if isinstance(padding, dict):
        x = F.pad(x, (padding["left"], padding["right"], padding["top"], padding["bottom"]))
        padding = 0
    fan_in = x.shape[1] * kh * kw
    weight = torch.full((out, x.shape[1], kh, kw), 1.0 / fan_in, dtype=x.dtype)
    bias = torch.full((out,), 0.1, dtype=x.dtype)
    return F.conv2d(x, weight, bias, stride=pair(options["stride"]), padding=pair(padding),
                    dilation=pair(options["dilation"]))


def _summed_maxpool(x, options: dict):
    """MaxPool2d's windows, summed: the output size is MaxPool2d's own, each unit sums its window with positive
    weights (a depthwise convolution of ones), so the gradient reaches every pixel of the window."""
    kernel, dilation = pair(options["kernel"]), pair(options["dilation"])
    stride, padding = pair(options["stride"] or options["kernel"]), pair(options["padding"])
    with torch.no_grad():
        reference = torch.nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=options["ceil_mode"])(x)
    out = reference.shape[2:]
    extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - (n + q))
             for o, s, d, k, n, q in zip(out, stride, dilation, kernel, x.shape[2:], padding)]
    padded = F.pad(x, (padding[1], extra[1], padding[0], extra[0]))
    channels = x.shape[1]
    weight = torch.ones((channels, 1, *kernel), dtype=x.dtype)
    summed = F.conv2d(padded, weight, stride=stride, dilation=dilation, groups=channels)
    return summed[:, :, :out[0], :out[1]]


def _avgpool(x, options: dict):
    return F.avg_pool2d(x, pair(options["kernel"]), pair(options["stride"] or options["kernel"]),
                        pair(options["padding"]), options["ceil_mode"], options["count_include_pad"])


def _pool_whole(x, kind: str):
    if kind == "row_mean":
        return x.mean(3, keepdim=True)
    if kind == "strided":
        return _conv(x, {"out": x.shape[1], "kernel": 1, "stride": PAST_THE_END, "padding": 0, "dilation": 1})
    return x.mean([2, 3], keepdim=True) if kind == "mean" else F.adaptive_avg_pool2d(x, 1)


def run_torch(net: dict, image) -> dict | None:
    """Every layer's output by spec name; None when PyTorch refuses the network."""
    outputs: dict = {}
    x = image
    try:
        for index, (kind, options) in enumerate(net["layers"]):
            name = f"l{index}"
            if kind == "conv2d":
                x = _conv(x, options)
            elif kind == "maxpool":
                x = _summed_maxpool(x, options)
            elif kind == "avgpool":
                x = _avgpool(x, options)
            elif kind in ("add", "concat"):
                branch = _conv(x, {**options, "out": x.shape[1]} if kind == "add" else options)
                outputs[f"branch{index}"] = branch
                x = x + branch if kind == "add" else torch.cat([x, branch], 1)
            elif kind == "gate":
                gated = _pool_whole(x, options["pool"])
                outputs[f"squeeze{index}"] = gated
                if options["conv"]:
                    gated = _conv(gated, {"out": x.shape[1], "kernel": 1, "stride": 1, "padding": 0, "dilation": 1})
                    outputs[f"excite{index}"] = gated
                x = x * gated if options["merge"] == "mul" else x + gated
            elif kind == "global":
                x = _pool_whole(x, options)
            elif kind == "channel_mean":
                x = x.mean(1, keepdim=True)
            elif kind == "pad":
                x = F.pad(x, (options["left"], options["right"], options["top"], options["bottom"]))
            elif kind == "cross":
                branches = [_conv(x, {**branch, "out": x.shape[1]}) for branch in options]
                outputs[f"a{index}"], outputs[f"b{index}"] = branches
                x = branches[0] + branches[1]
            elif kind == "adaptive":
                x = F.adaptive_avg_pool2d(x, options)
            elif kind == "pooled_back":
                squeezed = F.adaptive_avg_pool2d(x, 1)
                back = F.interpolate(squeezed, size=tuple(x.shape[2:]), mode="nearest") \
                    if options["via"] == "upsample" else x * squeezed
                outputs[f"squeeze{index}"], outputs[f"back{index}"] = squeezed, back
                operands = [back, x] if options["first"] else [x, back]
                x = operands[0] + operands[1] if options["merge"] == "add" else torch.cat(operands, 1)
            outputs[name] = x
    except (RuntimeError, ValueError):
        return None
    return outputs


# ---------------------------------------------------------------------------------------------------------------
# The measurement: the input pixels a unit depends on are those where its gradient is non-zero.

def seen(output, image, y: int, x: int):
    """The input pixels (height x width, over the channels) on which unit (y, x) of the output depends.

    The unit is the output's position (y, x) over all its channels (all positive, so nothing cancels): a concat's
    channel 0 alone would see only the first operand."""
    (gradient,) = torch.autograd.grad(output[0, :, y, x].sum(), image, retain_graph=True)
    return gradient[0].abs().sum(0) != 0


def extent(mask, axis: int) -> tuple[int, int] | None:
    """The first and last index along `axis` (0 rows, 1 columns) with a pixel in the mask; None when empty."""
    indices = torch.nonzero(mask.any(1 - axis)).flatten().tolist()
    return (indices[0], indices[-1]) if indices else None


def span(rf, unit: int, axis: int) -> tuple[int, int]:
    """paramcalc's span for a unit along an axis, on the input, before clipping: Araujo et al.'s formula."""
    start = unit * rf.stride[axis] - rf.padding[axis]
    return start, start + rf.size[axis] - 1


def units(height: int, width: int) -> list[tuple[int, int]]:
    """The first unit, the last, one in the middle and the two other corners (mixing the axes)."""
    return list(dict.fromkeys([(0, 0), (height - 1, width - 1), (height // 2, width // 2), (0, width - 1),
                               (height - 1, 0)]))


def check_field(name: str, rf, output, image) -> None:
    """On the drawn input, for a few units: a unit of a field that is not global sees nothing outside its span
    clipped to the input (nothing at all when nothing is left of it); a unit of a global field sees all that
    the whole layer sees, or nothing (a unit whose window lies in the padding). That the whole layer sees the
    whole input is `test_global_fields_see_every_pixel`'s."""
    size = tuple(image.shape[2:])
    whole = None
    for y, x in units(*output.shape[2:]):
        mask = seen(output, image, y, x)
        if rf.is_global:
            if whole is None:
                (gradient,) = torch.autograd.grad(output.sum(), image, retain_graph=True)
                whole = gradient[0].abs().sum(0) != 0
            assert bool((mask == whole).all()) or not bool(mask.any()), \
                f"{name}: unit ({y}, {x}) is global by {rf} but sees rows {extent(mask, 0)}, columns " \
                f"{extent(mask, 1)} of the layer's rows {extent(whole, 0)}, columns {extent(whole, 1)}"
            continue
        for unit, axis in ((y, 0), (x, 1)):
            start, end = span(rf, unit, axis)
            low, high = max(start, 0), min(end, size[axis] - 1)
            got = extent(mask, axis)
            if low > high:
                assert got is None, f"{name}: unit ({y}, {x}) of {rf} sees {got} on axis {axis}, outside the input"
            else:
                assert got is None or low <= got[0] <= got[1] <= high, \
                    f"{name}: unit ({y}, {x}) of {rf} sees {got} on axis {axis}, outside its span [{low}, {high}]"


def check_broadcasts(spec: dict, records: dict, image) -> None:
    """A merge with a gate broadcast over the map: global, moving with the full-resolution operand, when the gate
    sees the whole input; not followed when it does not (every unit then sees its own window and the gate's
    fixed one, which no size, stride and padding describe: check_field shows what a claim would miss)."""
    for layer in spec["layers"]:
        if not ("mul" in layer or "add" in layer) or not isinstance(layer["from"], list):
            continue
        merged = records[layer["name"]]
        shapes = {name: tuple(image.shape[1:]) if name == "input" else records[name].shape for name in layer["from"]}
        full = [name for name in layer["from"] if shapes[name][1:] == merged.shape[1:]]
        if len(full) == len(layer["from"]):
            continue  # a residual add
        (operand,) = full
        if operand != "input" and records[operand].rf is None:
            continue  # the full-resolution operand's field is not followed: nothing to merge with
        (gate,) = [name for name in layer["from"] if name != operand]
        if records[gate].rf is None or not records[gate].rf.is_global:
            assert merged.rf is None, f"{layer['name']}: a gate that does not see the whole input, but {merged.rf}"
            continue
        assert merged.rf.is_global, f"{layer['name']}: a global gate merged in, but {merged.rf}"
        moving = ((1, 1), (0, 0)) if operand == "input" else (records[operand].rf.stride, records[operand].rf.padding)
        assert (merged.rf.stride, merged.rf.padding) == moving, \
            f"{layer['name']}: {merged.rf} does not move with {operand} (stride, padding {moving})"


#: the most pixels (height x width) of the long input for the exact spans; a field that needs more (a stride of
#: hundreds, from five strided layers) is left to the containment check on the drawn input
CANVAS_BUDGET = 400_000


def check_exact(net: dict, records: dict) -> None:
    """The spans are not only wide enough but exact: on an input so large that the middle unit is far from every
    edge (where padding, the holes of dilations and of strides longer than kernels, and the last pixels a floor
    drops do not matter), the middle unit of every layer whose field is not global sees the first and the last
    pixel of its span. The fields of such layers do not depend on the input's size, so they must not change."""
    local: dict = {}
    margins = [0, 0]
    sized = {f"l{index}" for index, (kind, _) in enumerate(net["layers"]) if kind == "adaptive"}
    for name, record in records.items():  # in forward order, while the input stays within the budget
        rf = record.rf
        if name in sized or rf is None:  # an adaptive pool's windows depend on its input's size: so does every
            break  # field after it; a field not followed ends the walk
        if rf.is_global:
            continue
        needed = [max(margins[axis], rf.size[axis] + rf.padding[axis] + rf.stride[axis]) for axis in (0, 1)]
        if (net["input"][1] + 4 * needed[0]) * (net["input"][2] + 4 * needed[1]) > CANVAS_BUDGET:
            break
        local[name], margins = rf, needed
    if not local:
        return
    lengths = [size + 4 * margin for size, margin in zip(net["input"][1:], margins)]
    large = {**net, "input": (net["input"][0], *lengths)}
    image = torch.ones(1, *large["input"], dtype=torch.float64, requires_grad=True)
    outputs = run_torch(large, image)
    assert outputs is not None
    large_records = {record.name: record for record in paramcalc.analyze(spec_of(large)).records}
    for name, rf in local.items():
        other = large_records[name].rf
        assert (other.size, other.stride, other.padding, other.is_global) == (rf.size, rf.stride, rf.padding, False), \
            f"{name}: {rf} on the drawn input, {other} on an input of {lengths}"
        output = outputs[name]
        middle = [output.shape[2] // 2, output.shape[3] // 2]
        mask = seen(output, image, *middle)
        for axis in (0, 1):
            start, end = span(rf, middle[axis], axis)
            assert 0 <= start <= end < lengths[axis], f"{name}: the margin is too small for {rf}"
            got = extent(mask, axis)
            assert got == (start, end), f"{name}: unit {middle} of {rf} on an input of {lengths} sees {got} on " \
                                        f"axis {axis}, not its span {(start, end)}"


def analyzed(net: dict) -> tuple | None:
    """(spec, records by name, outputs by name, input image) for a drawn network; None when paramcalc refuses it,
    which PyTorch must refuse as well (and the other way round)."""
    spec = spec_of(net)
    image = torch.ones(1, *net["input"], dtype=torch.float64, requires_grad=True)
    outputs = run_torch(net, image)
    try:
        result = paramcalc.analyze(spec)
    except paramcalc.SpecError as err:
        assert outputs is None, f"paramcalc refused what PyTorch runs: {err}"
        return None
    assert outputs is not None, "paramcalc accepted what PyTorch refuses"
    records = {record.name: record for record in result.records}
    assert list(records) == list(outputs)  # the spec's layer names, in forward order
    for name, record in records.items():
        assert (1, *record.shape) == tuple(outputs[name].shape), name
    return spec, records, outputs, image


def check_network(net: dict) -> dict:
    drawn = analyzed(net)
    if drawn is None:
        return {}
    spec, records, outputs, image = drawn
    names, approximate = list(records), len(records)
    for index, (kind, out) in enumerate(net["layers"]):
        position = names.index(f"l{index}")
        sizes = outputs[names[position - 1]].shape[2:] if position else image.shape[2:]
        if kind == "adaptive" and any(size % o for o, size in zip(out, sizes)):
            # uneven windows: paramcalc's field (the longest window, a stride of floor(in/out)) is not an envelope
            # of every unit's window (test_adaptive_pool_with_uneven_windows); from here on only its rule is checked
            approximate = min(approximate, position)
    for name, record in list(records.items())[:approximate]:
        if record.rf is not None:  # no claim where the field is not followed
            check_field(name, record.rf, outputs[name], image)
    check_broadcasts(spec, records, image)
    check_adaptive(net, records, outputs, image)
    check_exact(net, records)
    return records


def check_adaptive(net: dict, records: dict, outputs: dict, image) -> None:
    """An adaptive pool that is not global adds a window of floor(in/out) + (in mod out) at a stride of
    floor(in/out) to the field of its input (docs/conventions.md: an outer bound of PyTorch's windows), by the
    Araujo formula written out here; where the pool reads the image itself, the gradients show every unit's
    window inside that bound. One that makes an axis longer than its input has no stride: not followed."""
    names = list(records)
    for index, (kind, out) in enumerate(net["layers"]):
        name = f"l{index}"
        rf = records[name].rf
        if kind != "adaptive" or (rf is not None and rf.is_global):
            continue
        before = names[names.index(name) - 1] if names.index(name) else None
        field = records[before].rf if before else None
        if before is not None and (field is None or field.is_global):
            continue
        sizes = tuple(outputs[before].shape[2:]) if before else tuple(image.shape[2:])
        if any(o > size for o, size in zip(out, sizes)):
            assert rf is None, f"{name}: {rf} after {sizes} -> {out}: windows closer than a pixel have no stride"
            continue
        stride = [size // o for size, o in zip(sizes, out)]
        kernel = [size // o + size % o for size, o in zip(sizes, out)]
        size0, stride0, padding0 = (field.size, field.stride, field.padding) if field else ((1, 1), (1, 1), (0, 0))
        expected = (tuple(r + (k - 1) * j for r, k, j in zip(size0, kernel, stride0)),
                    tuple(j * s for j, s in zip(stride0, stride)), tuple(padding0))
        assert (rf.size, rf.stride, rf.padding) == expected, f"{name}: {rf} after {sizes} -> {out}, not {expected}"
        if before is None:  # on the image: every unit's window lies in [u·stride, u·stride + kernel), per axis
            for axis in (0, 1):
                line = [(u, 0) if axis == 0 else (0, u) for u in range(out[axis])]
                for u, (y, x) in enumerate(line):
                    low, high = extent(seen(outputs[name], image, y, x), axis)
                    assert u * stride[axis] <= low <= high < u * stride[axis] + kernel[axis], (name, axis, u)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network)
def test_receptive_fields_agree_with_gradients(net):
    check_network(net)


# ---------------------------------------------------------------------------------------------------------------
# Examples.

def test_squeeze_and_excitation_gate_makes_every_unit_global():
    spec = {"name": "se", "input": [8, 16, 16], "layers": [
        {"name": "gap", "global_avgpool": None},
        {"name": "scale", "mul": None, "from": ["input", "gap"]},
        {"name": "gap2", "global_avgpool": None},
    ]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    scale = records["scale"]
    assert scale.shape == (8, 16, 16)
    assert scale.rf.is_global and scale.rf.stride == (1, 1) and scale.rf.padding == (0, 0) and scale.rf.aligned
    assert records["gap"].rf.is_global and records["gap2"].rf.is_global

    image = torch.ones(1, 8, 16, 16, dtype=torch.float64, requires_grad=True)
    gap = F.adaptive_avg_pool2d(image, 1)
    outputs = {"gap": gap, "scale": image * gap}
    outputs["gap2"] = F.adaptive_avg_pool2d(outputs["scale"], 1)
    for name, output in outputs.items():
        assert (1, *records[name].shape) == tuple(output.shape)
        for y, x in units(*output.shape[2:]):
            assert bool(seen(output, image, y, x).all()), (name, y, x)


def test_non_square_chain_and_gate():
    """Rectangular kernels, strides, dilations and uneven padding on a non-square input, then a gate."""
    conv = {"out": 4, "kernel": (3, 2), "stride": (1, 2), "dilation": 1,
            "padding": {"top": 1, "bottom": 0, "left": 0, "right": 2}}
    maxpool = {"kernel": (2, 3), "stride": (2, 1), "padding": (1, 1), "dilation": (1, 2), "ceil_mode": True}
    gate = {"merge": "mul", "pool": "global_avgpool", "conv": True, "gate_first": False}
    avgpool = {"kernel": (2, 3), "stride": (2, 1), "padding": (1, 1), "ceil_mode": True, "count_include_pad": False}
    records = check_network({"input": (3, 11, 20), "layers": [("conv2d", conv), ("maxpool", maxpool),
                                                               ("gate", gate), ("avgpool", avgpool)]})
    assert records["l0"].shape == (4, 10, 11)  # (11 + 1 - 3) + 1 rows, (20 + 2 - 2) // 2 + 1 columns
    assert records["l0"].rf[:3] == ((3, 2), (1, 2), (1, 0))
    # the max-pool's window spans 2 rows and 2·(3 - 1) + 1 = 5 columns, padded by 1 on the map of stride (1, 2)
    assert records["l1"].rf[:3] == ((4, 10), (2, 2), (2, 2)) and not records["l1"].rf.is_global
    assert records["l2"].rf.is_global and records["l2"].rf[1:3] == ((2, 2), (2, 2))  # moves with l1
    assert records["l3"].rf.is_global
    # the convolution reads every pixel, so every unit of every global layer after the gate sees the whole input
    _, records, outputs, image = analyzed({"input": (3, 11, 20), "layers": [("conv2d", conv), ("gate", gate),
                                                                            ("avgpool", avgpool)]})
    for name, record in records.items():
        if record.rf.is_global:
            for y, x in units(*outputs[name].shape[2:]):
                assert bool(seen(outputs[name], image, y, x).all()), (name, y, x)


def test_channels_last_layers_keep_each_position_s_field():
    """ConvNeXt's block as torchvision writes it: a linear layer and a LayerNorm on a channels-last map mix the
    channels of one position, never two positions, so the field is the depthwise convolution's until the next
    convolution. Random weights and input: a unit depends on a pixel exactly where the gradient is non-zero."""
    spec = {"name": "channels_last", "input": [3, 13, 11], "layers": [
        {"name": "dw", "conv2d": {"out": 3, "kernel": 3, "padding": 1, "groups": "depthwise"}},
        {"name": "last", "permute": [0, 2, 3, 1]},
        {"name": "norm", "layernorm": None},
        {"name": "up", "linear": 8},
        {"name": "act", "gelu": None},
        {"name": "down", "linear": 3},
        {"name": "first", "permute": [0, 3, 1, 2]},
        {"name": "conv", "conv2d": {"out": 2, "kernel": 3, "stride": 2}},
    ]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    for name in ("dw", "last", "norm", "up", "act", "down", "first"):
        assert records[name].rf[:3] == ((3, 3), (1, 1), (1, 1)), name
    assert records["conv"].rf[:3] == ((5, 5), (2, 2), (1, 1))  # 3 + (3 - 1)·1, stride 1·2, padding 1 + 0

    generator = torch.Generator().manual_seed(3)
    image = torch.randn(1, 3, 13, 11, dtype=torch.float64, generator=generator, requires_grad=True)
    dw = F.conv2d(image, torch.randn(3, 1, 3, 3, dtype=torch.float64, generator=generator), padding=1, groups=3)
    tokens = F.layer_norm(dw.permute(0, 2, 3, 1), (3,))
    up = F.gelu(tokens @ torch.randn(3, 8, dtype=torch.float64, generator=generator))
    first = (up @ torch.randn(8, 3, dtype=torch.float64, generator=generator)).permute(0, 3, 1, 2)
    conv = F.conv2d(first, torch.randn(2, 3, 3, 3, dtype=torch.float64, generator=generator), stride=2)
    for name, output in (("first", first), ("conv", conv)):
        rf = records[name].rf
        y, x = output.shape[2] // 2, output.shape[3] // 2
        mask = seen(output, image, y, x)
        assert extent(mask, 0) == span(rf, y, 0) and extent(mask, 1) == span(rf, x, 1), name


def test_attention_over_patch_tokens_makes_every_unit_global():
    """Patches become tokens (each sees its patch); self-attention mixes every token, so each output token sees
    the whole image. A linear layer over the last axis of a C x H x W map mixes a row: no field is claimed."""
    spec = {"name": "tokens", "input": [3, 8, 12], "layers": [
        {"name": "patches", "patch_embed": {"out": 8, "patch": 4}},
        {"name": "attention", "attention": 2},
    ]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    assert records["patches"].rf[:3] == ((4, 4), (4, 4), (0, 0)) and not records["patches"].rf.is_global
    assert records["attention"].rf.is_global

    generator = torch.Generator().manual_seed(5)
    image = torch.randn(1, 3, 8, 12, dtype=torch.float64, generator=generator, requires_grad=True)
    weight = torch.randn(8, 3, 4, 4, dtype=torch.float64, generator=generator)
    tokens = F.conv2d(image, weight, stride=4).flatten(2).transpose(1, 2)  # 6 tokens of 8 features
    attention = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    mixed = attention(tokens, tokens, tokens, need_weights=False)[0]
    for index in range(tokens.shape[1]):
        (patch,) = torch.autograd.grad(tokens[0, index].sum(), image, retain_graph=True)
        row, column = divmod(index, 3)
        visible = patch[0].abs().sum(0) != 0
        assert extent(visible, 0) == (4 * row, 4 * row + 3) and extent(visible, 1) == (4 * column, 4 * column + 3)
        (everything,) = torch.autograd.grad(mixed[0, index].sum(), image, retain_graph=True)
        assert bool((everything[0].abs().sum(0) != 0).all())
    row_mixing = paramcalc.analyze({"name": "rows", "input": [3, 8, 12], "layers": [{"linear": 5}]})
    assert row_mixing.records[0].rf is None


def test_aspp_s_pooling_branch_broadcast_back_is_global():
    """DeepLab's ASPP: a dilated branch sees a window; the pooling branch averages the whole map, and its value,
    upsampled back to the map's size (the size its second input gives, which adds nothing to the field), is the
    same for every unit: after the concat every unit sees the whole input, checked with gradients."""
    spec = {"name": "aspp", "input": [4, 12, 12], "layers": [
        {"name": "rate2", "conv2d": {"out": 4, "kernel": 3, "padding": 2, "dilation": 2}},
        {"name": "pool", "global_avgpool": None, "from": "input"},
        {"name": "project", "conv2d": {"out": 4, "kernel": 1}},
        {"name": "back", "upsample": {"mode": "bilinear"}, "from": ["project", "input"]},
        {"name": "cat", "concat": None, "from": ["rate2", "back"]},
    ]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    assert records["rate2"].rf[:3] == ((5, 5), (1, 1), (2, 2)) and not records["rate2"].rf.is_global
    assert records["back"].rf.is_global and records["cat"].rf.is_global
    generator = torch.Generator().manual_seed(7)
    image = torch.randn(1, 4, 12, 12, dtype=torch.float64, generator=generator, requires_grad=True)
    rate2 = F.conv2d(image, torch.randn(4, 4, 3, 3, dtype=torch.float64, generator=generator), padding=2, dilation=2)
    pooled = F.conv2d(F.adaptive_avg_pool2d(image, 1), torch.randn(4, 4, 1, 1, dtype=torch.float64,
                                                                    generator=generator))
    cat = torch.cat([rate2, F.interpolate(pooled, size=(12, 12), mode="bilinear", align_corners=False)], dim=1)
    for y, x in units(12, 12):
        assert bool(seen(cat, image, y, x).all())



@pytest.mark.parametrize("shape, out, unit, reads", [
    ((3, 2), (5, 4), (4, 3), ((2, 2), (1, 1))),   # more positions than the input: unit (4, 3) reads row 2, column 1
    ((6, 1), (4, 1), (3, 0), ((4, 5), (0, 0))),   # 6 into 4: windows [0, 2), [1, 3), [3, 5), [4, 6)
])
def test_adaptive_pool_with_uneven_windows(shape, out, unit, reads):
    """AdaptiveAvgPool2d's window i spans [floor(i·in/out), ceil((i + 1)·in/out)); a unit's field must contain the
    pixels its window reads (seen through the gradient)."""
    records = {r.name: r for r in paramcalc.analyze({"name": "uneven", "input": [1, *shape], "layers": [
        {"name": "pool", "adaptive_avgpool": {"out": list(out)}}]}).records}
    rf = records["pool"].rf
    image = torch.ones(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    mask = seen(F.adaptive_avg_pool2d(image, out), image, *unit)
    assert (extent(mask, 0), extent(mask, 1)) == reads
    if any(size < count for size, count in zip(shape, out)):
        assert rf is None  # windows closer than a pixel apart: no stride, the field is not followed
        return
    for axis in (0, 1):
        start, end = span(rf, unit[axis], axis)
        assert start <= reads[axis][0] <= reads[axis][1] <= end, (rf, axis)


@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_over_the_channels_keeps_each_position_s_field(keepdim):
    """x.mean(1) averages the channels of each position: the positions keep the convolution's field, and without
    keepdim the map's axes move down one (7 x 11, no channels). A linear layer after that mixes a row (gradients
    show every column), so no field is claimed for it."""
    spec = {"name": "mean", "input": [4, 9, 11], "layers": [
        {"name": "conv", "conv2d": {"out": 3, "kernel": [3, 1]}},
        {"name": "mean", "mean": {"dims": [1], "keepdim": keepdim}},
        {"name": "act", "relu": None},
        {"name": "rows", "linear": 5},
    ]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    for name in ("conv", "mean", "act"):
        assert records[name].rf[:4] == ((3, 1), (1, 1), (0, 0), (7, 11)), name
    assert records["mean"].rf.axes == ((1, 2) if keepdim else (0, 1))
    assert records["rows"].rf is None

    generator = torch.Generator().manual_seed(11)
    image = torch.randn(1, 4, 9, 11, dtype=torch.float64, generator=generator, requires_grad=True)
    mean = F.conv2d(image, torch.randn(3, 4, 3, 1, dtype=torch.float64, generator=generator)).mean(1, keepdim=True)
    rows = mean[:, 0] @ torch.randn(11, 5, dtype=torch.float64, generator=generator)  # 1 x 7 x 5
    for y, x in units(7, 11):
        assert extent(seen(mean, image, y, x), 0) == span(records["mean"].rf, y, 0)
        assert extent(seen(mean, image, y, x), 1) == span(records["mean"].rf, x, 1)
    (gradient,) = torch.autograd.grad(rows[0, 3, 0], image)
    visible = gradient[0].abs().sum(0) != 0
    assert extent(visible, 0) == (3, 5) and extent(visible, 1) == (0, 10)  # a row of the map: every column


@pytest.mark.parametrize("gate", [
    {"conv2d": {"out": 1, "kernel": 3, "stride": 8}},  # a 1x1 map that reads rows and columns 0-2 only
    {"mean": {"dims": [3], "keepdim": True}},            # coordinate attention: each row averaged, 8 x 1
    {"mean": {"dims": [2], "keepdim": True}},            # and each column averaged, 1 x 8
    {"conv2d": {"out": 1, "kernel": [8, 1]}},            # a column's 8 rows: 1 x 8, a field of 8 x 1
])
def test_a_gate_that_does_not_see_the_whole_input_is_not_followed(gate):
    """Every unit of x * gate(x) reads its own pixel and the gate's fixed window: unit (7, 7) of the first gate
    depends on rows 0-2 and row 7 (gradients), which no size, stride and padding describe."""
    spec = {"name": "gate", "input": [1, 8, 8], "layers": [{"name": "g", **gate}, {"name": "m", "mul": None,
                                                                                   "from": ["input", "g"]}]}
    records = {record.name: record for record in paramcalc.analyze(spec).records}
    assert records["m"].rf is None
    image = torch.ones(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    if "conv2d" in gate and gate["conv2d"]["kernel"] == 3:
        gated, rows, columns = F.conv2d(image, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=8), [0, 1, 2, 7], \
            [0, 1, 2, 7]
    elif "conv2d" in gate:
        gated, rows, columns = F.conv2d(image, torch.ones(1, 1, 8, 1, dtype=torch.float64)), list(range(8)), [7]
    elif gate["mean"]["dims"] == [3]:
        gated, rows, columns = image.mean(3, keepdim=True), [7], list(range(8))
    else:
        gated, rows, columns = image.mean(2, keepdim=True), list(range(8)), [7]
    assert torch.nonzero((seen(image * gated, image, 7, 7)).any(1)).flatten().tolist() == rows
    assert torch.nonzero((seen(image * gated, image, 7, 7)).any(0)).flatten().tolist() == columns


def fields_of(spec: dict) -> dict:
    return {record.name: record.rf for record in paramcalc.analyze(spec).records}


def test_global_pooling_after_a_field_that_is_not_followed_sees_the_whole_input():
    # a linear layer over the last axis of a map mixes a row: no field; the pool then reads every position of
    # every row, so its one unit sees the whole 8 x 8 input (gradients: every pixel)
    rf = fields_of({"name": "a", "input": [3, 8, 8], "layers": [{"name": "rows", "linear": 5},
                                                            {"name": "g", "global_avgpool": None}]})["g"]
    assert (rf.size, rf.stride, rf.padding, rf.is_global, rf.map_size) == ((8, 8), (8, 8), (0, 0), True, (1, 1))
    image = torch.ones(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    pooled = (image @ torch.ones(8, 5, dtype=torch.float64)).mean((2, 3), keepdim=True)
    assert bool(seen(pooled, image, 0, 0).all())


@pytest.mark.parametrize("first", [{"linear": 5}, {"conv2d": {"out": 5, "kernel": 1}}])
def test_a_layer_after_global_pooling_steps_the_same_whether_or_not_the_path_was_followed(first):
    # the pool sees the whole 8 x 8 input, followed or not: 8 px, stride 8, padding 0; a 3x3 convolution padded
    # by 1 on its 1 x 1 map then steps it as any window does: 8 + (3 - 1)·8 = 24 px, padding 0 + 1·8 = 8
    fields = fields_of({"name": "a", "input": [3, 8, 8], "layers": [
        {"name": "first", **first}, {"name": "g", "global_avgpool": None},
        {"name": "c", "conv2d": {"out": 2, "kernel": 3, "padding": 1}}]})
    assert fields["g"][:6] == ((8, 8), (8, 8), (0, 0), (1, 1), True, True)
    assert fields["c"][:6] == ((24, 24), (8, 8), (8, 8), (1, 1), True, True)


@pytest.mark.parametrize("b_padding, expected", [
    # both operands centred on their unit: input [0, 0] and a 3x3 padded by 1 [-1, 1]; the gate [0, 7] at unit 0
    (1, ((9, 9), (1, 1), (1, 1), True)),
    # padded by 2 above and 0 below, 1 left and right: rows [-2, 0], centred 2 rows above the unit's
    ({"top": 2, "bottom": 0, "left": 1, "right": 1}, ((10, 9), (1, 1), (2, 1), False)),
])
def test_a_broadcast_merge_of_several_moving_operands_spans_them_all(b_padding, expected):
    """x + conv(x) + gate: the unit's field spans the union at unit 0 and moves with the two full-size operands,
    global through the gate; flagged when their centres differ."""
    rf = fields_of({"name": "s", "input": [1, 8, 8], "layers": [
        {"name": "b", "conv2d": {"out": 1, "kernel": 3, "padding": b_padding}},
        {"name": "g", "global_avgpool": None, "from": "input"},
        {"name": "s", "add": None, "from": ["input", "b", "g"]}]})["s"]
    assert (rf.size, rf.stride, rf.padding, rf.aligned) == expected and rf.is_global and rf.map_size == (8, 8)


def test_a_broadcast_merge_of_operands_with_different_strides_is_flagged():
    # 4 -> 2 by strides 2 and 3 (as below), plus a global gate over the 4 x 4 input: [0, 3] at unit 0
    rf = fields_of({"name": "b", "input": [1, 4, 4], "layers": [
        {"name": "a", "conv2d": {"out": 1, "kernel": 1, "stride": 2}},
        {"name": "b", "conv2d": {"out": 1, "kernel": 1, "stride": 3}, "from": "input"},
        {"name": "g", "global_avgpool": None, "from": "input"},
        {"name": "s", "add": None, "from": ["a", "b", "g"]}]})["s"]
    assert (rf.size, rf.stride, rf.padding, rf.aligned, rf.is_global) == ((4, 4), (3, 3), (0, 0), False, True)


def test_a_channels_last_gate_keeps_where_the_positions_are():
    # x (channels last, 4 x 4 x 3) times its mean over height and width (1 x 1 x 3): global, positions on axes
    # 0 and 1; permuted back, a 3x3 convolution then steps the field: 4 + 2·1 = 6 px
    fields = fields_of({"name": "c", "input": [3, 4, 4], "layers": [
        {"name": "p", "permute": [0, 2, 3, 1]}, {"name": "g", "mean": {"dims": [1, 2], "keepdim": True}},
        {"name": "m", "mul": None, "from": ["p", "g"]}, {"name": "q", "permute": [0, 3, 1, 2]},
        {"name": "c", "conv2d": {"out": 1, "kernel": 3}}]})
    assert fields["m"].axes == (0, 1) and fields["m"].is_global and fields["q"].axes == (1, 2)
    assert fields["c"][:3] == ((6, 6), (1, 1), (0, 0))


def test_layers_reading_the_whole_map_give_the_same_field_whether_or_not_the_path_was_followed():
    """A linear layer along the rows mixes them (not followed); a 1x1 convolution does not (followed). Either way a
    flattened map's linear layer sees the whole 8 x 8 input: window 8, stride 8, on a flat output (a 1 x 1 map,
    positions on axis 0), so the two merge."""
    fields = fields_of({"name": "w", "input": [3, 8, 8], "layers": [
        {"name": "rows", "linear": 8}, {"name": "f1", "flatten": None}, {"name": "l1", "linear": 4},
        {"name": "c", "conv2d": {"out": 3, "kernel": 1}, "from": "input"}, {"name": "f2", "flatten": None},
        {"name": "l2", "linear": 4}, {"name": "s", "add": None, "from": ["l1", "l2"]}]})
    flat = ((8, 8), (8, 8), (0, 0), (1, 1), True, True, (0,))
    assert fields["rows"] is None and fields["l1"] == fields["l2"] == fields["s"] == flat


def test_a_1x1_convolution_over_a_channels_last_map_mixes_its_rows():
    """Permuted to H x W x C, a map's rows are a 1x1 convolution's channels: each output unit reads every row of
    its column (gradients), so its field is not followed; a 1x1 max pool there leaves each position's field."""
    fields = fields_of({"name": "c", "input": [3, 8, 8], "layers": [
        {"name": "p", "permute": [0, 2, 3, 1]}, {"name": "pool", "maxpool": {"kernel": 1}},
        {"name": "c", "conv2d": {"out": 4, "kernel": 1}}]})
    assert fields["pool"][:3] == ((1, 1), (1, 1), (0, 0)) and fields["pool"].axes == (0, 1)
    assert fields["c"] is None
    image = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    out = F.conv2d(image.permute(0, 2, 3, 1), torch.rand(4, 8, 1, 1, dtype=torch.float64) + 0.5)
    (gradient,) = torch.autograd.grad(out[0, 0, 5, :].sum(), image)  # unit 0 of column 5, every channel
    assert torch.nonzero(gradient[0].abs().sum(0).any(1)).flatten().tolist() == list(range(8))  # every row


@pytest.mark.parametrize("order", [["f", "g"], ["g", "f"]])
def test_a_flattened_map_plus_a_flattened_global_gate_is_global_whatever_the_order(order):
    """flatten(x) + flatten(gap(conv1x1(x))) on a 1 x 4 x 4 input: each of the 16 units sees every pixel
    (gradients). As any broadcast merge, the field moves with the full-resolution operand: the 4 x 4 input at
    stride 1 on its 4 x 4 map, whichever operand comes first."""
    rf = fields_of({"name": "a", "input": [1, 4, 4], "layers": [
        {"name": "f", "flatten": None}, {"name": "c", "conv2d": {"out": 16, "kernel": 1}, "from": "input"},
        {"name": "p", "global_avgpool": None}, {"name": "g", "flatten": None},
        {"name": "s", "add": None, "from": order}]})["s"]
    assert rf == ((4, 4), (1, 1), (0, 0), (4, 4), True, True, (0,))
    image = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(16, 1, 1, 1, dtype=torch.float64) + 0.5
    total = image.flatten(1) + F.conv2d(image, weight).mean((2, 3))
    for unit in range(16):
        (gradient,) = torch.autograd.grad(total[0, unit], image, retain_graph=True)
        assert bool((gradient != 0).all())


def test_paths_halving_a_symbolic_map_two_ways_merge_as_one_map():
    """ceil(H/2) rows from a 3x3 convolution (stride 2, padding 1) and floor(H/2) from a 2x2 max pool: one map
    where the concat is valid (H even). The union at unit 0: rows -1..1 and 0..1, so 3 px, stride 2, padding 1;
    centres 0 and 1 differ (flagged); nothing reads the whole map."""
    fields = fields_of({"name": "two", "input": [4, "H", "W"], "layers": [
        {"name": "conv", "conv2d": {"out": 4, "kernel": 3, "stride": 2, "padding": 1}, "from": "input"},
        {"name": "pool", "maxpool": 2, "from": "input"},
        {"name": "join", "concat": None, "from": ["conv", "pool"]}]})
    rf = fields["join"]
    assert (rf.size, rf.stride, rf.padding, rf.aligned, rf.is_global) == ((3, 3), (2, 2), (1, 1), False, False)


def test_a_map_flattened_into_tokens_keeps_each_token_s_field():
    # C x H x W -> C x (H·W) (start_dim 2): the positions sit on one axis, each token the 3x3 window of its pixel
    fields = fields_of({"name": "t", "input": [2, 5, 6], "layers": [
        {"name": "c", "conv2d": {"out": 4, "kernel": 3, "padding": 1}}, {"name": "f", "flatten": {"start_dim": 2}}]})
    assert fields["f"].axes == (1,) and fields["f"][:3] == ((3, 3), (1, 1), (1, 1))


def test_splitting_an_axis_other_than_the_positions_moves_them():
    """C x (H·W) tokens (a flatten from dim 2) whose channels are split in two (unflatten dim 1 into 2 x 3): the
    positions move from axis 1 to axis 2, each keeping the 3x3 convolution's field; splitting the positions'
    axis itself is not followed."""
    fields = fields_of({"name": "u", "input": [2, 4, 5], "layers": [
        {"name": "c", "conv2d": {"out": 6, "kernel": 3, "padding": 1}}, {"name": "f", "flatten": {"start_dim": 2}},
        {"name": "u", "unflatten": {"dim": 1, "sizes": [2, 3]}},
        {"name": "back", "unflatten": {"dim": 2, "sizes": [4, 5]}, "from": "f"},
        {"name": "t", "transpose": {"dim0": 1, "dim1": 2}, "from": "f"},
        {"name": "features", "unflatten": {"dim": 2, "sizes": [3, 2]}}]})
    assert fields["f"].axes == (1,) and fields["u"].axes == (2,) and fields["u"][:3] == ((3, 3), (1, 1), (1, 1))
    assert fields["back"] is None
    # (H·W) x C tokens whose features are split (after the positions): the positions stay on axis 0
    assert fields["t"].axes == (0,) and fields["features"].axes == (0,) and fields["features"][:3] == fields["u"][:3]


def test_space_to_depth_is_a_window_of_its_factor():
    """pixel_unshuffle(2) after a 3x3 convolution (padding 1): each output position gathers a 2 x 2 block, a window
    of 2 at a stride of 2: 3 + (2 - 1)·1 = 4 px, stride 2, padding 1 (gradients: unit (1, 2) reads rows 1-4 and
    columns 3-6 of the input, as span gives)."""
    fields = fields_of({"name": "s", "input": [1, 6, 8], "layers": [
        {"name": "c", "conv2d": {"out": 1, "kernel": 3, "padding": 1}}, {"name": "u", "pixel_unshuffle": 2}]})
    rf = fields["u"]
    assert rf[:3] == ((4, 4), (2, 2), (1, 1))
    image = torch.ones(1, 1, 6, 8, dtype=torch.float64, requires_grad=True)
    output = F.pixel_unshuffle(F.conv2d(image, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=1), 2)
    assert extent(seen(output, image, 1, 2), 0) == span(rf, 1, 0) == (1, 4)
    assert extent(seen(output, image, 1, 2), 1) == span(rf, 2, 1) == (3, 6)


def test_a_concat_along_the_height_is_not_followed():
    """Rows 0-3 of the output are the input's rows, rows 4-7 a 3x3 convolution's: no one window describes a unit
    (gradients: output row 4 reads input rows 0 and 1, row 0 reads row 0)."""
    fields = fields_of({"name": "h", "input": [1, 4, 4], "layers": [
        {"name": "c", "conv2d": {"out": 1, "kernel": 3, "padding": 1}},
        {"name": "cat", "concat": {"dim": 2}, "from": ["input", "c"]}]})
    assert fields["c"] is not None and fields["cat"] is None
    image = torch.ones(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    joined = torch.cat([image, F.conv2d(image, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=1)], dim=2)
    assert extent(seen(joined, image, 0, 0), 0) == (0, 0) and extent(seen(joined, image, 4, 0), 0) == (0, 1)


def test_global_pooling_on_a_map_that_is_not_square_spans_each_axis():
    # conv 3x3 padded by 1 on 5 x 8: (3, 1, 1) per axis; the pool's window is the 5 x 8 map: 3 + (5 - 1)·1 = 7
    # rows and 3 + (8 - 1)·1 = 10 columns, strides 5 and 8, padding unchanged
    rf = fields_of({"name": "d", "input": [1, 5, 8], "layers": [{"name": "c", "conv2d": {"out": 1, "kernel": 3,
                                                                                      "padding": 1}},
                                                            {"name": "g", "global_avgpool": None}]})["g"]
    assert (rf.size, rf.stride, rf.padding, rf.is_global) == ((7, 10), (5, 8), (1, 1), True)


def test_paths_with_different_strides_are_flagged():
    # 4 -> 2 pixels by a stride of 2 and by a stride of 3: unit 1 reads pixel 2 on one path and 3 on the other, so
    # no single stride describes the merge: the larger is kept and the field flagged (RF shown with *)
    rf = fields_of({"name": "b", "input": [1, 4, 4], "layers": [
        {"name": "a", "conv2d": {"out": 1, "kernel": 1, "stride": 2}},
        {"name": "b", "conv2d": {"out": 1, "kernel": 1, "stride": 3}, "from": "input"},
        {"name": "s", "add": None, "from": ["a", "b"]}]})["s"]
    assert (rf.size, rf.stride, rf.padding, rf.aligned) == ((1, 1), (3, 3), (0, 0), False)


def test_a_merge_of_channels_last_paths_keeps_where_the_positions_are():
    fields = fields_of({"name": "c", "input": [3, 4, 4], "layers": [
        {"name": "p", "permute": [0, 2, 3, 1]}, {"name": "a", "linear": 3}, {"name": "b", "linear": 3, "from": "p"},
        {"name": "s", "add": None, "from": ["a", "b"]}, {"name": "q", "permute": [0, 3, 1, 2]},
        {"name": "c", "conv2d": {"out": 1, "kernel": 3}}]})
    assert fields["s"].axes == (0, 1) and fields["q"].axes == (1, 2)
    assert fields["c"][:3] == ((3, 3), (1, 1), (0, 0))


def test_flattened_maps_of_different_sizes_added_are_not_followed():
    """flatten(x) + flatten(conv4x4(x)) on a 4 x 6 x 6 input (144 values each): unit i adds pixel i of x to a 4x4
    window of the 3 x 3 map's unit i, which sit apart: unit 0 spans 4 x 4 pixels and unit 3 a 5 x 4 patch
    (gradients), which no one size, stride and padding describe."""
    fields = fields_of({"name": "flat", "input": [4, 6, 6], "layers": [
        {"name": "a", "flatten": None}, {"name": "c", "conv2d": {"out": 16, "kernel": 4}, "from": "input"},
        {"name": "d", "flatten": None}, {"name": "s", "add": None, "from": ["a", "d"]}]})
    assert fields["a"] is not None and fields["d"] is not None and fields["s"] is None
    image = torch.ones(1, 4, 6, 6, dtype=torch.float64, requires_grad=True)
    summed = image.flatten(1) + F.conv2d(image, torch.ones(16, 4, 4, 4, dtype=torch.float64)).flatten(1)

    def patch(unit: int) -> tuple[int, int]:
        (gradient,) = torch.autograd.grad(summed[0, unit], image, retain_graph=True)
        mask = gradient[0].abs().sum(0) != 0
        rows, columns = extent(mask, 0), extent(mask, 1)
        return rows[1] - rows[0] + 1, columns[1] - columns[0] + 1

    assert patch(0) == (4, 4) and patch(3) == (5, 4)


def test_a_softmax_over_a_flattened_map_makes_every_unit_global():
    """softmax(flatten(x)) over the flattened axis: each unit's value divides by a sum over every pixel of the
    2 x 4 x 5 input (gradients: all 4 x 5 positions)."""
    fields = fields_of({"name": "soft", "input": [2, 4, 5], "layers": [
        {"name": "flat", "flatten": None}, {"name": "sm", "softmax": 1}]})
    assert fields["sm"].is_global and fields["sm"].size == (4, 5)
    image = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(image.flatten(1).softmax(dim=1)[0, 0], image)
    assert bool((gradient[0].abs().sum(0) != 0).all())
