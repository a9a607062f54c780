"""What one training step costs: weights, gradients, optimizer state and the tensors autograd saves for backward
(memory), and the forward and backward passes (FLOPs). Prints nothing.

Each layer kind says what PyTorch saves for its backward (LayerKind.saved) and what its backward costs
(LayerKind.backward); this module walks the graph in spec order, follows which tensors need a gradient and which
storage each tensor lives in, and counts every storage once, as autograd holds it once however many layers save
it (a ReLU's output that the next convolution saves too, the input a flatten only views).
"""

from __future__ import annotations

import copy
from collections import namedtuple
from typing import Any

from ..errors import SpecError
from .analysis import analyze, port_shape
from .cache import Cache
from .dims import Dim, numel
from .graph import INPUT_PORT, Graph, expand
from .layers.base import NEW, RESHAPE, STRIDED, VIEW, Saved
from .records import Analysis
from .specs import as_spec

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # state tensors kept per trainable parameter
AMP_TYPES = {"fp16": "float16", "float16": "float16", "bf16": "bfloat16", "bfloat16": "bfloat16"}
HALF_BYTES = 2
_FIXED_BYTES = {"float32": 4, "int64": 8}


class TrainingLayer(namedtuple("TrainingLayer", "saved_bytes forward_flops backward_flops backward_macs")):
    """One layer's (or group's) share of a training step, batch included. saved_bytes counts the storages this
    layer is the first to save for backward (None when paramcalc does not know what the layer saves);
    backward_macs are the multiply-accumulates of the backward pass's matrix products."""

    __slots__ = ()


class Training:
    """A training step's figures: memory in bytes, work in FLOPs, each exact (a formula for a symbolic input).

    saved_bytes counts every distinct storage autograd saves, the parameters and buffers it saves included (as
    PyTorch measures it); saved_activation_bytes leaves those out, since the weights already count them, and
    peak_bytes = weight_bytes + gradient_bytes + optimizer_bytes + saved_activation_bytes. not_modelled names
    the layers whose saved tensors or backward paramcalc does not know; the figures they make unknown are None.
    """

    def __init__(self, optimizer: str, amp: str | None, layers: dict[str, TrainingLayer], weight_bytes: Dim,
                 gradient_bytes: Dim, optimizer_bytes: Dim, saved_bytes: Dim | None,
                 saved_activation_bytes: Dim | None, forward_flops: Dim, backward_flops: Dim | None,
                 backward_macs: Dim | None, not_modelled: tuple[str, ...]) -> None:
        self.optimizer, self.amp, self.layers = optimizer, amp, layers
        self.weight_bytes, self.gradient_bytes, self.optimizer_bytes = weight_bytes, gradient_bytes, optimizer_bytes
        self.saved_bytes, self.saved_activation_bytes = saved_bytes, saved_activation_bytes
        self.forward_flops, self.backward_flops, self.backward_macs = forward_flops, backward_flops, backward_macs
        self.not_modelled = not_modelled

    @property
    def peak_bytes(self) -> Dim | None:
        if self.saved_activation_bytes is None:
            return None
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes + self.saved_activation_bytes

    @property
    def train_flops(self) -> Dim | None:
        return None if self.backward_flops is None else self.forward_flops + self.backward_flops


def analyze_training(source: Any, *, input: Any = None, batch: int | None = None, dtype: str | None = None,
                     optimizer: str = "adam", amp: str | None = None, cache: Cache | None = None) -> Analysis:
    """analyze() with the training figures: the result's `training` holds them (a Training).

    `optimizer` is sgd, momentum, adam or adamw; `amp` fp16 or bf16 (mixed precision) or None."""
    if isinstance(source, Graph):
        raise SpecError("analyze_training takes a spec (a path, YAML text, a mapping or a Spec), not a Graph")
    spec = as_spec(source)
    cache = cache or Cache()
    result = analyze(spec, input=input, batch=batch, dtype=dtype, cache=cache)
    graph = expand(spec, result.input_shape, result.batch, result.dtype, cache)
    return with_training(result, training_of(result, graph, optimizer, amp))


def with_training(result: Analysis, training: Training) -> Analysis:
    """The same result with its training figures (results are never changed in place)."""
    copied = copy.copy(result)
    copied.training = training
    return copied


def training_of(result: Analysis, graph: Graph, optimizer: str = "adam", amp: str | None = None) -> Training:
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{optimizer}'", hint="optimizers: " + ", ".join(OPTIMIZERS))
    if amp is not None and amp not in AMP_TYPES:
        raise SpecError(f"unknown mixed-precision type '{amp}'", hint="--amp fp16 or --amp bf16")
    walk = _Walk(result, graph, HALF_BYTES if amp else result.dtype_bytes, amp is not None)
    walk.run()
    layers = walk.layer_figures()
    totals = result.totals
    size = result.dtype_bytes  # weights, gradients and optimizer state: the master weights' type under --amp
    unknown_saved = any(figures.saved_bytes is None for figures in layers.values())
    return Training(
        optimizer=optimizer, amp=AMP_TYPES[amp] if amp else None, layers=layers,
        weight_bytes=(totals.params + totals.buffers) * size, gradient_bytes=totals.trainable * size,
        optimizer_bytes=OPTIMIZERS[optimizer] * totals.trainable * size,
        saved_bytes=None if unknown_saved else walk.total(("activation", "parameter")),
        saved_activation_bytes=None if unknown_saved else walk.total(("activation",)),
        forward_flops=walk.forward, backward_flops=None if walk.no_backward else walk.backward_flops,
        backward_macs=None if walk.no_backward else walk.backward_macs, not_modelled=tuple(walk.not_modelled))


class _Walk:
    """One pass over the graph: which ports need a gradient, which storage each port lives in, and the
    distinct storages saved (key -> (bytes, 'activation' or 'parameter'))."""

    def __init__(self, result: Analysis, graph: Graph, activation_bytes: int, amp: bool) -> None:
        self.result, self.graph, self.amp = result, graph, amp
        self.activation_bytes, self.param_bytes = activation_bytes, result.dtype_bytes
        self.batch = result.batch
        self.needs_grad: dict[int, bool] = {INPUT_PORT: False}
        self.root: dict[int, int] = {INPUT_PORT: INPUT_PORT}  # port -> the port whose storage it lives in
        self.contiguous: dict[int, bool] = {INPUT_PORT: True}
        self.storages: dict[tuple, tuple[Dim, str]] = {}
        self.per_node: dict[int, list] = {}  # node index -> [saved bytes or None, forward, backward, macs]
        self.forward: Dim = 0
        self.backward_flops: Dim = 0
        self.backward_macs: Dim = 0
        self.no_backward = False
        self.not_modelled: list[str] = []

    def run(self) -> None:
        for node in self.graph.nodes:
            if node.layer is not None:
                self.layer(node)

    def layer(self, node: Any) -> None:
        record = self.result.records[node.index]
        if record.shape is None:  # a train-only layer that cannot run at this size (nor can what reads it)
            self.per_node[node.index] = [0, 0, 0, 0]
            return
        layer, ports = node.layer, node.inputs
        inputs = [port_shape(self.result, self.graph, port) for port in ports]
        output = record.shape
        needs = tuple(self.needs_grad[port] and index not in layer.size_inputs for index, port in enumerate(ports))
        trainable = record.trainable != 0
        active = trainable or any(needs)  # autograd records the layer only then
        self.needs_grad[node.index] = active
        self.place(node.index, ports[0], layer.storage(inputs))
        batch = self.batch
        forward = layer.flops(inputs, output) * batch
        saved: Dim | None = 0
        backward: Dim = 0
        macs: Dim = 0
        if active:
            kept = layer.saved(inputs, output, needs, trainable)
            saved = None if kept is None else sum((self.keep(node.index, ports, item, position)
                                                   for position, item in enumerate(kept)), 0)
            parts = layer.backward(inputs, output)
            if parts is None:
                self.no_backward = True
            else:
                grad_input, grad_weight = any(needs), trainable
                backward = (parts.input_flops * grad_input + parts.weight_flops * grad_weight
                            + parts.shared_flops) * batch
                macs = (parts.input_macs * grad_input + parts.weight_macs * grad_weight + parts.shared_macs) * batch
            if kept is None or parts is None:
                self.not_modelled.append(f"{node.name} ({node.kind})")
        self.forward += forward
        self.backward_flops += backward
        self.backward_macs += macs
        self.per_node[node.index] = [saved, forward, backward, macs]

    def place(self, port: int, source: int, storage: str) -> None:
        """Where the layer's output lives: its own storage, or its first input's (a view)."""
        if storage == NEW or (storage == RESHAPE and not self.contiguous[source]):
            self.root[port], self.contiguous[port] = port, True
        elif storage in (VIEW, RESHAPE, STRIDED):
            self.root[port] = self.root[source]
            self.contiguous[port] = self.contiguous[source] and storage != STRIDED
        else:
            raise ValueError(f"unknown storage {storage!r}")

    def keep(self, index: int, ports: tuple[int, ...], item: Saved, position: int) -> Dim:
        """Record one saved tensor; its bytes when its storage is new to the count, else 0."""
        if item.source in ("input", "output"):
            root = self.root[ports[item.index] if item.source == "input" else index]
            key: tuple = ("storage", root)
            size = numel(port_shape(self.result, self.graph, root)) * self.batch * self.activation_bytes
            category = "activation"
        elif item.source == "own":
            key = ("own", index, position)
            size = item.elements * (self.batch if item.batched else 1) * self.bytes_of(item.dtype)
            category = "activation"
        elif item.source == "param" and self.amp and item.dtype == "activation":
            key = ("half copy", index, item.index)  # autocast's cast of the weight, kept for backward
            size, category = item.elements * HALF_BYTES, "activation"
        else:
            key = (item.source, index, item.index)
            size = item.elements * (_FIXED_BYTES["int64"] if item.dtype == "int64" else self.param_bytes)
            category = "parameter"  # an int64 buffer (Swin's relative position index) at its own 8 bytes
        if key in self.storages:
            return 0
        self.storages[key] = (size, category)
        return size

    def bytes_of(self, dtype: str) -> int:
        if dtype == "cast":  # autocast's half copy of a tensor in the parameters' type: only under --amp
            return HALF_BYTES if self.amp else 0
        if dtype == "float32":  # PyTorch's accumulation type: float32, or float64 in a float64 model
            return max(_FIXED_BYTES["float32"], self.param_bytes)
        return self.activation_bytes if dtype == "activation" else \
            self.param_bytes if dtype == "param" else _FIXED_BYTES[dtype]

    def total(self, categories: tuple[str, ...]) -> Dim:
        return sum((size for size, category in self.storages.values() if category in categories), 0)

    def layer_figures(self) -> dict[str, TrainingLayer]:
        """Every layer's figures, and each group's sums (a group comes before its layers: walk backwards)."""
        nodes = self.graph.nodes
        sums: dict[int, list] = {node.index: [0, 0, 0, 0] for node in nodes if node.layer is None}
        figures: dict[str, TrainingLayer] = {}
        for node in reversed(nodes):
            values = self.per_node[node.index] if node.layer is not None else sums[node.index]
            figures[node.name] = TrainingLayer(*values)
            if node.parent is not None:
                total = sums[node.parent]
                for position, value in enumerate(values):
                    total[position] = None if value is None or total[position] is None else total[position] + value
        return figures
