"""Graph -> one record per layer and group, and the model's totals. Prints nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dims import Dim, Shape, numel
from .errors import SpecError
from .graph import INPUT_PORT, Graph, Node, expand
from .layers import LayerError
from .receptive import Field, Window, merge
from .spec import Spec, load_spec


@dataclass
class LayerRecord:
    """Everything paramcalc knows about one layer (or, for a group, the sum of its layers)."""

    name: str
    depth: int
    kind: str
    is_group: bool
    inputs: tuple[str, ...]
    shape: Shape  # per sample, without the batch
    params: Dim = 0
    trainable: Dim = 0
    buffers: Dim = 0
    macs: Dim = 0
    flops: Dim = 0
    activations: Dim = 0  # output elements, times the batch; a group sums its layers
    rf: Field | None = None
    line: int = 0
    repeated: str = ""  # for a repeat group: what it repeats and how often, e.g. 'bottleneck ×3'
    parent: int | None = None

    @property
    def frozen(self) -> Dim:
        return self.params - self.trainable


@dataclass
class Totals:
    params: Dim
    trainable: Dim
    buffers: Dim
    macs: Dim
    flops: Dim
    param_bytes: Dim
    buffer_bytes: Dim
    activation_bytes: Dim
    input_bytes: Dim
    output_shape: Shape
    rf: Field | None
    layers: int

    @property
    def frozen(self) -> Dim:
        return self.params - self.trainable


@dataclass
class Analysis:
    name: str
    file: str
    input_shape: Shape
    batch: int
    dtype: str
    dtype_bytes: int
    records: list[LayerRecord]
    totals: Totals
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def leaves(self) -> list[LayerRecord]:
        return [record for record in self.records if not record.is_group]

    def __getitem__(self, name: str) -> LayerRecord:
        for record in self.records:
            if record.name == name:
                return record
        raise KeyError(name)


def analyze(source: str | Path | dict | Spec | Graph, *, input_shape: Shape | None = None,
            batch: int | None = None, dtype: str | None = None) -> Analysis:
    """Analyse a spec given as a path, YAML text, a mapping, a loaded Spec or an expanded Graph."""
    if isinstance(source, Graph):
        graph = source
    else:
        spec = source if isinstance(source, Spec) else load_spec(source)
        try:
            graph = expand(spec, input_shape, batch, dtype)
        except SpecError as err:
            err.located(file=spec.file)
            raise
    return _Analyzer(graph).run()


class _Analyzer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.shapes: dict[int, Shape] = {INPUT_PORT: graph.input_shape}
        shape = graph.input_shape
        self.fields: dict[int, Field | None] = {
            INPUT_PORT: Field.of_input(shape[1], shape[2]) if len(shape) == 3 else None}

    def run(self) -> Analysis:
        graph = self.graph
        nodes = graph.nodes
        records = [self.group_record(node) if node.is_group else self.layer_record(node) for node in nodes]
        for node in nodes:  # a group is known once its layers are
            if node.is_group:
                record = records[node.index]
                record.shape = self.shapes[node.output]
                record.rf = self.fields[node.output]
        for record in records:
            if record.is_group:
                continue
            parent = record.parent
            while parent is not None:
                group = records[parent]
                group.params += record.params
                group.trainable += record.trainable
                group.buffers += record.buffers
                group.macs += record.macs
                group.flops += record.flops
                group.activations += record.activations
                parent = group.parent
        leaves = [r for r in records if not r.is_group]
        size = graph.dtype_bytes
        params = sum(r.params for r in leaves)
        buffers = sum(r.buffers for r in leaves)
        activations = sum(r.activations for r in leaves)
        totals = Totals(
            params=params, trainable=sum(r.trainable for r in leaves), buffers=buffers,
            macs=sum(r.macs for r in leaves), flops=sum(r.flops for r in leaves),
            param_bytes=params * size, buffer_bytes=buffers * size, activation_bytes=activations * size,
            input_bytes=numel(graph.input_shape) * graph.batch * size,
            output_shape=self.shapes[graph.output], rf=self.fields[graph.output], layers=len(leaves))
        return Analysis(name=graph.spec.name, file=graph.spec.file, input_shape=graph.input_shape,
                        batch=graph.batch, dtype=graph.dtype, dtype_bytes=size, records=records, totals=totals,
                        description=graph.spec.description)

    def input_names(self, node: Node) -> tuple[str, ...]:
        nodes = self.graph.nodes
        return tuple("input" if port == INPUT_PORT else nodes[port].name for port in node.inputs)

    def group_record(self, node: Node) -> LayerRecord:
        return LayerRecord(name=node.name, depth=len(node.path) - 1, kind=node.kind, is_group=True,
                           inputs=self.input_names(node), shape=(), line=node.pos.line, parent=node.parent,
                           repeated=node.repeated)

    def layer_record(self, node: Node) -> LayerRecord:
        layer = node.layer
        assert layer is not None
        inputs = [self.shapes[port] for port in node.inputs]
        try:
            shape = layer.output_shape(inputs)
            params = layer.params(inputs)
            record = LayerRecord(
                name=node.name, depth=len(node.path) - 1, kind=node.kind, is_group=False,
                inputs=self.input_names(node), shape=shape, params=params, trainable=0 if node.frozen else params,
                buffers=layer.buffers(inputs), macs=layer.macs(inputs, shape) * self.graph.batch,
                flops=layer.flops(inputs, shape) * self.graph.batch, activations=numel(shape) * self.graph.batch,
                line=node.pos.line, parent=node.parent)
            window = layer.window(inputs, shape)
        except LayerError as err:
            raise SpecError(err.message, pos=node.field_pos.get(err.field or "", node.pos), layer=node.name,
                            hint=err.hint, file=self.graph.spec.file) from None
        self.shapes[node.index] = shape
        record.rf = self.fields[node.index] = self.field_of(node, layer, window, shape)
        return record

    def field_of(self, node: Node, layer: Any, window: Window | None, shape: Shape) -> Field | None:
        fields = [self.fields[port] for port in node.inputs]
        if any(f is None for f in fields):
            return None
        known: list[Field] = fields  # type: ignore[assignment]
        first = known[0]
        map_size = (shape[1], shape[2]) if len(shape) == 3 else first.map_size
        if len(known) > 1:
            return merge(known, map_size)
        whole = layer.reads_whole_map()
        if whole and window is None:
            window = Window.whole(first.map_size)
            map_size = (1, 1) if len(shape) != 3 else map_size
        if window is None:
            return first.with_map(map_size)
        return first.through(window, map_size, whole)
