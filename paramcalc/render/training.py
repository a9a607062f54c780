"""A training step's figures (paramcalc.engine.training) as a table, totals lines and report data."""

from __future__ import annotations

from typing import Any

from ..engine.records import Analysis, LayerRecord
from . import symbolic, units
from .grid import Column, Grid


def _bytes(value: Any, exact: bool) -> str:
    return "not known" if value is None else units.size_in_bytes(value, exact)


def _count(value: Any, exact: bool) -> str:
    return "not known" if value is None else units.count(value, exact)


def training_layer_grid(result: Analysis, records: list[LayerRecord], exact: bool = False) -> Grid:
    """Per layer: the bytes it is the first to save for backward, and its forward and backward FLOPs."""
    training = result.training
    grid = Grid([Column("Layer", max_width=40, min_width=12), Column("Kind", max_width=26, min_width=8),
                 Column("Saved", right=True), Column("Forward", right=True), Column("Backward", right=True)],
                title=f"{result.name}  ·  training step  ·  batch {result.batch}  ·  {_precision(result)}")
    for record in records:
        figures = training.layers[record.name]
        grid.add(("  " * record.depth + record.name.rsplit(".", 1)[-1], "bold" if record.is_group else ""),
                 (record.repeated or record.kind, "cyan" if record.is_group else ""),
                 _bytes(figures.saved_bytes, exact), units.count(figures.forward_flops, exact),
                 units.count(figures.backward_flops, exact))
    return grid


def _precision(result: Analysis) -> str:
    training = result.training
    if training.amp:
        return f"{training.amp} activations, {result.dtype} weights"
    return result.dtype


def training_totals_grid(result: Analysis, exact: bool = False) -> Grid:
    training = result.training
    figure = symbolic.formula if result.symbols else (lambda value: units.count_in_full(value, exact))
    grid = Grid([Column(""), Column("", min_width=24, wrap=True)], header=False)
    rows = [
        ("Weights", f"{_bytes(training.weight_bytes, exact)}   params + buffers, {result.dtype}"),
        ("Gradients", f"{_bytes(training.gradient_bytes, exact)}   one per trainable parameter"),
        ("Optimizer state", f"{_bytes(training.optimizer_bytes, exact)}   {training.optimizer}"),
        ("Saved for backward", (f"{_bytes(training.saved_activation_bytes, exact)}   distinct storages autograd "
                                f"keeps, batch {result.batch}, {training.amp or result.dtype}")),
        ("Peak memory", f"{_bytes(training.peak_bytes, exact)}   weights + gradients + optimizer + saved"),
        ("Forward FLOPs", figure(training.forward_flops)),
        ("Backward FLOPs", "not known" if training.backward_flops is None else
         f"{figure(training.backward_flops)}   input gradients (not the first layer's) + weight gradients"),
        ("Training FLOPs", "not known" if training.train_flops is None else figure(training.train_flops)),
    ]
    if training.not_modelled:
        shown = ", ".join(training.not_modelled[:3]) + (f" and {len(training.not_modelled) - 3} more"
                                                          if len(training.not_modelled) > 3 else "")
        rows.append(("Not modelled", f"what {shown} saves or costs in backward"))
    for label, text in rows:
        grid.add((label, "bold"), text)
    return grid


def training_data(result: Analysis, records: list[LayerRecord]) -> dict[str, Any]:
    """The report's `training` section: exact integers (None where paramcalc does not know)."""
    training = result.training
    return {
        "optimizer": training.optimizer,
        "amp": training.amp,
        "weight_bytes": training.weight_bytes,
        "gradient_bytes": training.gradient_bytes,
        "optimizer_bytes": training.optimizer_bytes,
        "saved_bytes": training.saved_bytes,
        "saved_activation_bytes": training.saved_activation_bytes,
        "peak_bytes": training.peak_bytes,
        "forward_flops": training.forward_flops,
        "backward_flops": training.backward_flops,
        "backward_macs": training.backward_macs,
        "train_flops": training.train_flops,
        "not_modelled": list(training.not_modelled),
        "layers": [{"name": record.name, **training.layers[record.name]._asdict()} for record in records],
    }
