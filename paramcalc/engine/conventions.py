"""The conventions by name, and a model counted in one: each layer's count, each group's sum, the total.

`--convention NAME` on show and compare uses these; the rules themselves are in peers.py, their vocabulary in
convention_rules.py. A breakdown by layer kind (`--by kind`, as fvcore's by_operator) is here too.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from ..errors import SpecError
from . import peers
from .analysis import Analyzer, require_concrete
from .compare import FigureRow
from .convention_rules import Convention, Site
from .dims import Dim, Shape
from .graph import Graph, expand
from .records import Analysis, LayerRecord
from .specs import as_spec

CONVENTIONS: dict[str, Convention] = {convention.name: convention for convention in peers.ALL}
VERSIONS = peers.VERSIONS


# --- counting a model ----------------------------------------------------------------------------------------
class PeerCounts:
    """One convention's count for every record of an analysis (a group's sums its layers), and the total."""

    def __init__(self, convention: Convention, by_name: dict[str, Dim], total: Dim) -> None:
        self.convention, self.by_name, self.total = convention, by_name, total

    def of(self, record: LayerRecord) -> Dim:
        return self.by_name.get(record.name, 0)

    @property
    def label(self) -> str:
        return f"MACs ({self.convention.name})"


def peer_counts(graph: Graph, result: Analysis, name: str) -> PeerCounts:
    """The convention's counts for the analysis of this graph (its records in node order, all levels)."""
    convention = CONVENTIONS[name]
    by_name: dict[str, Dim] = {}
    total: Dim = 0
    for node, record in zip(graph.nodes, result.records):
        if node.layer is None or node.train_only:  # groups are summed below; train-only layers do not run
            continue
        inputs = [graph.input_shape if port < 0 else result.records[port].shape for port in node.inputs]
        site = Site(node.layer, inputs, record.shape, node.functional, node.module)
        count = convention.count(site) * graph.batch
        by_name[node.name] = count
        total += count
        parent = node.parent
        while parent is not None:
            group = graph.nodes[parent]
            by_name[group.name] = by_name.get(group.name, 0) + count
            parent = group.parent
    return PeerCounts(convention, by_name, total)


def analyze_as(source: Any, name: str, *, input_shape: Shape | None = None, batch: int | None = None,
               dtype: str | None = None) -> tuple[Analysis, PeerCounts]:
    """The analysis of a spec (path, text, mapping or Spec) and the counts of the convention `name`."""
    spec = as_spec(source)
    try:
        graph = expand(spec, input_shape, batch, dtype)
        result = Analyzer(graph).run()
    except SpecError as err:
        err.located(file=spec.file)
        raise
    require_concrete(result, f"--convention {name}", spec if input_shape is None else None)
    return result, peer_counts(graph, result, name)


def convention_row(rows: list[FigureRow], counts: list[PeerCounts]) -> list[FigureRow]:
    """compare's figures with the counter's total of each model after paramcalc's MACs ('MACs (fvcore)')."""
    first = counts[0]
    row = FigureRow(f"macs_{first.convention.name}", first.label, "count", tuple(c.total for c in counts))
    at = next((index + 1 for index, item in enumerate(rows) if item.key == "macs"), len(rows))
    return [*rows[:at], row, *rows[at:]]


# --- a breakdown by layer kind, as fvcore's by_operator -----------------------------------------------------
KindRow = namedtuple("KindRow", "kind layers params count share")


def by_kind(result: Analysis, count: Callable[[LayerRecord], Dim], total: Dim) -> list[KindRow]:
    """Per layer kind: how many layers, their parameters, their count (the metric `count` gives for a layer)
    and its share of `total` in percent; the heaviest kind first."""
    rows: dict[str, list] = {}
    for record in result.leaves():
        row = rows.setdefault(record.kind, [0, 0, 0])
        row[0] += 1
        row[1] += record.params
        row[2] += count(record)
    shares = {kind: 100.0 * row[2] / total if total else 0.0 for kind, row in rows.items()}
    ordered = sorted(rows, key=lambda kind: (-rows[kind][2], -rows[kind][1], kind))
    return [KindRow(kind, rows[kind][0], rows[kind][1], rows[kind][2], shares[kind]) for kind in ordered]
