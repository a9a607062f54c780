"""Activations and inference-time no-ops: one value in, one value out.

FLOPs per element count each elementary operation once (add, multiply, divide,
compare, and a library function such as exp, erf or tanh).
"""

from __future__ import annotations

from ..dims import Dim, Shape, numel
from .base import LayerKind, TorchCall, register
from .fields import Axis, Choice, Real, SpecField


class _Elementwise(LayerKind):
    per_element = 0

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
                fields: tuple[SpecField, ...] = (), aliases: tuple[str, ...] = ()) -> type[LayerKind]:
    cls = type(kind.title().replace("_", ""), (_Elementwise,), {
        "kind": kind, "torch_name": torch_name, "per_element": per_element, "aliases": aliases,
        "flops_formula": f"{per_element} per element ({formula})", "summary": summary, "fields": fields,
        "primary": fields[0].name if fields else None,
    })
    return register(cls)


_activation("relu", "nn.ReLU", 1, "max(x, 0)", "max(x, 0)")
_activation("relu6", "nn.ReLU6", 2, "max, min", "min(max(x, 0), 6) (MobileNet)")
_activation("leaky_relu", "nn.LeakyReLU", 2, "compare, multiply", "x if x > 0 else slope·x",
            (SpecField("negative_slope", Real(), 0.01),), aliases=("leakyrelu",))
_activation("sigmoid", "nn.Sigmoid", 4, "negate, exp, add, divide", "1 / (1 + exp(−x))")
_activation("tanh", "nn.Tanh", 1, "tanh", "tanh(x)")
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
    aliases = ("dropout2d",)
    torch_name = "nn.Dropout"
    summary = "zero random values while training; nothing at inference"
    flops_formula = "0 (inference)"
    fields = (SpecField("p", Real(minimum=0, maximum=1), 0.5, doc="probability of dropping"),)
    primary = "p"


@register
class Identity(_Elementwise):
    kind = "identity"
    torch_name = "nn.Identity"
    summary = "passes its input through"
    flops_formula = "0"


@register
class StochasticDepth(_Elementwise):
    kind = "stochastic_depth"
    torch_name = "torchvision.ops.StochasticDepth"
    summary = "drop a residual branch at random while training (per sample, or for the batch); nothing at inference"
    flops_formula = "0 (inference)"
    fields = (SpecField("p", Real(minimum=0, maximum=1), doc="probability of dropping the branch"),
              SpecField("mode", Choice(("row", "batch")), "row", doc="row: per sample; batch: the whole batch"))
    primary = "p"

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.StochasticDepth", (self.p, self.mode))
