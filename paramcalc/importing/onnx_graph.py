"""An ONNX graph as a list of layers (ops), for `paramcalc import model.onnx`. Needs the `onnx` package only.

The graph is read node by node. What does not depend on the model's input (weights, shape arithmetic, the
constants an exporter folds) is no layer; each node that computes from the input becomes one, except where
PyTorch's exporters split one module into several nodes: a linear layer on tokens (MatMul, then Add of its
bias) and multi-head attention (projections, reshapes, softmax, products) are put back together. Modules
come from the exporter's scopes: the dynamo exporter (torch.onnx.export's default) writes each node's module
path and class in its metadata; the TorchScript exporter (dynamo=False) names nodes by the path,
'/layer1/layer1.0/conv1/Conv'. A node in no scope is a layer of the model itself. Where the exporter recorded
scopes, a node that is not a module's own (F.relu in a module's forward, or in the model's) is a function call,
and is marked `functional` where counters that hook modules see the difference.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..engine.peers import FUNCTIONAL_KINDS
from ..errors import SpecError
from ..limits import MAX_FOLDED_VALUES, MAX_ONNX_BYTES
from .layers import KIND_CLASSES, Op, Traced, growing_concats
from .onnx_ops import ALIASES, OPERATORS, SHAPE_READERS, NodeView, Operand, Unsupported

_SMALL = 64  # constants with at most this many values are read (axes, indices, clip bounds, pads)


@dataclass
class _Unit:
    """One layer to be: a node, or the nodes of a module put back together."""

    nodes: list[Any]
    inputs: list[str]  # the computed tensors it reads
    output: str
    paths: tuple[str, ...]  # the module paths it sits in, outermost first
    scoped: bool = False  # the exporter recorded the module scopes of its node(s), none perhaps
    kind: str = ""  # set once the unit is read: a layer kind, 'custom' or 'unsupported'
    settings: dict[str, Any] = field(default_factory=dict)
    comment: str = ""


def read_onnx(path: str, custom: frozenset[str] = frozenset()) -> tuple[Traced, dict[str, str], str]:
    """The model's layers, the class of each module path the exporter recorded, and what wrote the file."""

    model = _load(path)
    try:
        model = _fold_constants(model)
    except Exception as err:  # noqa: BLE001  # an invalid graph: onnx says why
        raise SpecError(f"{path}: ONNX shape inference fails: {str(err).splitlines()[0][:300]}") from None
    reader = _GraphReader(model.graph, path, custom)
    traced = reader.read()
    producer = f"{model.producer_name} {model.producer_version}".strip()
    opsets = [f"opset {o.version}" for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return traced, reader.classes, ", ".join(filter(None, [*opsets, f"written by {producer}" if producer else ""]))


def _load(path: str) -> Any:
    import onnx

    if not os.path.isfile(path):
        raise SpecError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a file")
    size = os.path.getsize(path)
    if size > MAX_ONNX_BYTES:
        raise SpecError(f"{path}: {size:,} bytes is larger than an ONNX file can be ({MAX_ONNX_BYTES:,})")
    try:  # weights in separate files are not read: only their shapes count
        return onnx.load(path, load_external_data=False)
    except Exception as err:  # noqa: BLE001  # protobuf's decode error, in whatever form
        raise SpecError(f"{path}: not an ONNX model ({type(err).__name__})",
                        hint="paramcalc imports .onnx files written by torch.onnx.export or any ONNX exporter") \
            from None


_GENERATORS = frozenset({"Expand", "ConstantOfShape", "Tile", "Range"})  # ops that make more values than they read


def _fold_constants(model: Any) -> Any:
    """The model with its shape arithmetic worked out, so that every tensor's shape is known.

    The TorchScript exporter computes sizes at run time (Shape, Gather, Concat, then Reshape or Expand), which
    leaves shape inference with unknown sizes after them. Small computations that do not read the input (a
    Shape of a tensor whose shape is known is one) are run with onnx's reference implementation and become
    constants, until nothing more folds."""
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    opsets = {o.domain: o.version for o in model.opset_import}
    version = opsets.get("", opsets.get("ai.onnx", 0))  # ONNX's own operators, however the file names the domain
    for _ in range(8):
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        graph = model.graph
        shapes = {info.name: [d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim]
                  for info in [*graph.value_info, *graph.input, *graph.output]}
        known = {t.name: numpy_helper.to_array(t) for t in graph.initializer
                 if not _external(t) and _count(t.dims) <= MAX_FOLDED_VALUES}
        folded: dict[str, Any] = {}
        kept = []
        for node in graph.node:
            values = _fold(node, known, shapes, version, ReferenceEvaluator)
            if values is None:
                kept.append(node)
                continue
            for name, value in zip(node.output, values):
                known[name] = folded[name] = value
        if not folded:
            return model
        del graph.node[:]
        graph.node.extend(kept)
        graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in folded.items())
    return model


def _fold(node: Any, known: dict[str, Any], shapes: dict[str, list], version: int, evaluator: Any) -> Any:
    """The node's outputs when it is a small computation on known values; None otherwise."""
    import numpy
    from onnx import NodeProto, helper

    if node.domain not in ("", "ai.onnx") or node.op_type.startswith("Random"):
        return None
    if node.op_type == "Shape":
        shape = shapes.get(node.input[0])
        if not shape or None in shape:
            return None
        attributes = _attributes(node)  # start and end: from the end when negative, as Python slices
        return [numpy.array(shape[attributes.get("start"):attributes.get("end")], dtype=numpy.int64)]
    inputs = [name for name in node.input if name]
    if not all(name in known for name in inputs):
        return None
    if node.op_type in _GENERATORS:
        out = shapes.get(node.output[0])
        if out is None or None in out or _count(out) > MAX_FOLDED_VALUES:  # a scalar ([]) is worked out
            return None
    # a graph of the one node, run as the file's opset says (a lone node runs as the newest opset does), in the
    # domain onnx's evaluator knows ONNX's operators by ('', where the file may say 'ai.onnx')
    own = NodeProto()
    own.CopyFrom(node)
    own.domain = ""
    graph = helper.make_graph([own], "fold", [helper.make_empty_tensor_value_info(name) for name in inputs],
                              [helper.make_empty_tensor_value_info(name) for name in own.output])
    outputs = evaluator(graph, opsets={"": version}).run(None, {name: known[name] for name in inputs})
    return outputs if all(numpy.asarray(v).size <= MAX_FOLDED_VALUES for v in outputs) else None


class _GraphReader:
    def __init__(self, graph: Any, path: str, custom: frozenset[str]) -> None:
        from onnx import numpy_helper

        self.graph, self.path, self.custom = graph, path, custom
        self.constants: dict[str, Operand] = {}
        for tensor in graph.initializer:
            small = _count(tensor.dims) <= _SMALL
            value = _values(numpy_helper.to_array(tensor)) if small and not _external(tensor) else None
            self.constants[tensor.name] = Operand(tuple(tensor.dims), value, _is_parameter(tensor))
        self.shapes: dict[str, tuple] = {}
        for info in [*graph.value_info, *graph.input, *graph.output]:
            dims = info.type.tensor_type.shape.dim
            self.shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims)
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise SpecError(f"{path}: the model has {len(inputs)} inputs (paramcalc models take one)")
        self.input = inputs[0].name
        self.data: dict[str, str] = {self.input: self.input}  # computed tensor -> the tensor it stands for
        self.secondary: dict[str, str] = {}  # the second, third, ... outputs of a node
        self.classes: dict[str, str] = {}
        self.own_classes: set[str] = set()  # module paths whose class is not torch.nn's
        self.unsupported: list[str] = []

    # --- which nodes are layers --------------------------------------------------------------------------
    def read(self) -> Traced:
        shape = self.shapes[self.input]
        if len(shape) < 2 or not all(isinstance(size, int) and size > 0 for size in shape[1:]):
            raise SpecError(f"{self.path}: the input's size {list(shape)} is not fixed",
                            hint="export the model at one input size (a fixed batch size need not be)")
        units: list[_Unit] = []
        for node in self.graph.node:
            computed = [name for name in node.input if name in self.data]
            if not computed or node.op_type in SHAPE_READERS:
                self._constant(node)
                continue
            if node.op_type in ALIASES or (node.op_type == "Dropout" and len(node.output) == 1 and
                                           not self._is_training(node)) or \
                    (node.op_type == "Concat" and len(node.input) == 1):  # DenseNet's cat([x]): x
                self.data[node.output[0]] = self.data[computed[0]]
                continue
            paths, scoped = self._scope(node)
            unit = _Unit([node], [self.data[name] for name in computed], node.output[0], paths, scoped)
            units.append(unit)
            self.data[node.output[0]] = node.output[0]
            for output in node.output[1:]:  # a layer gives one tensor: a node that reads another is refused
                self.data[output] = self.secondary[output] = node.output[0]
            if any(name in self.secondary for name in node.input):
                self._refuse(unit, "it reads a second output of a node (paramcalc's layers give one)")
        units = self._put_back_together(units)
        for unit in units:
            if not unit.kind:
                self._convert(unit)
        return self._traced(units)

    def _is_training(self, node: Any) -> bool:
        """Dropout's third input, training_mode, when it is given and true."""
        operand = self.constants.get(node.input[2]) if len(node.input) > 2 else None
        return bool(operand and operand.value and operand.value[0])

    def _constant(self, node: Any) -> None:
        """A node that does not read the input: its output is a constant, of a value unknown here (a constant of
        up to MAX_FOLDED_VALUES values was worked out before: it is an initializer now). A Constant node larger
        than that is read for its shape, and is a weight if it holds floats."""
        from onnx import helper

        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            raw = helper.get_attribute_value(node.attribute[0])
            self.constants[node.output[0]] = Operand(tuple(raw.dims), None, _is_parameter(raw))
            return
        for output in node.output:
            self.constants[output] = Operand(self.shapes.get(output, ()), None)

    def _scope(self, node: Any) -> tuple[tuple[str, ...], bool]:
        """The module paths the node sits in, outermost first, and whether the exporter recorded them (then a
        node in no module's scope, or not a module's only node, is a function the model calls). The dynamo
        exporter's classes of those modules are noted as it goes."""
        metadata = {prop.key: prop.value for prop in node.metadata_props}
        scopes = metadata.get("pkg.torch.onnx.name_scopes")
        if not scopes:
            return _torchscript_paths(node.name), node.name.startswith("/")
        try:
            names = [str(name) for name in ast.literal_eval(scopes)][1:-1]  # the model ''; the op's own name
            hierarchy = metadata.get("pkg.torch.onnx.class_hierarchy")
            qualified = [str(c) for c in ast.literal_eval(hierarchy)][1:-1] if hierarchy else []
        except (ValueError, SyntaxError):  # metadata some other tool wrote: no scope
            return (), False
        for name, full in zip(names, qualified):
            self.classes.setdefault(name, re.sub(r"\W", "", full.rpartition(".")[2]))  # a block's name
            if not full.startswith("torch.nn."):  # a class of the model's own (Conv3DSimple): `module` may say so
                self.own_classes.add(name)
        return tuple(name for name in names if name), True

    # --- modules split into several nodes ------------------------------------------------------------------
    def _put_back_together(self, units: list[_Unit]) -> list[_Unit]:
        for module in self._modules_to_join(units):
            members = [u for u in units if module in u.paths]
            first = units.index(members[0])
            joined = self._join(module, members)
            units = [u for u in units if module not in u.paths]
            units.insert(first, joined)
        return self._linear_layers(units)

    def _modules_to_join(self, units: list[_Unit]) -> list[str]:
        """Modules to read as one layer: attention (a softmax between products of computed tensors), and the
        module paths named with --custom."""
        chosen: list[str] = []
        for unit in units:
            node = unit.nodes[0]
            custom = [path for path in unit.paths if path in self.custom]
            if custom and custom[0] not in chosen:
                chosen.append(custom[0])
            elif node.op_type == "Softmax" and unit.paths and unit.paths[-1] not in chosen:
                module = unit.paths[-1]
                products = [u for u in units if module in u.paths and u.nodes[0].op_type == "MatMul"
                            and len(u.inputs) == 2]
                if products:
                    chosen.append(module)
        return chosen

    def _join(self, module: str, members: list[_Unit]) -> _Unit:
        produced = {u.output for u in members}
        outside = list(dict.fromkeys(name for u in members for name in u.inputs if name not in produced))
        paths = members[0].paths[:members[0].paths.index(module) + 1]
        unit = _Unit([n for u in members for n in u.nodes], outside, members[-1].output, paths, members[0].scoped)
        try:
            if module in self.custom:
                self._custom(unit)
            elif len(outside) != 1:
                raise Unsupported("attention whose query, key and value differ")
            else:
                unit.kind, unit.settings = "attention", self._attention(unit)
        except Unsupported as err:
            self._refuse(unit, str(err))
        return unit

    def _attention(self, unit: _Unit) -> dict[str, Any]:
        embed = self.shapes[unit.inputs[0]][-1]
        softmax = next(n for n in unit.nodes if n.op_type == "Softmax")
        scores = self.shapes.get(softmax.input[0], ())
        batch = self.shapes[self.input][0]
        if len(scores) == 4 and isinstance(scores[1], int):
            heads = scores[1]
        elif len(scores) == 3 and isinstance(scores[0], int) and isinstance(batch, int):
            heads = scores[0] // batch
        else:
            raise Unsupported("attention whose number of heads cannot be read from the graph")
        weights = [self.constants[name].shape for n in unit.nodes for name in n.input if name in self.constants]
        if not any(shape in ((embed, 3 * embed), (3 * embed, embed)) for shape in weights):
            raise Unsupported("attention without one projection for queries, keys and values")
        bias = any(shape == (3 * embed,) for shape in weights)
        return {"heads": heads, "bias": bias}

    def _linear_layers(self, units: list[_Unit]) -> list[_Unit]:
        """MatMul by a weight, then Add of a bias: nn.Linear on tokens, as exporters write it."""
        joined: list[_Unit] = []
        for unit in units:
            node = unit.nodes[0]
            previous = joined[-1] if joined else None
            if node.op_type == "Add" and previous is not None and previous.kind == "linear" and \
                    previous.settings.get("bias") is False and unit.inputs == [previous.output] and \
                    self._bias_of(node, previous.settings["out"]) and unit.paths == previous.paths:
                previous.nodes.append(node)
                previous.output, previous.settings["bias"] = unit.output, True
                continue
            if node.op_type == "MatMul" and not unit.kind and len(unit.inputs) == 1 and node.input[0] in self.data:
                weight = self.constants[node.input[1]]  # what does not read the input is a constant
                if len(weight.shape) == 2:
                    unit.kind, unit.settings = "linear", {"out": weight.shape[1], "bias": False}
            joined.append(unit)
        return joined

    def _bias_of(self, node: Any, out: int) -> bool:
        return any(self.constants.get(name) is not None and self.constants[name].shape == (out,) for name in node.input)

    # --- one layer -----------------------------------------------------------------------------------------
    def _convert(self, unit: _Unit) -> None:
        node = unit.nodes[0]
        convert = OPERATORS.get(node.op_type)
        try:
            if node.op_type in self.custom or any(path in self.custom for path in unit.paths):
                self._custom(unit)
            elif convert is None:
                raise Unsupported("no layer kind" if node.op_type != "MatMul" else
                                  "a product of two computed tensors outside attention")
            elif any(name not in self.shapes for name in unit.inputs):
                raise Unsupported("it reads a tensor whose shape ONNX shape inference cannot work out")
            else:
                view = NodeView(node.op_type, _attributes(node), [self.shapes[name] for name in unit.inputs],
                                [self.constants.get(name) for name in node.input], self.shapes.get(unit.output, ()))
                unit.kind, unit.settings = convert(view)
        except Unsupported as err:
            self._refuse(unit, str(err))

    def _custom(self, unit: _Unit) -> None:
        weights = {name for n in unit.nodes for name in n.input if name in self.constants
                   and self.constants[name].parameter}
        params = sum(_count(self.constants[name].shape) for name in weights)
        if unit.output not in self.shapes:
            raise Unsupported("a custom layer whose output's shape ONNX shape inference cannot work out")
        unit.kind = "custom"
        unit.settings = {"out": list(self.shapes[unit.output][1:]), "params": params, "macs": 0}
        unit.comment = "fill in the MACs per sample (and flops, when they are not 2 per MAC)"

    def _refuse(self, unit: _Unit, why: str) -> None:
        node = unit.nodes[0]
        where = f" in {unit.paths[-1]}" if unit.paths else ""
        self.unsupported.append(f"node '{node.name or node.output[0]}' ({node.op_type}{where}): {why}")
        unit.kind = "unsupported"

    # --- the ops, named as the model's modules are ----------------------------------------------------------
    def _traced(self, units: list[_Unit]) -> Traced:
        index = {self.input: -1}
        parents = {path for unit in units for path in unit.paths[:-1]}
        ops: list[Op] = []
        for position, unit in enumerate(units):
            paths = self._module_of_weight(unit)
            alone = all(units[other].paths != unit.paths for other in (position - 1, position + 1)
                        if 0 <= other < len(units))
            functional, module = False, ""
            if paths and paths[-1] not in parents and alone:  # a module call: the layer has the module's name
                scope, name = paths[:-1], _last_name(paths)
                if paths[-1] in self.own_classes and unit.kind not in ("custom", "unsupported") and \
                        KIND_CLASSES.get(unit.kind) != self.classes[paths[-1]]:
                    module = self.classes[paths[-1]]  # a subclass of the kind's module: hooks by type miss it
            else:  # a function the model (or a module) calls, where the exporter says which module calls what
                scope, name = paths, unit.kind
                functional = unit.scoped and unit.kind in FUNCTIONAL_KINDS
            ops.append(Op(scope=scope, name=name, kind=unit.kind, settings=unit.settings,
                          inputs=[index[name] for name in unit.inputs], functional=functional, module=module,
                          comment=unit.comment))
            index[unit.output] = len(ops) - 1
        output = self.data.get(self.graph.output[0].name) if self.graph.output else None
        if output not in index:  # None among them
            raise SpecError(f"{self.path}: the model's output is no layer's: it does not depend on the input, or it "
                            "sits inside a module read as one layer")
        growing_concats(ops)
        if not self.classes:
            self._classes_by_name(ops)
        return Traced(ops, self.shapes[self.input][1:], index[output], self.unsupported)

    def _classes_by_name(self, ops: list[Op]) -> None:
        """Without the exporter's classes, modules of the same name stem are taken for one class (layer1.0 and
        layer2.1: 'LayerBlock', encoder_layer_0 and encoder_layer_1: 'EncoderLayer'), so that blocks.py can write
        them as one block where their layers agree; a module of numbered children only is a Sequential."""
        children: dict[str, set[str]] = {}
        for op in ops:
            for depth, path in enumerate(op.scope):
                inner = depth + 1 < len(op.scope)  # the op sits in a child of `path`: that child's name
                children.setdefault(path, set()).add(_last_name(op.scope[:depth + 2]) if inner else op.name)
        for path, names in children.items():
            parts = path.split(".")
            stem = parts[-1] if not parts[-1].isdigit() else (parts[-2] if len(parts) > 1 else "module") + "_block"
            camel = "".join(word.capitalize() for word in re.split(r"[_\d]+", stem) if word)
            self.classes[path] = "Sequential" if all(name.isdigit() for name in names) else camel or "Module"

    def _module_of_weight(self, unit: _Unit) -> tuple[str, ...]:
        """The dynamo exporter folds a batch norm into the convolution before it and puts the node in the norm's
        scope; the weight's name ('layer1.0.conv1.weight') still says which module it is."""
        paths, node = unit.paths, unit.nodes[0]
        if len(unit.nodes) != 1 or not paths or node.op_type not in ("Conv", "ConvTranspose", "Gemm") or \
                not self.classes.get(paths[-1], "").startswith("BatchNorm"):
            return paths
        module = node.input[1].removesuffix(".weight")
        parent = paths[-2] if len(paths) > 1 else ""
        if module != node.input[1] and (module.rsplit(".", 1)[0] == parent if parent else "." not in module):
            return (*paths[:-1], module)
        return paths


def _torchscript_paths(node_name: str) -> tuple[str, ...]:
    """'/features/features.1/conv/conv.0/conv.0.0/Conv': each part is a module's name below one of the modules
    before it (the model, features.1, ...); the path is the one that continues its parent's."""
    paths: list[str] = []
    for part in node_name.split("/")[1:-1] if node_name.startswith("/") else []:
        parent = paths[-1] if paths else ""
        candidates = [f"{ancestor}.{part}" if ancestor else part for ancestor in ["", *paths]]
        paths.append(next(path for path in candidates if not parent or path.startswith(parent + ".")))  # the last
    return tuple(paths)


def _last_name(paths: tuple[str, ...]) -> str:
    """The module's name in its parent: what follows the path's last dot (PyTorch's names hold none)."""
    return paths[-1].rpartition(".")[2]


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import AttributeProto, helper

    def value(attribute: Any) -> Any:
        # a float attribute is stored as float32: written as its shortest decimal (0.2, not 0.20000000298023224)
        if attribute.type == AttributeProto.FLOAT:
            return _float32_text(attribute.f)
        if attribute.type == AttributeProto.FLOATS:
            return [_float32_text(number) for number in attribute.floats]
        if attribute.type == AttributeProto.STRING:  # modes and the like: ONNX stores them as bytes
            return attribute.s.decode()
        return helper.get_attribute_value(attribute)

    return {attribute.name: value(attribute) for attribute in node.attribute}


def _values(array: Any) -> list:
    """A constant's values: float32 ones as their shortest decimals, as attributes are (a ratio of 0.1, not
    0.10000000149011612)."""
    import numpy

    values = array.ravel().tolist()
    return [_float32_text(number) for number in values] if array.dtype == numpy.float32 else values


def _float32_text(number: float) -> float:
    import numpy

    return float(str(numpy.float32(number)))


def _count(dims: Any) -> int:
    count = 1
    for size in dims:
        count *= int(size)
    return count


def _is_parameter(tensor: Any) -> bool:
    """A floating-point tensor of one axis or more: a weight, not a size, an index or a scalar factor."""
    from onnx import TensorProto

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)
    return tensor.data_type in floats and len(tensor.dims) > 0


def _external(tensor: Any) -> bool:
    from onnx import TensorProto

    return bool(tensor.data_location == TensorProto.EXTERNAL)


def import_onnx(path: str, *, name: str | None = None, custom: tuple[str, ...] = ()) -> str:
    """The YAML text of a spec for the ONNX model in `path`, at the input size the file gives."""
    from .spec_text import write_spec

    traced, classes, written = read_onnx(path, frozenset(custom))
    if traced.unsupported:
        listed = "\n".join(f"  - {item}" for item in traced.unsupported)
        raise SpecError(f"paramcalc has no layer kind for {len(traced.unsupported)} part(s) of {path}:\n{listed}",
                        hint="paramcalc counts nothing it cannot read: import again with --custom NAME for each "
                             "operator (Erf) or module path (encoder.block), and fill in the MACs of the 'custom' "
                             "layers it writes")
    file = os.path.basename(path)
    header = [f"Imported by paramcalc from {file} ({written})." if written else f"Imported by paramcalc from {file}.",
              "Layer names are the exporter's module names. The figures are those of the graph in the file: an",
              "exporter may have folded batch norms into the convolutions before them."]
    return write_spec(traced, classes, name or os.path.splitext(file)[0], header, traced.input_shape)
