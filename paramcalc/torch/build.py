"""Spec -> torch.nn.Module whose submodules carry the spec's names (`layer3.4.conv2`)."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from ..engine.analysis import analyze, port_shape, require_concrete
from ..engine.cache import Cache
from ..engine.graph import INPUT_PORT, Graph, expand
from ..engine.layers.base import TorchCall
from ..engine.records import Analysis
from ..engine.specs import as_spec
from ..errors import SpecError
from ..spec.format import Spec
from . import modules


class Group(nn.Module):
    """A block instance, a repeat or an inline group: a namespace for its layers (SpecModel runs them)."""


def make_module(call: TorchCall) -> nn.Module:
    if call.module.startswith("paramcalc."):
        factory = getattr(modules, call.module.removeprefix("paramcalc."))
    else:
        factory = getattr(nn, call.module)
    return factory(*call.args, **call.kwargs)


def prepare(source: str | os.PathLike | dict | Spec, input_shape: tuple | None = None,
            batch: int | None = None) -> tuple[Graph, Analysis]:
    spec = as_spec(source)
    graph = expand(spec, input_shape, batch, cache=Cache())
    return graph, require_concrete(analyze(graph), "building the PyTorch model", None if input_shape else spec)


def input_dtype(graph: Graph) -> torch.dtype:
    """Token ids (int64) for a model whose input goes to an embedding; float32 otherwise."""
    reads_ids = any(INPUT_PORT in node.inputs and getattr(node.layer, "kind", None) == "embedding"
                    for node in graph.nodes)
    return torch.int64 if reads_ids else torch.float32


def torch_call(graph: Graph, analysis: Analysis, node: Any) -> TorchCall:
    """The PyTorch module for a layer, or a SpecError naming the layer when it has none (a `custom` layer)."""
    try:
        return node.layer.torch_call([port_shape(analysis, graph, port) for port in node.inputs])
    except NotImplementedError as err:
        raise SpecError(str(err), file=graph.spec.file, pos=node.pos, layer=node.name,
                        hint="verify --against MODEL compares such a spec with the real model") from None


class SpecModel(nn.Module):
    """The spec as a module: submodules named as in the spec; forward runs the layers in spec order."""

    def __init__(self, graph: Graph, analysis: Analysis) -> None:
        super().__init__()
        self.spec_name = graph.spec.name
        self.input_shape = tuple(graph.input_shape)
        self.batch = graph.batch
        self.input_dtype = input_dtype(graph)
        containers: dict[int, nn.Module] = {}
        self._steps: list[tuple[str, tuple[int, ...], int, bool]] = []  # (path, input ports, node, train only)
        for node in graph.nodes:
            parent = self if node.parent is None else containers[node.parent]
            if node.is_group:
                module: nn.Module = Group()
                containers[node.index] = module
            else:
                assert node.layer is not None
                module = make_module(torch_call(graph, analysis, node))
                self._steps.append((node.name, node.inputs, node.index, node.train_only))
            if node.frozen:
                module.requires_grad_(False)
            parent.add_module(node.path[-1], module)
        self._output = graph.output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[int, Any] = {INPUT_PORT: x}
        for path, ports, index, train_only in self._steps:
            if train_only and not self.training:  # an auxiliary head, as torchvision runs it
                continue
            values[index] = self.get_submodule(path)(*(values[port] for port in ports))
        return values[self._output]

    def example_input(self) -> torch.Tensor:
        """Zeros of the spec's input size, with the batch (token ids when the model starts with an embedding)."""
        return torch.zeros(self.batch, *self.input_shape, dtype=self.input_dtype)


def build(source: str | os.PathLike | dict | Spec, *, input_shape: tuple | None = None,
          batch: int | None = None) -> SpecModel:
    """A torch.nn.Module for a spec given as a path, YAML text, a mapping or a loaded Spec.

    Every layer is the PyTorch module with the same hyper-parameters; blocks, repeats and groups are
    submodules with the spec's names, so `model.get_submodule("layer3.4.conv2")` finds that layer.
    Frozen layers have requires_grad off; layers marked train_only run only in training mode.
    """
    graph, analysis = prepare(source, input_shape, batch)
    return SpecModel(graph, analysis)
