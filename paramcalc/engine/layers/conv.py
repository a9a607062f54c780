"""Convolution and explicit zero padding."""

from __future__ import annotations

from typing import Any, ClassVar

from ..dims import Dim, Shape, divides, is_positive, numel
from ..receptive import Window
from .base import Backward, LayerError, LayerKind, Saved, TorchCall, register
from .fields import Bool, Int, Padding, Sizes, SpecField


AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("time", "height", "width")}
SHAPE_NAMES = {1: "channels x length", 2: "channels x height x width", 3: "channels x time x height x width"}


def resolve_padding(padding, kernel: tuple[Dim, ...], dilation: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """(before, after) for each axis in turn, for any padding form; 'same' splits as PyTorch does (extra on
    the end). In 2-D: (top, bottom, left, right)."""
    if padding == "valid":
        return (0,) * (2 * len(kernel))
    if padding == "same":
        sides: list[Dim] = []
        for size, spacing in zip(kernel, dilation):
            total = spacing * (size - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    return padding


def _too_large(axis: str, size: Dim, before: Dim, after: Dim, kernel: Dim, dilation: Dim) -> LayerError:
    span = dilation * (kernel - 1) + 1
    return LayerError(
        f"the {axis} window (kernel {kernel}" + (f", dilation {dilation}, so {span} wide" if dilation != 1 else "")
        + f") is larger than the padded input {axis} {size + before + after} ({size} + padding {before + after})",
        hint="use a smaller kernel or stride earlier, more padding, or a larger input (--input)", field="kernel")


def sliding_size(size: Dim, before: Dim, after: Dim, kernel: Dim, stride: Dim, dilation: Dim,
                 axis: str, ceil_mode: bool | None = None) -> Dim:
    """Output length of a sliding window, exactly as PyTorch computes it.

    Convolutions (ceil_mode None) refuse a window larger than the padded input. Pooling only needs one
    output: with ceil_mode a window may hang over the end, and PyTorch drops a last window that would
    start in the right padding.
    """
    span = dilation * (kernel - 1) + 1
    padded = size + before + after
    if ceil_mode is None:
        if not is_positive(padded - span + 1):
            raise _too_large(axis, size, before, after, kernel, dilation)
        return (padded - span) // stride + 1
    if ceil_mode:
        # PyTorch rounds up, then drops a last window that would start in the right padding. In one
        # formula (so a symbolic size stays one floor): with e = after - span + stride - 1, no window is
        # dropped when e < 0, and when 0 <= e < stride (pooling pads at most half its window) the
        # result is always ceil((size + before) / stride).
        overhang = after - span + stride - 1
        out = (size + before + (overhang + stride if overhang < 0 else stride - 1)) // stride
    else:
        out = (padded - span) // stride + 1
    if not is_positive(out):
        raise _too_large(axis, size, before, after, kernel, dilation)
    return out


def sliding_arithmetic(axis: str, size: Dim, before: Dim, after: Dim, kernel: Dim, stride: Dim, dilation: Dim,
                       out: Dim, ceil_mode: bool | None = None) -> tuple[str, str]:
    """'height', 'floor((224 + 1 + 1 - 1·(3 - 1) - 1) / 1) + 1 = 224'"""
    rounding = "ceil" if ceil_mode else "floor"
    text = f"{rounding}(({size} + {before} + {after} - {dilation}·({kernel} - 1) - 1) / {stride}) + 1"
    rounded_up = (size + before + after - dilation * (kernel - 1) - 1 + stride - 1) // stride + 1
    if ceil_mode and rounded_up != out:
        text += " - 1 (PyTorch drops a last window that would start in the padding)"
    return axis, f"{text} = {out}"


class _Conv(LayerKind):
    """A convolution over `spatial` axes; the subclasses give the number."""

    follows_positions = False  # 1-D and 3-D windows are not followed (2-D: see Conv2d)

    spatial: ClassVar[int] = 2
    flops_formula = "2·MACs + (bias ? out·positions : 0); MACs = out·positions·(in/groups)·kernel volume"

    @classmethod
    def conv_fields(cls, axes: int) -> tuple[SpecField, ...]:
        return (
            SpecField("out", Int(), doc="number of filters = output channels"),
            SpecField("kernel", Sizes(axes), doc="kernel size"),
            SpecField("stride", Sizes(axes), 1),
            SpecField("padding", Padding(axes=axes), 0, doc="zeros added around the input"),
            SpecField("dilation", Sizes(axes), 1),
            SpecField("groups", Int(keywords=("depthwise",)), 1, doc="'depthwise' = one group per input channel"),
            SpecField("bias", Bool(), True),
        )

    def sides(self) -> list[tuple[Dim, Dim]]:
        padding = resolve_padding(self.padding, self.kernel, self.dilation)
        return [(padding[2 * axis], padding[2 * axis + 1]) for axis in range(self.spatial)]

    def check_groups(self, channels: Dim) -> None:
        groups = self.group_count(channels)
        for what, value in (("in_channels", channels), ("out", self.out)):
            if not divides(groups, value):
                raise LayerError(f"groups={groups} does not divide {what}={value}",
                                 hint="groups must divide both the input and the output channels", field="groups")

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], self.spatial + 1, f"a feature map ({SHAPE_NAMES[self.spatial]})")
        self.check_groups(inputs[0][0])
        if self.padding == "same" and any(stride != 1 for stride in self.stride):
            raise LayerError("padding 'same' needs stride 1 (PyTorch refuses it for strided convolutions)",
                             hint="give the padding as a number, e.g. kernel // 2", field="padding")
        return (self.out, *(sliding_size(size, before, after, kernel, stride, dilation, axis)
                            for size, (before, after), kernel, stride, dilation, axis in zip(
                                inputs[0][1:], self.sides(), self.kernel, self.stride, self.dilation,
                                AXIS_NAMES[self.spatial])))

    def group_count(self, channels: Dim) -> Dim:
        return channels if self.groups == "depthwise" else self.groups

    def weights_per_filter(self, inputs: list[Shape]) -> Dim:
        channels = inputs[0][0]
        return channels // self.group_count(channels) * numel(self.kernel)

    def params(self, inputs: list[Shape]) -> Dim:
        return self.out * self.weights_per_filter(inputs) + (self.out if self.bias else 0)

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(output) * self.weights_per_filter(inputs)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 2 * self.macs(inputs, output) + (numel(output) if self.bias else 0)

    def window(self, inputs: list[Shape], output: Shape) -> Window | None:
        if self.spatial != 2:
            return None
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        (top, _), (left, _) = self.sides()
        return Window(kernel=(dh * (kh - 1) + 1, dw * (kw - 1) + 1), stride=self.stride, padding=(top, left))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        channels, groups, out = inputs[0][0], self.group_count(inputs[0][0]), output[0]
        per_group = f"({channels}/{groups})" if groups != 1 else f"{channels}"
        kernel, positions = "·".join(map(str, self.kernel)), "·".join(map(str, output[1:]))
        bias = f" + {out}" if self.bias else ""
        lines = [sliding_arithmetic(axis, size, before, after, k, stride, dilation, size_out)
                 for axis, size, (before, after), k, stride, dilation, size_out in zip(
                     AXIS_NAMES[self.spatial], inputs[0][1:], self.sides(), self.kernel, self.stride,
                     self.dilation, output[1:])]
        return lines + [
            ("params", f"{kernel}·{per_group}·{out}{bias} = {self.params(inputs):,}"),
            ("MACs", f"{out}·{positions}·{per_group}·{kernel} = {self.macs(inputs, output):,}"),
            ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + {out}·{positions}" if self.bias else "")
             + f" = {self.flops(inputs, output):,}"),
        ]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # convolution saves its input and weight whichever needs the gradient (the bias gradient needs neither)
        return [Saved("input"), Saved("param", elements=self.out * self.weights_per_filter(inputs))]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # each gradient is a convolution as large as the forward one; the bias's is a sum over the positions
        macs = self.macs(inputs, output)
        return Backward(macs, 2 * macs, macs, 2 * macs + (numel(output) if self.bias else 0))

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        channels = inputs[0][0]
        module, sides = f"Conv{self.spatial}d", self.sides()
        padding: Any = self.padding
        if not isinstance(padding, str):
            padding = tuple(before for before, _ in sides)
            if any(before != after for before, after in sides):
                # PyTorch's convolutions pad both sides alike: uneven padding is a pad before the convolution
                module = f"paramcalc.PaddedConv{self.spatial}d"
                padding = tuple(side for before, after in reversed(sides) for side in (before, after))
        return TorchCall(module, (channels, self.out), {
            "kernel_size": self.kernel, "stride": self.stride, "padding": padding, "dilation": self.dilation,
            "groups": self.group_count(channels), "bias": self.bias})


@register
class Conv2d(_Conv):
    kind = "conv2d"
    follows_positions = True  # a 1x1 convolution (a unit window) leaves each position's field as it is
    aliases = ("conv",)
    torch_name = "nn.Conv2d"
    summary = "2-D convolution: out filters of kernel x kernel x in/groups weights, plus a bias each"
    flops_formula = "2·MACs + (bias ? out·H_out·W_out : 0); MACs = out·H_out·W_out·(in/groups)·kh·kw"
    fields = _Conv.conv_fields(2)

    def mixed_axes(self, inputs: list[Shape]) -> tuple[int, ...]:
        return (0,)  # the channels: on a channels-last map (positions on axes 0 and 1) a 1x1 convolution mixes rows


@register
class Conv1d(_Conv):
    kind = "conv1d"
    spatial = 1
    torch_name = "nn.Conv1d"
    summary = "1-D convolution over a sequence (channels x length): out filters of kernel x in/groups weights"
    flops_formula = "2·MACs + (bias ? out·L_out : 0); MACs = out·L_out·(in/groups)·k"
    fields = _Conv.conv_fields(1)


@register
class Conv3d(_Conv):
    kind = "conv3d"
    spatial = 3
    torch_name = "nn.Conv3d"
    summary = "3-D convolution over a clip (channels x time x height x width): kernels span frames too"
    flops_formula = "2·MACs + (bias ? out·T_out·H_out·W_out : 0); MACs = out·T_out·H_out·W_out·(in/groups)·kt·kh·kw"
    fields = _Conv.conv_fields(3)


@register
class ZeroPad(LayerKind):
    kind = "pad"
    aliases = ("zeropad",)
    torch_name = "nn.ZeroPad2d"
    summary = "add zeros around the map (for the asymmetric padding of TensorFlow-style models)"
    fields = (SpecField("padding", Padding(keywords=()), doc="amount per side"),)
    primary = "padding"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        channels, height, width = inputs[0]
        top, bottom, left, right = self.padding
        return (channels, height + top + bottom, width + left + right)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # the gradient is a slice of the output's

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        top, _, left, _ = self.padding
        return Window(kernel=(1, 1), stride=(1, 1), padding=(top, left))

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        top, bottom, left, right = self.padding
        return TorchCall("ZeroPad2d", ((left, right, top, bottom),))
