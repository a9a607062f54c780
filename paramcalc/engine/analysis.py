"""Graph -> one record per layer and group, and the model's totals. Prints nothing.

The analysis walks the nodes in spec order (every layer's inputs come before it): each layer's figures
follow from its input shapes (identical layers share one object, so a repeated block is worked out once),
its receptive field from its inputs' fields. A group's record sums its layers, and the totals sum the
model's top level, each in its own step once every layer has its record.
"""

from __future__ import annotations

import os
from collections import namedtuple
from itertools import chain
from typing import Any

from .. import limits
from ..errors import LayerError, SpecError
from ..limits import MAX_RANK, MAX_SIZE, MAX_TENSOR_SIZE
from ..spec.format import Spec
from ..spec.literals import shorten
from .cache import Cache
from .dims import Shape, is_concrete, numel, parse_shape, shape_parts
from .graph import INPUT_PORT, Expander, Graph, Node, expand, is_symbol_name
from .layers import WHOLE
from .receptive import Pair, ReceptiveField, Window, merge
from .records import Analysis, LayerRecord, Totals, without_training_shapes
from .specs import as_spec
from .conditions import Past, collecting, require_at_most, strongest, within_everywhere


class Figures(namedtuple("Figures", "shape params buffers macs flops elements window reads_whole_map map_size")):
    """One layer's figures for one sample, at one input shape. window is its receptive-field step (None: it
    moves the field on as an element-wise layer does); map_size the (height, width) of a feature-map output."""

    __slots__ = ()


_UNIT_WINDOW = Window((1, 1), (1, 1), (0, 0))
_SUMMED = ("params", "trainable", "buffers", "macs", "flops", "activations")


def analyze(source: str | os.PathLike | dict | Spec | Graph, *, input: str | Shape | None = None,
            batch: int | None = None, dtype: str | None = None, depth: int | None = None,
            input_shape: Shape | None = None, cache: Cache | None = None) -> Analysis:
    """Analyse a spec given as a path, YAML text (a string with a line break), a mapping, a loaded Spec or
    an expanded Graph.

    The options are the command line's: `input` ('3x299x299', '3xHxW' or a tuple; `input_shape` is the same),
    `batch`, `dtype` (float32, fp16, ...) and `depth` (records of the first `depth` levels only; the totals
    always cover the whole model). A `cache` keeps expansions, figures and results between calls.
    """
    if input is not None:
        input_shape = parse_shape(input) if isinstance(input, str) else tuple(input)
        if input_shape is None:
            raise SpecError(f"input {shorten(repr(input))} is not a shape like 3x224x224 (or 3xHxW)",
                            hint=f"each size is a whole number from 1 to {MAX_SIZE:,}, or a name")
    if isinstance(source, Graph):
        result = Analyzer(source, cache).run()
    else:
        result = _analyze_spec(as_spec(source), input_shape, batch, dtype, cache)
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise SpecError(f"depth must be a whole number of at least 1, got {depth!r}", file=result.file)
        return result.to_depth(depth)
    return result


def _analyze_spec(spec: Spec, input_shape: Shape | None, batch: int | None, dtype: str | None,
                  cache: Cache | None) -> Analysis:
    key = (input_shape and tuple(input_shape), batch, dtype)
    kept = cache.of_spec(spec) if cache is not None else None
    if kept is not None and key in kept.results:
        return kept.results[key]
    try:
        result = Analyzer(expand(spec, input_shape, batch, dtype, cache), cache).run()
    except SpecError as err:
        err.located(file=spec.file)
        raise
    if kept is not None:
        kept.keep_result(key, result)
    return result


def require_concrete(result: Analysis, task: str, spec: Spec | None = None) -> Analysis:
    """The result, or a SpecError when its input is symbolic and `task` needs numbers.

    With the spec, the sizes came from its `input:` line (the message points there); without it, from --input.
    """
    if result.symbols:
        raise _needs_numbers(task, result.input_shape, result.file, spec)
    return result


def concrete_spec(spec: Any, task: str) -> Any:
    """The spec, or, when its input has names, the error require_concrete would give after the analysis, before
    it (the analysis works out every formula first, and a deep network's take long)."""
    raw = spec.input
    if any(is_symbol_name(item, {}) for item in (shape_parts(raw) if isinstance(raw, str) else
                                                 raw if isinstance(raw, list) else [])):
        expander = Expander(spec)  # a name may be one of the spec's vars
        shape, _ = expander.sizes(expander.variables())
        if not all(is_concrete(size) for size in shape):
            raise _needs_numbers(task, shape, spec.file, spec)
    return spec


def _needs_numbers(task: str, shape: Shape, file: str | None, spec: Spec | None) -> SpecError:
    from .dims import format_shape

    hint = ("write numbers in the spec's 'input:', e.g. input: [3, 224, 224]" if spec is not None else
            "give the sizes with --input, e.g. --input 3x224x224")
    return SpecError(f"{task} needs concrete input sizes, but the input is {format_shape(shape)}",
                     pos=spec.input_pos if spec is not None else None, file=file,
                     hint=hint + " (paramcalc show --at evaluates the formulas at given sizes)")


def port_shape(result: Analysis, graph: Graph, port: int) -> Shape:
    """The per-sample shape a port carries: the model's input or a layer's output."""
    return graph.input_shape if port == INPUT_PORT else result.records[port].shape


def port_field(result: Analysis, graph: Graph, port: int) -> ReceptiveField | None:
    """The receptive field at a port."""
    return ReceptiveField.of_input(graph.input_shape) if port == INPUT_PORT else result.records[port].rf


def _map_at(shape: Shape, axes: tuple) -> Pair | None:
    """The map's (height, width) in a shape whose positions sit at `axes`; None once they are flattened."""
    return (shape[axes[0]], shape[axes[1]]) if len(axes) == 2 else None


def _too_large(size: str, largest: int, where: str = "") -> LayerError:
    return LayerError(f"the output size {size} is more than PyTorch's largest ({largest:,}){where}",
                      hint="check what makes it grow: a layer that doubles a size (a concat of a layer with itself, "
                           "an upsample, a strided transposed convolution) inside a repeat grows it without bound")


class Analyzer:
    """One analysis of one graph. With symbolic input sizes, it also collects the conditions the sizes must
    meet, and leaves out a receptive field that would depend on the input size."""

    def __init__(self, graph: Graph, cache: Cache | None = None) -> None:
        self.graph, self.cache = graph, cache
        self.symbolic = not all(is_concrete(size) for size in graph.input_shape)
        count = len(graph.nodes)
        self.shapes: list[Any] = [None] * count + [graph.input_shape]  # by port: INPUT_PORT (-1) is the last
        self.fields: list[ReceptiveField | None] = [None] * (count + 1)
        self.fields[-1] = ReceptiveField.of_input(graph.input_shape)
        self.known: dict[tuple, Figures] = {}  # (layer object, input shapes) -> figures, in this analysis
        self.conditions: list[tuple[Any, str]] = []
        self.training_conditions: list[tuple[Any, str]] = []
        self.reference: Analysis | None = None  # the analysis at the spec's own size, for train-only layers
        self.not_run: list[str] = []  # train-only layers that cannot take this input size, and why

    def run(self) -> Analysis:
        graph = self.graph
        records: list[LayerRecord | None] = [None] * len(graph.nodes)
        for node in graph.nodes:
            if node.layer is not None:
                records[node.index] = self.layer_record(node)
        self.add_groups(records)
        layers = [record for record in records if record is not None]
        totals = self.totals([record for record in layers if record.depth == 0], len(self.graph.nodes) - sum(
            record.is_group for record in layers))
        conditions = tuple(strongest(self.conditions))
        inference = {condition for condition, _ in conditions}  # training needs these and any stronger
        training = tuple(pair for pair in strongest(self.conditions + self.training_conditions)
                         if pair[0] not in inference)
        spec = graph.spec
        final = tuple(layers)
        return Analysis(name=spec.name, file=spec.file, input_shape=graph.input_shape, batch=graph.batch,
                        dtype=graph.dtype, dtype_bytes=graph.dtype_bytes, description=spec.description,
                        records=without_training_shapes(final) if self.not_run else final, totals=totals,
                        conditions=conditions, training_conditions=training, not_run=tuple(self.not_run))

    # --- one layer ----------------------------------------------------------------------------------------
    def layer_record(self, node: Node) -> LayerRecord:
        ports = node.inputs
        inputs = [self.shapes[port] for port in ports]
        figures = self.train_only_figures(node, inputs) if node.train_only else self.figures(node, inputs)
        self.shapes[node.index] = figures.shape
        self.fields[node.index] = self.field(node.layer, ports, figures, inputs)
        batch = self.graph.batch
        runs = not node.train_only  # a layer that runs only in training does no work at inference
        return LayerRecord(
            name=node.name, depth=node.depth, kind=node.kind, is_group=False, inputs=node.input_names,
            shape=figures.shape, params=figures.params, trainable=0 if node.frozen else figures.params,
            buffers=figures.buffers, macs=figures.macs * batch if runs else 0,
            flops=figures.flops * batch if runs else 0, activations=figures.elements * batch if runs else 0,
            rf=self.fields[node.index], line=node.pos.line, parent=node.parent, train_only=node.train_only)

    def figures(self, node: Node, inputs: list[Shape]) -> Figures:
        """The layer's figures at these input shapes, worked out once per layer object and shapes (and kept by
        a cache, if there is one); with symbolic sizes, the conditions they put on the input are collected."""
        layer = node.layer
        key = (layer, tuple(inputs))
        figures = self.known.get(key)
        if figures is not None:
            return figures
        kept = self.cache.figures(layer) if self.cache is not None and not self.symbolic else None
        figures = kept.get(key[1]) if kept is not None else None
        if figures is None:
            with collecting() as found:
                figures = self.work_out(node, inputs)
            conditions = self.training_conditions if node.train_only else self.conditions
            conditions.extend((condition, node.name) for condition in found)
            if kept is not None:
                Cache.keep_figures(kept, key[1], figures)
        if not self.symbolic:  # a symbolic layer's conditions are found again wherever it is used
            self.known[key] = figures
        return figures

    def work_out(self, node: Node, inputs: list[Shape]) -> Figures:
        layer: Any = node.layer
        try:
            shape = layer.output_shape(inputs)
            if len(shape) > MAX_RANK:
                raise LayerError(f"the output has {len(shape):,} dimensions; paramcalc takes at most {MAX_RANK}")
            shape = self.within_largest(node, shape)
            window = layer.window(inputs, shape)
            return Figures(shape=shape, params=layer.params(inputs), buffers=layer.buffers(inputs),
                           macs=layer.macs(inputs, shape), flops=layer.flops(inputs, shape), elements=numel(shape),
                           window=None if window == _UNIT_WINDOW else window,
                           reads_whole_map=layer.reads_whole_map(inputs),
                           map_size=layer.map_size(inputs, shape))
        except LayerError as err:
            hint = err.hint
            if node.train_only:
                hint = ("this layer runs only in training: at this input size training fails, although inference "
                        "would run (paramcalc needs its shapes to count its parameters)"
                        + (f"; {hint}" if hint else ""))
            raise SpecError(err.message, pos=node.where(err.field), layer=node.name,
                            hint=hint, file=self.graph.spec.file) from None

    def within_largest(self, node: Node, shape: Shape) -> Shape:
        """The shape, or a LayerError when a size is more than PyTorch's largest (limits.MAX_TENSOR_SIZE, read when
        asked, so that a test can lower it). A symbolic size is more at every input size when it is at the
        smallest the conditions so far allow; else, when it is at the largest, it adds an upper bound
        (symbolic.require_at_most), and may come back simpler (a term that cannot change under that bound)."""
        largest = limits.MAX_TENSOR_SIZE
        sizes: list | None = None  # a copy only when a size comes back simpler: this runs for every layer
        for index, size in enumerate(shape):
            if type(size) is int:
                if size > largest:
                    raise _too_large(f"{size:,}", largest)
            elif not within_everywhere(size, largest):  # a quick bound first: every size of an ordinary network
                known = [condition for condition, _ in chain(self.conditions, self.training_conditions
                                                             if node.train_only else ())]
                checked = require_at_most(size, largest, known)
                if isinstance(checked, Past):
                    values = ", ".join(f"{name} = {value:,}" for name, value in checked.values.items())
                    raise _too_large(f"{size}", largest, f" at every input size: at {values} it is {checked.size:,}")
                sizes = sizes or list(shape)
                sizes[index] = checked
        return shape if sizes is None else tuple(sizes)

    def train_only_figures(self, node: Node, inputs: list[Shape]) -> Figures:
        """A layer that runs only in training: its figures, or, when it cannot take this input size (an auxiliary
        head on a small input, which inference never runs), no shape and the parameters and buffers it has at the
        spec's own input size, which is the size its module is built for."""
        error: SpecError | None = None
        if None not in inputs:
            try:
                return self.figures(node, inputs)
            except SpecError as err:
                error = err
        reference = self.reference_analysis()
        record = reference.records[node.index] if reference is not None else None
        if record is None or record.name != node.name or record.shape is None:
            raise error or SpecError("paramcalc cannot size this layer", layer=node.name)
        if error is not None:
            self.not_run.append(f"{node.name}: {error.message}")
        return Figures(None, record.params, record.buffers, 0, 0, 0, None, False, None)

    def reference_analysis(self) -> Analysis | None:
        """The analysis at the spec's own (concrete) input size, or None when there is none to fall back on."""
        if self.reference is None:
            own = expand(self.graph.spec, cache=self.cache)
            if own.input_shape == self.graph.input_shape or not all(is_concrete(size) for size in own.input_shape):
                return None
            try:
                self.reference = Analyzer(own, self.cache).run()
            except SpecError:
                return None
        return self.reference

    # --- receptive fields ---------------------------------------------------------------------------------
    def field(self, layer: Any, ports: tuple[int, ...], figures: Figures,
              inputs: list[Shape]) -> ReceptiveField | None:
        if figures.shape is None:  # a train-only layer that cannot run at this size
            return None
        known = [self.fields[port] for index, port in enumerate(ports) if index not in layer.size_inputs]
        if None in known:  # a path not followed: only a global field, or a layer reading every position, is known
            whole = next((field for field in known if field is not None and field.is_global), None)
            if whole is not None:
                return whole  # not followed so far: only a layer that reads every position has a field again
            start = self.fields[-1]
            if not figures.reads_whole_map or start is None or not all(is_concrete(s) for s in start.map_size):
                return None
            return ReceptiveField.global_on(start.map_size, figures.map_size)
        if len(known) > 1:
            if len({field.axes for field in known}) > 1:  # type: ignore[union-attr]
                return None
            axes = known[0].axes  # type: ignore[union-attr]
            if layer.positions(inputs, figures.shape, axes) != axes:  # a concat along the map joins positions
                return None
            if (len(axes) == 1 and not any(field.is_global for field in known)  # type: ignore[union-attr]
                    and len({field.map_size for field in known}) > 1):  # type: ignore[union-attr]
                return None  # flattened maps of different sizes: a unit's pixel and its window sit apart
            # flat: the map a full-resolution operand's units sit on (a global one's is 1 x 1, broadcast over it)
            return merge(known, _map_at(figures.shape, axes) or next(  # type: ignore
                (field.map_size for field in known if not field.is_global), known[0].map_size))  # type: ignore
        field: ReceptiveField = known[0]  # type: ignore[assignment]
        stepped = self.single_step(layer, field, figures, inputs)
        return field if stepped is None and field.is_global else stepped  # once global, global from then on

    def single_step(self, layer: Any, field: ReceptiveField, figures: Figures,
                    inputs: list[Shape]) -> ReceptiveField | None:
        if figures.window is not None:
            if field.axes != (1, 2) or len(inputs[0]) != 3:
                return None
            stepped = self.field_step(field, figures.window, figures.reads_whole_map, figures.map_size)
            return stepped if stepped is None or len(figures.shape) == 3 else stepped._replace(axes=(0,))
        if figures.reads_whole_map:
            return self.field_step(field, None, True, figures.map_size)
        axes = layer.positions(inputs, figures.shape, field.axes)
        if axes is None:
            return None
        if axes == WHOLE:  # every position read at once; a layer that drops their axes (a mean) leaves a vector
            stepped = self.field_step(field, None, True, None)
            return stepped if stepped is None or max(stepped.axes) < len(figures.shape) else stepped._replace(axes=(0,))
        map_size = _map_at(figures.shape, axes) or field.map_size
        return field if axes == field.axes and map_size == field.map_size else \
            field._replace(axes=axes, map_size=map_size)

    def field_step(self, field: ReceptiveField, window: Window | None, whole: bool,
                   map_size: Pair | None) -> ReceptiveField | None:
        """The field after a layer with a window, or one that reads the whole map (then the map is 1x1 unless
        the layer keeps a feature map); a flat output keeps the last map's size. With symbolic sizes, a
        field that would depend on the input size is left out."""
        if self.symbolic:
            if window is not None and not all(is_concrete(size) for part in window for size in part):
                return None
            if whole and not all(is_concrete(size) for size in field.map_size):
                return None
        if window is None:
            stepped = field.through(Window.whole(field.map_size), map_size or (1, 1), True)
        else:
            stepped = field.through(window, map_size or field.map_size, whole)
        if max(*stepped.size, *stepped.stride, *stepped.padding) > MAX_TENSOR_SIZE:
            return None  # strides multiplied past any size PyTorch holds (a 1e9 stride, repeated): not followed
        return stepped

    # --- groups and totals --------------------------------------------------------------------------------
    def add_groups(self, records: list[LayerRecord | None]) -> None:
        """Each group's record: the sums of its layers' figures (a group comes before its layers, so walking
        backwards finds every group's layers summed before the group itself)."""
        nodes = self.graph.nodes
        sums: dict[int, list] = {node.index: [0] * len(_SUMMED) for node in nodes if node.layer is None}
        for node in reversed(nodes):
            if node.layer is None:
                record = records[node.index] = LayerRecord(
                    name=node.name, depth=node.depth, kind=node.kind, is_group=True, inputs=node.input_names,
                    shape=self.shapes[node.output], **dict(zip(_SUMMED, sums[node.index])),
                    rf=self.fields[node.output], line=node.pos.line, repeated=node.repeated, parent=node.parent,
                    train_only=node.train_only)
            else:
                record = records[node.index]  # type: ignore[assignment]  # every layer has its record by now
            if node.parent is not None:
                total = sums[node.parent]
                for index, name in enumerate(_SUMMED):
                    total[index] += getattr(record, name)

    def totals(self, top: list[LayerRecord], layer_count: int) -> Totals:
        graph = self.graph
        size = graph.dtype_bytes
        params, trainable, buffers, macs, flops, activations = (sum(getattr(r, name) for r in top) for name in _SUMMED)
        return Totals(params=params, trainable=trainable, buffers=buffers, macs=macs, flops=flops,
                      param_bytes=params * size, buffer_bytes=buffers * size, activation_bytes=activations * size,
                      input_bytes=numel(graph.input_shape) * graph.batch * size,
                      output_shape=self.shapes[graph.output], rf=self.fields[graph.output], layers=layer_count)
