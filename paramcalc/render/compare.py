"""Comparison tables: figures side by side (rich, Markdown, CSV, JSON) and the layer alignment."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..engine.compare import FigureRow, LayerPair
from ..engine.records import Analysis
from . import units
from .grid import Column, Grid
from .report import CONVENTIONS, field_data

COMPARE_SCHEMA = "paramcalc.compare/1"


def cell(row: FigureRow, value: Any, exact: bool) -> str:
    """Counts in full (294,912: the figures being compared), bytes in readable units unless exact."""
    if value is None:  # a training figure of a layer paramcalc does not model
        return "not known"
    if row.unit == "count":
        return units.count(value, exact=True)
    if row.unit == "bytes":
        return units.size_in_bytes(value, exact)
    if row.unit == "shape":
        return units.shape(value)
    return units.field_size(value)


def change(row: FigureRow, index: int, exact: bool) -> str:
    """'+114.69 k · 1.39x' against the first model; 'same' or 'differs' for shapes and fields."""
    if row.unit in ("shape", "field"):
        first, value = row.values[0], row.values[index]
        same = first == value if row.unit == "shape" else units.field_size(first) == units.field_size(value)
        return "same" if same else "differs"
    difference, ratio = row.differences()[index], row.ratios()[index]
    if difference is None and None in (row.values[0], row.values[index]):
        return ""
    if difference is None or difference == 0:
        return "same"
    sign = "+" if difference > 0 else "-"
    magnitude = cell(row, abs(difference), exact)
    return f"{sign}{magnitude} · {ratio:.2f}x" if ratio is not None else f"{sign}{magnitude}"


def direction(row: FigureRow, index: int) -> int:
    """+1 when the model costs more than the first, -1 when less, 0 when equal or not comparable."""
    difference = row.differences()[index]
    if not difference:
        return 0
    return 1 if difference > 0 else -1


def figures_grid(results: list[Analysis], rows: list[FigureRow], exact: bool) -> Grid:
    columns = [Column("Figure", min_width=10)]
    for index, result in enumerate(results):
        columns.append(Column(result.name, right=True, max_width=24, min_width=10))
        if index:  # when they do not all fit, as many as fit stay (the second model's goes first)
            columns.append(Column(f"vs {results[0].name}", right=True, max_width=24, drop=len(results) - index))
    grid = Grid(columns)
    styles = {1: "red", -1: "green", 0: "dim"}
    for row in rows:
        cells: list[Any] = [(row.label, "bold")]
        for index, value in enumerate(row.values):
            cells.append(cell(row, value, exact))
            if index:
                text = change(row, index, exact)
                cells.append((text, styles[direction(row, index)] if text != "differs" else "yellow"))
        grid.add(*cells)
    return grid


def layers_grid(results: list[Analysis], pairs: list[LayerPair], exact: bool) -> Grid:
    first, second = results[0].name, results[1].name
    grid = Grid([Column("Layer", max_width=34, min_width=12), Column("Kind", max_width=18, min_width=8),
                 Column("Output A → B", max_width=26, min_width=10),
                 *(Column(label, right=True, drop=1) for label in ("Params A", "Params B")),  # both go, or neither
                 *(Column(label, right=True) for label in ("MACs A", "MACs B", "Δ MACs"))],
                caption=f"A = {first}, B = {second} (dim: same, yellow: changed, red: only in A, green: only in B)")
    styles = {"same": "dim", "changed": "yellow", "only first": "red", "only second": "green"}
    for pair in pairs:
        a, b = pair.first, pair.second
        record = a or b
        assert record is not None
        kind = record.repeated or record.kind
        if a and b and (a.repeated or a.kind) != (b.repeated or b.kind):
            kind_a, _, count_a = (a.repeated or a.kind).partition(" ×")
            kind_b, _, count_b = (b.repeated or b.kind).partition(" ×")
            same_block = kind_a == kind_b and count_a and count_b
            kind = f"{kind_a} ×{count_a}→{count_b}" if same_block else f"{kind_a} → {kind_b}"
        shape_a = units.shape(a.shape) if a else "—"
        shape_b = units.shape(b.shape) if b else "—"
        delta = (b.macs if b else 0) - (a.macs if a else 0)
        style = styles[pair.status]
        name = "  " * record.depth + " / ".join(dict.fromkeys(r.name.rsplit(".", 1)[-1] for r in (a, b) if r))
        grid.add((name, style), (kind, style), (shape_a if shape_a == shape_b else f"{shape_a} → {shape_b}", style),
                 units.count(a.params, exact) if a else "—", units.count(b.params, exact) if b else "—",
                 units.count(a.macs, exact) if a else "—", units.count(b.macs, exact) if b else "—",
                 (("+" if delta > 0 else "") + units.count(delta, exact) if delta else "",
                  "red" if delta > 0 else "green"))
    return grid


def compare_data(results: list[Analysis], rows: list[FigureRow], pairs: list[LayerPair] | None) -> dict:
    def value(row: FigureRow, item: Any) -> Any:
        if row.unit == "shape":
            return list(item)
        if row.unit == "field":
            return field_data(item)
        return item

    data: dict[str, Any] = {
        "schema": COMPARE_SCHEMA,
        "conventions": CONVENTIONS,
        "models": [{"spec": r.file, "name": r.name, "input": [r.batch, *r.input_shape]} for r in results],
        "figures": [{
            "figure": row.key, "values": [value(row, v) for v in row.values],
            "differences": row.differences(), "ratios": row.ratios(),
        } for row in rows],
    }
    if pairs is not None:
        data["layers"] = [{
            "name": pair.name, "status": pair.status,
            "first": _layer(pair.first), "second": _layer(pair.second),
        } for pair in pairs]
    return data


def _layer(record: Any) -> dict | None:
    if record is None:
        return None
    return {"name": record.name, "kind": record.kind, "shape": None if record.shape is None else list(record.shape),
            "params": record.params,
            "macs": record.macs, "flops": record.flops}


def to_json(results: list[Analysis], rows: list[FigureRow], pairs: list[LayerPair] | None, exact: bool = False) -> str:
    return json.dumps(compare_data(results, rows, pairs), indent=2)


def to_csv(results: list[Analysis], rows: list[FigureRow], pairs: list[LayerPair] | None, exact: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if pairs is None:
        writer.writerow(["figure", *(r.name for r in results)])
        for row in rows:
            writer.writerow([row.key, *(_csv_value(row, v) for v in row.values)])
    else:
        writer.writerow(["layer", "status", "kind_a", "kind_b", "shape_a", "shape_b", "params_a", "params_b",
                         "macs_a", "macs_b"])
        for pair in pairs:
            a, b = pair.first, pair.second
            writer.writerow([pair.name, pair.status, a.kind if a else "", b.kind if b else "",
                             units.shape(a.shape) if a else "", units.shape(b.shape) if b else "",
                             a.params if a else "", b.params if b else "", a.macs if a else "", b.macs if b else ""])
    return buffer.getvalue()


def _csv_value(row: FigureRow, value: Any) -> Any:
    if row.unit == "shape":
        return units.shape(value)
    if row.unit == "field":
        return units.field_size(value)
    return value


def to_markdown(results: list[Analysis], rows: list[FigureRow], pairs: list[LayerPair] | None,
                exact: bool) -> str:
    header = ["figure"]
    for index, result in enumerate(results):
        header.append(f"`{result.name}`")
        if index:
            header.append(f"vs `{results[0].name}`")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in rows:
        cells = [row.label]
        for index, value in enumerate(row.values):
            cells.append(cell(row, value, exact))
            if index:
                cells.append(change(row, index, exact))
        lines.append("| " + " | ".join(cells) + " |")
    if pairs is not None:
        lines += ["", "| layer | status | output A → B | params A | params B | MACs A | MACs B |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for pair in pairs:
            a, b = pair.first, pair.second
            shapes = " → ".join(dict.fromkeys(units.shape(r.shape) if r else "—" for r in (a, b)))
            lines.append(f"| `{pair.name}` | {pair.status} | {shapes} | "
                         + " | ".join(units.count(v, exact) if v is not None else "—" for v in (
                             a.params if a else None, b.params if b else None,
                             a.macs if a else None, b.macs if b else None)) + " |")
    return "\n".join(lines)


# The machine-readable forms of `compare`, by --format: each takes (results, rows, pairs, exact).
COMPARE_FORMATS = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
