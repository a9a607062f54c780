"""The machine-readable report: plain data with exact integers (its keys are in docs/ci.md)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..engine.receptive import ReceptiveField
from ..engine.records import REPORT_SCHEMA, Analysis, LayerRecord
from ..engine.symbolic import is_symbolic, leading_text
from ..errors import SpecError
from .symbolic import evaluations

SCHEMA = REPORT_SCHEMA
CONVENTIONS = {
    "macs": "multiply-accumulates of convolution and linear layers, bias not counted",
    "flops": "floating-point operations at inference: 2 per MAC, plus bias, normalisation, activation, "
             "pooling and element-wise work, per layer kind as docs/layer-kinds.md gives it",
    "params": "learnable parameters; trainable + frozen",
    "buffers": "non-trainable state: batch-norm running mean and variance",
    "bytes": "elements x bytes per element of dtype; activations sum every layer's output",
    "receptive_field": "Araujo, Norris & Sim (Distill 2019): size, effective stride and effective padding "
                       "per axis [height, width] on the input",
}


def field_data(rf: ReceptiveField | None) -> dict[str, Any] | None:
    if rf is None:
        return None
    return {"size": list(rf.size), "stride": list(rf.stride), "padding": list(rf.padding),
            "aligned": rf.aligned, "global": rf.is_global}


def layer_data(record: LayerRecord, batch: int, dtype_bytes: int) -> dict[str, Any]:
    return {
        "name": record.name,
        "depth": record.depth,
        "kind": record.kind,
        "group": record.is_group,
        "inputs": list(record.inputs),
        "shape": None if record.shape is None else [batch, *record.shape],
        "params": record.params,
        "trainable": record.trainable,
        "buffers": record.buffers,
        "macs": record.macs,
        "flops": record.flops,
        "output_bytes": record.activations * dtype_bytes,
        "receptive_field": field_data(record.rf),
        "line": record.line,
        "train_only": record.train_only,
    }


def totals_data(result: Analysis) -> dict[str, Any]:
    totals = result.totals
    return {
        "params": totals.params,
        "trainable": totals.trainable,
        "frozen": totals.frozen,
        "buffers": totals.buffers,
        "macs": totals.macs,
        "flops": totals.flops,
        "param_bytes": totals.param_bytes,
        "buffer_bytes": totals.buffer_bytes,
        "activation_bytes": totals.activation_bytes,
        "input_bytes": totals.input_bytes,
        "output": [result.batch, *totals.output_shape],
        "receptive_field": field_data(totals.rf),
        "layers": totals.layers,
    }


def report_data(result: Analysis, records: list[LayerRecord] | None = None,
                at: list[tuple[int, ...]] | None = None) -> dict[str, Any]:
    """The report; for a symbolic input every formula is a string, with the symbols, the conditions on
    them, the leading terms and the evaluations at the sizes of `at` added."""
    data = {
        "schema": SCHEMA,
        "spec": result.file,
        "name": result.name,
        "input": [result.batch, *result.input_shape],
        "batch": result.batch,
        "dtype": result.dtype,
        "conventions": CONVENTIONS,
        "layers": [layer_data(r, result.batch, result.dtype_bytes) for r in (records or result.records)],
        "totals": totals_data(result),
        "not_run": list(result.not_run),  # train-only layers that cannot take this input size, and why
    }
    if result.training is not None:  # show --train
        from .training import training_data

        data["training"] = training_data(result, records or list(result.records))
    if result.symbols:
        return symbolic_data(result, data, at)
    return data


def to_json(result: Analysis, records: list[LayerRecord] | None = None,
            at: list[tuple[int, ...]] | None = None, exact: bool = False) -> str:
    """One key per line and one layer per line: readable and greppable, with exact integers."""
    return format_report(report_data(result, records, at))


def format_report(data: dict[str, Any]) -> str:
    """The report's data as to_json writes it."""
    encode = json.JSONEncoder(separators=(", ", ": ")).encode
    lines = []
    for key, value in data.items():
        if key == "layers":
            layers = ",\n".join(f"    {encode(layer)}" for layer in value)
            lines.append(f'  "layers": [\n{layers}\n  ]' if layers else '  "layers": []')
        else:
            lines.append(f"  {encode(key)}: {encode(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


CSV_COLUMNS = ("name", "depth", "kind", "group", "inputs", "shape", "params", "trainable", "buffers", "macs",
               "flops", "output_bytes", "rf_height", "rf_width", "rf_stride_height", "rf_stride_width",
               "rf_padding_height", "rf_padding_width", "rf_aligned", "rf_global", "line", "train_only")


def to_csv(result: Analysis, records: list[LayerRecord] | None = None, at: list[tuple[int, ...]] | None = None,
           exact: bool = False) -> str:
    """One row per layer (and group) with exact integers; shapes include the batch, as in the JSON."""
    if at:
        raise SpecError("--at has no place in the CSV (one row per layer)", file=result.file,
                        hint="use --format json or markdown with --at, or run once per size with --input")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records or result.records:
        rf = record.rf
        field_cells = ([*rf.size, *rf.stride, *rf.padding, rf.aligned, rf.is_global] if rf else [""] * 8)
        writer.writerow([record.name, record.depth, record.repeated or record.kind, record.is_group,
                         ";".join(record.inputs),
                         "" if record.shape is None else "x".join(map(str, (result.batch, *record.shape))),
                         record.params, record.trainable, record.buffers, record.macs, record.flops,
                         record.activations * result.dtype_bytes, *field_cells, record.line, record.train_only])
    return buffer.getvalue()


def to_markdown(result: Analysis, records: list[LayerRecord] | None = None, at: list[tuple[int, ...]] | None = None,
                exact: bool = False) -> str:
    """The table of `show` as a Markdown table (dotted names instead of indentation), then the totals."""
    from . import units

    totals = result.totals
    lines = [f"**{result.name}**: input {units.shape(result.input_shape)}, batch {result.batch}, {result.dtype}", "",
             "| layer | kind | output | params | % params | MACs | % MACs | RF |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in records or result.records:
        kind = (r.repeated or r.kind) + (" (train only)" if r.train_only else "")
        lines.append(f"| `{r.name}` | {kind} | {units.shape(r.shape)} | {units.count(r.params, exact)} "
                     f"| {units.percent(r.params, totals.params):.1f} | {units.count(r.macs, exact)} "
                     f"| {units.percent(r.macs, totals.macs):.1f} | {units.field_size(r.rf)} |")
    lines += ["", "| total | |", "|---|---|",
              f"| params | {totals.params:,} (trainable {totals.trainable:,}, frozen {totals.frozen:,}) |",
              f"| buffers | {totals.buffers:,} |",
              f"| MACs | {totals.macs:,} |",
              f"| FLOPs | {totals.flops:,} |",
              f"| parameter memory | {units.size_in_bytes(totals.param_bytes + totals.buffer_bytes, exact)} |",
              f"| activation memory | {units.size_in_bytes(totals.activation_bytes, exact)} |",
              f"| output | {units.shape(totals.output_shape)} |",
              f"| receptive field | {units.field_long(totals.rf)} |"]
    if result.symbols:
        from .symbolic import markdown_lines

        lines = lines[:-1] + markdown_lines(result, at, exact)
    return "\n".join(lines)


def plain(value: Any) -> Any:
    """JSON-ready: symbolic sizes become their formulas as strings, recursively."""
    if is_symbolic(value):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def symbolic_data(result: Analysis, data: dict[str, Any], sizes: list[tuple[int, ...]] | None) -> dict[str, Any]:
    """The report's data with formulas as strings, plus the symbols, conditions, leading terms and `--at`."""
    totals = result.totals
    data = plain(data)
    data["symbols"] = list(result.symbols)
    data["conditions"] = [{"condition": str(condition), "layer": layer} for condition, layer in result.conditions]
    data["training_conditions"] = [{"condition": str(condition), "layer": layer}
                                   for condition, layer in result.training_conditions]
    data["leading"] = {name: leading_text(getattr(totals, name))
                       for name in ("params", "macs", "flops", "activation_bytes")}
    if sizes:
        data["at"] = [{"values": values, "valid": not isinstance(at, str),
                       **({"reason": at} if isinstance(at, str) else {"totals": totals_data(at)})}
                      for values, at in evaluations(result, sizes)]
    return data


# The machine-readable forms of `show`, by --format: each takes (result, records, at, exact) and returns text.
SHOW_FORMATS = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
