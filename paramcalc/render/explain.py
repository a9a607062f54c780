"""The arithmetic behind one layer's figures, or a block's sums, with its own numbers (for learners)."""

from __future__ import annotations

import os

from ..engine.analysis import analyze, port_field, port_shape
from ..engine.cache import Cache
from ..engine.dims import format_shape
from ..engine.graph import Graph, expand
from ..engine.receptive import ReceptiveField, Window
from ..engine.records import Analysis
from ..engine.specs import as_spec
from ..errors import SpecError, did_you_mean
from ..spec.format import Spec
from .grid import Column, Grid
from .units import percent


def _pair(values: tuple) -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}x{values[1]}"


def _field_step(before: ReceptiveField, window: Window, after: ReceptiveField) -> str:
    """r = r_in + (k - 1)·j_in, j = j_in·s, p = p_in + q·j_in, on each axis (one when both agree)."""
    axes = []
    for axis in (0, 1):
        r, j, p = before.size[axis], before.stride[axis], before.padding[axis]
        k, s, q = window.kernel[axis], window.stride[axis], window.padding[axis]
        axes.append(f"size {r} + ({k} - 1)·{j} = {after.size[axis]}, stride {j}·{s} = {after.stride[axis]}, "
                    f"padding {p} + {q}·{j} = {after.padding[axis]}")
    return axes[0] if axes[0] == axes[1] else f"height: {axes[0]}; width: {axes[1]}"


def explain(source: str | os.PathLike | dict | Spec, layer: str, *, input_shape: tuple | None = None,
            batch: int | None = None, dtype: str | None = None) -> list[tuple[str, str]]:
    """(label, text) lines explaining one layer or group of a spec."""
    spec = as_spec(source)
    cache = Cache()  # the analysis and the graph it walked: one expansion
    result = analyze(spec, input_shape=input_shape, batch=batch, dtype=dtype, cache=cache)
    graph = expand(spec, input_shape, batch, dtype, cache)
    index = next((node.index for node in graph.nodes if node.name == layer), None)
    if index is None:
        raise SpecError(f"no layer named '{layer}'", file=spec.file,
                        hint=did_you_mean(layer, [r.name for r in result.records]) or "paramcalc show lists the names")
    node, record = graph.nodes[index], result.records[index]
    kind = record.repeated or record.kind
    lines = [("layer", f"{record.name}: {kind}, line {record.line}")]
    if node.layer is None:
        return lines + _group_lines(result, graph, index)
    inputs = [port_shape(result, graph, port) for port in node.inputs]
    lines.append(("settings", node.layer.settings() or "(none)"))
    lines += [("input", f"{format_shape(shape)} from {name}") for shape, name in zip(inputs, node.input_names)]
    lines += node.layer.arithmetic(list(inputs), record.shape)
    lines.append(("output", format_shape(record.shape)))
    conditions = [str(condition) for condition, name in result.conditions if name == record.name]
    if conditions:
        lines.append(("valid for", ", ".join(conditions)))
    lines += _totals(result, record)
    lines += _receptive_field(result, graph, node, inputs, record)
    return lines


def _totals(result: Analysis, record) -> list[tuple[str, str]]:
    batch = f" (batch {result.batch})" if result.batch != 1 else ""
    lines = [("totals", f"params {record.params:,}, buffers {record.buffers:,}, MACs {record.macs:,}, "
                        f"FLOPs {record.flops:,}{batch}")]
    if result.totals.macs != 0 and record.macs != 0:
        lines.append(("share", f"{percent(record.macs, result.totals.macs):.1f}% of the model's MACs"
                               + (" (of their leading terms)" if result.symbols else "")
                               + f", {percent(record.params, result.totals.params):.1f}% of its params"))
    return lines


def _receptive_field(result: Analysis, graph: Graph, node, inputs: list, record) -> list[tuple[str, str]]:
    if record.rf is None:
        return []
    before = [port_field(result, graph, port) for index, port in enumerate(node.inputs)
              if index not in node.layer.size_inputs]
    if before[0] is None and record.rf.is_global:
        return [("RF", f"{_pair(record.rf.size)}: global (the layer mixes every position of its input)")]
    if len(before) > 1 or before[0] is None:
        return [("RF", f"{_pair(record.rf.size)}: the union of the {len(before)} paths' fields"
                       + ("" if record.rf.aligned else " (their centres differ)"))]
    window = node.layer.window(inputs, record.shape)
    if before[0].is_global:
        return [("RF", f"{_pair(record.rf.size)}: global already (every unit of its input sees the whole input)")]
    if window is None and (node.layer.reads_whole_map(inputs) or record.rf.is_global):
        window = Window.whole(before[0].map_size)
    if window is None:
        return [("RF", f"{_pair(record.rf.size)}: unchanged (each output position reads its own position)")]
    return [("RF", _field_step(before[0], window, record.rf))]


def _group_lines(result: Analysis, graph: Graph, index: int) -> list[tuple[str, str]]:
    node, group = graph.nodes[index], result.records[index]
    lines = [("output", format_shape(group.shape))]
    for child in node.children:
        record = result.records[child]
        lines.append((record.name.rsplit(".", 1)[-1],
                      f"{record.repeated or record.kind}: params {record.params:,}, MACs {record.macs:,}"))
    params = " + ".join(f"{result.records[c].params:,}" for c in node.children if result.records[c].params != 0)
    macs = " + ".join(f"{result.records[c].macs:,}" for c in node.children if result.records[c].macs != 0)
    lines.append(("params", f"{params or 0} = {group.params:,}"))
    lines.append(("MACs", f"{macs or 0} = {group.macs:,}"))
    lines += _totals(result, group)[1:]
    return lines


def explain_grid(lines: list[tuple[str, str]]) -> Grid:
    """The lines as a two-column grid: labels in bold, the arithmetic beside them."""
    grid = Grid([Column(""), Column("", min_width=30, wrap=True)], header=False)
    for label, text in lines:
        grid.add((label, "bold"), text)
    return grid
