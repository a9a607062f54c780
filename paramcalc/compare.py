"""Side by side: the models' figures against the first one, and a layer-by-layer alignment of two models."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .analysis import Analysis, LayerRecord
from .budget import FIGURES, figures_of


@dataclass(frozen=True)
class FigureRow:
    key: str
    label: str
    unit: str  # 'count', 'bytes', 'shape' or 'field'
    values: tuple  # one per model, in the order given

    def differences(self) -> list[int | None]:
        """Each value minus the first one's (None for figures that are not numbers)."""
        if self.unit not in ("count", "bytes"):
            return [None] * len(self.values)
        return [value - self.values[0] for value in self.values]

    def ratios(self) -> list[float | None]:
        if self.unit not in ("count", "bytes"):
            return [None] * len(self.values)
        first = self.values[0]
        return [value / first if first else None for value in self.values]


def figure_rows(results: list[Analysis]) -> list[FigureRow]:
    numbers = [figures_of(result.totals) for result in results]
    rows = [FigureRow(key, figure.label, figure.unit, tuple(n[key] for n in numbers))
            for key, figure in FIGURES.items()]
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
    """Pair layers by name (keeping both models' order); unmatched runs between matches pair by position."""
    names_a, names_b = [r.name for r in first], [r.name for r in second]
    pairs: list[LayerPair] = []
    matcher = difflib.SequenceMatcher(a=names_a, b=names_b, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(LayerPair(first[a0 + i], second[b0 + i]) for i in range(a1 - a0))
            continue
        run_a, run_b = first[a0:a1], second[b0:b1]
        common = min(len(run_a), len(run_b))
        pairs.extend(LayerPair(run_a[i], run_b[i]) for i in range(common))
        pairs.extend(LayerPair(record, None) for record in run_a[common:])
        pairs.extend(LayerPair(None, record) for record in run_b[common:])
    return pairs
