"""How long a model's layers take on a device, by the roofline model. Prints nothing.

Each layer runs on its own (no fusion): it reads its inputs and its weights from memory and writes its output,
and it can go no faster than the device's peak throughput at the precision allows, nor move its bytes faster
than the memory bandwidth allows. Its time is max(FLOPs / peak, bytes / bandwidth): compute-bound when the
first is larger, memory-bound otherwise. A layer whose output is a view of its input (a flatten, a reshape of
a contiguous tensor, a permute) moves nothing and takes no time. The result is a lower bound from a model of
the device, not a measurement: real kernels reach a fraction of the peak, and fused ones move fewer bytes.
"""

from __future__ import annotations

from collections import namedtuple
from fractions import Fraction
from typing import Any

from ..errors import SpecError
from ..spec.devices import Device
from .analysis import analyze, port_shape, require_concrete
from .cache import Cache
from .dims import numel
from .graph import Graph, expand
from .layers.base import NEW
from .records import Analysis
from .specs import as_spec
from .training import Training, training_of

PRECISION_OF_DTYPE = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8", "uint8": "int8"}
BYTES_OF_PRECISION = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "int8": 1}  # tf32 computes on float32 tensors


class LayerTime(namedtuple("LayerTime", "name kind flops bytes seconds bound")):
    """One layer on the device, batch included: FLOPs, bytes moved, the estimated seconds and what bounds them
    ('compute', 'memory', or '' for a layer that moves nothing)."""

    __slots__ = ()

    @property
    def intensity(self) -> Fraction | None:
        """FLOPs per byte moved; None for a layer that moves nothing."""
        return Fraction(self.flops, self.bytes) if self.bytes else None


class Roofline:
    """A model on a device: its layers' times and their sum (the layers run one after another)."""

    def __init__(self, name: str, device: Device, precision: str, batch: int, layers: tuple[LayerTime, ...],
                 training: bool = False) -> None:
        self.name, self.device, self.precision, self.batch, self.layers = name, device, precision, batch, layers
        self.training = training  # the layers' figures are a training step's: forward and backward
        self.peak = device.peaks[precision]

    @property
    def ridge(self) -> Fraction:
        """The arithmetic intensity (FLOPs per byte) where the bound changes from memory to compute."""
        return Fraction(self.peak, self.device.bandwidth)

    @property
    def flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def bytes(self) -> int:
        return sum(layer.bytes for layer in self.layers)

    @property
    def seconds(self) -> float:
        return sum(layer.seconds for layer in self.layers)

    def share(self, bound: str) -> float:
        """The fraction of the time spent in layers with this bound."""
        total = self.seconds
        return sum(layer.seconds for layer in self.layers if layer.bound == bound) / total if total else 0.0


def precision_for(result: Analysis, device: Device, precision: str | None) -> str:
    """The precision asked for, or the one the model's dtype computes at; refused when the device has no peak."""
    chosen = precision or PRECISION_OF_DTYPE.get(result.dtype)
    if chosen is None:
        raise SpecError(f"no device states a peak for {result.dtype}", hint="pass --precision: fp32, tf32, fp16, "
                                                                             "bf16 or int8")
    if chosen not in device.peaks:
        raise SpecError(f"{device.title} has no {chosen} peak in {device.file}",
                        hint="its precisions: " + ", ".join(device.peaks))
    return chosen


def roofline(source: Any, device: Device, *, precision: str | None = None, input: Any = None,
             batch: int | None = None, dtype: str | None = None, train: bool = False, optimizer: str = "adam",
             cache: Cache | None = None) -> Roofline:
    """The model (a spec path, YAML text, a mapping or a Spec) on `device`: inference, or with `train` a training
    step."""
    spec = as_spec(source)
    cache = cache or Cache()
    result = require_concrete(analyze(spec, input=input, batch=batch, dtype=dtype, cache=cache), "a roofline", spec)
    graph = expand(spec, result.input_shape, result.batch, result.dtype, cache)
    return roofline_of(result, graph, device, precision, training_of(result, graph, optimizer) if train else None)


def roofline_of(result: Analysis, graph: Graph, device: Device, precision: str | None = None,
                training: Training | None = None) -> Roofline:
    """With `training`, each layer's time is its forward pass's and its backward pass's. The backward pass reads
    the output's gradient and what the forward pass read (inputs, weights), and writes a gradient for each of
    those: it moves the forward pass's bytes and the inputs' and weights' once more."""
    precision = precision_for(result, device, precision)
    size = BYTES_OF_PRECISION[precision]
    peak, bandwidth = device.peaks[precision], device.bandwidth
    if training is not None and training.backward_flops is None:
        raise SpecError("the backward pass of " + ", ".join(training.not_modelled) + " is not modelled",
                        hint="a training step's time needs every layer's backward FLOPs")
    layers = []
    for node in graph.nodes:
        record = result.records[node.index]
        runs = not record.train_only or training is not None
        if node.layer is None or not runs or record.shape is None:  # groups; layers training alone runs
            continue
        inputs = [port_shape(result, graph, port) for port in node.inputs]
        read = sum(numel(shape) for index, shape in enumerate(inputs) if index not in node.layer.size_inputs)
        weights = record.params + record.buffers
        moves = node.layer.storage(inputs) == NEW
        parts = [(record.flops, size * ((read + numel(record.shape)) * result.batch + weights) if moves else 0)]
        if training is not None:
            figures = training.layers[record.name]
            parts = [(figures.forward_flops, parts[0][1])]
            if figures.backward_flops or record.trainable:
                parts.append((figures.backward_flops, parts[0][1] + size * (read * result.batch + weights)
                              if moves else 0))
        times = [(flops / peak, moved / bandwidth) for flops, moved in parts]
        flops, moved = sum(flops for flops, _ in parts), sum(moved for _, moved in parts)
        compute, memory = sum(c for c, _ in times), sum(m for _, m in times)
        bound = "" if not moved and not flops else "compute" if compute >= memory else "memory"
        layers.append(LayerTime(record.name, record.kind, flops, moved, sum(max(c, m) for c, m in times), bound))
    return Roofline(result.name, device, precision, result.batch, tuple(layers), training is not None)
