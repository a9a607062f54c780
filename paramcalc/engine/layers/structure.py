"""Layers that merge, split or rearrange tensors without learning anything."""

from __future__ import annotations

from ..dims import Dim, Shape, ceildiv, divides, format_shape, is_concrete, numel, same
from .base import (
    RESHAPE,
    STRIDED,
    VIEW,
    LayerError,
    LayerKind,
    Saved,
    TorchCall,
    register,
)
from .fields import Axis, Int, Numbers, SpecField


def sample_axis(axis: int, rank: int, kind: str) -> int:
    """PyTorch's dimension numbering (0 = batch, negative from the end) -> index in a sample's shape."""
    full = axis + rank + 1 if axis < 0 else axis
    if not 1 <= full <= rank:
        raise LayerError(f"{kind} dim={axis} is not a dimension of a sample's {rank}-d shape",
                         hint="dim 1 is the channels; dim 0 is the batch and cannot be used here", field="dim")
    return full - 1


@register
class Concat(LayerKind):
    kind = "concat"
    aliases = ("cat",)
    torch_name = "torch.cat"
    summary = "join inputs along the channels (DenseNet, Inception); other sizes must agree"
    flops_formula = "0"
    fields = (SpecField("dim", Axis(), 1),)
    min_inputs, max_inputs = 2, 1_000

    def output_shape(self, inputs: list[Shape]) -> Shape:
        first = inputs[0]
        axis = sample_axis(self.dim, len(first), self.kind)
        for index, shape in enumerate(inputs[1:], start=2):
            if len(shape) != len(first) or not all(
                    same(a, b) for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
                raise LayerError(
                    f"cannot concatenate {format_shape(first)} with {format_shape(shape)} (input {index}): "
                    f"all sizes except dim {self.dim} must agree",
                    hint="check the strides and padding of each branch so their maps have the same size")
        total: Dim = 0
        for shape in inputs:
            total = total + shape[axis]
        return (*first[:axis], total, *first[axis + 1:])

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | None:
        return None if sample_axis(self.dim, len(output), self.kind) in axes else axes

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # each input's gradient is a slice of the output's

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Concat", (self.dim,))


def broadcast(inputs: list[Shape], kind: str) -> Shape:
    """PyTorch's broadcasting of per-sample shapes (sizes agree or one of them is 1)."""
    if inputs.count(inputs[0]) == len(inputs):  # equal shapes (a residual add): nothing to broadcast
        return inputs[0]
    rank = max(len(s) for s in inputs)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in inputs]
    result = []
    for axis in range(rank):
        sizes = [s[axis] for s in padded if not (is_concrete(s[axis]) and s[axis] == 1)]
        if not all(same(sizes[0], size) for size in sizes[1:]):
            shown = " and ".join(format_shape(s) for s in inputs)
            raise LayerError(f"{kind} needs matching shapes, got {shown}",
                             hint="sizes must be equal, or 1 to broadcast (a C x 1 x 1 scale); "
                                  "a shortcut usually needs a 1x1 conv with the same stride (a projection)")
        result.append(sizes[0] if sizes else 1)
    return tuple(result)


class _Arithmetic(LayerKind):
    min_inputs, max_inputs = 2, 1_000

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # a sum passes its gradient on unchanged (Multiply overrides)

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return broadcast(inputs, self.kind)

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return (len(inputs) - 1) * numel(output)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        return [("FLOPs", f"({len(inputs)} - 1)·{numel(output):,} = {self.flops(inputs, output):,}")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc." + type(self).__name__)


@register
class Add(_Arithmetic):
    kind = "add"
    torch_name = "a + b"
    summary = "element-wise sum: the residual shortcut of ResNet"
    flops_formula = "(inputs − 1) per output element"


@register
class Multiply(_Arithmetic):
    kind = "mul"
    aliases = ("multiply",)
    torch_name = "a * b"
    summary = "element-wise product, broadcasting a C x 1 x 1 gate (squeeze-and-excitation)"
    flops_formula = "(inputs − 1) per output element"

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # PyTorch multiplies one input at a time; each product keeps each operand for the other's gradient.
        # The running product of the first k inputs is the first input, then a tensor of its own.
        kept: list[Saved] = []
        for index in range(1, len(inputs)):
            if any(needs_grad[:index]):
                kept.append(Saved("input", index))
            if needs_grad[index]:
                kept.append(Saved("input") if index == 1 else Saved("own", 0, numel(broadcast(inputs[:index], self.kind))))
        return kept


@register
class Flatten(LayerKind):
    kind = "flatten"
    torch_name = "nn.Flatten"
    summary = "merge dimensions start_dim..end_dim into one (C x H x W -> C·H·W)"
    fields = (SpecField("start_dim", Axis(), 1), SpecField("end_dim", Axis(), -1))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        start = sample_axis(self.start_dim, len(shape), self.kind)
        end = sample_axis(self.end_dim, len(shape), self.kind)
        if start > end:
            raise LayerError(f"start_dim={self.start_dim} comes after end_dim={self.end_dim}", field="start_dim")
        return (*shape[:start], numel(shape[start:end + 1]), *shape[end + 1:])

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | None:
        rank = len(inputs[0])
        start, end = sample_axis(self.start_dim, rank, self.kind), sample_axis(self.end_dim, rank, self.kind)
        merged = [axis for axis in axes if start <= axis <= end]
        if not merged:
            return tuple(axis if axis < start else axis - (end - start) for axis in axes)
        if len(merged) == len(axes):  # all positions in one axis: tokens, or the flat vector
            return (start,)
        return None

    def storage(self, inputs: list[Shape]) -> str:
        return RESHAPE

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("Flatten", (self.start_dim, self.end_dim))


@register
class ChannelShuffle(LayerKind):
    kind = "channel_shuffle"
    torch_name = "nn.ChannelShuffle"
    summary = "interleave the channels of `groups` groups (ShuffleNet)"
    fields = (SpecField("groups", Int()),)
    primary = "groups"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) < 2:  # as nn.ChannelShuffle, which takes N x C x ...
            raise LayerError(f"channel_shuffle needs channels and at least one more dimension, got shape "
                             f"{format_shape(inputs[0])}", hint="shuffle a map (C x H x W) or tokens' features")
        channels = inputs[0][0]
        if not divides(self.groups, channels):
            raise LayerError(f"groups={self.groups} does not divide channels={channels}", field="groups")
        return inputs[0]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("ChannelShuffle", (self.groups,))


@register
class ChannelSplit(LayerKind):
    kind = "channel_split"
    aliases = ("chunk",)
    torch_name = "torch.chunk(x, parts, dim=1)[take]"
    summary = "cut the channels into `parts` chunks and keep chunk `take` (ShuffleNet v2)"
    fields = (SpecField("take", Int(minimum=0), doc="which chunk, from 0"), SpecField("parts", Int(), 2))
    primary = "take"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if not inputs[0]:
            raise LayerError("channel_split needs a channel dimension")
        channels = inputs[0][0]
        chunk = ceildiv(channels, self.parts)  # torch.chunk: equal chunks, the last one smaller
        chunks = ceildiv(channels, chunk)
        if self.take >= chunks:
            raise LayerError(f"take={self.take} but {channels} channels give {chunks} chunks of {chunk}",
                             hint=f"take is counted from 0 and must be below {chunks}", field="take")
        size = min(chunk, channels - self.take * chunk)
        return (size, *inputs[0][1:])

    def storage(self, inputs: list[Shape]) -> str:
        return STRIDED  # a slice of the channels: a view of the whole input

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.ChannelSplit", (self.parts, self.take))


@register
class AssertShape(LayerKind):
    kind = "assert_shape"
    aliases = ("expect_shape",)
    torch_name = "a check of the input's size (torchvision's ViT asserts h == w == image_size)"
    summary = "refuse any other input shape: a model that checks its input size (after this layer sizes are fixed)"
    fields = (SpecField("shape", Numbers("sizes", minimum=1), doc="the one shape it takes, per sample"),)
    primary = "shape"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) != len(self.shape) or not all(same(size, wanted) for size, wanted in zip(shape, self.shape)):
            wanted = format_shape(tuple(self.shape))
            raise LayerError(f"the model takes only {wanted} inputs, got {format_shape(shape)}", field="shape",
                             hint=f"give --input {wanted}")
        return tuple(self.shape)

    def storage(self, inputs: list[Shape]) -> str:
        return VIEW

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.AssertShape", (tuple(self.shape),))
