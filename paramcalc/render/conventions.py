"""`show --convention NAME` and `--by kind` in every format: another counter's figures beside paramcalc's, and
the model broken down by layer kind (as fvcore's by_operator).

The table and the totals take the counter's figures from table.py (counts=); this module adds them to the
machine-readable forms, and draws the breakdown by kind.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ..engine.conventions import KindRow, PeerCounts, by_kind
from ..engine.records import Analysis, LayerRecord
from . import units
from .grid import Column, Grid
from .report import format_report, report_data, to_csv, to_markdown
from .table import bar, share_style


def kind_rows(result: Analysis, counts: PeerCounts | None) -> list[KindRow]:
    """The breakdown by kind, of the counter's figures, or of paramcalc's MACs without one."""
    if counts is None:
        return by_kind(result, lambda record: record.macs, result.totals.macs)
    return by_kind(result, counts.of, counts.total)


def metric_label(counts: PeerCounts | None) -> str:
    return counts.label if counts else "MACs"


def by_kind_grid(result: Analysis, rows: list[KindRow], counts: PeerCounts | None, exact: bool = False) -> Grid:
    label = metric_label(counts)
    grid = Grid([Column("Kind", max_width=26, min_width=8), Column("Layers", right=True),
                 Column("Params", right=True), Column(label, right=True), Column("Share", right=True),
                 Column("", max_width=10, drop=1)],
                title=f"{result.name}  ·  by layer kind  ·  {label}")
    for row in rows:
        style = share_style(row.share)
        grid.add(row.kind, str(row.layers), (units.count(row.params, exact), "" if row.params else "dim"),
                 (units.count(row.count, exact), style if row.count else "dim"),
                 (f"{row.share:.1f} %" if row.count else "", style), (bar(row.share) if row.count else "", style))
    return grid


def kind_data(rows: list[KindRow]) -> list[dict[str, Any]]:
    return [{"kind": row.kind, "layers": row.layers, "params": row.params, "macs": row.count,
             "share": round(row.share, 4)} for row in rows]


def convention_data(counts: PeerCounts) -> dict[str, Any]:
    convention = counts.convention
    return {"name": convention.name, "tool": convention.tool, "counts": convention.counts, "macs": counts.total}


def to_json(result: Analysis, records: list[LayerRecord], counts: PeerCounts | None, by: str | None) -> str:
    """The report of `show --format json`, with the counter's total and per-layer figure (`convention_macs`)
    and, with --by kind, the breakdown (`by_kind`, its `macs` in the counter's convention)."""
    data = report_data(result, records)
    if counts is not None:
        data["convention"] = convention_data(counts)
        for layer in data["layers"]:
            layer["convention_macs"] = counts.by_name.get(layer["name"], 0)
    if by == "kind":
        data["by_kind"] = kind_data(kind_rows(result, counts))
    return format_report(data)


def to_csv_with(result: Analysis, records: list[LayerRecord], counts: PeerCounts | None, by: str | None) -> str:
    """With --by kind: one row per kind. Otherwise the per-layer CSV, with a column `macs_NAME` for the counter."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if by == "kind":
        writer.writerow(["kind", "layers", "params", f"macs_{counts.convention.name}" if counts else "macs", "share"])
        for row in kind_rows(result, counts):
            writer.writerow([row.kind, row.layers, row.params, row.count, f"{row.share:.4f}"])
        return buffer.getvalue()
    assert counts is not None
    lines = list(csv.reader(io.StringIO(to_csv(result, records))))
    writer.writerow([*lines[0], f"macs_{counts.convention.name}"])
    for record, line in zip(records, lines[1:]):
        writer.writerow([*line, counts.of(record)])
    return buffer.getvalue()


def to_markdown_with(result: Analysis, records: list[LayerRecord], counts: PeerCounts | None, by: str | None,
                     exact: bool = False) -> str:
    """The Markdown of `show` (paramcalc's MACs per layer), the counter's total under it, and the kinds' table."""
    lines = [to_markdown(result, records, exact=exact)]
    if counts is not None:
        lines[0] += f"\n| {counts.label} | {counts.total:,} ({counts.convention.tool}) |"
    if by == "kind":
        label = metric_label(counts)
        lines += ["", f"| kind | layers | params | {label} | share |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {row.kind} | {row.layers} | {units.count(row.params, exact)} | {units.count(row.count, exact)} "
                  f"| {row.share:.1f} % |" for row in kind_rows(result, counts)]
    return "\n".join(lines)


SHOW_FORMATS = {"json": lambda result, records, counts, by, exact: to_json(result, records, counts, by),
                "csv": lambda result, records, counts, by, exact: to_csv_with(result, records, counts, by),
                "markdown": to_markdown_with}
