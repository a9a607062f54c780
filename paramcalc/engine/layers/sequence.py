"""Sequences: token embeddings and recurrent layers, whose cost follows the sequence length.

A sample is T x F (time steps x features); as in PyTorch with batch_first=True. The sequence length
may be a name (`--input Tx128`): the MACs are then a formula in T.

Training: on the CPU PyTorch 2.13 runs GRU and RNN layers as autograd's cells, one step at a time, whose saved
tensors follow from the settings and shapes (measured in tests/test_training_torch.py); it runs an LSTM as
oneDNN's fused kernel (mkldnn_rnn_layer), which keeps a workspace whose size is oneDNN's internal layout (padded
rows, each part rounded up to 4 KiB pages, not proportional to the batch): what an LSTM saves is not modelled.
"""

from __future__ import annotations

from typing import ClassVar

from ..dims import Dim, Shape, format_shape, is_concrete
from .base import Backward, LayerError, LayerKind, Saved, TorchCall, register
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

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("own", elements=inputs[0][0], dtype="int64")]  # the token ids, for the table's gradient

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # the ids need no gradient; the table's gradient adds each output row into the row of its id
        return Backward(weight_flops=inputs[0][0] * self.dim)

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
    # under --amp the hidden state stays in the type of the zero initial state, the input's (a GRU's, whose
    # update subtracts the half-precision candidate from it): float32 when the input is (the model's, an
    # embedding's output); half precision after a convolution or linear layer, which this does not follow
    float_state: ClassVar[bool] = False

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
        return 2 * self.macs(inputs, output) + steps * self.directions() * self.layers * self.hidden * self.units()

    def units(self) -> int:
        """FLOPs per step, layer, direction and hidden unit besides the products: the gates, and the biases."""
        return self.per_unit + (2 * self.gates if self.bias else 0)

    # --- training --------------------------------------------------------------------------------------
    def step_tensors(self, steps: Dim, trainable: bool) -> list[Saved]:
        """What one layer and direction keeps at its steps, besides its weights and inputs (autograd's cells)."""
        raise NotImplementedError

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved] | None:
        # PyTorch's cells on the CPU (torch/_VF: at::gru, at::rnn_tanh): each layer and direction first projects
        # its whole input sequence (one linear layer: it keeps that input for its weight's gradient and the weight
        # for the input's), then runs its cell step by step, the hidden-to-hidden product keeping the previous
        # hidden state (the initial one is a zero tensor of layers·directions·hidden values, kept for the weight's
        # gradient) and, from the second step on (whose hidden state needs a gradient), the weight.
        steps, features = inputs[0]
        directions, state = self.directions(), self.state()
        # a layer's output, which each direction of the next layer keeps: one storage, or under --amp, where a
        # GRU's outputs stay in the parameters' type (float32), each direction's half copy of it
        passed = [Saved("own", elements=steps * directions * state)] + \
            [Saved("own", elements=steps * directions * state, dtype="cast")] * ((directions - 1) * self.float_state)
        kept: list[Saved] = [Saved("own", elements=self.layers * directions * state)] * trainable  # h0
        for layer in range(self.layers):
            if layer == 0:
                # the batch-first input is copied to time-major rows by each direction's projection
                kept += [Saved("own", elements=steps * features)] * (directions * trainable)
            elif self.dropout:
                # dropout between layers (the cells' plain dropout): its mask, and the dropped output
                mask = "param" if self.float_state else "activation"
                kept += [Saved("own", elements=steps * directions * state, dtype=mask), *passed * trainable]
            else:
                kept += passed * trainable  # the previous layer's output
            for direction in range(directions):
                number = 4 * (layer * directions + direction)  # weight_ih, weight_hh, bias_ih, bias_hh
                if layer > 0 or needs_grad[0]:
                    kept.append(Saved("param", number, self.gates * self.hidden * (features if layer == 0 else
                                                                                   directions * state)))
                if not is_concrete(steps) or steps > 1:
                    kept.append(Saved("param", number + 1, self.gates * self.hidden * state))
                kept += self.step_tensors(steps, trainable)
        return kept

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # as autograd's cells compute it: each layer and direction takes the gradient of its input sequence
        # (T·gates·h·in; the first layer's only when the model's input needs one) and of the hidden state at each
        # step but the first (T - 1 products with the hidden-to-hidden weight), and its weights' gradients, one
        # product per forward one; the element-wise gate arithmetic costs what it costs forward, and each bias's
        # gradient an add per gate and step
        steps, directions, gates, hidden = inputs[0][0], self.directions(), self.gates, self.hidden
        first, later = self.layer_inputs(inputs)
        recurrence = (steps - 1) * gates * hidden * self.state() + steps * self.proj_size * hidden
        input_macs = directions * steps * gates * hidden * first
        shared_macs = directions * (self.layers * recurrence + (self.layers - 1) * steps * gates * hidden * later)
        weight_macs = self.macs(inputs, output)
        biases = directions * self.layers * steps * 2 * gates * hidden if self.bias else 0
        cells = steps * directions * self.layers * hidden * self.per_unit
        return Backward(input_macs=input_macs, input_flops=2 * input_macs, weight_macs=weight_macs,
                        weight_flops=2 * weight_macs + biases, shared_macs=shared_macs,
                        shared_flops=2 * shared_macs + cells)

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
            ("FLOPs", f"2·MACs + {steps}·{self.directions()}·{self.layers}·{hidden}·{self.units()} "
                      f"(gates{', biases' if self.bias else ''}) = {self.flops(inputs, output):,}"),
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

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved] | None:
        return None  # oneDNN's fused kernel keeps a workspace of its own layout (see the module's docstring)


@register
class GRU(_Recurrent):
    kind = "gru"
    torch_name = "nn.GRU"
    summary = "gated recurrent unit: 3 gates per hidden unit, run over every step"
    gates, per_unit = 3, 17
    flops_formula = ("2·MACs + steps·directions·layers·hidden·(17 + 6 with bias): 3 gate sums, 2 sigmoids (4 each), "
                     "the reset product, tanh and 4 for the update; MACs = steps·directions·(3·h·in + 3·h·h) per layer")

    float_state = True

    def step_tensors(self, steps: Dim, trainable: bool) -> list[Saved]:
        # at each step: the hidden-side gate sums (3·h, in place: the two sigmoids' outputs, and the third's
        # input to the reset product), a copy of that input and of h - n, which products done in place keep, and
        # the candidate's tanh; and, for the next step's product, the new hidden state. The state has the type of
        # the zero initial state, made in the input's (float32 under --amp after an embedding or as the first
        # layer): then the copy of h - n is float32 and the next product keeps autocast's half copy of the state.
        hidden = self.hidden
        return [Saved("own", elements=steps * 3 * hidden), Saved("own", elements=2 * steps * hidden),
                Saved("own", elements=steps * hidden, dtype="param"),
                *[Saved("own", elements=(steps - 1) * hidden)] * trainable]


@register
class RNN(_Recurrent):
    kind = "rnn"
    torch_name = "nn.RNN"
    summary = "Elman recurrent layer: h = tanh(W·x + U·h + b), run over every step"
    gates, per_unit = 1, 2
    flops_formula = "2·MACs + steps·directions·layers·hidden·(2 + 2 with bias): the sum and the non-linearity"
    fields = _Recurrent.fields + (SpecField("nonlinearity", Choice(("tanh", "relu")), "tanh"),)

    def step_tensors(self, steps: Dim, trainable: bool) -> list[Saved]:
        # each step's hidden state, the non-linearity's output: kept by it and by the next step's product
        return [Saved("own", elements=steps * self.hidden)]
