"""ONNX operators as paramcalc layer kinds: what `paramcalc import model.onnx` writes for each node.

A converter takes a node's view (its attributes, the shapes of the tensors it reads and gives, the constants
it reads) and gives (kind, settings) as a spec writes them, or raises Unsupported with what is missing.
Shapes here include the batch, as ONNX writes them. Settings equal to the kind's default are left out later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

Settings = dict[str, Any]
FLOAT32_MAX = 3.4028235e38  # float32's largest, as its shortest decimal: how attributes and constants are read


class Unsupported(Exception):
    """An operator paramcalc has no kind for, or a setting a kind cannot express."""


@dataclass
class NodeView:
    op_type: str
    attributes: dict[str, Any]
    data_shapes: list[tuple]  # the tensors computed from the model's input that the node reads, in order
    operands: list[Operand | None]  # every input in order: None for computed tensors and absent inputs
    output_shape: tuple

    def attribute(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    def constant(self, position: int) -> Operand | None:
        return self.operands[position] if position < len(self.operands) else None

    def number(self, position: int, attribute: str, what: str, default: Any = None) -> Any:
        """A setting that is an input in later opsets and an attribute before (Clip's bounds, Pad's value)."""
        operand = self.constant(position)
        return operand.number(what) if operand else self.attribute(attribute, default)


@dataclass
class Operand:
    """A tensor that does not depend on the model's input: a weight, or a constant such as an axis."""

    shape: tuple
    value: list | None = None  # the values, for small constants; None when not read
    parameter: bool = False  # a weight the file holds (floating point, one axis or more): a custom layer counts it

    def number(self, what: str) -> float:
        if not self.value or len(self.value) != 1:
            raise Unsupported(f"{what} that is not a single number")
        return self.value[0]


def _size(values: Any) -> Any:
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _spatial_padding(pads: list[int], rank: int) -> Any:
    """ONNX pads are [begin of each axis..., end of each axis...]."""
    begin, end = pads[:rank], pads[rank:]
    if begin == end:
        return _size(begin)
    if rank == 2:
        return {"top": begin[0], "bottom": end[0], "left": begin[1], "right": end[1]}
    raise Unsupported(f"padding {pads} that differs at the two ends of an axis")


def _padding(node: NodeView, rank: int) -> Any:
    auto_pad = node.attribute("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise Unsupported(f"auto_pad {auto_pad} (write the padding out)")
    return _spatial_padding(list(node.attribute("pads") or [0] * 2 * rank), rank)  # ONNX: no pads beside auto_pad


def _weight(node: NodeView) -> tuple:
    weight = node.constant(1)
    if weight is None:
        raise Unsupported("weights computed from the input")
    return weight.shape


def _conv(node: NodeView) -> tuple[str, Settings]:
    weight = _weight(node)
    rank = len(weight) - 2
    transposed = node.op_type == "ConvTranspose"
    groups = int(node.attribute("group", 1))
    inputs = node.data_shapes[0][1]
    out = weight[1] * groups if transposed else weight[0]
    settings: Settings = {"out": out, "kernel": _size(weight[2:]),  # kernel_shape, where written, is the same
                          "stride": _size(node.attribute("strides") or [1] * rank), "padding": _padding(node, rank),
                          "dilation": _size(node.attribute("dilations") or [1] * rank), "groups": groups,
                          "bias": len(node.operands) > 2 and node.operands[2] is not None}
    if transposed:
        if node.attribute("output_shape"):
            raise Unsupported("an output_shape attribute (write output_padding)")
        settings["output_padding"] = _size(node.attribute("output_padding") or [0] * rank)
        return f"conv_transpose{rank}d", settings
    if groups > 1 and groups == inputs == out:
        settings["groups"] = "depthwise"
    return f"conv{rank}d", settings


def _gemm(node: NodeView) -> tuple[str, Settings]:
    if node.attribute("transA") or node.attribute("alpha", 1.0) != 1.0 or node.attribute("beta", 1.0) != 1.0:
        raise Unsupported("Gemm with transA, alpha or beta (paramcalc's linear is x W^T + b)")
    weight = _weight(node)
    out = weight[0] if node.attribute("transB") else weight[1]
    return "linear", {"out": out, "bias": len(node.operands) > 2 and node.operands[2] is not None}


def _batchnorm(node: NodeView) -> tuple[str, Settings]:
    # ONNX keeps 'momentum' of the running mean (0.9); PyTorch that of the new batch (0.1)
    momentum = Decimal(str(node.attribute("momentum", 0.9)))  # as written: 1 - 0.9 is 0.1, not 0.09999999999999998
    return "batchnorm", {"eps": node.attribute("epsilon", 1e-5), "momentum": float(1 - momentum)}


def _layernorm(node: NodeView) -> tuple[str, Settings]:
    axis = node.attribute("axis", -1)
    if axis not in (-1, len(node.data_shapes[0]) - 1):
        raise Unsupported(f"normalizing from axis {axis} (paramcalc's layernorm normalizes the last one)")
    return "layernorm", {"eps": node.attribute("epsilon", 1e-5),
                         "bias": len(node.operands) > 2 and node.operands[2] is not None}


def _pool(node: NodeView, kind: str) -> tuple[str, Settings]:
    kernel = list(node.attribute("kernel_shape"))
    rank = len(kernel)
    settings: Settings = {"kernel": _size(kernel), "stride": _size(node.attribute("strides") or [1] * rank),
                          "padding": _padding(node, rank), "ceil_mode": bool(node.attribute("ceil_mode"))}
    if kind == "maxpool":
        settings["dilation"] = _size(node.attribute("dilations") or [1] * rank)
    else:
        settings["count_include_pad"] = bool(node.attribute("count_include_pad"))
    return (kind if rank == 2 else f"{kind}{rank}d"), settings


def _global(node: NodeView, kind: str) -> tuple[str, Settings]:
    rank = len(node.data_shapes[0]) - 2
    if rank == 2:
        return f"global_{kind}", {}
    if kind == "maxpool":
        raise Unsupported(f"a global max pool over {rank} axes (paramcalc's is over a 2-D map)")
    return f"adaptive_{kind}{rank}d", {"out": 1}


def _reduce_mean(node: NodeView) -> tuple[str, Settings]:
    """x.mean(dims, keepdim) as a `mean` (ONNX numbers axes as PyTorch does, the batch at 0). Except where it is
    how the dynamo exporter writes F.adaptive_avg_pool2d(x, 1) and nn.AdaptiveAvgPool2d(1) (3-D alike): ATen
    computes those as x.mean([-1, -2], keepdim=True), axes written in that order, where x.mean([2, 3]) keeps the
    code's; the counters that tell the two apart count the pooling (the TorchScript exporter writes it as
    GlobalAveragePool)."""
    rank = len(node.data_shapes[0])
    axes_operand = node.constant(1)  # an input since opset 18, an attribute before
    if len(node.data_shapes) > 1 or axes_operand is not None and not isinstance(axes_operand.value, list):
        raise Unsupported("a mean over axes computed from the input")
    axes = axes_operand.value if axes_operand is not None else node.attribute("axes")
    keepdims = bool(node.attribute("keepdims", True))
    if not axes:
        if node.attribute("noop_with_empty_axes"):
            return "identity", {}
        raise Unsupported("a mean over every axis, the batch's too (paramcalc counts one sample)")
    axes = [int(axis) for axis in axes]
    if any(axis % rank == 0 for axis in axes):
        raise Unsupported(f"a mean over axes {axes}, the batch (axis 0) among them")
    if keepdims and rank in (4, 5) and axes == list(range(-1, 1 - rank, -1)):
        return _global(node, "avgpool")
    return "mean", {"dims": axes, "keepdim": keepdims}


def _clip(node: NodeView) -> tuple[str, Settings]:
    low, high = node.number(1, "min", "a minimum"), node.number(2, "max", "a maximum")  # inputs since opset 11
    if low == 0 and high == 6:
        return "relu6", {}
    if low == 0 and (high is None or high >= FLOAT32_MAX):  # the largest float32 (or infinity): no upper bound
        return "relu", {}
    raise Unsupported(f"Clip to [{low}, {high}] (paramcalc has ReLU and ReLU6)")


def _hard_sigmoid(node: NodeView) -> tuple[str, Settings]:
    if abs(node.attribute("alpha", 0.2) - 1 / 6) > 1e-6 or abs(node.attribute("beta", 0.5) - 0.5) > 1e-6:
        raise Unsupported("HardSigmoid other than PyTorch's (alpha 1/6, beta 1/2)")
    return "hardsigmoid", {}


def _gelu(node: NodeView) -> tuple[str, Settings]:
    if node.attribute("approximate", "none") != "none":
        raise Unsupported("GELU with the tanh approximation")
    return "gelu", {}


def _arithmetic(node: NodeView, kind: str) -> tuple[str, Settings]:
    constants = [operand for operand in node.operands if operand is not None]
    if not constants:
        return kind, {}
    shape, out = constants[0].shape, node.output_shape
    if kind == "add" and len(shape) == 3 and shape[0] == 1 and len(out) == 3 and tuple(shape[1:]) == tuple(out[1:]):
        return "position_embedding", {"length": shape[1]}
    # one factor per channel: the constant's one size above 1 meets the channels when aligned from the end
    if kind == "mul" and len(out) >= 2 and [s for s in shape if s != 1] == [out[1]] and \
            len(shape) >= len(out) - 1 and shape[-len(out) + 1] == out[1]:
        return "scale", {}
    raise Unsupported(f"{node.op_type} with a constant of shape {list(shape)}")


def _axis(axis: int, shape: tuple) -> int:
    """An axis as a position from the start (0: the batch); a tensor whose shape is not known has none."""
    if not shape:
        raise Unsupported("a tensor of a size that shape inference cannot work out")
    return axis % len(shape)


def _concat(node: NodeView) -> tuple[str, Settings]:
    constants = [operand for operand in node.operands if operand is not None]
    axis = _axis(node.attribute("axis"), node.output_shape)
    if axis == 0:
        raise Unsupported("a concatenation along the batch (axis 0): paramcalc counts one sample")
    if constants:
        if len(constants) == 1 and len(node.output_shape) == 3 and axis == 1 and node.operands[0] is not None:
            return "class_token", {"count": node.output_shape[1] - sum(shape[1] for shape in node.data_shapes)}
        raise Unsupported("a concatenation with a constant (paramcalc's class_token comes first, along the tokens)")
    return "concat", {"dim": axis}


def _transpose(node: NodeView) -> tuple[str, Settings]:
    perm = list(node.attribute("perm") or reversed(range(len(node.output_shape))))
    if perm[0] != 0:
        raise Unsupported(f"a transpose {perm} that moves the batch")
    return "permute", {"dims": perm}


def _flatten(node: NodeView) -> tuple[str, Settings]:
    axis = node.attribute("axis", 1)
    if axis != 1:
        raise Unsupported(f"Flatten from axis {axis} (paramcalc flattens a sample: axis 1)")
    return "flatten", {}


def _known_output(node: NodeView) -> None:
    if not node.output_shape or not all(isinstance(size, int) for size in node.output_shape[1:]):
        raise Unsupported("an output size that shape inference cannot work out")
    if len(node.data_shapes) > 1:  # an exporter may have recorded the size it traced: one input's
        raise Unsupported("a size computed from the input's values")


def _reshape(node: NodeView) -> tuple[str, Settings]:
    _known_output(node)
    if not node.data_shapes[0] or node.output_shape[0] != node.data_shapes[0][0]:  # a scalar has no batch
        raise Unsupported("a reshape that changes the batch")
    if len(node.output_shape) == 2 and len(node.data_shapes[0]) > 2:  # torch.flatten(x, 1), as exporters write it
        return "flatten", {}
    return "reshape", {"shape": list(node.output_shape[1:])}


def _gather(node: NodeView) -> tuple[str, Settings]:
    index = node.constant(1)
    axis = _axis(node.attribute("axis", 0), node.data_shapes[0])
    if index is None or index.shape != () or axis == 0:
        raise Unsupported("a gather other than one index of one axis of a sample")
    position = int(index.number("an index"))
    return "select", {"dim": axis, "index": position + (node.data_shapes[0][axis] if position < 0 else 0)}


def _softmax(node: NodeView) -> tuple[str, Settings]:
    axis = node.attribute("axis", -1)
    return "softmax", {"dim": axis}


def _resize(node: NodeView) -> tuple[str, Settings]:
    _known_output(node)
    rank = len(node.output_shape) - 2
    mode = node.attribute("mode", "nearest")
    names = {"nearest": "nearest", "linear": {1: "linear", 2: "bilinear", 3: "trilinear"}.get(rank),
             "cubic": "bicubic" if rank == 2 else None}
    if not names.get(mode):
        raise Unsupported(f"Resize in mode {mode} over {rank} axes")
    settings: Settings = {"size": _size(node.output_shape[2:]), "mode": names[mode]}
    if mode != "nearest":
        settings["align_corners"] = node.attribute("coordinate_transformation_mode") == "align_corners"
    return "upsample", settings


def _pad(node: NodeView) -> tuple[str, Settings]:
    pads_operand = node.constant(1)  # inputs since opset 11, attributes before
    pads = pads_operand.value if pads_operand else node.attribute("pads")
    value = node.number(2, "value", "a padding value", 0.0)
    if node.attribute("mode", "constant") != "constant" or value != 0 or not pads or len(pads) != 8 or \
            any(pads[i] for i in (0, 1, 4, 5)):
        raise Unsupported("padding other than zeros around a 2-D map")
    top, left, bottom, right = (int(pads[i]) for i in (2, 3, 6, 7))
    return "pad", {"padding": {"left": left, "right": right, "top": top, "bottom": bottom}}


def _dropout(node: NodeView) -> tuple[str, Settings]:
    ratio = node.constant(1)
    return "dropout", {"p": ratio.number("a ratio") if ratio else 0.5}  # a node in training: opset 12 on


def _plain(node: NodeView, kind: str, fields: dict[str, str] | None = None) -> tuple[str, Settings]:
    """A kind whose settings, if any, are attributes under other names: {spec field: attribute}."""
    return kind, {field: node.attribute(attribute) for field, attribute in (fields or {}).items()
                  if node.attribute(attribute) is not None}


OPERATORS: dict[str, Callable[[NodeView], tuple[str, Settings]]] = {
    "Conv": _conv, "ConvTranspose": _conv, "Gemm": _gemm,
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    # partial, not closures: a mutation run switches mutants of a function on where it is called
    "MaxPool": partial(_pool, kind="maxpool"), "AveragePool": partial(_pool, kind="avgpool"),
    "GlobalAveragePool": partial(_global, kind="avgpool"), "GlobalMaxPool": partial(_global, kind="maxpool"),
    "ReduceMean": _reduce_mean,
    **{op: partial(_plain, kind=kind) for op, kind in [
        ("Relu", "relu"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"), ("HardSwish", "hardswish")]},
    "Clip": _clip, "HardSigmoid": _hard_sigmoid, "Gelu": _gelu,
    "LeakyRelu": partial(_plain, kind="leaky_relu", fields={"negative_slope": "alpha"}),
    "Softmax": _softmax,
    "Add": partial(_arithmetic, kind="add"), "Mul": partial(_arithmetic, kind="mul"),
    "Concat": _concat, "Transpose": _transpose, "Flatten": _flatten,
    "Reshape": _reshape, "Squeeze": _reshape, "Unsqueeze": _reshape,
    "Gather": _gather, "Resize": _resize, "Pad": _pad, "Dropout": _dropout,
}

ALIASES = frozenset({"Identity", "Cast"})  # nodes that give their input again (at inference)
SHAPE_READERS = frozenset({"Shape", "Size"})  # read only the size of a tensor: constants
