"""The layer-kind protocol and its registry.

One class per kind holds everything about it: its fields, how its output shape follows
from its inputs, its parameters and buffers, MACs and FLOPs, and its receptive-field
step. Counts are per sample; the analysis multiplies MACs, FLOPs and activations by the
batch size. Adding a kind is one class with `@register`.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import LayerError
from ..dims import Dim, Shape, format_shape
from ..receptive import Window
from .fields import SpecField


class TorchCall(namedtuple("TorchCall", "module args kwargs", defaults=((), None))):
    """How to build a layer in PyTorch, as data: `nn.Conv2d(3, 64, kernel_size=(7, 7), ...)`.

    `module` is an attribute of torch.nn ('Conv2d') or, prefixed with 'paramcalc.', one of the small
    modules in paramcalc.torch.modules ('paramcalc.Concat'). The core never imports torch.
    """

    __slots__ = ()

    def __new__(cls, module: str, args: tuple = (), kwargs: dict[str, Any] | None = None) -> "TorchCall":
        return super().__new__(cls, module, args, kwargs or {})


class Saved(namedtuple("Saved", "source index elements dtype batched", defaults=(0, 0, "activation", True))):
    """One tensor a layer keeps for backward in training, as PyTorch's autograd saves it.

    source is where its storage comes from: 'input' (the storage of input `index`, shared with whoever made
    or saves it), 'output' (the layer's own output), 'own' (a tensor made for backward only: `elements` per
    sample, or in all when not `batched`), 'param' or 'buffer' (the layer's parameter or buffer number
    `index`, of `elements` values). dtype is 'activation' (the activations' type, half precision under
    --amp), 'float32' (statistics PyTorch keeps in its accumulation type: float32, float64 in a float64
    model), 'int64' (max-pooling indices, token ids, an index buffer), 'param' (the parameters' type, which
    is also that of tensors autocast does not cast, such as a GRU's hidden state) or 'cast' (autocast's half
    copy of such a tensor, which a product keeps: it exists under --amp only, and counts nothing without). A
    'param' saved at 'activation' dtype is the copy autocast casts it to under --amp.
    """

    __slots__ = ()


class Backward(namedtuple("Backward", "input_macs input_flops weight_macs weight_flops shared_macs shared_flops",
                          defaults=(0, 0, 0, 0, 0, 0))):
    """A layer's backward pass per sample: the gradient of its inputs and of its weights, each as MACs (of the
    matrix products, 2 FLOPs each) and FLOPs (everything). The analysis leaves out the input part where no input
    needs a gradient (the first layer) and the weight part where the layer has no trainable parameters. The shared
    part is what either gradient needs (the products back through attention's scores, a recurrent layer's steps
    back through time): counted whenever the layer is in the backward pass at all."""

    __slots__ = ()


NEW, VIEW, STRIDED, RESHAPE = "new", "view", "strided", "reshape"  # LayerKind.storage


class LayerKind:
    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()  # other names the kind answers to
    summary: ClassVar[str]
    flops_formula: ClassVar[str] = "0"
    torch_name: ClassVar[str] = ""  # the PyTorch module (or function) with the same semantics
    fields: ClassVar[tuple[SpecField, ...]] = ()
    primary: ClassVar[str | None] = None  # the field `- kind: value` sets
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 1
    size_inputs: ClassVar[tuple[int, ...]] = ()  # inputs read only for their size (upsample's second)
    follows_positions: ClassVar[bool] = True  # False: the receptive field is not followed past this kind

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    if TYPE_CHECKING:  # the fields are attributes set from the spec: out, kernel, stride, ...
        def __getattr__(self, name: str) -> Any: ...

    @classmethod
    def field_names(cls) -> frozenset[str]:
        names = cls.__dict__.get("_field_names")
        if names is None:
            names = frozenset(f.name for f in cls.fields)
            cls._field_names = names  # type: ignore[attr-defined]
        return names

    # --- what every kind answers; defaults suit element-wise layers -------------------
    def output_shape(self, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def params(self, inputs: list[Shape]) -> Dim:
        return 0

    def buffers(self, inputs: list[Shape]) -> Dim:
        return 0

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return 0

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 0

    def window(self, inputs: list[Shape], output: Shape) -> Window | None:
        """The receptive-field step; None means element-wise (kernel 1, stride 1)."""
        return None

    def reads_whole_map(self, inputs: list[Shape]) -> bool:
        return False

    def map_size(self, inputs: list[Shape], output: Shape) -> tuple | None:
        """The (height, width) of the map the output's positions form; None for a flat output."""
        return (output[1], output[2]) if len(output) == 3 else None

    def mixed_axes(self, inputs: list[Shape]) -> tuple[int, ...]:
        """The axes of a sample's shape whose values this layer combines (0 = the first after the batch):
        a linear layer its last, a softmax its `dim`. Element-wise layers combine none."""
        return ()

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | str | None:
        """For a layer without a window: where the input map's positions sit in the output's shape, given where
        they sit in the input's (`axes`, see ReceptiveField). WHOLE when the layer combines an axis that holds
        every position (attention over tokens, a linear layer on a flattened map); None when the receptive
        field cannot be followed past this layer (it combines some positions, or moves them in a way that is
        no sliding window)."""
        if not self.follows_positions or len(output) != len(inputs[0]):
            return None
        combined = set(self.mixed_axes(inputs)) & set(axes)
        if not combined:
            return axes
        return WHOLE if len(axes) == 1 else None

    # --- training: what autograd keeps, and the backward pass ---------------------------------------------
    def storage(self, inputs: list[Shape]) -> str:
        """Where the output lives: NEW (a storage of its own), VIEW (input 0's storage, as contiguous as it),
        STRIDED (a non-contiguous view of input 0: a permute) or RESHAPE (a view of input 0 when that is
        contiguous, else a copy, as torch.reshape does)."""
        return NEW

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved] | None:
        """The tensors PyTorch saves for backward in training mode, given which inputs need a gradient and
        whether the layer's parameters are trained (called only when one of them is so). None: paramcalc
        does not know what this kind saves; the training figures then say so instead of guessing."""
        return None

    def backward(self, inputs: list[Shape], output: Shape) -> Backward | None:
        """The backward pass per sample. The default suits kinds without parameters or matrix products: the
        gradient of the input costs what the forward pass costs. None: not known."""
        if self.params(inputs) != 0 or self.macs(inputs, output) != 0:
            return None  # a kind with weights or products states its own
        return Backward(input_flops=self.flops(inputs, output))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        """The sums behind this layer's figures with its own numbers, for `paramcalc explain`."""
        flops = self.flops(inputs, output)
        return [("FLOPs", f"{self.flops_formula} = {flops:,}")] if flops != 0 else []

    def settings(self) -> str:
        """The layer's fields as written in a spec: 'out=64, kernel=3, padding=1'."""
        parts = []
        for field in self.fields:
            value = getattr(self, field.name)
            if value is None:  # an optional field left out (upsample's size when it has a scale)
                continue
            if isinstance(value, tuple) and len(value) == 4:  # padding: (top, bottom, left, right)
                top, bottom, left, right = value
                value = ([top, left] if top != left else top) if (top, left) == (bottom, right) else \
                    f"{{top: {top}, bottom: {bottom}, left: {left}, right: {right}}}"
            if isinstance(value, tuple) and len(value) == 2:
                value = value[0] if value[0] == value[1] else list(value)
            parts.append(f"{field.name}={str(value).lower() if isinstance(value, bool) else value}")
        return ", ".join(parts)

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        """The PyTorch module with the same semantics, for paramcalc.torch.build and export."""
        raise NotImplementedError(f"{self.kind} has no PyTorch equivalent")

    # --- helpers shared by the kinds -------------------------------------------------
    def need_rank(self, shape: Shape, rank: int, what: str) -> None:
        if len(shape) != rank:
            hint = "add a 'flatten' before a linear layer" if rank == 1 else None
            if rank == 3 and len(shape) == 1:
                hint = "this layer needs a feature map (channels x height x width), but it gets a flat vector"
            raise LayerError(f"{self.kind} needs {what}, got shape {format_shape(shape)}", hint=hint)


WHOLE = "whole"  # LayerKind.positions: the layer reads every position of its input

REGISTRY: dict[str, type[LayerKind]] = {}
ALIASES: dict[str, str] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    for name in (cls.kind, *cls.aliases):
        if name in REGISTRY or name in ALIASES:
            raise RuntimeError(f"layer kind '{name}' registered twice")
    REGISTRY[cls.kind] = cls
    for alias in cls.aliases:
        ALIASES[alias] = cls.kind
    return cls


def lookup(name: str) -> type[LayerKind] | None:
    return REGISTRY.get(ALIASES.get(name, name))
