"""Pooling: windowed max / average, adaptive and global pooling."""

from __future__ import annotations

from typing import Any, ClassVar

from ..dims import Dim, Shape, gcd, is_concrete, numel
from ..receptive import Window
from .base import LayerError, LayerKind, TorchCall, register
from .conv import sliding_arithmetic, sliding_size
from .fields import Bool, Padding, Pair, SpecField


class _WindowPool(LayerKind):
    primary = "kernel"
    dilated: bool = False
    stride: Any  # None in the spec means the kernel

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.stride is None:
            self.stride = self.kernel  # PyTorch's default: windows side by side

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        channels, height, width = inputs[0]
        top, bottom, left, right = self.padding
        if top != bottom or left != right:
            raise LayerError("pooling pads both sides equally", field="padding",
                             hint="for uneven padding put a 'pad' layer before the pooling")
        dilation = self.dilation if self.dilated else (1, 1)
        for pad, kernel in ((top, self.kernel[0]), (left, self.kernel[1])):
            limit = kernel // 2  # PyTorch's pool2d_shape_check: the kernel, not its dilated span
            if pad > limit:
                raise LayerError(f"padding {pad} is more than half the window ({kernel}); PyTorch refuses it",
                                 hint=f"use padding <= {limit}", field="padding")
        return (channels,
                sliding_size(height, top, bottom, self.kernel[0], self.stride[0], dilation[0], "height",
                             self.ceil_mode),
                sliding_size(width, left, right, self.kernel[1], self.stride[1], dilation[1], "width",
                             self.ceil_mode))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        _, height, width = inputs[0]
        dilation = self.dilation if self.dilated else (1, 1)
        top, bottom, left, right = self.padding
        return [
            sliding_arithmetic("height", height, top, bottom, self.kernel[0], self.stride[0], dilation[0],
                               output[1], self.ceil_mode),
            sliding_arithmetic("width", width, left, right, self.kernel[1], self.stride[1], dilation[1],
                               output[2], self.ceil_mode),
            ("FLOPs", self.flops_sum(output) + f" = {self.flops(inputs, output):,}"),
        ]

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        dilation = self.dilation if self.dilated else (1, 1)
        span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, self.kernel))
        return Window(kernel=span, stride=self.stride, padding=(self.padding[0], self.padding[2]))  # type: ignore


_POOL_FIELDS = (
    SpecField("kernel", Pair(), doc="window size"),
    SpecField("stride", Pair(), None, doc="how far the window moves"),
    SpecField("padding", Padding(keywords=()), 0, doc="at most half the window"),
)


@register
class MaxPool(_WindowPool):
    kind = "maxpool"
    aliases = ("maxpool2d",)
    torch_name = "nn.MaxPool2d"
    summary = "maximum over each window"
    flops_formula = "(kh·kw − 1) comparisons per output element"
    dilated = True
    fields = _POOL_FIELDS + (SpecField("dilation", Pair(), 1), SpecField("ceil_mode", Bool(), False))

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (self.kernel[0] * self.kernel[1] - 1) * numel(output)

    def flops_sum(self, output: Shape) -> str:
        return f"({self.kernel[0]}·{self.kernel[1]} - 1)·{numel(output):,}"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("MaxPool2d", (), {"kernel_size": self.kernel, "stride": self.stride,
                                           "padding": (self.padding[0], self.padding[2]),
                                           "dilation": self.dilation, "ceil_mode": self.ceil_mode})


@register
class AvgPool(_WindowPool):
    kind = "avgpool"
    aliases = ("avgpool2d",)
    torch_name = "nn.AvgPool2d"
    summary = "mean over each window"
    flops_formula = "kh·kw per output element (kh·kw − 1 adds and 1 divide)"
    fields = _POOL_FIELDS + (SpecField("ceil_mode", Bool(), False), SpecField("count_include_pad", Bool(), True))

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return self.kernel[0] * self.kernel[1] * numel(output)

    def flops_sum(self, output: Shape) -> str:
        return f"{self.kernel[0]}·{self.kernel[1]}·{numel(output):,}"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("AvgPool2d", (), {"kernel_size": self.kernel, "stride": self.stride,
                                           "padding": (self.padding[0], self.padding[2]),
                                           "ceil_mode": self.ceil_mode,
                                           "count_include_pad": self.count_include_pad})


def adaptive_window_sum(size: Dim, out: int) -> Dim:
    """The sum of the window lengths of PyTorch's adaptive pooling along one axis.

    Window i spans [floor(i*size/out), ceil((i+1)*size/out)); summed over i the lengths come to
    size + out - gcd(size, out). A closed form, so a huge output costs nothing.
    """
    return size + out - gcd(size, out)


def adaptive_longest_window(size: int, out: int) -> int:
    """floor(size/out), plus 1 or 2 when out does not divide size (2 when (size/g) mod (out/g) >= 2,
    g = gcd(size, out))."""
    common = gcd(size, out)
    quotient, remainder = divmod(size, out)
    if remainder == 0:
        return quotient
    return quotient + (2 if (size // common) % (out // common) >= 2 else 1)


class _AdaptivePool(LayerKind):
    primary: ClassVar[str | None] = "out"
    fields: ClassVar[tuple[SpecField, ...]] = (SpecField("out", Pair(), doc="output height and width"),)

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        return (inputs[0][0], *self.out)

    def window_elements(self, inputs: list[Shape]) -> Dim:
        """How many input elements all output windows read together, per channel."""
        sum_h, sum_w = (adaptive_window_sum(size, out) for size, out in zip(inputs[0][1:], self.out))
        return sum_h * sum_w

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        sizes, outs = inputs[0][1:], self.out
        if not all(is_concrete(size) for size in sizes):  # a window that depends on the input size
            return Window(kernel=sizes, stride=sizes, padding=(0, 0))  # type: ignore[arg-type]
        kernel = tuple(adaptive_longest_window(size, out) for size, out in zip(sizes, outs))
        stride = tuple(max(size // out, 1) for size, out in zip(sizes, outs))
        return Window(kernel=kernel, stride=stride, padding=(0, 0))  # type: ignore[arg-type]

    def reads_whole_map(self) -> bool:
        return tuple(self.out) == (1, 1)

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.torch_name.removeprefix("nn."), (tuple(self.out),))


@register
class AdaptiveAvgPool(_AdaptivePool):
    kind = "adaptive_avgpool"
    aliases: ClassVar[tuple[str, ...]] = ("adaptive_avgpool2d",)
    torch_name = "nn.AdaptiveAvgPool2d"
    summary = "mean over windows chosen so the output has the given size"
    flops_formula = "one per input element read by each window (adds + 1 divide per output)"

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return inputs[0][0] * self.window_elements(inputs)


@register
class AdaptiveMaxPool(_AdaptivePool):
    kind = "adaptive_maxpool"
    aliases: ClassVar[tuple[str, ...]] = ("adaptive_maxpool2d",)
    torch_name = "nn.AdaptiveMaxPool2d"
    summary = "maximum over windows chosen so the output has the given size"
    flops_formula = "(window elements − 1) comparisons per output element"

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return inputs[0][0] * self.window_elements(inputs) - numel(output)


class _GlobalPool(LayerKind):
    fields: ClassVar[tuple[SpecField, ...]] = ()
    primary: ClassVar[str | None] = None

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.out = (1, 1)

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.torch_name.removeprefix("nn."), (1,))


@register
class GlobalAvgPool(_GlobalPool, AdaptiveAvgPool):
    kind = "global_avgpool"
    aliases: ClassVar[tuple[str, ...]] = ("gap",)
    torch_name = "nn.AdaptiveAvgPool2d"
    summary = "mean over the whole map: C x H x W -> C x 1 x 1 (AdaptiveAvgPool2d(1))"
    flops_formula = "H·W per channel"


@register
class GlobalMaxPool(_GlobalPool, AdaptiveMaxPool):
    kind = "global_maxpool"
    aliases: ClassVar[tuple[str, ...]] = ()
    torch_name = "nn.AdaptiveMaxPool2d"
    summary = "maximum over the whole map: C x H x W -> C x 1 x 1 (AdaptiveMaxPool2d(1))"
    flops_formula = "H·W − 1 per channel"
