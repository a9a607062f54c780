"""Layers that reorder or reshape a sample's axes, and the learned tokens of a vision transformer.

Dimensions are numbered as in PyTorch, where 0 is the batch: `permute: [0, 2, 3, 1]` turns a
C x H x W map into H x W x C (channels last), as torchvision's Permute does.
"""

from __future__ import annotations

from typing import ClassVar

from ..dims import Dim, Shape, divides, format_shape, numel, same
from ..receptive import Window
from .base import RESHAPE, STRIDED, VIEW, Backward, LayerError, LayerKind, Saved, TorchCall, register
from .fields import Axis, Bool, Int, Numbers, SpecField
from .structure import sample_axis


@register
class Permute(LayerKind):
    kind = "permute"
    torch_name = "torch.permute (torchvision's Permute)"
    summary = "reorder the dimensions: [0, 2, 3, 1] makes a C x H x W map channels-last (H x W x C)"
    fields: ClassVar[tuple[SpecField, ...]] = (
        SpecField("dims", Numbers("dimensions"), doc="a permutation of 0..rank, batch (0) first"),)
    primary: ClassVar[str | None] = "dims"

    def order(self, inputs: list[Shape]) -> tuple[int, ...]:
        return self.dims

    def output_shape(self, inputs: list[Shape]) -> Shape:
        rank, dims = len(inputs[0]) + 1, self.order(inputs)
        if sorted(dims) != list(range(rank)):
            raise LayerError(f"dims {list(dims)} is not a permutation of 0..{rank - 1} (the input "
                             f"{format_shape(inputs[0])} has {rank} dimensions with the batch)", field="dims",
                             hint=f"list each of 0..{rank - 1} once, e.g. {[0, *range(2, rank), 1]}")
        if dims[0] != 0:
            raise LayerError("the batch (dimension 0) must stay first", field="dims",
                             hint="paramcalc counts per sample: start the list with 0")
        return tuple(inputs[0][axis - 1] for axis in dims[1:])

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | None:
        moved = [axis - 1 for axis in self.order(inputs)[1:]]
        return tuple(moved.index(axis) for axis in axes)

    def storage(self, inputs: list[Shape]) -> str:
        return STRIDED

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Permute", (tuple(self.order(inputs)),))


@register
class Transpose(Permute):
    kind = "transpose"
    torch_name = "torch.transpose"
    summary = "swap two dimensions: {dim0: 1, dim1: 2} turns C x L into L x C"
    fields: ClassVar[tuple[SpecField, ...]] = (SpecField("dim0", Axis()), SpecField("dim1", Axis()))
    primary: ClassVar[str | None] = None

    def order(self, inputs: list[Shape]) -> tuple[int, ...]:
        rank = len(inputs[0])
        first, second = (sample_axis(dim, rank, self.kind) + 1 for dim in (self.dim0, self.dim1))
        order = list(range(rank + 1))
        order[first], order[second] = order[second], order[first]
        return tuple(order)


def _sizes_with_wildcard(sizes: tuple, total: Dim, kind: str, what: str) -> tuple:
    """The sizes with a -1 replaced by what makes their product `total`; an error when they cannot."""
    if list(sizes).count(-1) > 1:
        raise LayerError(f"{kind} allows one -1, got {list(sizes)}", field="shape")
    known = numel([size for size in sizes if size != -1])
    if -1 in sizes:
        if not divides(known, total):
            raise LayerError(f"{what} of {total} elements cannot be split into {list(sizes)}",
                             hint=f"the sizes other than -1 multiply to {known}, which must divide {total}",
                             field="shape")
        return tuple(total // known if size == -1 else size for size in sizes)
    if not same(known, total):
        raise LayerError(f"{what} has {total} elements but {list(sizes)} multiply to {known}",
                         hint="the sizes must multiply to the same total (use -1 for one size to work it out)",
                         field="shape")
    return sizes


@register
class Reshape(LayerKind):
    follows_positions = False  # the positions may end up anywhere
    kind = "reshape"
    aliases = ("view",)
    torch_name = "torch.reshape"
    summary = "give a sample a new shape with the same elements (one size may be -1)"
    fields = (SpecField("shape", Numbers("sizes", minimum=1, wildcard=True), doc="per sample, without the batch"),)
    primary = "shape"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return _sizes_with_wildcard(self.shape, numel(inputs[0]), self.kind, f"the input {format_shape(inputs[0])}")

    def storage(self, inputs: list[Shape]) -> str:
        return RESHAPE

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Reshape", (tuple(self.output_shape(inputs)),))


@register
class Unflatten(LayerKind):
    kind = "unflatten"
    torch_name = "nn.Unflatten"
    summary = "split one dimension into several: {dim: 1, sizes: [7, 7]} turns C x 49 into C x 7 x 7"
    fields = (SpecField("dim", Axis()), SpecField("sizes", Numbers("sizes", minimum=1, wildcard=True)))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        axis = sample_axis(self.dim, len(inputs[0]), self.kind)
        sizes = _sizes_with_wildcard(self.sizes, inputs[0][axis], self.kind, f"dimension {self.dim}")
        return (*inputs[0][:axis], *sizes, *inputs[0][axis + 1:])

    def positions(self, inputs: list[Shape], output: Shape, axes: tuple) -> tuple | None:
        axis = sample_axis(self.dim, len(inputs[0]), self.kind)
        if axis in axes:
            return None
        return tuple(a if a < axis else a + len(self.sizes) - 1 for a in axes)

    def storage(self, inputs: list[Shape]) -> str:
        return VIEW  # splitting a dimension is always a view

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        axis = sample_axis(self.dim, len(inputs[0]), self.kind)
        return TorchCall("Unflatten", (self.dim, tuple(self.output_shape(inputs)[axis:axis + len(self.sizes)])))


class _Tokens(LayerKind):
    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # a concatenation or a sum: the gradients are slices or copies of the output's

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # the learned tokens' gradient sums the output's over the batch: an add per parameter and sample
        return Backward(input_flops=self.flops(inputs, output), weight_flops=self.params(inputs))

    def tokens(self, inputs: list[Shape]) -> tuple[Dim, Dim]:
        if len(inputs[0]) != 2:
            raise LayerError(f"{self.kind} needs tokens (length x features), got {format_shape(inputs[0])}",
                             hint="flatten the patch map and transpose it first: C x H x W -> (H·W) x C")
        return inputs[0]


@register
class ClassToken(_Tokens):
    follows_positions = False  # unit 0 is then the class token, which sees nothing until attention mixes tokens
    kind = "class_token"
    torch_name = "a learned 1 x 1 x D parameter concatenated before the tokens (ViT's class_token)"
    summary = "prepend learned tokens to the sequence: L x D -> (L + count) x D (ViT's class token)"
    fields = (SpecField("count", Int(), 1, doc="how many tokens (DeiT adds a second, distillation token)"),)
    primary = "count"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        length, features = self.tokens(inputs)
        return (length + self.count, features)

    def params(self, inputs: list[Shape]) -> Dim:
        return self.count * self.tokens(inputs)[1]

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        return [("params", f"{self.count}·{inputs[0][1]} = {self.params(inputs):,} (one learned token of "
                           f"{inputs[0][1]} features each)")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.ClassToken", (self.tokens(inputs)[1], self.count))


@register
class PositionEmbedding(_Tokens):
    kind = "position_embedding"
    torch_name = "a learned 1 x L x D parameter added to the tokens (ViT's pos_embedding)"
    summary = "add a learned vector to each token, one per position"
    flops_formula = "1 per element (the add)"
    fields = (SpecField("length", Int(), None,
                        doc="the positions it was learned for (the input's token count must equal it); "
                            "left out: one per token of the input, as models that resize it do"),)
    primary = "length"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        length, _ = self.tokens(inputs)
        if self.length is not None and not same(length, self.length):
            raise LayerError(f"the position embedding is learned for {self.length} tokens, but the input has "
                             f"{length}", field="length",
                             hint="the image size fixes the token count: (H/patch)·(W/patch) + class tokens; "
                                  "give the size the model was trained at, or leave 'length' out to size the "
                                  "embedding from the input")
        return inputs[0]

    def rows(self, inputs: list[Shape]) -> Dim:
        return self.tokens(inputs)[0] if self.length is None else self.length

    def params(self, inputs: list[Shape]) -> Dim:
        return self.rows(inputs) * self.tokens(inputs)[1]

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return numel(output)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        return [("params", f"{self.rows(inputs)}·{inputs[0][1]} = {self.params(inputs):,} (a vector per position)"),
                ("FLOPs", f"{numel(output):,} (one add per element)")]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.PositionEmbedding", (self.rows(inputs), self.tokens(inputs)[1]))


@register
class PatchEmbed(LayerKind):
    kind = "patch_embed"
    torch_name = "nn.Conv2d(kernel = stride = patch), flatten and transpose (ViT's conv_proj)"
    summary = ("cut the image into patch x patch squares and project each to a token: C x H x W -> "
               "(H/p · W/p) x out")
    flops_formula = "2·MACs + (bias ? tokens·out : 0); MACs = tokens·out·C·patch²"
    fields = (SpecField("out", Int(), doc="features per token (the hidden dimension)"),
              SpecField("patch", Int(), doc="patch side in pixels"),
              SpecField("image", Int(), None, doc="the only image side the model takes (torchvision's ViT "
                                                  "checks image_size); left out: any multiple of the patch"),
              SpecField("bias", Bool(), True))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.need_rank(inputs[0], 3, "an image (channels x height x width)")
        sides = []
        for axis, size in zip(("height", "width"), inputs[0][1:]):
            if self.image is not None:
                if not same(size, self.image):
                    raise LayerError(f"the model takes {self.image}x{self.image} images, got {axis} {size}",
                                     field="image", hint=f"give --input {inputs[0][0]}x{self.image}x{self.image}")
                size = self.image
            if not divides(self.patch, size):
                raise LayerError(f"the patch ({self.patch}) does not divide the image {axis} {size}",
                                 field="patch", hint="choose an input size that is a multiple of the patch")
            sides.append(size // self.patch)
        return (sides[0] * sides[1], self.out)

    def params(self, inputs: list[Shape]) -> Dim:
        return self.out * inputs[0][0] * self.patch * self.patch + (self.out if self.bias else 0)

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return output[0] * self.out * inputs[0][0] * self.patch * self.patch

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 2 * self.macs(inputs, output) + (numel(output) if self.bias else 0)

    def window(self, inputs: list[Shape], output: Shape) -> Window:
        return Window((self.patch, self.patch), (self.patch, self.patch), (0, 0))

    def map_size(self, inputs: list[Shape], output: Shape) -> tuple | None:
        return tuple(size // self.patch for size in inputs[0][1:])

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        channels, height, width = inputs[0]
        p = self.patch
        return [("tokens", f"({height}/{p})·({width}/{p}) = {output[0]}"),
                ("params", f"{p}·{p}·{channels}·{self.out}" + (f" + {self.out}" if self.bias else "")
                 + f" = {self.params(inputs):,}"),
                ("MACs", f"{output[0]}·{self.out}·{channels}·{p}·{p} = {self.macs(inputs, output):,}")]

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return [Saved("input"), Saved("param", elements=self.out * inputs[0][0] * self.patch * self.patch)]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        macs = self.macs(inputs, output)  # a convolution's (_Conv.backward)
        return Backward(macs, 2 * macs, macs, 2 * macs + (numel(output) if self.bias else 0))

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.PatchEmbed", (inputs[0][0], self.out, self.patch), {"bias": self.bias})


@register
class Select(LayerKind):
    follows_positions = False  # one token or step out of many
    kind = "select"
    torch_name = "torch.select (x[:, 0]: ViT's class token)"
    summary = "keep one index of a dimension and drop the dimension: the class token of (L x D) tokens is D"
    fields = (SpecField("dim", Axis(), 1), SpecField("index", Int(minimum=0), 0))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        axis = sample_axis(self.dim, len(inputs[0]), self.kind)
        size = inputs[0][axis]
        if isinstance(size, int) and self.index >= size:
            raise LayerError(f"index {self.index} is beyond dimension {self.dim} of size {size}", field="index")
        return (*inputs[0][:axis], *inputs[0][axis + 1:])

    def storage(self, inputs: list[Shape]) -> str:
        return STRIDED

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.Select", (self.dim, self.index))
