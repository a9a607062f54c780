"""Graph -> one record per layer and group, and the model's totals. Prints nothing."""

from __future__ import annotations

import copy
from collections import namedtuple
from functools import cached_property
from operator import add

from .dims import Dim, Shape, format_shape, is_concrete, numel, parse_shape
from .errors import SpecError
from .gcpause import paused_gc
from .graph import INPUT_PORT, Graph, Node, expand
from .layers import LayerError
from .limits import MAX_TENSOR_SIZE
from .receptive import Field, Window, merge
from .spec import Spec, load_spec

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from os import PathLike
    from typing import Any

    from .receptive import Pair


class LayerRecord(namedtuple("LayerRecord", ["name", "depth", "kind", "is_group", "inputs", "shape", "params",
                                              "trainable", "buffers", "macs", "flops", "activations", "rf", "line",
                                              "repeated", "parent", "train_only"],
                             defaults=(0, 0, 0, 0, 0, 0, None, 0, "", None, False))):
    """Everything paramcalc knows about one layer (or, for a group, the sum of its layers). Immutable.

    shape is per sample, without the batch; macs, flops and activations (output elements) include the
    batch; rf is the receptive field; repeated says what a repeat group repeats ('bottleneck ×3').
    A layer that runs only in training (train_only) has parameters and buffers, but no MACs, FLOPs or
    activations at inference.
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


class Analysis:
    """The result: one record per layer and group in spec order (a group before its layers), and totals."""

    def __init__(self, name: str, file: str, input_shape: Shape, batch: int, dtype: str, dtype_bytes: int,
                 records: tuple[LayerRecord, ...], totals: Totals, description: str = "",
                 conditions: tuple = (), training_conditions: tuple = (), not_run: tuple[str, ...] = ()) -> None:
        self.name, self.file, self.description = name, file, description
        self.input_shape, self.batch, self.dtype, self.dtype_bytes = input_shape, batch, dtype, dtype_bytes
        self.records, self.totals = records, totals
        self.conditions = conditions  # symbolic input: ((Condition, layer name), ...) the sizes must meet
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

    def at(self, values: dict[str, int]) -> "Analysis":
        """This symbolic result at concrete values of the symbols, every figure evaluated exactly.

        Raises ValueError naming the first condition the values do not meet."""
        from .symbolic import evaluate

        for condition, layer in self.conditions:
            if not condition.holds(values):
                raise ValueError(f"{condition} does not hold (layer {layer})")

        def concrete(item: Any) -> Any:  # a receptive field keeps its type; sizes and shapes are evaluated
            return item._replace(map_size=evaluate(item.map_size, values)) if isinstance(item, Field) \
                else evaluate(item, values)

        records = tuple(LayerRecord(*map(concrete, r)) for r in self.records)
        not_run = tuple(f"{condition} does not hold (layer {layer})" for condition, layer in self.training_conditions
                        if not condition.holds(values))
        return Analysis(self.name, self.file, evaluate(self.input_shape, values), self.batch, self.dtype,
                        self.dtype_bytes, without_training_shapes(records) if not_run else records,
                        Totals(*map(concrete, self.totals)), self.description, not_run=not_run)

    def to_depth(self, depth: int) -> "Analysis":
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
        from .render.report import report_data

        return report_data(self)

    def __rich__(self) -> Any:
        """In a rich console: the table and totals of `paramcalc show`."""
        from .render.grid import _lines, styled_text
        from .render.table import show_blocks

        return styled_text(_lines(show_blocks(self, list(self.records), "macs", False)))

    def _repr_html_(self) -> str:
        """In Jupyter: the same table, as HTML."""
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), record=True, force_terminal=True, force_jupyter=False, width=200)
        console.print(self.__rich__(), soft_wrap=True)
        return console.export_html(inline_styles=True, code_format="<pre style=\"font-family: monospace\">{code}</pre>")


def analyze(source: str | PathLike | dict | Spec | Graph, *, input: str | Shape | None = None,
            batch: int | None = None, dtype: str | None = None, depth: int | None = None,
            input_shape: Shape | None = None) -> Analysis:
    """Analyse a spec given as a path, YAML text, a mapping, a loaded Spec or an expanded Graph.

    The options are the command line's: `input` ('3x299x299', '3xHxW' or a tuple; `input_shape` is the same),
    `batch`, `dtype` (float32, fp16, ...) and `depth` (records of the first `depth` levels only; the totals
    always cover the whole model). Results are immutable. A loaded Spec remembers its expansion and its last
    RESULTS_KEPT results (per input size, batch and dtype), so analysing it again costs a dictionary look-up.
    """
    if input is not None:
        input_shape = parse_shape(input) if isinstance(input, str) else tuple(input)
        if input_shape is None:
            raise SpecError(f"input {input!r} is not a shape like 3x224x224 (or 3xHxW)")
    result = _analyze(source, input_shape, batch, dtype)
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise SpecError(f"depth must be a whole number of at least 1, got {depth!r}", file=result.file)
        return result.to_depth(depth)
    return result


def _analyze(source: str | PathLike | dict | Spec | Graph, input_shape: Shape | None, batch: int | None,
             dtype: str | None) -> Analysis:
    key = (input_shape and tuple(input_shape), batch, dtype)
    if isinstance(source, Spec):
        cached = source.results.get(key)
        if cached is not None:
            return cached
    with paused_gc():  # one pause for reading, expanding and analysing: the collector would run between pauses
        if isinstance(source, Graph):
            symbolic = not all(is_concrete(size) for size in source.input_shape)
            return (_SymbolicAnalyzer if symbolic else _Analyzer)(source).run()
        spec = source if isinstance(source, Spec) else load_spec(source)
        try:
            graph = expand(spec, input_shape, batch, dtype)
            analyzer = _Analyzer if all(is_concrete(size) for size in graph.input_shape) else _SymbolicAnalyzer
            result = analyzer(graph).run()
        except SpecError as err:
            err.located(file=spec.file)
            raise
        if len(spec.results) >= RESULTS_KEPT:  # a sweep over input sizes keeps the most recent
            del spec.results[next(iter(spec.results))]
        spec.results[key] = result
        return result


def without_training_shapes(records: tuple[LayerRecord, ...]) -> tuple[LayerRecord, ...]:
    """At an input size where training fails, the layers that run only in training have no shape or field:
    inference runs without them, and their parameters are counted as the spec builds them."""
    return tuple(record._replace(shape=None, rf=None) if record.train_only else record for record in records)


def require_concrete(result: Analysis, task: str, spec: Spec | None = None) -> Analysis:
    """The result, or a SpecError when its input is symbolic and `task` needs numbers.

    With the spec, the sizes came from its `input:` line (the message points there); without it, from --input.
    """
    if result.symbols:
        hint = ("write numbers in the spec's 'input:', e.g. input: [3, 224, 224]" if spec is not None else
                "give the sizes with --input, e.g. --input 3x224x224")
        raise SpecError(f"{task} needs concrete input sizes, but the input is {format_shape(result.input_shape)}",
                        pos=spec.input_pos if spec is not None else None, file=result.file,
                        hint=hint + " (paramcalc show --at evaluates the formulas at given sizes)")
    return result


def port_shape(result: Analysis, graph: Graph, port: int) -> Shape:
    """The per-sample shape a port carries: the model's input or a layer's output."""
    return graph.input_shape if port == INPUT_PORT else result.records[port].shape


def port_field(result: Analysis, graph: Graph, port: int) -> Field | None:
    """The receptive field at a port."""
    return Field.of_input(graph.input_shape) if port == INPUT_PORT else result.records[port].rf


_UNIT_WINDOW = ((1, 1), (1, 1), (0, 0))
FIGURES_KEPT = 64  # per layer object: the memory of a sweep over many input sizes stays bounded
RESULTS_KEPT = 16  # per Spec


_record = tuple.__new__  # a LayerRecord from a tuple of its fields, without the keyword handling of its __new__


class _Analyzer:
    """One pass over the nodes in spec order; a group's sums are added up as its layers come.

    Shapes and fields live in lists indexed by node, with the model's input in the last place, so that
    INPUT_PORT (-1) finds it. This loop is the hot path of every analysis: it reads each node's attributes
    once, finds the layer's figures by its input shape, passes the field of an element-wise layer on
    without a call, and makes one tuple per record.
    """

    conditions: tuple = ()

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        count = len(graph.nodes)
        shape = graph.input_shape
        self.shapes: list[Any] = [None] * count + [shape]
        self.fields: list[Field | None] = [None] * (count + 1)
        self.fields[-1] = Field.of_input(shape)
        self.reference: Analysis | None = None  # the analysis at the spec's own size, for train-only layers
        self.not_run: list[str] = []  # train-only layers that cannot take this input size, and why

    def run(self) -> Analysis:
        graph = self.graph
        nodes, batch = graph.nodes, graph.batch
        shapes, fields = self.shapes, self.fields
        records: list[Any] = [None] * len(nodes)
        groups: list[int] = []
        sums: dict[int, list] = {}  # group -> [params, trainable, buffers, MACs, FLOPs, activations] of its layers
        totals = [0, 0, 0, 0, 0, 0]
        # The figures of consecutive layers with one parent are added up in locals and handed to the parent
        # when it changes: six list updates per layer took a sixth of the analysis.
        parent_now, params_sum, trainable_sum, buffers_sum, macs_sum, flops_sum, elements_sum = None, 0, 0, 0, 0, 0, 0
        for node in nodes:
            index, ports, layer = node.index, node.inputs, node.layer
            if layer is None:
                groups.append(index)
                sums[index] = [0, 0, 0, 0, 0, 0]
                continue
            single = len(ports) == 1
            key = shapes[ports[0]] if single else tuple([shapes[port] for port in ports])  # the input shape(s)
            figures = layer.known_figures.get(key)
            if figures is None:
                figures = self.compute(node, key) if not node.train_only else self.train_only_figures(node, key)
            shape, params, buffers, macs, flops, elements, window, whole, map_size = figures
            shapes[index] = shape
            if shape is None:  # a layer that runs only in training, and cannot at this input size
                rf = None
            elif not single:
                rf = self.merged(ports, map_size)
            elif window is not None or whole:
                rf = fields[ports[0]]
                rf = None if rf is None else self.field_step(rf, window, whole, map_size)
            else:  # element-wise: the field moves on (to the new map size, after a 1x1 convolution)
                rf = fields[ports[0]]
                if shape is not key and map_size is not None and rf is not None and rf[3] != map_size:
                    rf = rf.with_map(map_size)
            fields[index] = rf
            parent, trainable = node.parent, 0 if node.frozen else params
            if node.train_only:  # it does not run at inference
                macs = flops = elements = 0
            elif batch != 1:
                macs, flops, elements = macs * batch, flops * batch, elements * batch
            records[index] = _record(LayerRecord, (
                node.name, node.depth, node.kind, False, node.input_names, shape, params, trainable, buffers, macs,
                flops, elements, rf, node.pos.line, "", parent, node.train_only))
            if parent != parent_now:
                target = totals if parent_now is None else sums[parent_now]
                target[:] = (target[0] + params_sum, target[1] + trainable_sum, target[2] + buffers_sum,
                             target[3] + macs_sum, target[4] + flops_sum, target[5] + elements_sum)
                params_sum = trainable_sum = buffers_sum = macs_sum = flops_sum = elements_sum = 0
                parent_now = parent
            if params != 0:  # zeros are skipped: each sum of large integers is a new object (a formula is never 0)
                params_sum += params
                trainable_sum += trainable
            if buffers != 0:
                buffers_sum += buffers
            if macs != 0:
                macs_sum += macs
            flops_sum += flops
            elements_sum += elements
        target = totals if parent_now is None else sums[parent_now]
        target[:] = (target[0] + params_sum, target[1] + trainable_sum, target[2] + buffers_sum,
                     target[3] + macs_sum, target[4] + flops_sum, target[5] + elements_sum)
        for index in reversed(groups):  # a group comes before the groups inside it: add those in first
            parent = nodes[index].parent
            target = totals if parent is None else sums[parent]
            target[:] = map(add, target, sums[index])
        for index in groups:
            node = nodes[index]
            records[index] = _record(LayerRecord, (
                node.name, node.depth, node.kind, True, node.input_names, shapes[node.output], *sums[index],
                fields[node.output], node.pos.line, node.repeated, node.parent, node.train_only))
        size = graph.dtype_bytes
        params, trainable, buffers, macs, flops, activations = totals
        result = Analysis(
            name=graph.spec.name, file=graph.spec.file, input_shape=graph.input_shape, batch=batch,
            dtype=graph.dtype, dtype_bytes=size, records=tuple(records), description=graph.spec.description,
            totals=Totals(params=params, trainable=trainable, buffers=buffers, macs=macs, flops=flops,
                          param_bytes=params * size, buffer_bytes=buffers * size,
                          activation_bytes=activations * size,
                          input_bytes=numel(graph.input_shape) * batch * size, output_shape=shapes[graph.output],
                          rf=fields[graph.output], layers=len(nodes) - len(groups)),
            conditions=self.conditions, not_run=tuple(self.not_run))
        if self.not_run:
            result.records = without_training_shapes(result.records)
        return result

    def train_only_figures(self, node: Node, key: Any) -> tuple:
        """A layer that runs only in training: its figures, or, when it cannot take this input size (an auxiliary
        head on a small input, which inference never runs), no shape and the parameters and buffers it has at the
        spec's own input size, which is the size its module is built for."""
        try:
            if key is not None and (len(node.inputs) == 1 or None not in key):
                return self.compute(node, key)
        except SpecError as err:
            error: SpecError | None = err
        else:
            error = None
        reference = self.reference_analysis(error)
        record = reference.records[node.index]
        if record.name != node.name or record.shape is None:
            raise error or SpecError("paramcalc cannot size this layer", layer=node.name)
        if error is not None:
            self.not_run.append(f"{node.name}: {error.message}")
        return (None, record.params, record.buffers, 0, 0, 0, None, False, None)

    def reference_analysis(self, error: SpecError | None) -> Analysis:
        if self.reference is None:
            spec = self.graph.spec
            own = expand(spec)
            if own.input_shape == self.graph.input_shape or not all(is_concrete(size) for size in own.input_shape):
                raise error or SpecError("paramcalc cannot size this layer")
            try:
                self.reference = _Analyzer(own).run()
            except SpecError:
                raise error or SpecError("paramcalc cannot size this layer") from None
        return self.reference

    def compute(self, node: Node, key: Any) -> tuple:
        """A layer's figures for input shapes it has not seen, kept by the layer object: identical layers share
        one object and a model repeats its blocks."""
        figures = self.figures_of(node, key)
        cache = node.layer.known_figures  # type: ignore[union-attr]
        if len(cache) >= FIGURES_KEPT:
            cache.clear()
        cache[key] = figures
        return figures

    def figures_of(self, node: Node, key: Any) -> tuple:
        """(shape, params, buffers, MACs, FLOPs, output elements, window, reads the whole map, map size) per
        sample, for the input shape `key` (a tuple of shapes for several inputs).

        A 1x1 window with stride 1 and no padding is given as None: the field moves on as through an
        element-wise layer. The map size is (height, width) of a feature-map output, else None."""
        layer: Any = node.layer
        inputs = [key] if len(node.inputs) == 1 else list(key)
        try:
            shape = layer.output_shape(inputs)
            for size in shape:
                if type(size) is int and size > MAX_TENSOR_SIZE:
                    raise LayerError(f"the output size {size:,} is more than PyTorch's largest ({MAX_TENSOR_SIZE:,})",
                                     hint="check what doubles the channels: a concat of a layer with itself, "
                                          "inside a repeat, grows without bound")
            window = layer.window(inputs, shape)
            return (shape, layer.params(inputs), layer.buffers(inputs), layer.macs(inputs, shape),
                    layer.flops(inputs, shape), numel(shape), None if window == _UNIT_WINDOW else window,
                    layer.reads_whole_map(), (shape[1], shape[2]) if len(shape) == 3 else None)
        except LayerError as err:
            hint = err.hint
            if node.train_only:
                hint = ("this layer runs only in training: at this input size training fails, although inference "
                        "would run (paramcalc needs its shapes to count its parameters)" + (f"; {hint}" if hint else ""))
            raise SpecError(err.message, pos=node.where(err.field), layer=node.name,
                            hint=hint, file=self.graph.spec.file) from None

    def field_step(self, field: Field, window: Window | None, whole: bool, map_size: Pair | None) -> Field | None:
        """The field after a layer with a window, or one that reads the whole map (then the map is 1x1 unless
        the layer keeps a feature map); a flat output keeps the last map's size."""
        if window is None:
            return field.through(Window.whole(field.map_size), map_size or (1, 1), True)
        return field.through(window, map_size or field.map_size, whole)

    def merged(self, ports: tuple[int, ...], map_size: Pair | None) -> Field | None:
        known = [self.fields[port] for port in ports]
        if None in known:
            return None
        return merge(known, map_size or known[0].map_size)  # type: ignore[arg-type, union-attr]


class _SymbolicAnalyzer(_Analyzer):
    """The same pass over sizes that are formulas in the input's symbols.

    Figures are not kept on the layer objects: a symbolic layer also records the conditions it puts on the
    symbols, which each analysis reports. A receptive field that would depend on the input size (a layer
    that reads the whole map) is left out (None) rather than shown as a formula.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph)
        self.conditions: list = []  # type: ignore[assignment]
        self.training_conditions: list = []

    def run(self) -> Analysis:
        from .symbolic import strongest, take_conditions

        take_conditions()  # nothing left over from an analysis that failed half-way
        result = super().run()
        result.conditions = tuple(strongest(self.conditions))
        inference = {condition for condition, _ in result.conditions}  # training needs these and any stronger
        result.training_conditions = tuple(pair for pair in strongest(self.conditions + self.training_conditions)
                                           if pair[0] not in inference)
        return result

    def compute(self, node: Node, key: Any) -> tuple:
        from .symbolic import take_conditions

        figures = self.figures_of(node, key)
        found = self.training_conditions if node.train_only else self.conditions
        found.extend((condition, node.name) for condition in take_conditions())
        return figures

    def field_step(self, field: Field, window: Window | None, whole: bool, map_size: Pair | None) -> Field | None:
        if window is not None and not all(is_concrete(size) for part in window for size in part):
            return None
        if whole and not all(is_concrete(size) for size in field.map_size):
            return None
        return super().field_step(field, window, whole, map_size)
