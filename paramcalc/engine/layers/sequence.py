"""Sequences: token embeddings and recurrent layers, whose cost follows the sequence length.

A sample is T x F (time steps x features); as in PyTorch with batch_first=True. The sequence length
may be a name (`--input Tx128`): the MACs are then a formula in T.
"""

from __future__ import annotations

from typing import ClassVar

from ..dims import Dim, Shape, format_shape
from .base import LayerError, LayerKind, TorchCall, register
from .fields import Bool, Choice, Int, Real, SpecField


@register
class Embedding(LayerKind):
    kind = "embedding"
    torch_name = "nn.Embedding"
    summary = "look up a learned vector for each token id: L ids -> L x dim"
    fields = (SpecField("num", Int(), doc="vocabulary size (num_embeddings)"),
              SpecField("dim", Int(), doc="features per token (embedding_dim)"))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 1:
            raise LayerError(f"embedding needs a sequence of token ids (one dimension), got {format_shape(inputs[0])}",
                             hint="give the input as the sequence length alone, e.g. input: [128]")
        return (inputs[0][0], self.dim)

    def params(self, inputs: list[Shape]) -> Dim:
        return self.num * self.dim

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        return [("params", f"{self.num}·{self.dim} = {self.params(inputs):,} (a row per token id; a lookup, "
                           f"no arithmetic)")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("Embedding", (self.num, self.dim))


class _Recurrent(LayerKind):
    follows_positions = False  # each step reads the steps before it: no window
    gates: ClassVar[int] = 1
    per_unit: ClassVar[int] = 0  # element-wise FLOPs per hidden unit and step, besides the matrix products
    fields: ClassVar[tuple[SpecField, ...]] = (
        SpecField("hidden", Int(), doc="hidden size"),
        SpecField("layers", Int(), 1, doc="stacked layers (num_layers)"),
        SpecField("bidirectional", Bool(), False),
        SpecField("bias", Bool(), True, doc="the input and hidden biases"),
        SpecField("dropout", Real(minimum=0, maximum=1), 0.0, doc="between layers, in training"),
        SpecField("batch_first", Bool(), True, doc="the PyTorch module's layout; the counts do not depend on it"),
    )
    primary: ClassVar[str | None] = "hidden"
    proj_size: int = 0

    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def state(self) -> int:
        """The size of the state fed back each step (and output per direction)."""
        return self.proj_size or self.hidden

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 2:
            raise LayerError(f"{self.kind} needs a sequence (steps x features), got {format_shape(inputs[0])}",
                             hint="an image must become a sequence first, e.g. flatten and transpose it")
        if self.proj_size and self.proj_size >= self.hidden:
            raise LayerError(f"proj_size {self.proj_size} must be smaller than hidden {self.hidden}",
                             field="proj_size")
        return (inputs[0][0], self.directions() * self.state())

    def layer_inputs(self, inputs: list[Shape]) -> tuple[Dim, Dim]:
        """The input features of the first layer and of each later one (the previous layer's output)."""
        return inputs[0][1], self.directions() * self.state()

    def weights_per_step(self, features: Dim) -> Dim:
        """One direction of one layer: its weights used once per step (the matrix products' MACs)."""
        hidden, gates = self.hidden, self.gates
        return gates * hidden * features + gates * hidden * self.state() + self.proj_size * hidden

    def all_weights(self, inputs: list[Shape]) -> Dim:
        """The weight matrices of every layer and direction (in closed form: `layers` may be large)."""
        first, later = self.layer_inputs(inputs)
        return self.directions() * (self.weights_per_step(first) + (self.layers - 1) * self.weights_per_step(later))

    def params(self, inputs: list[Shape]) -> Dim:
        biases = 2 * self.gates * self.hidden if self.bias else 0
        return self.all_weights(inputs) + self.directions() * self.layers * biases

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return inputs[0][0] * self.all_weights(inputs)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        steps = inputs[0][0]
        units = self.per_unit + (2 * self.gates if self.bias else 0)
        return 2 * self.macs(inputs, output) + steps * self.directions() * self.layers * self.hidden * units

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        steps, gates, hidden, state = inputs[0][0], self.gates, self.hidden, self.state()
        lines = []
        first, later = self.layer_inputs(inputs)
        later_label = "layer 1" if self.layers == 2 else f"layers 1-{self.layers - 1}"
        for label, features in (("layer 0", first), (later_label, later))[:min(self.layers, 2)]:
            proj = f" + {self.proj_size}·{hidden}" if self.proj_size else ""
            bias = f" + 2·{gates}·{hidden}" if self.bias else ""
            count = f"{self.layers - 1}·" if label != "layer 0" and self.layers > 2 else ""
            lines.append((label, f"{count}{self.directions()}·({gates}·{hidden}·{features} + "
                                                     f"{gates}·{hidden}·{state}{proj}{bias}) params"))
        return lines + [
            ("params", f"{self.params(inputs):,}"),
            ("MACs", f"{steps} steps · {self.directions()} direction(s) · weights per step = "
                     f"{self.macs(inputs, output):,}"),
            ("FLOPs", f"2·MACs + {steps}·{self.directions()}·{self.layers}·{hidden}·{self.per_unit + 2 * gates} "
                      f"(gates, biases) = {self.flops(inputs, output):,}"),
        ]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        options = {"num_layers": self.layers, "bidirectional": self.bidirectional, "bias": self.bias,
                   "dropout": self.dropout, "batch_first": self.batch_first}
        if self.proj_size:
            options["proj_size"] = self.proj_size
        if self.kind == "rnn":
            options["nonlinearity"] = self.nonlinearity
        return TorchCall("paramcalc.Recurrent", (self.torch_name.removeprefix("nn."), inputs[0][1], self.hidden),
                         options)


@register
class LSTM(_Recurrent):
    kind = "lstm"
    torch_name = "nn.LSTM"
    summary = "long short-term memory: 4 gates per hidden unit, run over every step (both ways if bidirectional)"
    gates, per_unit = 4, 22
    flops_formula = ("2·MACs + steps·directions·layers·hidden·(22 + 8 with bias): 4 gate sums, 3 sigmoids (4 each), "
                     "2 tanh, 3 multiplies and an add for the cell and output; MACs = steps·directions·"
                     "(4·h·in + 4·h·h + proj·h) per layer")
    fields = _Recurrent.fields + (SpecField("proj_size", Int(minimum=0), 0, doc="project the output to this size"),)


@register
class GRU(_Recurrent):
    kind = "gru"
    torch_name = "nn.GRU"
    summary = "gated recurrent unit: 3 gates per hidden unit, run over every step"
    gates, per_unit = 3, 17
    flops_formula = ("2·MACs + steps·directions·layers·hidden·(17 + 6 with bias): 3 gate sums, 2 sigmoids (4 each), "
                     "the reset product, tanh and 4 for the update; MACs = steps·directions·(3·h·in + 3·h·h) per layer")


@register
class RNN(_Recurrent):
    kind = "rnn"
    torch_name = "nn.RNN"
    summary = "Elman recurrent layer: h = tanh(W·x + U·h + b), run over every step"
    gates, per_unit = 1, 2
    flops_formula = "2·MACs + steps·directions·layers·hidden·(2 + 2 with bias): the sum and the non-linearity"
    fields = _Recurrent.fields + (SpecField("nonlinearity", Choice(("tanh", "relu")), "tanh"),)
