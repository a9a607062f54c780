"""paramcalc: what a neural network costs, from a YAML spec, before any framework runs.

    >>> import paramcalc
    >>> result = paramcalc.analyze("specs/vgg16.yaml")
    >>> result.totals.params
    138357544

The stages, in the order data flows: paramcalc.spec (YAML text -> a validated Spec), paramcalc.engine (Spec ->
expanded Graph -> Analysis), paramcalc.render (Analysis -> tables, JSON, CSV, Markdown), paramcalc.cli (the
command line). paramcalc.importing reads PyTorch and ONNX models into specs; paramcalc.torch builds, exports and
verifies PyTorch modules (it needs the torch extra).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import render  # noqa: F401  (registers how a result shows itself in rich consoles and Jupyter)
from .engine.analysis import analyze
from .engine.cache import Cache
from .engine.graph import Graph, expand
from .engine.records import Analysis, LayerRecord, Totals
from .engine.specs import load_spec, loads_spec, spec_from_dict
from .errors import SpecError
from .spec.format import Spec

__version__ = "0.3.0"

if TYPE_CHECKING:
    from .engine.hardware import roofline
    from .engine.training import analyze_training
    from .spec.devices import read_devices

# what a command that shows a table does not need is imported when first asked for
_LATER = {"analyze_training": ".engine.training", "roofline": ".engine.hardware", "read_devices": ".spec.devices"}


def __getattr__(name: str) -> Any:
    if name in _LATER:
        return getattr(import_module(_LATER[name], __name__), name)
    raise AttributeError(f"module 'paramcalc' has no attribute '{name}'")


__all__ = ["Analysis", "Cache", "Graph", "LayerRecord", "Spec", "SpecError", "Totals", "__version__", "analyze",
           "analyze_training", "expand", "load_spec", "loads_spec", "read_devices", "roofline", "spec_from_dict"]
