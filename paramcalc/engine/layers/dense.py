"""Fully-connected layers and normalisation layers."""

from __future__ import annotations

from typing import ClassVar

from ..dims import Dim, Shape, divides, format_shape, numel
from .base import Backward, LayerError, LayerKind, Saved, TorchCall, register
from .fields import Bool, Int, Real, SpecField


@register
class Linear(LayerKind):
    kind = "linear"
    aliases = ("fc", "dense")
    torch_name = "nn.Linear"
    summary = "fully connected: every output is a weighted sum of every input feature (last dimension)"
    flops_formula = "2·MACs + (bias ? out·rows : 0); MACs = in·out·rows"
    fields = (SpecField("out", Int(), doc="output features"), SpecField("bias", Bool(), True))
    primary = "out"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if not inputs[0]:
            raise LayerError("linear needs at least one dimension")
        return (*inputs[0][:-1], self.out)

    def params(self, inputs: list[Shape]) -> Dim:
        return inputs[0][-1] * self.out + (self.out if self.bias else 0)

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(inputs[0]) * self.out

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 2 * self.macs(inputs, output) + (numel(output) if self.bias else 0)

    def mixed_axes(self, inputs: list[Shape]) -> tuple[int, ...]:
        return (len(inputs[0]) - 1,)

    def reads_whole_map(self, inputs: list[Shape]) -> bool:
        return len(inputs[0]) == 1  # a vector: the flattened map

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # a matrix product keeps each operand only for the other's gradient: the input for the weight's,
        # the weight for the input's
        weight = Saved("param", elements=inputs[0][-1] * self.out)
        return [Saved("input")] * trainable + [weight] * needs_grad[0]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        macs = self.macs(inputs, output)
        return Backward(macs, 2 * macs, macs, 2 * macs + (numel(output) if self.bias else 0))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        features, rows = inputs[0][-1], numel(inputs[0][:-1])
        rows_text = f"·{rows}" if rows != 1 else ""
        lines = [] if rows == 1 else [
            ("applies to", f"the last dimension ({features} features) of each of the {rows:,} rows of "
                           f"{format_shape(inputs[0])}, as nn.Linear does; the weights are shared by the rows")]
        return lines + [("params", f"{features}·{self.out}" + (f" + {self.out}" if self.bias else "")
                 + f" = {self.params(inputs):,}"),
                ("MACs", f"{features}·{self.out}{rows_text} = {self.macs(inputs, output):,}"),
                ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + {numel(output):,}" if self.bias else "")
                 + f" = {self.flops(inputs, output):,}")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("Linear", (inputs[0][-1], self.out), {"bias": self.bias})


class _Norm(LayerKind):

    def channels(self, inputs: list[Shape]) -> Dim:
        if not inputs[0]:
            raise LayerError(f"{self.kind} needs at least a channel dimension")
        return inputs[0][0]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # the input's gradient as many operations as the forward pass; the scale's gradient a multiply and
        # an add per element (sum of grad·normalised input), the shift's an add per element (sum of grad)
        per_element = (3 if self.shifts else 2) if self.params(inputs) != 0 else 0
        return Backward(input_flops=self.flops(inputs, output), weight_flops=per_element * numel(output))

    shifts: ClassVar[bool] = True  # its parameters are a scale and a shift (Scale: a scale only)


@register
class BatchNorm(_Norm):
    kind = "batchnorm"
    aliases = ("bn", "batchnorm2d", "batchnorm1d", "batchnorm3d")
    torch_name = "nn.BatchNorm2d"
    summary = "normalise each channel with running statistics, then scale and shift"
    flops_formula = "2 per element (scale and shift, statistics folded); without running statistics 5 + 2 with affine"
    fields = (
        SpecField("eps", Real(minimum=0, maximum=1), 1e-5),
        SpecField("momentum", Real(minimum=0, maximum=1), 0.1),
        SpecField("affine", Bool(), True, doc="learn a scale and a shift per channel"),
        SpecField("track_running_stats", Bool(), True, doc="keep running mean and variance (buffers)"),
    )

    def params(self, inputs: list[Shape]) -> Dim:
        return 2 * self.channels(inputs) if self.affine else 0

    def buffers(self, inputs: list[Shape]) -> Dim:
        return 2 * self.channels(inputs) if self.track_running_stats else 0

    def per_element(self) -> int:
        if self.track_running_stats:
            return 2  # the running statistics and the affine fold into one scale and one shift
        return 7 if self.affine else 5  # the batch's own statistics, worked out as a layer norm does

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return self.per_element() * numel(output)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        channels = self.channels(inputs)
        lines = []
        if self.affine:
            lines.append(("params", f"2·{channels} = {self.params(inputs):,} (a scale and a shift per channel)"))
        if self.track_running_stats:
            lines.append(("buffers", f"2·{channels} = {self.buffers(inputs):,} (running mean and variance)"))
        else:
            lines.append(("statistics", "the batch's own, as no running statistics are kept (nn.BatchNorm2d "
                                        "with track_running_stats=False, at inference too)"))
        return lines + [("FLOPs", f"{self.per_element()}·{numel(output):,} = {self.flops(inputs, output):,}")]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # training mode: the input, the running statistics and the scale, and the batch's mean and inverse
        # standard deviation per channel, which PyTorch keeps in float32
        channels = self.channels(inputs)
        statistics = [Saved("buffer", 0, channels), Saved("buffer", 1, channels)] if self.track_running_stats else []
        scale = [Saved("param", 0, channels, "param")] if self.affine else []
        batch = [Saved("own", 0, channels, "float32", batched=False)] * 2
        return [Saved("input"), *statistics, *scale, *batch]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        module = {3: "BatchNorm2d", 4: "BatchNorm3d"}.get(len(inputs[0]), "BatchNorm1d")
        return TorchCall(module, (self.channels(inputs),), {
            "eps": self.eps, "momentum": self.momentum, "affine": self.affine,
            "track_running_stats": self.track_running_stats})


@register
class LayerNorm(LayerKind):
    kind = "layernorm"
    torch_name = "nn.LayerNorm"
    summary = "normalise each row over its last dimension (the features of a token), then scale and shift"
    flops_formula = "5 per element (mean, centre, square, sum, normalise) + 2 with affine"
    fields = (
        SpecField("eps", Real(minimum=0, maximum=1), 1e-5),
        SpecField("affine", Bool(), True, doc="elementwise_affine: a scale per feature"),
        SpecField("bias", Bool(), True, doc="a shift per feature (with affine)"),
    )
    torch_module: ClassVar[str] = "LayerNorm"
    over: ClassVar[str] = "the last dimension"

    def normalized_axis(self, inputs: list[Shape]) -> int:
        return len(inputs[0]) - 1

    def features(self, inputs: list[Shape]) -> Dim:
        if not inputs[0]:
            raise LayerError(f"{self.kind} needs at least one dimension")
        return inputs[0][self.normalized_axis(inputs)]

    def mixed_axes(self, inputs: list[Shape]) -> tuple[int, ...]:
        return (self.normalized_axis(inputs),)

    def params(self, inputs: list[Shape]) -> Dim:
        if not self.affine:
            return 0
        return self.features(inputs) * (2 if self.bias else 1)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (7 if self.affine else 5) * numel(output)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # the input, scale and shift, and each row's mean and inverse standard deviation in float32
        features = self.features(inputs)
        weights = [Saved("param", 0, features, "param")] + ([Saved("param", 1, features, "param")] if self.bias else [])
        axis = self.normalized_axis(inputs)
        rows = Saved("own", 0, numel([size for index, size in enumerate(inputs[0]) if index != axis]), "float32")
        return [Saved("input"), *(weights if self.affine else []), rows, rows]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # as the other normalisations (_Norm.backward)
        per_element = (3 if self.bias else 2) if self.affine else 0
        return Backward(input_flops=self.flops(inputs, output), weight_flops=per_element * numel(output))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        features = self.features(inputs)
        lines = [("applies to", f"{self.over} ({features}) of {format_shape(inputs[0])}")]
        if self.affine:
            lines.append(("params", f"{'2·' if self.bias else ''}{features} = {self.params(inputs):,}"))
        per = 7 if self.affine else 5
        return lines + [("FLOPs", f"{per}·{numel(output):,} = {self.flops(inputs, output):,}")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall(self.torch_module, (self.features(inputs),),
                         {"eps": self.eps, "elementwise_affine": self.affine, "bias": self.bias})


@register
class ChannelLayerNorm(LayerNorm):
    kind = "layernorm2d"
    torch_name = "torchvision's LayerNorm2d (nn.LayerNorm over the channels of a C x H x W map)"
    summary = "normalise each position of a map over its channels (ConvNeXt's downsampling layers)"
    torch_module = "paramcalc.ChannelLayerNorm"
    over = "the channels"

    def normalized_axis(self, inputs: list[Shape]) -> int:
        return 0


@register
class GroupNorm(_Norm):
    kind = "groupnorm"
    torch_name = "nn.GroupNorm"
    summary = "normalise groups of channels at each sample, then scale and shift per channel"
    flops_formula = "5 per element + 2 with affine"
    fields = (
        SpecField("groups", Int()),
        SpecField("eps", Real(minimum=0, maximum=1), 1e-5),
        SpecField("affine", Bool(), True),
    )
    primary = "groups"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        channels = self.channels(inputs)
        if not divides(self.groups, channels):
            raise LayerError(f"groups={self.groups} does not divide channels={channels}", field="groups")
        return inputs[0]

    def params(self, inputs: list[Shape]) -> Dim:
        return 2 * self.channels(inputs) if self.affine else 0

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (7 if self.affine else 5) * numel(output)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # the input, the scale, and each group's mean and inverse standard deviation in float32
        group = Saved("own", 0, self.groups, "float32")
        return [Saved("input"), *([Saved("param", 0, self.channels(inputs), "param")] if self.affine else []),
                group, group]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("GroupNorm", (self.groups, self.channels(inputs)), {"eps": self.eps, "affine": self.affine})


@register
class LocalResponseNorm(_Norm):
    kind = "lrn"
    aliases = ("local_response_norm",)
    torch_name = "nn.LocalResponseNorm"
    summary = "divide each value by a power of the sum of squares over `size` neighbouring channels"
    flops_formula = "2·size + 3 per element (squares and sums over the window, scale, power, divide)"
    fields = (
        SpecField("size", Int(), doc="neighbouring channels"),
        SpecField("alpha", Real(), 1e-4),
        SpecField("beta", Real(), 0.75),
        SpecField("k", Real(), 1.0),
    )
    primary = "size"

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (2 * self.size + 3) * numel(output)

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # F.local_response_norm: the input (squared, then divided), the squares padded with size - 1 channels
        # (the window's average pooling keeps them), k + alpha·average (raised to beta) and the power (the divisor)
        channels, positions = self.channels(inputs), numel(inputs[0][1:])
        return [Saved("input"), Saved("own", elements=(channels + self.size - 1) * positions),
                Saved("own", elements=numel(output)), Saved("own", elements=numel(output))]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("LocalResponseNorm", (self.size,), {"alpha": self.alpha, "beta": self.beta, "k": self.k})


@register
class Scale(_Norm):
    kind = "scale"
    aliases = ("layer_scale",)
    torch_name = "a learnable C x 1 x 1 parameter multiplied in (ConvNeXt's layer_scale)"
    summary = "multiply each channel by a learned factor (layer scale), initialised to `init`"
    flops_formula = "1 per element"
    fields = (SpecField("init", Real(), 1.0, doc="initial value of the factors (ConvNeXt: 1e-6)"),)
    primary = "init"

    def params(self, inputs: list[Shape]) -> Dim:
        return self.channels(inputs)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(output)

    shifts = False

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # x · factor keeps each operand for the other's gradient
        return [Saved("param", 0, self.channels(inputs), "param")] * needs_grad[0] + [Saved("input")] * trainable

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Scale", (self.channels(inputs), len(inputs[0]), self.init))
