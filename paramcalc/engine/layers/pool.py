"""Pooling: windowed max / average, adaptive and global pooling, and the mean over chosen dimensions."""

from __future__ import annotations

from typing import Any, ClassVar

from ..dims import Dim, Shape, format_shape, gcd, is_concrete, is_positive, numel
from ..receptive import Window
from .base import WHOLE, LayerError, LayerKind, Saved, TorchCall, register
from .conv import AXIS_NAMES, SHAPE_NAMES, sliding_arithmetic, sliding_size
from .fields import Axes, Bool, Padding, Sizes, SpecField


class _WindowPool(LayerKind):
    follows_positions = False  # 1-D and 3-D windows are not followed (2-D: a unit window leaves the field)
    primary = "kernel"
    spatial: ClassVar[int] = 2
    dilated: ClassVar[bool] = False
    stride: Any  # None in the spec means the kernel

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.stride is None:
            self.stride = self.kernel  # PyTorch's default: windows side by side

    @classmethod
    def pool_fields(cls, axes: int) -> tuple[SpecField, ...]:
        return (SpecField("kernel", Sizes(axes), doc="window size"),
                SpecField("stride", Sizes(axes), None, doc="how far the window moves"),
                SpecField("padding", Padding(keywords=(), axes=axes), 0, doc="at most half the window"))

    def spacing(self) -> tuple:
        return self.dilation if self.dilated else (1,) * self.spatial

    def sides(self) -> list[tuple[Dim, Dim]]:
        return [(self.padding[2 * axis], self.padding[2 * axis + 1]) for axis in range(self.spatial)]

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], self.spatial + 1, f"a feature map ({SHAPE_NAMES[self.spatial]})")
        sides = self.sides()
        if any(before != after for before, after in sides):
            raise LayerError("pooling pads both sides equally", field="padding",
                             hint="for uneven padding put a 'pad' layer before the pooling")
        for (pad, _), kernel in zip(sides, self.kernel):
            limit = kernel // 2  # PyTorch's pool2d_shape_check: the kernel, not its dilated span
            if pad > limit:
                raise LayerError(f"padding {pad} is more than half the window ({kernel}); PyTorch refuses it",
                                 hint=f"use padding <= {limit}", field="padding")
        return (inputs[0][0], *(sliding_size(size, before, after, kernel, stride, dilation, axis, self.ceil_mode)
                                for size, (before, after), kernel, stride, dilation, axis in zip(
                                    inputs[0][1:], sides, self.kernel, self.stride, self.spacing(),
                                    AXIS_NAMES[self.spatial])))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        lines = [sliding_arithmetic(axis, size, before, after, kernel, stride, dilation, size_out, self.ceil_mode)
                 for axis, size, (before, after), kernel, stride, dilation, size_out in zip(
                     AXIS_NAMES[self.spatial], inputs[0][1:], self.sides(), self.kernel, self.stride,
                     self.spacing(), output[1:])]
        return lines + [("FLOPs", self.flops_sum(output) + f" = {self.flops(inputs, output):,}")]

    def window(self, inputs: list[Shape], output: Shape) -> Window | None:
        if self.spatial != 2:
            return None
        span = tuple(d * (k - 1) + 1 for d, k in zip(self.spacing(), self.kernel))
        return Window(kernel=span, stride=self.stride, padding=(self.padding[0], self.padding[2]))  # type: ignore

    def torch_arguments(self) -> dict:
        return {"kernel_size": self.kernel, "stride": self.stride,
                "padding": tuple(before for before, _ in self.sides()), "ceil_mode": self.ceil_mode}


def max_indices(output: Shape) -> Saved:
    """Where each maximum came from: the int64 index PyTorch keeps for every output element."""
    return Saved("own", 0, numel(output), "int64")


class _MaxPool(_WindowPool):
    dilated = True
    flops_formula = "(window volume − 1) comparisons per output element"

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("input"), max_indices(output)]

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (numel(self.kernel) - 1) * numel(output)

    def flops_sum(self, output: Shape) -> str:
        return f"({'·'.join(map(str, self.kernel))} - 1)·{numel(output):,}"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(f"MaxPool{self.spatial}d", (), {**self.torch_arguments(), "dilation": self.dilation})


class _AvgPool(_WindowPool):
    flops_formula = "window volume per output element (volume − 1 adds and 1 divide)"

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("input")]

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(self.kernel) * numel(output)

    def flops_sum(self, output: Shape) -> str:
        return f"{'·'.join(map(str, self.kernel))}·{numel(output):,}"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(f"AvgPool{self.spatial}d", (), {**self.torch_arguments(),
                                                         "count_include_pad": self.count_include_pad})


def _max_fields(axes: int) -> tuple[SpecField, ...]:
    return _WindowPool.pool_fields(axes) + (SpecField("dilation", Sizes(axes), 1), SpecField("ceil_mode", Bool(), False))


def _avg_fields(axes: int) -> tuple[SpecField, ...]:
    return _WindowPool.pool_fields(axes) + (SpecField("ceil_mode", Bool(), False),
                                            SpecField("count_include_pad", Bool(), True))


@register
class MaxPool(_MaxPool):
    kind = "maxpool"
    follows_positions = True  # 2-D
    aliases = ("maxpool2d",)
    torch_name = "nn.MaxPool2d"
    summary = "maximum over each window"
    flops_formula = "(kh·kw − 1) comparisons per output element"
    fields = _max_fields(2)


@register
class AvgPool(_AvgPool):
    kind = "avgpool"
    follows_positions = True  # 2-D
    aliases = ("avgpool2d",)
    torch_name = "nn.AvgPool2d"
    summary = "mean over each window"
    flops_formula = "kh·kw per output element (kh·kw − 1 adds and 1 divide)"
    fields = _avg_fields(2)


@register
class MaxPool1d(_MaxPool):
    kind, spatial, torch_name = "maxpool1d", 1, "nn.MaxPool1d"
    summary = "maximum over each window of a sequence (channels x length)"
    fields = _max_fields(1)


@register
class AvgPool1d(_AvgPool):
    kind, spatial, torch_name = "avgpool1d", 1, "nn.AvgPool1d"
    summary = "mean over each window of a sequence (channels x length)"
    fields = _avg_fields(1)


@register
class MaxPool3d(_MaxPool):
    kind, spatial, torch_name = "maxpool3d", 3, "nn.MaxPool3d"
    summary = "maximum over each window of a clip (channels x time x height x width)"
    fields = _max_fields(3)


@register
class AvgPool3d(_AvgPool):
    kind, spatial, torch_name = "avgpool3d", 3, "nn.AvgPool3d"
    summary = "mean over each window of a clip (channels x time x height x width)"
    fields = _avg_fields(3)

    def output_shape(self, inputs: list[Shape]) -> Shape:
        output = super().output_shape(inputs)
        for axis, size, kernel in zip(AXIS_NAMES[3], inputs[0][1:], self.kernel):
            if not is_positive(size - kernel + 1):  # PyTorch's pool3d_shape_check, for average pooling only
                raise LayerError(f"the input's {axis} {size} is smaller than the kernel ({kernel}); PyTorch's "
                                 f"avg_pool3d refuses it, whatever the padding", field="kernel",
                                 hint="use a smaller kernel, or a larger input")
        return output


def adaptive_window_sum(size: Dim, out: int) -> Dim:
    """The sum of the window lengths of PyTorch's adaptive pooling along one axis.

    Window i spans [floor(i*size/out), ceil((i+1)*size/out)); summed over i the lengths come to
    size + out - gcd(size, out). A closed form, so a huge output costs nothing.
    """
    return size + out - gcd(size, out)


class _AdaptivePool(LayerKind):
    follows_positions = False  # as _WindowPool
    primary: ClassVar[str | None] = "out"
    spatial: ClassVar[int] = 2
    fields: ClassVar[tuple[SpecField, ...]] = (SpecField("out", Sizes(2), doc="output height and width"),)

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], self.spatial + 1, f"a feature map ({SHAPE_NAMES[self.spatial]})")
        return (inputs[0][0], *self.out)

    def window_elements(self, inputs: list[Shape]) -> Dim:
        """How many input elements all output windows read together, per channel."""
        return numel([adaptive_window_sum(size, out) for size, out in zip(inputs[0][1:], self.out)])

    def window(self, inputs: list[Shape], output: Shape) -> Window | None:
        if self.spatial != 2 or self.reads_whole_map(inputs):
            return None
        sizes, outs = inputs[0][1:], self.out
        if not all(is_concrete(size) for size in sizes):
            return None  # a window that depends on the input size: symbolic fields stop there (field_step)
        if any(size < out for size, out in zip(sizes, outs)):  # windows closer than a pixel apart: no stride
            return None
        # window i spans floor(i·in/out) to ceil((i + 1)·in/out): at or after i·stride, and no further than
        # stride + (in mod out) beyond that (the last window's end, the farthest): an outer bound of every window
        stride = tuple(size // out for size, out in zip(sizes, outs))
        kernel = tuple(step + size % out for step, size, out in zip(stride, sizes, outs))
        return Window(kernel=kernel, stride=stride, padding=(0, 0))  # type: ignore[arg-type]

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | str | None:
        sizes = inputs[0][1:]
        if not all(is_concrete(size) for size in sizes) or any(size < out for size, out in zip(sizes, self.out)):
            return None  # symbolic sizes, or an axis made longer than its input (see window): not followed
        return super().positions(inputs, output, axes)  # an identity (its window is no window)

    def reads_whole_map(self, inputs: list[Shape]) -> bool:
        return all(size == 1 for size in self.out)

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.torch_name.removeprefix("nn."), (tuple(self.out),))


@register
class AdaptiveAvgPool(_AdaptivePool):
    kind = "adaptive_avgpool"
    follows_positions = True  # 2-D
    aliases: ClassVar[tuple[str, ...]] = ("adaptive_avgpool2d",)
    torch_name = "nn.AdaptiveAvgPool2d"
    summary = "mean over windows chosen so the output has the given size"
    flops_formula = "one per input element read by each window (adds + 1 divide per output)"

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return inputs[0][0] * self.window_elements(inputs)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # to a single value PyTorch takes the mean, which keeps only the input's size
        return [] if all(size == 1 for size in self.out) else [Saved("input")]


@register
class AdaptiveAvgPool1d(AdaptiveAvgPool):
    kind, spatial, torch_name = "adaptive_avgpool1d", 1, "nn.AdaptiveAvgPool1d"
    follows_positions = False
    aliases = ()
    summary = "mean over windows of a sequence chosen so the output has the given length"
    fields = (SpecField("out", Sizes(1), doc="output length"),)


@register
class AdaptiveAvgPool3d(AdaptiveAvgPool):
    kind, spatial, torch_name = "adaptive_avgpool3d", 3, "nn.AdaptiveAvgPool3d"
    follows_positions = False
    aliases = ()
    summary = "mean over windows of a clip chosen so the output has the given size (1: over the whole clip)"
    fields = (SpecField("out", Sizes(3), doc="output time, height and width"),)


@register
class AdaptiveMaxPool(_AdaptivePool):
    kind = "adaptive_maxpool"
    follows_positions = True  # 2-D
    aliases: ClassVar[tuple[str, ...]] = ("adaptive_maxpool2d",)
    torch_name = "nn.AdaptiveMaxPool2d"
    summary = "maximum over windows chosen so the output has the given size"
    flops_formula = "(window elements − 1) comparisons per output element"

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return inputs[0][0] * self.window_elements(inputs) - numel(output)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("input"), max_indices(output)]


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


@register
class Mean(LayerKind):
    """x.mean(dims, keepdim): a different PyTorch operation from adaptive average pooling, whatever it averages
    (aten::mean, which neither ptflops nor fvcore counts, where both count F.adaptive_avg_pool2d)."""

    kind = "mean"
    aliases: ClassVar[tuple[str, ...]] = ("reduce_mean",)
    torch_name = "torch.mean / x.mean(dims, keepdim) (ShuffleNet v2's and MNASNet's x.mean([2, 3]))"
    summary = "mean over the given dimensions: dims [2, 3] turn C x H x W into C (keepdim: C x 1 x 1)"
    flops_formula = "one per input element: n − 1 adds and 1 divide for each mean of n values"
    fields: ClassVar[tuple[SpecField, ...]] = (
        SpecField("dims", Axes(), doc="the dimensions averaged (not 0, the batch)"),
        SpecField("keepdim", Bool(), False, doc="keep each averaged dimension with size 1"))
    primary: ClassVar[str | None] = "dims"

    def reduced(self, inputs: list[Shape]) -> tuple[int, ...]:
        """The averaged axes of a sample's shape (0 = the first after the batch), in order."""
        shape = inputs[0]
        rank, axes = len(shape), set()
        for dim in self.dims:
            full = dim + rank + 1 if dim < 0 else dim
            if full == 0:
                raise LayerError(f"mean over dimension {dim}, the batch: paramcalc counts one sample", field="dims",
                                 hint=f"dims are 1 (the channels) to {rank}, or -1 to -{rank}" if rank else None)
            if not 1 <= full <= rank:
                raise LayerError(f"mean dims={list(self.dims)}: {dim} is not a dimension of a sample's {rank}-d shape "
                                 f"{format_shape(shape)}", field="dims",
                                 hint=f"dims are 1 (the channels) to {rank}, or -1 to -{rank}; 0 is the batch"
                                 if rank else "a scalar has no dimension to average")
            if full - 1 in axes:
                raise LayerError(f"mean dims={list(self.dims)} names dimension {full} twice; PyTorch refuses it",
                                 field="dims", hint="list each dimension once")
            axes.add(full - 1)
        return tuple(sorted(axes))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        axes = self.reduced(inputs)
        if self.keepdim:
            return tuple(1 if axis in axes else size for axis, size in enumerate(inputs[0]))
        return tuple(size for axis, size in enumerate(inputs[0]) if axis not in axes)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(inputs[0])  # as global_avgpool: each output's n values, n - 1 adds and a divide

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        averaged = "·".join(str(inputs[0][axis]) for axis in self.reduced(inputs))
        means = numel(output)
        each = f"{means:,} mean{'s' * (means != 1)} of {averaged} values: {averaged} − 1 adds and 1 divide each"
        return [("FLOPs", f"{averaged}·{means:,} = {self.flops(inputs, output):,}  ({each})")]

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | str | None:
        # over the axes that hold the map's positions (all of them): every output unit reads the whole map, as
        # global pooling; over other axes (the channels): each position is averaged on its own, as by a softmax
        # over the channels, and moves down by the axes dropped before it
        reduced = set(self.reduced(inputs))
        combined = reduced & set(axes)
        if not combined:
            return axes if self.keepdim else tuple(axis - sum(1 for r in reduced if r < axis) for axis in axes)
        return WHOLE if combined == set(axes) else None

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # its gradient is the output's spread over the input's size, divided by n: nothing kept

    def settings(self) -> str:
        dims = list(self.dims) if len(self.dims) > 1 else self.dims[0]
        return f"dims={dims}, keepdim={str(self.keepdim).lower()}"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Mean", (tuple(self.dims),), {"keepdim": self.keepdim})
