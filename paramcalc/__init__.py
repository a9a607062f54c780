"""paramcalc: what a convolutional network costs, from a YAML spec, before any framework runs.

    >>> import paramcalc
    >>> result = paramcalc.analyze("specs/vgg16.yaml")
    >>> result.totals.params
    138357544
"""

from .analysis import Analysis, LayerRecord, Totals, analyze
from .errors import SpecError
from .graph import Graph, expand
from .spec import Spec, load_spec

__version__ = "0.1.0"

__all__ = ["Analysis", "Graph", "LayerRecord", "Spec", "SpecError", "Totals", "analyze", "expand", "load_spec",
           "__version__"]
