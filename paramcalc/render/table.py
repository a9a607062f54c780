"""The per-layer table and the totals of `show`, and the list of layer kinds, as grids."""

from __future__ import annotations

from typing import Any

from ..engine.records import Analysis, LayerRecord
from . import symbolic, units
from .grid import Column, Grid

BAR_WIDTH = 10
HEAVY, NOTABLE = 10.0, 3.0  # percent of the model's total: drawn in red / yellow


def bar(share: float) -> str:
    eighths = round(share / 100 * BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def share_style(share: float) -> str:
    if share >= HEAVY:
        return "bold red"
    if share >= NOTABLE:
        return "yellow"
    return "dim"


def layer_grid(result: Analysis, records: list[LayerRecord], metric: str = "macs", exact: bool = False,
               counts: Any = None) -> Grid:
    """counts: another counter's figures (engine.conventions.PeerCounts), shown instead of paramcalc's MACs."""
    totals = result.totals
    metric_total = counts.total if counts else totals.macs if metric == "macs" else totals.flops
    label = counts.label if counts else "MACs" if metric == "macs" else "FLOPs"
    grid = Grid([Column("Layer", max_width=40, min_width=12), Column("Kind", max_width=26, min_width=8),
                 Column("Output", min_width=9), Column("Params", right=True), Column("%P", right=True, drop=2),
                 Column(label, right=True), Column(f"%{label[0]}", right=True, drop=2),
                 Column("", max_width=BAR_WIDTH, drop=4), Column("RF", right=True, drop=3)],
                title=f"{result.name}  ·  input {units.shape(result.input_shape)}  ·  batch {result.batch}")
    for record in records:
        value = counts.of(record) if counts else record.macs if metric == "macs" else record.flops
        param_share = units.percent(record.params, totals.params)
        metric_share = units.percent(value, metric_total)
        kind = record.repeated or record.kind
        grid.add(
            ("  " * record.depth + record.name.rsplit(".", 1)[-1], "bold" if record.is_group else ""),
            (kind + " (train)" if record.train_only else kind,
             "dim" if record.train_only else "cyan" if record.is_group else ""),
            units.shape(record.shape),
            (units.count(record.params, exact), share_style(param_share) if record.params != 0 else "dim"),
            (f"{param_share:.1f}" if record.params != 0 else "", share_style(param_share)),
            (units.count(value, exact), share_style(metric_share) if value != 0 else "dim"),
            (f"{metric_share:.1f}" if value != 0 else "", share_style(metric_share)),
            (bar(metric_share) if value != 0 else "", share_style(metric_share)),
            units.field_size(record.rf),
        )
    return grid


def totals_grid(result: Analysis, exact: bool = False, counts: Any = None) -> Grid:
    """The model's figures under the table; for a symbolic input the counts are formulas (without the
    notes, which would follow a long formula) and the sizes the model works for are added."""
    totals = result.totals
    grid = Grid([Column(""), Column("", min_width=24, wrap=True)], header=False)  # a long note goes on below itself
    notes = {"Buffers": "not trained: batch-norm statistics, index tables",
             "MACs": "multiply-accumulates of every matrix product",
             "FLOPs": "2 per MAC + bias, norm, activation, pooling, add"}
    params_note = f"trainable {totals.trainable:,} · frozen {totals.frozen:,}"
    receptive_field, extra = units.field_long(totals.rf), []

    def figure(value: int) -> str:
        return units.count_in_full(value, exact)

    if result.not_run:
        extra.append(("Not run here", "; ".join(result.not_run) + " (train only: inference runs, training at this "
                                                                   "input size would fail)"))
    if result.symbols:

        figure, notes = symbolic.formula, {}  # type: ignore[assignment]
        params_note = symbolic.params_note(result)
        receptive_field, extra = symbolic.receptive_text(result), [("Valid for", symbolic.conditions_text(result))]
        if symbolic.leading_sources(result):
            extra.insert(0, ("MACs grow", symbolic.leading_sources(result)))
        if result.training_conditions:
            extra.append(("Training needs", symbolic.conditions_text(result, training=True)))
    rows = [
        ("Params", f"{figure(totals.params)}   {params_note}"),
        *((label, figure(value) + (f"   {notes[label]}" if label in notes else ""))
          for label, value in (("Buffers", totals.buffers), ("MACs", totals.macs), ("FLOPs", totals.flops))),
        *([(counts.label, f"{figure(counts.total)}   {counts.convention.tool}")] if counts else []),
        ("Param memory", f"{units.size_in_bytes(totals.param_bytes + totals.buffer_bytes, exact)}   "
                         f"params + buffers, {result.dtype}"),
        ("Activations", f"{units.size_in_bytes(totals.activation_bytes, exact)}   "
                        f"every layer's output, batch {result.batch}, {result.dtype}"),
        ("Output", units.shape(totals.output_shape)),
        ("Receptive field", receptive_field),
        *extra,
    ]
    for label, text in rows:
        grid.add((label, "bold"), text)
    return grid


def show_blocks(result: Analysis, records: list[LayerRecord], metric: str, exact: bool, counts: Any = None) -> list:
    return [layer_grid(result, records, metric, exact, counts), None, totals_grid(result, exact, counts)]


def at_grid(result: Analysis, sizes: list[tuple[int, ...]], exact: bool = False) -> Grid:
    rows = symbolic.evaluations(result, sizes)
    invalid = any(isinstance(at, str) for _, at in rows)
    grid = Grid([Column("Input"), Column("Output"), Column("Params", right=True), Column("MACs", right=True),
                 Column("FLOPs", right=True), Column("Activations", right=True)] + ([Column("")] if invalid else []),
                title=f"{result.name}  ·  at {len(sizes)} input size{'s' if len(sizes) != 1 else ''}")
    for values, at in rows:
        label = symbolic.size_label(values)
        if isinstance(at, str):
            grid.add(label, ("-", "red"), "", "", "", "", (f"not valid: {at}", "red"))
            continue
        totals = at.totals
        grid.add(label, units.shape(totals.output_shape), units.count(totals.params, exact),
                 units.count(totals.macs, exact), units.count(totals.flops, exact),
                 units.size_in_bytes(totals.activation_bytes, exact), *([""] if invalid else []))
    return grid
