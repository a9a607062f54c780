"""The machine-readable report: plain data with exact integers (schema in the README)."""

from __future__ import annotations

import json

from ..analysis import Analysis, LayerRecord
from ..receptive import Field

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

SCHEMA = "paramcalc.report/1"
CONVENTIONS = {
    "macs": "multiply-accumulates of convolution and linear layers, bias not counted",
    "flops": "floating-point operations at inference: 2 per MAC, plus bias, normalisation, activation, "
             "pooling and element-wise work, per the README's table of layer kinds",
    "params": "learnable parameters; trainable + frozen",
    "buffers": "non-trainable state: batch-norm running mean and variance",
    "bytes": "elements x bytes per element of dtype; activations sum every layer's output",
    "receptive_field": "Araujo, Norris & Sim (Distill 2019): size, effective stride and effective padding "
                       "per axis [height, width] on the input",
}


def field_data(rf: Field | None) -> dict[str, Any] | None:
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
                at: list[tuple[int, ...]] | None = None, layers: bool = True) -> dict[str, Any]:
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
        "layers": [layer_data(r, result.batch, result.dtype_bytes) for r in (records or result.records)]
        if layers else [],  # to_json writes a concrete analysis' layers itself
        "totals": totals_data(result),
        "not_run": list(result.not_run),  # train-only layers that cannot take this input size, and why
    }
    if result.symbols:
        from .symbolic import symbolic_data

        return symbolic_data(result, data, at)
    return data


def _layer_line(record: LayerRecord, batch: int, dtype_bytes: int) -> str:
    """layer_data(record) as JSON, written directly: for a concrete analysis every value is an int, a bool,
    a name or a tuple of ints, and formatting them is several times faster than encoding a dictionary
    (a test checks the two agree for every layer of every bundled spec)."""
    rf = record.rf
    field = "null" if rf is None else (
        f'{{"size": [{rf.size[0]}, {rf.size[1]}], "stride": [{rf.stride[0]}, {rf.stride[1]}], '
        f'"padding": [{rf.padding[0]}, {rf.padding[1]}], "aligned": {"true" if rf.aligned else "false"}, '
        f'"global": {"true" if rf.is_global else "false"}}}')
    return (f'{{"name": {_text(record.name)}, "depth": {record.depth}, "kind": {_text(record.kind)}, '
            f'"group": {"true" if record.is_group else "false"}, '
            f'"inputs": [{", ".join(map(_text, record.inputs))}], '
            f'"shape": {_shape_json(batch, record.shape)}, "params": {record.params}, '
            f'"trainable": {record.trainable}, "buffers": {record.buffers}, "macs": {record.macs}, '
            f'"flops": {record.flops}, "output_bytes": {record.activations * dtype_bytes}, '
            f'"receptive_field": {field}, "line": {record.line}, "train_only": {"true" if record.train_only else "false"}}}')


def _shape_json(batch: int, shape: tuple | None) -> str:
    return "null" if shape is None else f'[{", ".join(map(str, (batch, *shape)))}]'


_text = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps writes it


def to_json(result: Analysis, records: list[LayerRecord] | None = None,
            at: list[tuple[int, ...]] | None = None) -> str:
    """One key per line and one layer per line: readable, greppable, and written by json's C encoder."""
    data = report_data(result, records, at, layers=bool(result.symbols))
    encode = json.JSONEncoder(separators=(", ", ": ")).encode  # one encoder for every line
    lines = ["{"]
    for key, value in data.items():
        if key == "layers":
            if result.symbols:  # formulas become strings on the way: the general encoder
                layers = [f"    {encode(layer)}" for layer in value]
            else:
                layers = [f"    {_layer_line(record, result.batch, result.dtype_bytes)}"
                          for record in (records or result.records)]
            lines.append('  "layers": [\n' + ",\n".join(layers) + ("\n  ]," if layers else "],"))
        else:
            lines.append(f"  {encode(key)}: {encode(value)},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}"


CSV_COLUMNS = ("name", "depth", "kind", "group", "inputs", "shape", "params", "trainable", "buffers", "macs",
               "flops", "output_bytes", "rf_height", "rf_width", "rf_stride_height", "rf_stride_width",
               "rf_padding_height", "rf_padding_width", "rf_aligned", "rf_global", "line", "train_only")


def to_csv(result: Analysis, records: list[LayerRecord] | None = None) -> str:
    """One row per layer (and group) with exact integers; shapes include the batch, as in the JSON."""
    import csv
    import io

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


def to_markdown(result: Analysis, records: list[LayerRecord] | None = None, exact: bool = False,
                at: list[tuple[int, ...]] | None = None) -> str:
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
