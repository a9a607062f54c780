"""Convolution and explicit zero padding."""

from __future__ import annotations

from ..dims import Dim, Shape, divides, is_positive
from ..receptive import Window
from .base import LayerError, LayerKind, TorchCall, register
from .fields import Bool, Int, Padding, Pair, SpecField


def resolve_padding(padding, kernel: tuple[Dim, Dim], dilation: tuple[Dim, Dim]):
    """(top, bottom, left, right) for any padding form; 'same' splits as PyTorch does (extra on the end)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        total_h = dilation[0] * (kernel[0] - 1)
        total_w = dilation[1] * (kernel[1] - 1)
        return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
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


@register
class Conv2d(LayerKind):
    kind = "conv2d"
    aliases = ("conv",)
    torch_name = "nn.Conv2d"
    summary = "2-D convolution: out filters of kernel x kernel x in/groups weights, plus a bias each"
    flops_formula = "2·MACs + (bias ? out·H_out·W_out : 0); MACs = out·H_out·W_out·(in/groups)·kh·kw"
    fields = (
        SpecField("out", Int(), doc="number of filters = output channels"),
        SpecField("kernel", Pair(), doc="kernel size"),
        SpecField("stride", Pair(), 1),
        SpecField("padding", Padding(), 0, doc="zeros added around the input"),
        SpecField("dilation", Pair(), 1),
        SpecField("groups", Int(keywords=("depthwise",)), 1, doc="'depthwise' = one group per input channel"),
        SpecField("bias", Bool(), True),
    )

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        channels, height, width = inputs[0]
        groups = self.group_count(channels)
        if not divides(groups, channels):
            raise LayerError(f"groups={groups} does not divide in_channels={channels}",
                             hint="groups must divide both the input and the output channels", field="groups")
        if not divides(groups, self.out):
            raise LayerError(f"groups={groups} does not divide out={self.out}",
                             hint="groups must divide both the input and the output channels", field="groups")
        if self.padding == "same" and self.stride != (1, 1):
            raise LayerError("padding 'same' needs stride 1 (PyTorch refuses it for strided convolutions)",
                             hint="give the padding as a number, e.g. kernel // 2", field="padding")
        top, bottom, left, right = resolve_padding(self.padding, self.kernel, self.dilation)
        return (self.out,
                sliding_size(height, top, bottom, self.kernel[0], self.stride[0], self.dilation[0], "height"),
                sliding_size(width, left, right, self.kernel[1], self.stride[1], self.dilation[1], "width"))

    def group_count(self, channels: Dim) -> Dim:
        return channels if self.groups == "depthwise" else self.groups

    def weights_per_filter(self, inputs: list[Shape]) -> Dim:
        channels = inputs[0][0]
        return channels // self.group_count(channels) * self.kernel[0] * self.kernel[1]

    def params(self, inputs: list[Shape]) -> Dim:
        return self.out * self.weights_per_filter(inputs) + (self.out if self.bias else 0)

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return output[0] * output[1] * output[2] * self.weights_per_filter(inputs)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        bias = output[0] * output[1] * output[2] if self.bias else 0
        return 2 * self.macs(inputs, output) + bias

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        top, _, left, _ = resolve_padding(self.padding, self.kernel, self.dilation)
        return Window(kernel=(dh * (kh - 1) + 1, dw * (kw - 1) + 1), stride=self.stride, padding=(top, left))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        channels, height, width = inputs[0]
        top, bottom, left, right = resolve_padding(self.padding, self.kernel, self.dilation)
        (kh, kw), groups, (out, oh, ow) = self.kernel, self.group_count(channels), output
        per_group = f"({channels}/{groups})" if groups != 1 else f"{channels}"
        bias = f" + {out}" if self.bias else ""
        return [
            sliding_arithmetic("height", height, top, bottom, kh, self.stride[0], self.dilation[0], oh),
            sliding_arithmetic("width", width, left, right, kw, self.stride[1], self.dilation[1], ow),
            ("params", f"{kh}·{kw}·{per_group}·{out}{bias} = {self.params(inputs):,}"),
            ("MACs", f"{out}·{oh}·{ow}·{per_group}·{kh}·{kw} = {self.macs(inputs, output):,}"),
            ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + {out}·{oh}·{ow}" if self.bias else "")
             + f" = {self.flops(inputs, output):,}"),
        ]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        channels = inputs[0][0]
        module, padding = "Conv2d", self.padding
        if not isinstance(padding, str):
            top, bottom, left, right = padding
            if top == bottom and left == right:
                padding = (top, left)
            else:  # PyTorch's Conv2d pads both sides alike: uneven padding is a pad before the convolution
                module, padding = "paramcalc.PaddedConv2d", (left, right, top, bottom)
        return TorchCall(module, (channels, self.out), {
            "kernel_size": self.kernel, "stride": self.stride, "padding": padding, "dilation": self.dilation,
            "groups": self.group_count(channels), "bias": self.bias})


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

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        top, _, left, _ = self.padding
        return Window(kernel=(1, 1), stride=(1, 1), padding=(top, left))

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        top, bottom, left, right = self.padding
        return TorchCall("ZeroPad2d", ((left, right, top, bottom),))
