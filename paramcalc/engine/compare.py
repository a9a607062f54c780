"""Side by side: the models' figures against the first one, and a layer-by-layer alignment of two models."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..spec.budget import FIGURES, figures_of
from .records import Analysis, LayerRecord


@dataclass(frozen=True)
class FigureRow:
    key: str
    label: str
    unit: str  # 'count', 'bytes', 'shape' or 'field'
    values: tuple  # one per model, in the order given

    def differences(self) -> list[int | None]:
        """Each value minus the first one's (None for figures that are not numbers, or not known)."""
        first = self.values[0]
        if self.unit not in ("count", "bytes") or first is None:
            return [None] * len(self.values)
        return [None if value is None else value - first for value in self.values]

    def ratios(self) -> list[float | None]:
        first = self.values[0]
        if self.unit not in ("count", "bytes") or first is None:
            return [None] * len(self.values)
        return [value / first if first and value is not None else None for value in self.values]


def figure_rows(results: list[Analysis]) -> list[FigureRow]:
    numbers = [figures_of(result.totals) for result in results]
    rows = [FigureRow(key, figure.label, figure.unit, tuple(n[key] for n in numbers))
            for key, figure in FIGURES.items() if all(key in n for n in numbers)]  # training: only when asked
    if all(result.training is not None for result in results):  # compare --train
        trainings = [result.training for result in results]
        rows += [FigureRow("train_saved", "saved for backward", "bytes",
                           tuple(t.saved_activation_bytes for t in trainings)),
                 FigureRow("train_memory", "peak training memory", "bytes", tuple(t.peak_bytes for t in trainings)),
                 FigureRow("train_flops", "training FLOPs", "count", tuple(t.train_flops for t in trainings))]
    rows.append(FigureRow("output", "output shape", "shape", tuple(r.totals.output_shape for r in results)))
    rows.append(FigureRow("receptive_field", "receptive field", "field", tuple(r.totals.rf for r in results)))
    return rows


@dataclass(frozen=True)
class LayerPair:
    first: LayerRecord | None
    second: LayerRecord | None

    @property
    def name(self) -> str:
        """The layer's name; 'a / b' for two layers paired by position."""
        names = dict.fromkeys(r.name for r in (self.first, self.second) if r is not None)
        return " / ".join(names)

    @property
    def status(self) -> str:
        """'same', 'changed', 'only first' or 'only second'."""
        if self.first is None:
            return "only second"
        if self.second is None:
            return "only first"
        a, b = self.first, self.second
        same = (a.kind, a.shape, a.params, a.macs, a.flops) == (b.kind, b.shape, b.params, b.macs, b.flops)
        return "same" if same else "changed"


def align_layers(first: list[LayerRecord], second: list[LayerRecord]) -> list[LayerPair]:
    """Pair layers level by level: the children of two paired groups (or the two models' top levels) pair by
    name, keeping both models' order, and the unmatched runs between matches pair by position. A layer never
    pairs with one at another depth or under another parent; what has no partner is 'only first' or 'only
    second', and so is everything inside it. The pairs come in table order: a group before its layers."""
    children_a, children_b = _children(first), _children(second)
    pairs: list[LayerPair] = []

    def alone(record: LayerRecord, children: dict[str, list[LayerRecord]], side: int) -> None:
        pairs.append(LayerPair(record, None) if side == 0 else LayerPair(None, record))
        for child in children.get(record.name, ()):
            alone(child, children, side)

    def pair(a: LayerRecord, b: LayerRecord) -> None:
        pairs.append(LayerPair(a, b))
        level(children_a.get(a.name, []), children_b.get(b.name, []))

    def level(run_a: list[LayerRecord], run_b: list[LayerRecord]) -> None:
        names_a = [record.name.rsplit(".", 1)[-1] for record in run_a]
        names_b = [record.name.rsplit(".", 1)[-1] for record in run_b]
        matcher = difflib.SequenceMatcher(a=names_a, b=names_b, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            common = (a1 - a0) if tag == "equal" else min(a1 - a0, b1 - b0)
            for offset in range(common):
                pair(run_a[a0 + offset], run_b[b0 + offset])
            for record in run_a[a0 + common:a1]:
                alone(record, children_a, 0)
            for record in run_b[b0 + common:b1]:
                alone(record, children_b, 1)

    level(children_a.get("", []), children_b.get("", []))
    return pairs


def _children(records: list[LayerRecord]) -> dict[str, list[LayerRecord]]:
    """Each parent's name ('' for the model's top level) -> its layers, in order."""
    children: dict[str, list[LayerRecord]] = {}
    for record in records:
        parent = record.name.rsplit(".", 1)[0] if record.depth else ""
        children.setdefault(parent, []).append(record)
    return children
