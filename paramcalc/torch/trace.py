"""A PyTorch model as a list of layers: what `paramcalc import` reads before it writes a spec.

The model is made on the meta device and traced with torch.fx, which keeps what a spec needs and a lower
level trace (torch.export) would lose: each module call as one node named by the module's own path, the
modules each call sits in (so groups follow the model's structure), and the source line of every call.
It is traced in training mode, so that an auxiliary head that runs only in training is in the graph; a run
in evaluation mode on a meta tensor says which modules run at inference, and the layers of the others are
marked `train_only`. A layer made from a function call (F.relu, F.max_pool2d, F.interpolate) rather than a module
call is marked `functional` where that changes what other counters count (peers.FUNCTIONAL_KINDS), and one run by a
subclass of its kind's standard module (torchvision's Conv3DSimple, an nn.Conv3d) names that class with `module`.
Shapes come from running the graph on meta tensors (torch.fx's ShapeProp).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn import functional as F

from ..engine.peers import FUNCTIONAL_KINDS
from ..errors import SpecError
from ..importing.layers import Op, Traced, growing_concats
from .convert import (
    ARITHMETIC,
    DROPOUTS,
    ELEMENTWISE,
    METHODS_ELEMENTWISE,
    MODULES,
    WHOLE_MODULES,
    Settings,
    Unsupported,
    converter,
    subclass_name,
)


class _Tracer(fx.Tracer):
    def __init__(self, custom: frozenset[str]) -> None:
        super().__init__()
        self.record_stack_traces = True
        self.custom = custom

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        kind = type(module).__name__
        return kind in WHOLE_MODULES or kind in self.custom or name in self.custom or \
            super().is_leaf_module(module, name) or (kind not in MODULES and converter(module) is not None)


def _source(node: fx.Node) -> str:
    """'model.py:42 in forward' for the user code behind a node (the last frame outside torch)."""
    trace = node.meta.get("stack_trace") or ""
    lines = [line.strip() for line in trace.splitlines() if line.strip().startswith("File ")]
    user = [line for line in lines if "/torch/" not in line or "/torchvision/" in line]
    if not user:
        return ""
    parts = user[-1].split('"')
    file = parts[1].rsplit("/", 1)[-1] if len(parts) > 1 else ""
    rest = parts[-1].replace(",", "").split()
    line = rest[1] if len(rest) > 1 else ""
    return f"{file}:{line}"


def _carries_tensor(node: fx.Node) -> bool:
    """Does the node give a tensor (or tensors), as opposed to a size, a flag or nothing? ShapeProp records a
    node's tensor_meta only when its result holds a tensor."""
    return node.meta.get("tensor_meta") is not None


def _function_name(target: Any) -> str:
    """x.flatten -> 'flatten', torch.erf -> 'erf': the name a refusal says and --custom takes."""
    return getattr(target, "__name__", str(target))  # a method's name is the target itself


def _tensor_shape(node: fx.Node) -> tuple | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def trace(model: nn.Module, input_shape: tuple, dtype: torch.dtype, batch: int = 1,
          custom: frozenset[str] = frozenset()) -> Traced:
    """The model's layers. A module class, module path or function named in `custom` becomes a `custom` layer
    with the parameters and output shape PyTorch gives, and MACs to fill in."""
    called = _called_at_inference(model, (batch, *input_shape), dtype)
    model.train()
    try:
        graph_module = fx.GraphModule(model, _Tracer(custom).trace(model))
    except Exception as err:  # control flow on values, or a call fx cannot trace
        raise SpecError(f"torch.fx cannot trace the model: {type(err).__name__}: {str(err).splitlines()[0]}",
                        hint="paramcalc imports models that torch.fx.symbolic_trace can trace") from None
    try:
        # a batch of 2: in training mode a batch norm needs more than one value per channel
        with _no_cumulative_averages(model):
            ShapeProp(graph_module).propagate(torch.zeros((2, *input_shape), dtype=dtype, device="meta"))
    except Exception as err:
        message = (str(err).splitlines() or [""])[0][:300]
        raise SpecError(f"the model does not run on an input of shape {'x'.join(map(str, input_shape))} (one "
                        f"sample): {type(err).__name__}: {message}") from None
    finally:
        model.eval()
    return _Converter(graph_module, called, input_shape, custom).convert()


@contextmanager
def _no_cumulative_averages(model: nn.Module) -> Iterator[None]:
    """A batch norm with momentum None averages its statistics over the batches seen, dividing by their count: a
    value a model on the meta device does not have. The shapes do not depend on it: a momentum stands in."""
    cumulative = [module for module in model.modules()
                  if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.momentum is None]
    for module in cumulative:
        module.momentum = 0.1
    try:
        yield
    finally:
        for module in cumulative:
            module.momentum = None


def _called_at_inference(model: nn.Module, shape: tuple, dtype: torch.dtype) -> set[str]:
    names = {module: name for name, module in model.named_modules()}
    called: set[str] = set()
    hooks = [module.register_forward_pre_hook(lambda m, _i: called.add(names[m])) for module in model.modules()]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(shape, dtype=dtype, device="meta"))
    except Exception as err:
        raise SpecError(f"the model does not run on an input of shape {'x'.join(map(str, shape))}: "
                        f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    finally:
        for hook in hooks:
            hook.remove()
    # a module that is not called itself (a ModuleList, or any module whose parts the model calls directly)
    # runs when one of its parts does
    for path in list(called):
        parts = path.split(".")
        called.update(".".join(parts[:end]) for end in range(1, len(parts)))
    return called


class _Converter:
    def __init__(self, graph_module: fx.GraphModule, called: set[str], input_shape: tuple,
                 custom: frozenset[str] = frozenset()) -> None:
        self.module = graph_module
        self.custom = custom
        self.called = called
        self.input_shape = input_shape
        self.ops: list[Op] = []
        self.index: dict[fx.Node, int] = {}  # node -> op (or -1 for the input)
        self.unsupported: list[str] = []
        self.parameters: dict[fx.Node, tuple] = {}  # nodes that are a parameter (get_attr, expand, view): shapes
        self.lost: set[fx.Node] = set()  # refused, and everything computed from them
        self.tuples: dict[fx.Node, str] = {}  # nodes that give several tensors: 'first' (output, state), 'chunk'

    # --- the graph -----------------------------------------------------------------------------------------
    def convert(self) -> Traced:
        output = -1
        for node in self.module.graph.nodes:
            if node.op == "placeholder":
                if -1 in self.index.values():
                    self._refuse(node, "a second input (paramcalc models take one)")
                self.index[node] = -1
            elif node.op == "get_attr":
                self.parameters[node] = tuple(self._attribute(str(node.target)).shape)
            elif node.op == "output":
                output = self._output(node.args[0])
            else:
                self._node(node)
        growing_concats(self.ops)
        return Traced(self.ops, self.input_shape, output, self.unsupported)

    def _output(self, value: Any) -> int:
        while isinstance(value, (tuple, list)) and value or (  # (logits, aux logits) in training: the first
                isinstance(value, fx.Node) and value not in self.index and value.op == "call_function" and value.args):
            value = value[0] if isinstance(value, (tuple, list)) else value.args[0]
        if isinstance(value, dict) and value:
            value = next(iter(value.values()))
        return self.index.get(value, -1) if isinstance(value, fx.Node) else -1

    def _attribute(self, target: str) -> torch.Tensor:
        value: Any = self.module
        for part in target.split("."):
            value = getattr(value, part)
        return value

    def _scope(self, node: fx.Node) -> tuple[str, ...]:
        """Every module path the node sits in, outermost first, with the containers between them that are not
        called themselves (a ModuleList): 'classifier.0', 'classifier.0.convs', 'classifier.0.convs.0'."""
        stack = node.meta.get("nn_module_stack") or {}
        paths = [path for path, _ in stack.values() if path]
        if node.op == "call_module":
            if paths and paths[-1] == node.target:
                paths.pop()
            if "." in str(node.target):
                paths.append(str(node.target).rsplit(".", 1)[0])
        expanded: list[str] = []
        for path in paths:
            parts = path.split(".")
            known = len(expanded[-1].split(".")) if expanded and path.startswith(expanded[-1] + ".") else 0
            expanded += [".".join(parts[:end]) for end in range(known + 1, len(parts) + 1)]
        return tuple(dict.fromkeys(expanded))

    def _refuse(self, node: fx.Node, what: str) -> None:
        source = _source(node)
        self.unsupported.append(f"{source + ': ' if source else ''}{what}")
        self.lost.add(node)

    def _tensor_inputs(self, node: fx.Node) -> list[fx.Node]:
        found: list[fx.Node] = []

        def visit(value: Any) -> None:
            if isinstance(value, fx.Node):
                if value in self.index and value not in found:
                    found.append(value)
            elif isinstance(value, (tuple, list)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        visit(node.args)
        visit(node.kwargs)
        return found

    def _node(self, node: fx.Node) -> None:
        if node.op == "call_function" and node.target is operator.getitem and isinstance(node.args[0], fx.Node) \
                and (node.args[0] in self.tuples or node.args[0] in self.lost and _tensor_shape(node.args[0]) is None):
            if node.args[0] in self.lost:  # an item of what was refused (attention with keys of another width)
                self.lost.add(node)
            else:
                self._tuple_item(node, node.args[0])
            return
        shape = _tensor_shape(node)
        inputs = self._tensor_inputs(node)
        params = self._parameters_read(node)
        if any(arg in self.lost for arg in node.all_input_nodes):  # after a part refused: refused with it,
            self._check_kind(node)  # and said too when it has no kind itself
            self.lost.add(node)
            return
        if shape is None:  # a size, a flag, an assert, or several tensors
            if not inputs:
                return
            if node.op == "call_module":
                self._module(node, inputs, None)  # attention or an LSTM: (output, state)
                self.tuples[node] = "first"
            elif node.target in ("chunk", torch.chunk):
                self.tuples[node] = "chunk"
                self.index[node] = self.index[inputs[0]]
            elif _carries_tensor(node) and any(user.op != "output" for user in node.users):
                self._refuse(node, f"{_function_name(node.target)}: no layer kind")
            return
        if not inputs:
            if params or node.op == "call_method":
                self.parameters[node] = shape  # a parameter reshaped or expanded
            return
        if node.op == "call_module":
            self._module(node, inputs, shape)
        else:
            self._function(node, inputs, params, shape)

    def _parameters_read(self, node: fx.Node) -> list[fx.Node]:
        return [arg for arg in node.args if isinstance(arg, fx.Node) and arg in self.parameters]

    def _check_kind(self, node: fx.Node) -> None:
        """After a refused part: is there a kind for this one (so that the message lists every part at once)?"""
        if node.op == "call_module":
            module = self.module.get_submodule(str(node.target))
            if converter(module) is None and type(module).__name__ not in self.custom:
                self._refuse(node, f"{node.target} ({type(module).__name__})")
        elif _carries_tensor(node):  # a function or a method
            params = self._parameters_read(node)
            try:
                self._function_kind(node, node.target, node.args, list(node.all_input_nodes), params,
                                    _tensor_shape(node) or ())
            except Unsupported as err:
                name = _function_name(node.target)
                if name not in self.custom:
                    self._refuse(node, f"{name}: {err}")
            except Exception:  # noqa: BLE001  # its inputs are unknown: judged by its kind alone
                pass

    def _tuple_item(self, node: fx.Node, source: fx.Node) -> None:
        """An item of attention's or an LSTM's (output, state): the output; of torch.chunk: a channel split."""
        position = node.args[1]
        if self.tuples[source] == "first":
            if position == 0:
                self.index[node] = self.index[source]
            elif node.users:  # a recurrent layer's final state, attention's weights, read: no layer gives them
                self._refuse(node, f"{source.target}'s item {position} (paramcalc's layer gives item 0, the output; "
                                   "an LSTM's h_n[-1] is its output[:, -1] when it runs one way)")
            return
        parts = source.args[1] if len(source.args) > 1 else source.kwargs.get("chunks")
        dim = source.args[2] if len(source.args) > 2 else source.kwargs.get("dim", 0)
        if dim != 1:
            if source not in self.lost:  # said once for the chunk, not for each of its items
                self._refuse(source, f"chunk along dimension {dim} (paramcalc splits the channels)")
            self.lost.add(node)
            return
        chunked: Any = source.args[0]
        self._add(node, "channel_split", {"take": position, "parts": parts}, [chunked], "split")

    def _add(self, node: fx.Node, kind: str, settings: Settings, inputs: list[fx.Node], name: str,
             functional: bool = False) -> None:
        scope = self._scope(node)
        module_paths = [*scope, str(node.target)] if node.op == "call_module" else list(scope)
        train_only = any(path not in self.called for path in module_paths if path)
        op = Op(scope=scope, name=name, kind=kind, settings=settings, inputs=[self.index[i] for i in inputs],
                train_only=train_only, functional=functional)
        self.index[node] = len(self.ops)
        self.ops.append(op)

    def _module(self, node: fx.Node, inputs: list[fx.Node], shape: tuple | None) -> None:
        module = self.module.get_submodule(str(node.target))
        class_name = type(module).__name__
        if class_name in self.custom or str(node.target) in self.custom:
            self._custom(node, inputs, shape, sum(p.numel() for p in module.parameters()),
                         str(node.target).rsplit(".", 1)[-1])
            return
        convert = converter(module)
        if convert is None:
            self._refuse(node, f"{node.target} ({class_name})")
            return
        try:
            kind, settings = convert(module)
        except Unsupported as err:
            self._refuse(node, f"{node.target} ({class_name}): {err}")
            return
        if kind == "attention" and len(inputs) != 1:
            self._refuse(node, f"{node.target}: attention whose query, key and value differ")
            return
        self._add(node, kind, settings, inputs[:1], str(node.target).rsplit(".", 1)[-1])
        self.ops[-1].module = subclass_name(module, kind)  # a subclass (Conv3DSimple): counters that hook by type miss it

    def _custom(self, node: fx.Node, inputs: list[fx.Node], shape: tuple | None, params: int, name: str) -> None:
        """A placeholder the user completes: parameters and shape as PyTorch gives them, MACs to fill in."""
        if shape is None:
            self._refuse(node, f"{name}: a custom layer needs a tensor output")
            return
        self._add(node, "custom", {"out": list(shape[1:]), "params": params, "macs": 0}, inputs, name)
        self.ops[-1].comment = "fill in the MACs per sample (and flops, when they are not 2 per MAC)"

    # --- functions and methods ---------------------------------------------------------------------------
    def _function(self, node: fx.Node, inputs: list[fx.Node], params: list[fx.Node], shape: tuple) -> None:
        target, args = node.target, node.args
        name = _function_name(target)
        try:
            kind, settings, used = self._function_kind(node, target, args, inputs, params, shape)
        except Unsupported as err:
            if name in self.custom:
                self._custom(node, inputs, shape, 0, name)
                return
            self._refuse(node, f"{name}: {err}")
            return
        if kind == "alias":
            self.index[node] = self.index[used[0]]
            return
        # a function call (F.relu, F.max_pool2d, F.interpolate): counters that hook modules count it differently
        self._add(node, kind, settings, used, kind, functional=kind in FUNCTIONAL_KINDS)

    def _function_kind(self, node: fx.Node, target: Any, args: Any, inputs: list[fx.Node],
                       params: list[fx.Node], shape: tuple) -> tuple[str, Settings, list[Any]]:
        kwargs: Any = node.kwargs
        if target in ARITHMETIC or target in ("add", "add_", "mul", "mul_"):
            kind = ARITHMETIC.get(target) or str(target).rstrip("_")
            if params:
                parameter = self.parameters[params[0]]
                if kind == "add" and len(parameter) == 3 and parameter[0] == 1:
                    return "position_embedding", {"length": int(parameter[1])}, inputs
                if kind == "mul" and parameter and parameter[0] == shape[1]:
                    return "scale", {}, inputs
                raise Unsupported(f"{kind} with a parameter of shape {list(parameter)}")
            operands = list(args[:2])  # in order, the same tensor twice in x + x
            if len(operands) < 2 or not all(isinstance(arg, fx.Node) and arg in inputs for arg in operands):
                raise Unsupported(f"{kind} with a constant (paramcalc's {kind} takes tensors)")
            return kind, {}, operands
        if target is torch.cat:
            parts = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if not isinstance(parts, (tuple, list)):  # torch.cat(x.chunk(2)): the tuple itself
                raise Unsupported("a concatenation of a tuple the model computes (write its items out)")
            tokens = [part for part in parts if part in self.parameters]
            if tokens:
                return "class_token", {"count": int(self.parameters[tokens[0]][1])}, inputs
            joined = [part for part in parts if part in self.index]
            if len(joined) == 1:  # DenseNet's first layer concatenates a list of one map: that map
                return "alias", {}, joined
            if dim % len(shape) == 0:
                raise Unsupported("a concatenation along the batch (dimension 0): paramcalc counts one sample")
            return "concat", {"dim": dim}, joined
        if target in ELEMENTWISE or (isinstance(target, str) and target in METHODS_ELEMENTWISE):
            return ELEMENTWISE.get(target) or METHODS_ELEMENTWISE[target], {}, inputs[:1]
        if target in (torch.flatten, "flatten"):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            if start == 0:
                raise Unsupported("flattening the batch into a sample")
            return "flatten", {"start_dim": start, "end_dim": end}, inputs[:1]
        if target in ("reshape", "view"):
            return "reshape", {"shape": list(shape[1:])}, inputs[:1]
        if target == "permute":
            dims = list(args[1]) if len(args) == 2 and isinstance(args[1], (tuple, list)) else list(args[1:])
            return "permute", {"dims": dims}, inputs[:1]
        if target in ("transpose", torch.transpose):
            return "transpose", {"dim0": args[1], "dim1": args[2]}, inputs[:1]
        if target is operator.getitem:
            return self._select(args[1], inputs)
        if target in (F.adaptive_avg_pool2d, torch.nn.functional.adaptive_avg_pool2d):
            size = args[1] if len(args) > 1 else kwargs.get("output_size")
            sizes = list(size) if isinstance(size, (tuple, list)) else [size, size]
            return ("global_avgpool", {}, inputs[:1]) if set(sizes) == {1} else \
                ("adaptive_avgpool", {"out": sizes}, inputs[:1])
        if target in (F.avg_pool2d, F.max_pool2d):
            names = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"] if target is F.avg_pool2d \
                else ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
            values = dict(zip(names, args[1:]), **{k: v for k, v in kwargs.items() if k in names})
            pooling: Settings = {"kernel": values["kernel_size"]}
            pooling["stride"] = values.get("stride") or values["kernel_size"]
            for key in names[2:]:
                if key in values:
                    pooling[key] = values[key]
            return ("avgpool" if target is F.avg_pool2d else "maxpool"), pooling, inputs[:1]
        if target in ("mean", torch.mean):  # x.mean([2, 3]) is aten::mean, not F.adaptive_avg_pool2d: a `mean`
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
            listed = list(dims) if isinstance(dims, (tuple, list)) else [dims]
            if dims is None or not listed:
                raise Unsupported("a mean over every dimension, the batch's too (paramcalc counts one sample)")
            if not all(isinstance(dim, int) and not isinstance(dim, bool) for dim in listed) or \
                    not isinstance(keepdim, bool):
                raise Unsupported(f"mean over dimensions {dims} that are not numbers written in the code")
            rank = len(_tensor_shape(inputs[0]) or ())
            if rank and any(dim % rank == 0 for dim in listed):
                raise Unsupported(f"mean over dimensions {dims}, the batch (dimension 0) among them")
            return "mean", {"dims": listed if isinstance(dims, (tuple, list)) else dims, "keepdim": keepdim}, \
                inputs[:1]
        if target in DROPOUTS:
            return DROPOUTS[target], {"p": args[1] if len(args) > 1 else kwargs.get("p", 0.5)}, inputs[:1]
        if target is F.interpolate:
            mode = kwargs.get("mode", "nearest")
            settings: Settings = {"size": list(shape[2:]), "mode": mode}
            if mode != "nearest":
                settings["align_corners"] = bool(kwargs.get("align_corners") or False)
            return "upsample", settings, inputs[:1]
        if getattr(target, "__name__", "") == "_patch_merging_pad":
            return "patch_merging", {}, inputs[:1]
        raise Unsupported("no layer kind")

    def _select(self, index: Any, inputs: list[fx.Node]) -> tuple[str, Settings, list[fx.Node]]:
        """x[:, 0] (ViT's class token) or x[:, -1] (an RNN's last step): one index of one dimension."""
        items = index if isinstance(index, tuple) else (index,)
        whole = slice(None)
        if items and isinstance(items[-1], int) and all(item == whole for item in items[:-1]) and len(items) >= 2:
            dim, position = len(items) - 1, items[-1]
            size = _tensor_shape(inputs[0])
            if position < 0 and size is not None:
                position += size[dim]
            return "select", {"dim": dim, "index": position}, inputs[:1]
        raise Unsupported(f"indexing with {index!r}")
