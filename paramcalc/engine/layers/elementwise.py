"""Activations and inference-time no-ops: one value in, one value out.

FLOPs per element count each elementary operation once (add, multiply, divide,
compare, and a library function such as exp, erf or tanh).
"""

from __future__ import annotations

from typing import ClassVar

from ..dims import Dim, Shape, numel
from .base import NEW, VIEW, LayerKind, Saved, TorchCall, register
from .fields import Axis, Choice, Real, SpecField


class _Elementwise(LayerKind):
    per_element = 0
    saves: ClassVar[str] = "input"  # what its gradient is computed from: 'input' or 'output'

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved(self.saves)]

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return self.per_element * numel(output)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        if not self.per_element:
            return []
        return [("FLOPs", f"{self.per_element}·{numel(output):,} = {self.flops(inputs, output):,}  "
                          f"({self.flops_formula})")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        # the fields are the module's own arguments, in order (LeakyReLU(0.01), Dropout(0.5), Softmax(1))
        return TorchCall(self.torch_name.removeprefix("nn."), tuple(getattr(self, f.name) for f in self.fields))


def _activation(kind: str, torch_name: str, per_element: int, formula: str, summary: str,
                fields: tuple[SpecField, ...] = (), aliases: tuple[str, ...] = (), saves: str = "input") -> type[LayerKind]:
    cls = type(kind.title().replace("_", ""), (_Elementwise,), {
        "kind": kind, "torch_name": torch_name, "per_element": per_element, "aliases": aliases, "saves": saves,
        "flops_formula": f"{per_element} per element ({formula})", "summary": summary, "fields": fields,
        "primary": fields[0].name if fields else None,
    })
    return register(cls)


# what each saves for backward is PyTorch's (derivatives.yaml): ReLU, sigmoid and tanh their output, the rest
# their input
_activation("relu", "nn.ReLU", 1, "max(x, 0)", "max(x, 0)", saves="output")
_activation("relu6", "nn.ReLU6", 2, "max, min", "min(max(x, 0), 6) (MobileNet)")
_activation("leaky_relu", "nn.LeakyReLU", 2, "compare, multiply", "x if x > 0 else slope·x",
            (SpecField("negative_slope", Real(), 0.01),), aliases=("leakyrelu",))
_activation("sigmoid", "nn.Sigmoid", 4, "negate, exp, add, divide", "1 / (1 + exp(−x))", saves="output")
_activation("tanh", "nn.Tanh", 1, "tanh", "tanh(x)", saves="output")
_activation("silu", "nn.SiLU", 5, "sigmoid, multiply", "x·sigmoid(x), also called swish (EfficientNet)",
            aliases=("swish",))
_activation("hardsigmoid", "nn.Hardsigmoid", 4, "add, max, min, divide", "relu6(x + 3) / 6 (MobileNet v3)")
_activation("hardswish", "nn.Hardswish", 5, "hardsigmoid, multiply", "x·hardsigmoid(x) (MobileNet v3)")
_activation("gelu", "nn.GELU", 5, "divide, erf, add, multiply, multiply", "x·Φ(x) (ConvNeXt)")


@register
class Softmax(_Elementwise):
    kind = "softmax"
    torch_name = "nn.Softmax"
    summary = "exp(x) / sum(exp(x)) along a dimension"
    per_element = 3
    saves = "output"
    flops_formula = "3 per element (exp, add to the sum, divide)"
    fields = (SpecField("dim", Axis(), 1, doc="dimension as in PyTorch (1 = channels)"),)
    primary = "dim"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        from .structure import sample_axis

        sample_axis(self.dim, len(inputs[0]), self.kind)
        return inputs[0]

    def mixed_axes(self, inputs: list[Shape]) -> tuple[int, ...]:
        from .structure import sample_axis

        return (sample_axis(self.dim, len(inputs[0]), self.kind),)


@register
class Dropout(_Elementwise):
    kind = "dropout"
    torch_name = "nn.Dropout"
    summary = "zero random values while training; nothing at inference"
    flops_formula = "0 (inference)"
    fields = (SpecField("p", Real(minimum=0, maximum=1), 0.5, doc="probability of dropping"),)
    primary = "p"

    def storage(self, inputs: list[Shape]) -> str:
        return VIEW if self.p == 0 else NEW  # PyTorch returns the input itself when nothing is dropped

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # On the CPU the mask is a tensor of the input's type, scaled by 1/(1-p) (1 byte per element on CUDA,
        # whose fused kernel keeps it as bool); p = 1 multiplies by a zero scalar.
        if self.p == 0:
            return []
        return [Saved("own", 0, 1, batched=False) if self.p == 1 else Saved("own", 0, self.mask_elements(output))]

    def mask_elements(self, output: Shape) -> Dim:
        return numel(output)


class _ChannelDropout(Dropout):
    """Dropout1d/2d/3d: each channel of a sample kept or dropped whole, by one mask value spread over its map."""
    spatial = 2

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], self.spatial + 1, f"channels and a {self.spatial}-D map")
        return inputs[0]

    def mask_elements(self, output: Shape) -> Dim:
        return output[0]  # one value per channel of each sample (N x C x 1 x 1), on the CPU as on CUDA


for _spatial in (1, 2, 3):
    register(type(f"Dropout{_spatial}d", (_ChannelDropout,), {
        "kind": f"dropout{_spatial}d", "torch_name": f"nn.Dropout{_spatial}d", "spatial": _spatial,
        "summary": f"zero random channels of a {_spatial}-D map (each whole) while training; nothing at inference"}))


@register
class Identity(_Elementwise):
    kind = "identity"
    torch_name = "nn.Identity"
    summary = "passes its input through"
    flops_formula = "0"

    def storage(self, inputs: list[Shape]) -> str:
        return VIEW

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []


@register
class StochasticDepth(_Elementwise):
    kind = "stochastic_depth"
    torch_name = "torchvision.ops.StochasticDepth"
    summary = "drop a residual branch at random while training (per sample, or for the batch); nothing at inference"
    flops_formula = "0 (inference)"
    fields = (SpecField("p", Real(minimum=0, maximum=1), doc="probability of dropping the branch"),
              SpecField("mode", Choice(("row", "batch")), "row", doc="row: per sample; batch: the whole batch"))
    primary = "p"

    def storage(self, inputs: list[Shape]) -> str:
        return VIEW if self.p == 0 else NEW

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # x · noise keeps the noise: one value per sample (row) or one for the batch
        if self.p == 0:
            return []
        return [Saved("own", 0, 1, batched=self.mode == "row")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.StochasticDepth", (self.p, self.mode))
