"""An imported model as a list of layers (ops), whatever it was read from (a PyTorch module traced by
paramcalc.torch.trace, an ONNX graph read by paramcalc.importing.onnx_graph): what writer.py turns into a spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# the class a kind stands for where torch.nn has none (a layer of the kind run by it is standard, not `module`)
KIND_CLASSES = {"layernorm2d": "LayerNorm2d", "window_attention": "ShiftedWindowAttention",
                "stochastic_depth": "StochasticDepth", "permute": "Permute"}


@dataclass
class Op:
    """One layer of the imported model: where it sits, what it is, what it reads."""

    scope: tuple[str, ...]  # the module paths it sits in, outermost first: ('layer1', 'layer1.0')
    name: str  # its own name in its scope: conv1, add
    kind: str
    settings: dict[str, Any]
    inputs: list[int]  # indices of the ops it reads; -1 is the model's input
    train_only: bool = False
    functional: bool = False  # called as a function, not a module, where counters see the difference (peers.py)
    module: str = ""  # the class that runs it when a subclass of its kind's standard one (Conv3DSimple): peers.py
    comment: str = ""  # said after the layer in the spec: what to fill in


@dataclass
class Traced:
    ops: list[Op]
    input_shape: tuple
    output: int  # the op whose output is the model's output at inference
    unsupported: list[str] = field(default_factory=list)  # 'file.py:12: torch.fft.fft (...)'
    model_class: str = ""


def growing_concats(ops: list[Op]) -> None:
    """DenseNet's layers each concatenate every map before them: cat([x0, x1]), cat([x0, x1, x2]), ... Such a
    growing concat reads the one before it and the new map instead (the same channels, in the same order), and
    as it comes right after the layer that made the new map, it ends that layer: then each layer reads the
    growing features and ends by adding its own, and the layers are alike (one block)."""
    concats = {tuple(op.inputs): index for index, op in enumerate(ops) if op.kind == "concat"}
    growing = {inputs for inputs in concats if inputs[:-1] in concats or any(
        len(other) == len(inputs) + 1 and other[:-1] == inputs for other in concats)}
    for inputs in sorted(growing, key=len):
        index = concats[inputs]
        op, newest = ops[index], inputs[-1]
        if inputs[:-1] in concats:
            op.inputs = [concats[inputs[:-1]], newest]
        if newest == index - 1 and newest >= 0:
            op.scope = ops[newest].scope
