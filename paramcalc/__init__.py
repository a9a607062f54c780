"""paramcalc: what a convolutional network costs, from a YAML spec, before any framework runs.

    >>> import paramcalc
    >>> result = paramcalc.analyze("specs/vgg16.yaml")
    >>> result.totals.params
    138357544

The names below are loaded on first use, so that `paramcalc` (the command) starts by importing only
what the command needs.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Analysis", "Graph", "LayerRecord", "Spec", "SpecError", "Totals", "analyze", "expand", "load_spec",
           "__version__"]

_HOMES = {"Analysis": "analysis", "LayerRecord": "analysis", "Totals": "analysis", "analyze": "analysis",
          "SpecError": "errors", "Graph": "graph", "expand": "graph", "Spec": "spec", "load_spec": "spec"}

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .analysis import Analysis, LayerRecord, Totals, analyze
    from .errors import SpecError
    from .graph import Graph, expand
    from .spec import Spec, load_spec


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'paramcalc' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
