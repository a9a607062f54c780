"""Layers that make a map larger: transposed convolutions, interpolation and pixel shuffles.

None of them is a sliding window over its input, so paramcalc does not follow receptive fields
through them (the column shows '-' from there on).
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..dims import Dim, Shape, divides, format_shape, is_concrete, is_positive, numel
from ..receptive import Window
from .base import Backward, LayerError, LayerKind, Saved, TorchCall, register
from .conv import AXIS_NAMES, SHAPE_NAMES
from .fields import Bool, Choice, Int, Numbers, Real, Sizes, SpecField


class _ConvTranspose(LayerKind):
    follows_positions = False  # no sliding window over its input (see the module's docstring)
    spatial: ClassVar[int] = 2
    flops_formula = ("2·MACs + (bias ? out·output positions : 0); MACs = input positions·in·(out/groups)·kernel "
                     "volume (each input value meets the whole kernel, as PyTorch computes it)")

    @classmethod
    def transpose_fields(cls, axes: int) -> tuple[SpecField, ...]:
        return (
            SpecField("out", Int(), doc="output channels"),
            SpecField("kernel", Sizes(axes)),
            SpecField("stride", Sizes(axes), 1),
            SpecField("padding", Sizes(axes, minimum=0), 0, doc="removed from each side of the output"),
            SpecField("output_padding", Sizes(axes, minimum=0), 0, doc="added to one side (below the stride)"),
            SpecField("dilation", Sizes(axes), 1),
            SpecField("groups", Int(), 1),
            SpecField("bias", Bool(), True),
        )

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], self.spatial + 1, f"a feature map ({SHAPE_NAMES[self.spatial]})")
        channels = inputs[0][0]
        for what, value in (("in_channels", channels), ("out", self.out)):
            if not divides(self.groups, value):
                raise LayerError(f"groups={self.groups} does not divide {what}={value}", field="groups")
        sizes = []
        for axis, size, k, s, p, extra, d in zip(AXIS_NAMES[self.spatial], inputs[0][1:], self.kernel, self.stride,
                                                 self.padding, self.output_padding, self.dilation):
            if extra >= s and extra >= d:
                raise LayerError(f"output_padding {extra} must be smaller than the stride ({s}) or the dilation ({d})",
                                 field="output_padding", hint="PyTorch refuses it")
            out = (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
            if not is_positive(out):
                raise LayerError(f"the padding {p} leaves no output along the {axis}", field="padding")
            sizes.append(out)
        return (self.out, *sizes)

    def params(self, inputs: list[Shape]) -> Dim:
        return inputs[0][0] * (self.out // self.groups) * numel(self.kernel) + (self.out if self.bias else 0)

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(inputs[0]) * (self.out // self.groups) * numel(self.kernel)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 2 * self.macs(inputs, output) + (numel(output) if self.bias else 0)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        channels, kernel = inputs[0][0], "·".join(map(str, self.kernel))
        lines = [(axis, f"({size} - 1)·{s} - 2·{p} + {d}·({k} - 1) + {extra} + 1 = {out}")
                 for axis, size, k, s, p, extra, d, out in zip(
                     AXIS_NAMES[self.spatial], inputs[0][1:], self.kernel, self.stride, self.padding,
                     self.output_padding, self.dilation, output[1:])]
        per_group = f"({self.out}/{self.groups})" if self.groups != 1 else f"{self.out}"
        return lines + [
            ("params", f"{channels}·{per_group}·{kernel}" + (f" + {self.out}" if self.bias else "")
             + f" = {self.params(inputs):,}"),
            ("MACs", f"{'·'.join(map(str, inputs[0][1:]))} input positions·{channels}·{per_group}·{kernel} = "
                     f"{self.macs(inputs, output):,}"),
            ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + {numel(output):,}" if self.bias else "")
             + f" = {self.flops(inputs, output):,}"),
        ]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("input"), Saved("param", elements=self.params(inputs) - (self.out if self.bias else 0))]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        macs = self.macs(inputs, output)  # as a convolution's (_Conv.backward)
        return Backward(macs, 2 * macs, macs, 2 * macs + (numel(output) if self.bias else 0))

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(f"ConvTranspose{self.spatial}d", (inputs[0][0], self.out), {
            "kernel_size": self.kernel, "stride": self.stride, "padding": self.padding,
            "output_padding": self.output_padding, "groups": self.groups, "bias": self.bias,
            "dilation": self.dilation})


@register
class ConvTranspose2d(_ConvTranspose):
    kind, spatial, torch_name = "conv_transpose2d", 2, "nn.ConvTranspose2d"
    summary = "transposed 2-D convolution: spreads each input value over a kernel-sized patch (upsampling)"
    fields = _ConvTranspose.transpose_fields(2)


@register
class ConvTranspose1d(_ConvTranspose):
    kind, spatial, torch_name = "conv_transpose1d", 1, "nn.ConvTranspose1d"
    summary = "transposed 1-D convolution (channels x length)"
    fields = _ConvTranspose.transpose_fields(1)


@register
class ConvTranspose3d(_ConvTranspose):
    kind, spatial, torch_name = "conv_transpose3d", 3, "nn.ConvTranspose3d"
    summary = "transposed 3-D convolution (channels x time x height x width)"
    fields = _ConvTranspose.transpose_fields(3)


_TAPS = {"nearest": (0, None), "linear": (2, 1), "bilinear": (4, 2), "bicubic": (16, 2), "trilinear": (8, 3)}


@register
class Upsample(LayerKind):
    follows_positions = False  # no sliding window over its input
    kind = "upsample"
    aliases = ("interpolate",)
    torch_name = "nn.Upsample / F.interpolate"
    summary = ("resize a map by interpolation, to `size`, by `scale`, or to the size of a second input "
               "(from: [x, like])")
    flops_formula = ("(2·taps − 1) per output element (taps: linear 2, bilinear 4, bicubic 16, trilinear 8); "
                     "nearest 0 (a copy)")
    fields = (SpecField("size", Numbers("sizes", minimum=1, scalar=True), None,
                        doc="output size: one number for every axis, or one per axis"),
              SpecField("scale", Real(minimum=0), None, doc="scale_factor: the output is floor(size·scale)"),
              SpecField("mode", Choice(tuple(_TAPS)), "nearest"),
              SpecField("align_corners", Bool(), False, doc="linear modes: corner pixels align"))
    max_inputs = 2
    size_inputs = (1,)

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        axes = len(shape) - 1
        if axes < 1:
            raise LayerError(f"upsample needs a feature map, got {format_shape(shape)}")
        wanted = _TAPS[self.mode][1]
        if wanted is not None and wanted != axes:
            raise LayerError(f"mode {self.mode} resizes {SHAPE_NAMES[wanted]} maps, got {format_shape(shape)}",
                             field="mode", hint="linear: 1-D, bilinear and bicubic: 2-D, trilinear: 3-D")
        given = [self.size is not None, self.scale is not None, len(inputs) == 2]
        if sum(given) != 1:
            raise LayerError("upsample needs exactly one of size, scale or a second input to take the size from",
                             hint="size: [64, 64], scale: 2, or from: [x, input]", field="size")
        if len(inputs) == 2:
            if len(inputs[1]) != len(shape):
                raise LayerError(f"cannot take the size of {format_shape(inputs[1])} for {format_shape(shape)}")
            return (shape[0], *inputs[1][1:])
        if self.size is not None:
            if len(self.size) not in (1, axes):
                raise LayerError(f"size {list(self.size)} has {len(self.size)} values for a map with {axes} axes",
                                 field="size", hint=f"give one number, or {axes}")
            return (shape[0], *self.sizes(axes))
        return (shape[0], *(self.scaled(size) for size in shape[1:]))

    def sizes(self, axes: int) -> tuple:
        return tuple(self.size) if len(self.size) == axes else tuple(self.size) * axes

    def scaled(self, size: Dim) -> Dim:
        """floor(size·scale) as PyTorch computes it, in double precision (100·0.29 gives 28, not 29)."""
        if self.scale <= 0:
            raise LayerError(f"scale must be above 0, got {self.scale:g}", field="scale")
        if float(self.scale).is_integer():
            return size * int(self.scale)
        if not is_concrete(size):
            raise LayerError("a scale that is not a whole number needs concrete sizes", field="scale",
                             hint="give the output size with 'size', or concrete input sizes")
        out = math.floor(float(size) * float(self.scale))  # type: ignore[arg-type]  # concrete here
        if out < 1:
            raise LayerError(f"scale {self.scale:g} leaves no output from size {size}", field="scale")
        return out

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        taps = _TAPS[self.mode][0]
        return (2 * taps - 1) * numel(output) if taps else 0

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        if len(inputs) == 2:
            size = f"the second input's: {format_shape(output[1:])}"
        elif self.size is not None:
            size = f"as given: {format_shape(output[1:])}"
        else:
            size = " x ".join(f"floor({before}·{self.scale:g}) = {after}" for before, after in zip(inputs[0][1:], output[1:]))
        taps = _TAPS[self.mode][0]
        flops = (f"(2·{taps} - 1)·{numel(output):,} = {self.flops(inputs, output):,} ({taps} input values "
                 f"weighted and summed per output value)") if taps else "0 (nearest: a copy)"
        return [("size", size), ("FLOPs", flops)]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # the gradient needs only the sizes

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        corners = self.align_corners if self.mode != "nearest" else None
        if len(inputs) == 2:
            return TorchCall("paramcalc.UpsampleLike", (self.mode, corners))
        options: dict = {"mode": self.mode, "align_corners": corners}
        if self.size is not None:
            options["size"] = self.sizes(len(inputs[0]) - 1)
        else:
            options["scale_factor"] = self.scale
        return TorchCall("Upsample", (), options)


@register
class PixelShuffle(LayerKind):
    follows_positions = False  # no sliding window over its input
    kind = "pixel_shuffle"
    torch_name = "nn.PixelShuffle"
    summary = "move channels into space: C x H x W -> C/r² x rH x rW (sub-pixel upsampling)"
    fields = (SpecField("factor", Int(), doc="upscale factor r"),)
    primary = "factor"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        channels, height, width = inputs[0]
        r = self.factor
        if not divides(r * r, channels):
            raise LayerError(f"{channels} channels cannot be shuffled by {r}: r² = {r * r} must divide them",
                             field="factor")
        return (channels // (r * r), height * r, width * r)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # a rearrangement: the gradient is the output's, rearranged back

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("PixelShuffle", (self.factor,))


@register
class PixelUnshuffle(LayerKind):
    kind = "pixel_unshuffle"
    torch_name = "nn.PixelUnshuffle"
    summary = "move space into channels: C x H x W -> r²C x H/r x W/r (space to depth)"
    fields = (SpecField("factor", Int(), doc="downscale factor r"),)
    primary = "factor"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "a feature map (channels x height x width)")
        channels, height, width = inputs[0]
        r = self.factor
        for axis, size in (("height", height), ("width", width)):
            if not divides(r, size):
                raise LayerError(f"the factor {r} does not divide the {axis} {size}", field="factor")
        return (channels * r * r, height // r, width // r)

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        return Window((self.factor, self.factor), (self.factor, self.factor), (0, 0))

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # a rearrangement: the gradient is the output's, rearranged back

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("PixelUnshuffle", (self.factor,))
