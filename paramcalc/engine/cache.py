"""What analyses may keep between calls, owned by whoever asks for it.

    cache = paramcalc.Cache()
    for size in range(200, 600, 8):
        paramcalc.analyze(spec, input=(3, size, size), cache=cache)

A Cache keeps, per loaded spec, its vars, its own input size and its expansions, and its last RESULTS_KEPT
results; and per layer object (identical layers share one) its figures for its last FIGURES_KEPT input
shapes. Everything is bounded, so a sweep over thousands of sizes runs in bounded memory, and everything is
let go with the specs and the cache. Without a cache, each analysis works everything out afresh (one
analysis still works out the figures of identical layers once).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from weakref import WeakKeyDictionary

RESULTS_KEPT = 16  # per spec
FIGURES_KEPT = 64  # per layer object
EXPANSIONS_KEPT = 16  # per spec whose blocks read their input's size (one expansion per input size)


class SpecCache:
    """One spec's kept values: its vars and own sizes, its expansions, and its recent results."""

    def __init__(self) -> None:
        self.variables: dict[str, Any] | None = None
        self.sizes: tuple | None = None  # the spec's own input shape and batch
        self.expansions: OrderedDict[Any, Any] = OrderedDict()
        self.results: OrderedDict[tuple, Any] = OrderedDict()

    def keep_expansion(self, key: Any, expansion: Any) -> None:
        self.expansions[key] = expansion
        if len(self.expansions) > EXPANSIONS_KEPT:
            self.expansions.popitem(last=False)

    def keep_result(self, key: tuple, result: Any) -> None:
        self.results[key] = result
        if len(self.results) > RESULTS_KEPT:
            self.results.popitem(last=False)


class Cache:
    def __init__(self) -> None:
        self._specs: WeakKeyDictionary[Any, SpecCache] = WeakKeyDictionary()
        self._figures: WeakKeyDictionary[Any, OrderedDict] = WeakKeyDictionary()

    def of_spec(self, spec: Any) -> SpecCache:
        kept = self._specs.get(spec)
        if kept is None:
            kept = self._specs[spec] = SpecCache()
        return kept

    def figures(self, layer: Any) -> OrderedDict:
        """A layer object's figures, by input shape (the analysis adds to it and bounds it)."""
        kept = self._figures.get(layer)
        if kept is None:
            kept = self._figures[layer] = OrderedDict()
        return kept

    @staticmethod
    def keep_figures(kept: OrderedDict, key: Any, figures: Any) -> None:
        kept[key] = figures
        if len(kept) > FIGURES_KEPT:
            kept.popitem(last=False)
