"""What an analysis gives: one record per layer and group, the model's totals, and the result that holds them.

Results are plain, immutable data. How a result shows itself (in a rich console, in Jupyter, as the JSON
report's data) is paramcalc.render's business: render registers those functions in DISPLAYS, so that the
engine never imports a renderer.
"""

from __future__ import annotations

import copy
import operator
from collections import namedtuple
from functools import cached_property
from typing import Any, Callable

from ..limits import MAX_SIZE
from .dims import Dim, Shape, is_concrete
from .receptive import ReceptiveField
from .conditions import Condition
from .symbolic import evaluate

REPORT_SCHEMA = "paramcalc.report/1"  # the JSON of `show`, which `check --baseline` also reads
CHECK_SCHEMA = "paramcalc.check/1"  # the JSON of `check`, the same

# 'rich', 'html' and 'data': functions of an Analysis, registered by paramcalc.render
DISPLAYS: dict[str, Callable[[Analysis], Any]] = {}


class LayerRecord(namedtuple("LayerRecord", ["name", "depth", "kind", "is_group", "inputs", "shape", "params",
                                              "trainable", "buffers", "macs", "flops", "activations", "rf", "line",
                                              "repeated", "parent", "train_only"],
                             defaults=(0, 0, 0, 0, 0, 0, None, 0, "", None, False))):
    """Everything paramcalc knows about one layer (or, for a group, the sum of its layers).

    shape is per sample, without the batch; macs, flops and activations (output elements) include the
    batch; rf is the receptive field; repeated says what a repeat group repeats ('bottleneck ×3'); parent is
    the index of the enclosing group's record. A layer that runs only in training (train_only) has parameters
    and buffers, but no MACs, FLOPs or activations at inference.
    """

    __slots__ = ()

    @property
    def frozen(self) -> Dim:
        return self.params - self.trainable


class Totals(namedtuple("Totals", ["params", "trainable", "buffers", "macs", "flops", "param_bytes", "buffer_bytes",
                                   "activation_bytes", "input_bytes", "output_shape", "rf", "layers"])):
    """The model's figures; bytes are elements x bytes per element of the dtype."""

    __slots__ = ()

    @property
    def frozen(self) -> Dim:
        return self.params - self.trainable


Conditions = tuple[tuple[Condition, str], ...]  # (condition, the first layer that imposed it)


class Analysis:
    """The result: one record per layer and group in spec order (a group before its layers), and totals."""

    training: Any = None  # a training step's figures (paramcalc.engine.training.Training), when asked for

    def __init__(self, name: str, file: str, input_shape: Shape, batch: int, dtype: str, dtype_bytes: int,
                 records: tuple[LayerRecord, ...], totals: Totals, description: str = "",
                 conditions: Conditions = (), training_conditions: Conditions = (),
                 not_run: tuple[str, ...] = ()) -> None:
        self.name, self.file, self.description = name, file, description
        self.input_shape, self.batch, self.dtype, self.dtype_bytes = input_shape, batch, dtype, dtype_bytes
        self.records, self.totals = records, totals
        self.conditions = conditions  # symbolic input: the sizes the model works for at inference
        self.training_conditions = training_conditions  # ... and those only layers that run in training add
        self.not_run = not_run  # layers that run only in training and cannot at this input size: 'name: why'

    @property
    def symbols(self) -> tuple[str, ...]:
        """The input's symbols in order ('H', 'W'); empty for concrete sizes."""
        names: list[str] = []
        for size in self.input_shape:
            if not is_concrete(size):
                names += [name for name in sorted(size.symbols()) if name not in names]
        return tuple(names)

    def at(self, values: dict[str, int]) -> Analysis:
        """This symbolic result at concrete values of the symbols, every figure evaluated exactly.

        Raises ValueError naming the first condition the values do not meet, or a value that is missing or not a
        size a spec allows (a whole number from 1 to limits.MAX_SIZE: the formulas are exact there, not beyond)."""
        values = {name: _size_given(name, values.get(name)) for name in self.symbols}
        for condition, layer in self.conditions:
            if not condition.holds(values):
                raise ValueError(f"{condition} does not hold (layer {layer})")

        def concrete(item: Any) -> Any:  # a receptive field keeps its type; sizes and shapes are evaluated
            return item._replace(map_size=evaluate(item.map_size, values)) if isinstance(item, ReceptiveField) \
                else evaluate(item, values)

        records = tuple(LayerRecord(*map(concrete, record)) for record in self.records)
        not_run = tuple(f"{condition} does not hold (layer {layer})" for condition, layer in self.training_conditions
                        if not condition.holds(values))
        return Analysis(self.name, self.file, evaluate(self.input_shape, values), self.batch, self.dtype,
                        self.dtype_bytes, without_training_shapes(records) if not_run else records,
                        Totals(*map(concrete, self.totals)), self.description, not_run=not_run)

    def to_depth(self, depth: int) -> Analysis:
        """The same result with the records of the first `depth` levels only (a collapsed group's record sums
        its layers); the totals are the whole model's."""
        result = copy.copy(self)
        result.records = tuple(record for record in self.records if record.depth < depth)
        result.__dict__.pop("_by_name", None)
        return result

    def leaves(self) -> list[LayerRecord]:
        return [record for record in self.records if not record.is_group]

    @cached_property
    def _by_name(self) -> dict[str, LayerRecord]:
        return {record.name: record for record in self.records}

    def __getitem__(self, name: str) -> LayerRecord:
        return self._by_name[name]

    def __repr__(self) -> str:
        return f"Analysis({self.name!r}, params={self.totals.params}, macs={self.totals.macs})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data with exact integers: the schema of `paramcalc show --format json`."""
        return DISPLAYS["data"](self)

    def __rich__(self) -> Any:
        """In a rich console: the table and totals of `paramcalc show`."""
        return DISPLAYS["rich"](self)

    def _repr_html_(self) -> str | None:
        """In Jupyter: the same table, as HTML (once: the notebook shows what this returns)."""
        display = DISPLAYS.get("html")
        return display(self) if display else None


def _size_given(name: str, value: Any) -> int:
    """A value given to Analysis.at as a plain int, or ValueError when it is not a size a spec allows."""
    size = None if isinstance(value, bool) or not hasattr(value, "__index__") else operator.index(value)
    if size is None or not 1 <= size <= MAX_SIZE:
        given = ("no value" if value is None else repr(value)[:40] if size is None else
                 f"{size:,}" if abs(size) < 10**18 else f"a number of {size.bit_length():,} bits")
        raise ValueError(f"{name} must be a whole number from 1 to {MAX_SIZE:,}, got {given}")
    return size


def without_training_shapes(records: tuple[LayerRecord, ...]) -> tuple[LayerRecord, ...]:
    """At an input size where training fails, the layers that run only in training have no shape or field:
    inference runs without them, and their parameters are counted as the spec builds them."""
    return tuple(record._replace(shape=None, rf=None) if record.train_only else record for record in records)
