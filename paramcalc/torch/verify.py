"""Cross-check paramcalc against PyTorch: build the module, run zeros through it, compare every figure."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..engine.graph import Graph
from ..engine.records import Analysis
from ..engine.specs import SpecPath
from ..spec.format import Spec
from .build import SpecModel, input_dtype, prepare


@dataclass(frozen=True)
class Mismatch:
    layer: str  # '' for a model total
    figure: str
    paramcalc: Any
    torch: Any


@dataclass
class Verification:
    file: str
    name: str
    layers: int = 0
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # figure -> (paramcalc, torch)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def buffer_count(model: nn.Module) -> int:
    """Running statistics; PyTorch's num_batches_tracked counters are bookkeeping, as paramcalc counts."""
    return sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))


def _recorder(shapes: dict[str, tuple], name: str) -> Any:
    def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:  # None keeps the output
        shapes.setdefault(name, tuple(output.shape))
    return hook


def verify(source: str | os.PathLike | dict | Spec, *, model: nn.Module | None = None) -> Verification:
    """Compare a spec's figures with PyTorch's, for the module `build` makes or for `model` (an export).

    A path ending in .py is a file written by `paramcalc export`, checked against the spec inside it.
    """
    if model is None and str(source).endswith(".py") and (isinstance(source, SpecPath) or "\n" not in str(source)):
        return verify_export(source)  # type: ignore[arg-type]
    graph, analysis = prepare(source)
    return compare_with_torch(graph, analysis, model if model is not None else SpecModel(graph, analysis))


def recurrent_counters(model: nn.Module, counter: FlopCounterMode, total: list[int]) -> list:
    """Hooks adding an nn.LSTM/GRU/RNN's multiply-accumulates when its kernel is fused and FlopCounterMode sees
    none of them (PyTorch's CPU LSTM): each weight matrix is used once per step and sample, read from the
    module's own tensors."""
    seen: list[int] = [0]

    def before(module: nn.Module, inputs: tuple) -> None:
        seen[0] = counter.get_total_flops()

    def after(module: nn.Module, inputs: tuple, output: Any) -> None:
        if counter.get_total_flops() != seen[0]:
            return
        sequence = inputs[0]
        steps, batch = (sequence.shape[1], sequence.shape[0]) if module.batch_first else sequence.shape[:2]
        weights = sum(weight.numel() for name, weight in module.named_parameters() if name.startswith("weight"))
        total[0] += steps * batch * weights

    recurrent = [module for module in model.modules() if isinstance(module, nn.RNNBase)]
    return [module.register_forward_pre_hook(before) for module in recurrent] + \
        [module.register_forward_hook(after) for module in recurrent]


def compare_with_torch(graph: Graph, analysis: Analysis, model: nn.Module) -> Verification:
    result = Verification(file=graph.spec.file, name=graph.spec.name)
    was_training = model.training
    model.eval()  # as it runs at inference (layers that run only in training do not); put back as it was below
    shapes: dict[str, tuple] = {}
    hooks = []
    recurrent = [0]  # MACs of recurrent layers, whose fused kernels FlopCounterMode does not see
    leaves = [r for r in analysis.records if not r.is_group]
    for record in leaves:
        try:
            module = model.get_submodule(record.name)
        except AttributeError:
            result.mismatches.append(Mismatch(record.name, "module", "present", "missing"))
            continue
        hooks.append(module.register_forward_hook(_recorder(shapes, record.name)))
    example = torch.zeros(graph.batch, *graph.input_shape, dtype=input_dtype(graph))
    counter = FlopCounterMode(display=False)
    hooks += recurrent_counters(model, counter, recurrent)
    try:
        with torch.no_grad(), counter:
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    for record in leaves:
        if record.name not in shapes:
            continue
        result.layers += 1
        expected = (graph.batch, *record.shape)
        if shapes[record.name] != expected:
            result.mismatches.append(Mismatch(record.name, "shape", expected, shapes[record.name]))
        own = sum(p.numel() for p in model.get_submodule(record.name).parameters())
        if own != record.params:
            result.mismatches.append(Mismatch(record.name, "params", record.params, own))
    totals = analysis.totals
    result.totals = {
        "params": (totals.params, sum(p.numel() for p in model.parameters())),
        "trainable": (totals.trainable, sum(p.numel() for p in model.parameters() if p.requires_grad)),
        "buffers": (totals.buffers, buffer_count(model)),
        "macs": (totals.macs, counter.get_total_flops() // 2 + recurrent[0]),  # 2 FLOPs per MAC
    }
    result.mismatches.extend(Mismatch("", figure, ours, theirs)
                             for figure, (ours, theirs) in result.totals.items() if ours != theirs)
    return result


def verify_export(path: str | Path) -> Verification:
    """Check a file written by `paramcalc export` against the spec embedded in it."""
    import importlib.util

    from ..errors import SpecError

    location = Path(path)
    if not location.is_file():  # a FIFO would block the import, a directory or a missing file fail in it
        raise SpecError("no such file" if not location.exists() else "this is not a regular file", file=str(path),
                        hint="give the path of a file written by 'paramcalc export'")
    loader_spec = importlib.util.spec_from_file_location(f"paramcalc_export_{location.stem}", location)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError("cannot load this file as Python", file=str(path))
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:  # the file is the user's: any failure in it is bad input
        raise SpecError(f"cannot run this file: {type(err).__name__}: {err}", file=str(path)) from None
    text, model_class = getattr(module, "SPEC", None), getattr(module, "MODEL", None)
    if not isinstance(text, str) or model_class is None:
        raise SpecError("this file has no SPEC text and MODEL class", file=str(path),
                        hint="verify checks files written by 'paramcalc export'")
    result = verify(text if "\n" in text else text + "\n", model=model_class())
    result.file = str(path)
    return result
