"""Attention: every token's output is a mix of all the tokens (or of the tokens in its window).

MACs count the four projections (queries, keys, values, output) and the two products of attention
itself, Q·Kᵀ and A·V: that is torchvision's count (vit_b_16: 17.56 G, of which 0.72 G attention).

Training: what PyTorch 2.13 saves on the CPU, measured in tests/test_training_torch.py. nn.MultiheadAttention
(need_weights=False) calls scaled_dot_product_attention, which on the CPU runs the flash kernel when there is no
dropout on the weights (it keeps Q, K, V, the output and a float32 logsumexp per query and head, and recomputes
the scores in the backward pass) and the math path otherwise (it keeps the softmax, the dropout mask and the
dropped weights). Swin's window attention writes its products out (torchvision's shifted_window_attention).
"""

from __future__ import annotations

from ..dims import Dim, Shape, divides, format_shape, is_concrete
from .base import Backward, LayerError, LayerKind, Saved, TorchCall, register
from .fields import Bool, Int, Real, SpecField


class _Attention(LayerKind):
    flops_formula = ("2·MACs + 4·E per token (biases) + E per token (scaling the queries) "
                     "+ 3 per score (softmax); windows add 1 per score (position bias) and, shifted, 1 (mask)")

    def check_heads(self, features: Dim) -> None:
        if not divides(self.heads, features):
            raise LayerError(f"{self.heads} heads do not divide the embedding dimension {features}", field="heads",
                             hint="each head takes features/heads of the features: choose heads that divide it")

    def projection_params(self, features: Dim) -> Dim:
        return 4 * features * features + (4 * features if self.bias else 0)

    def score_count(self, tokens: Dim, window: Dim) -> Dim:
        """Attention scores for one sample: heads x tokens x the tokens each one attends to."""
        return self.heads * tokens * window

    def attention_flops(self, tokens: Dim, features: Dim, window: Dim, macs: Dim) -> Dim:
        biases = 4 * tokens * features if self.bias else 0
        return 2 * macs + biases + tokens * features + 3 * self.score_count(tokens, window)

    def attention_backward(self, tokens: Dim, features: Dim, window: Dim, score_products: int,
                           score_flops: Dim) -> Backward:
        """The backward pass of the projections and of attention itself, per sample. The input's gradient through
        the query, key and value projection (3·L·E² MACs); the weights' gradients (4·L·E² MACs, an add per output
        of each projection for its bias); and what either needs: the gradient through the output projection
        (L·E²), `score_products` products of L·window·E back through Q·Kᵀ and A·V, and the scaling and
        softmax (and position bias, mask), as many FLOPs as forward (`score_flops`)."""
        projections = tokens * features * features
        shared = projections + score_products * tokens * window * features
        return Backward(input_macs=3 * projections, input_flops=6 * projections,
                        weight_macs=4 * projections,
                        weight_flops=8 * projections + (4 * tokens * features if self.bias else 0),
                        shared_macs=shared, shared_flops=2 * shared + tokens * features + score_flops)


@register
class Attention(_Attention):
    kind = "attention"
    aliases = ("self_attention", "multihead_attention")
    torch_name = "nn.MultiheadAttention (self-attention: query = key = value)"
    summary = "multi-head self-attention over L tokens of E features: every token attends to every token"
    fields = (SpecField("heads", Int(), doc="attention heads; each works on E/heads features"),
              SpecField("bias", Bool(), True, doc="biases of the four projections"),
              SpecField("dropout", Real(minimum=0, maximum=1), 0.0, doc="on the attention weights, in training"))
    primary = "heads"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 2:
            raise LayerError(f"attention needs tokens (length x features), got {format_shape(inputs[0])}",
                             hint="flatten the map and transpose it to tokens first: C x H x W -> (H·W) x C")
        self.check_heads(inputs[0][1])
        return inputs[0]

    def params(self, inputs: list[Shape]) -> Dim:
        return self.projection_params(inputs[0][1])

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        tokens, features = inputs[0]
        return 4 * tokens * features * features + 2 * tokens * tokens * features

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        tokens, features = inputs[0]
        return self.attention_flops(tokens, features, tokens, self.macs(inputs, output))

    def reads_whole_map(self, inputs: list[Shape]) -> bool:
        return True

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # nn.MultiheadAttention(batch_first=True) in train mode, on the CPU. The query, key and value projection
        # keeps its input for its weight's gradient (a copy: the batch-first tokens, transposed to L x N x E, are
        # copied into rows; at a batch of 1 the input itself) and its weight for the input's; its output, Q, K
        # and V in one storage of 3·L·E, is kept by attention, as is attention's output (which the output
        # projection keeps too, the same storage).
        tokens, features = inputs[0]
        projection = [Saved("own", elements=tokens * features)] * trainable + \
            [Saved("param", 0, 3 * features * features)] * needs_grad[0]
        qkv = Saved("own", elements=3 * tokens * features)
        out_proj = Saved("param", 2, features * features)  # its input is attention's output, kept already
        if self.dropout == 0:
            # the flash kernel: Q, K, V, its output and the logsumexp of each query's scores, per head, in float32
            return [*projection, qkv, Saved("own", elements=tokens * features),
                    Saved("own", elements=self.heads * tokens, dtype="float32"), out_proj]
        # the math path (dropout on the weights): the scaled queries and the (copied) transposed keys, the softmax,
        # the dropout mask and the dropped weights (heads x L x L each), all in float32 (the CPU's math path
        # computes half precision in float32), V (a view of the projection's output; under half precision a
        # float32 copy of L·E, which this does not follow), and attention's output copied back to rows, for the
        # output projection's weight gradient
        scores = self.score_count(tokens, tokens)
        rows, table = Saved("own", elements=tokens * features, dtype="float32"), \
            Saved("own", elements=scores, dtype="float32")
        return [*projection, rows, rows, table, table, table, qkv,
                *[Saved("own", elements=tokens * features)] * trainable, out_proj]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # the flash kernel's backward recomputes Q·Kᵀ from the logsumexp, then takes the four gradient products:
        # five of L²·E in all; the math path keeps the weights, four
        tokens, features = inputs[0]
        return self.attention_backward(tokens, features, tokens, 5 if self.dropout == 0 else 4,
                                       3 * self.score_count(tokens, tokens))

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        tokens, features = inputs[0]
        bias = f" + 4·{features}" if self.bias else ""
        return [
            ("heads", f"{self.heads} of {features}/{self.heads} = {features // self.heads} features"),
            ("params", f"4·{features}²{bias} = {self.params(inputs):,} (query, key, value and output projections)"),
            ("MACs", f"4·{tokens}·{features}² + 2·{tokens}²·{features} = {4 * tokens * features * features:,} "
                     f"(projections) + {2 * tokens * tokens * features:,} (Q·Kᵀ and A·V) = "
                     f"{self.macs(inputs, output):,}"),
            ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + 4·{tokens}·{features}" if self.bias else "")
             + f" + {tokens}·{features} (scale) + 3·{self.heads}·{tokens}² (softmax) = {self.flops(inputs, output):,}"),
        ]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.SelfAttention", (inputs[0][1], self.heads),
                         {"bias": self.bias, "dropout": self.dropout})


@register
class WindowAttention(_Attention):
    follows_positions = False  # windows on a fixed grid are no sliding window
    kind = "window_attention"
    aliases = ("shifted_window_attention",)
    torch_name = "torchvision's ShiftedWindowAttention (Swin)"
    summary = ("self-attention inside windows of a channels-last H x W x C map, with a learned relative position "
               "bias; shifted by half a window every other block (Swin)")
    fields = (SpecField("heads", Int()),
              SpecField("window_size", Int(), doc="window side in tokens (Swin: 7)"),
              SpecField("shift", Int(minimum=0), 0,
                        doc="how far the windows move (Swin: window // 2 every other block; torchvision shifts "
                            "nothing where one window covers the map: write 0 there)"),
              SpecField("bias", Bool(), True, doc="biases of the projections"))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 3:
            raise LayerError(f"window_attention needs a channels-last map (height x width x channels), got "
                             f"{format_shape(inputs[0])}", hint="put 'permute: [0, 2, 3, 1]' before it")
        height, width, features = inputs[0]
        self.check_heads(features)
        for axis, size in (("height", height), ("width", width)):
            if not divides(self.window_size, size):
                raise LayerError(f"the window ({self.window_size}) does not divide the map's {axis} {size}",
                                 field="window_size", hint="torchvision pads the map to a multiple of the window; "
                                 "paramcalc counts whole windows: choose an input size whose maps the window divides")
        if self.shift >= self.window_size:
            raise LayerError(f"shift {self.shift} is not smaller than the window {self.window_size}", field="shift",
                             hint="Swin shifts by window // 2")
        return inputs[0]

    def params(self, inputs: list[Shape]) -> Dim:
        # the projections, and a bias per head for each of the (2w - 1)² relative offsets
        return self.projection_params(inputs[0][2]) + (2 * self.window_size - 1) ** 2 * self.heads

    def buffers(self, inputs: list[Shape]) -> Dim:
        return self.window_size ** 4  # relative_position_index: for each pair of tokens in a window, its offset's row

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        height, width, features = inputs[0]
        tokens, area = height * width, self.window_size * self.window_size
        return 4 * tokens * features * features + 2 * tokens * area * features

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        height, width, features = inputs[0]
        tokens, area = height * width, self.window_size * self.window_size
        added = (2 if self.shift else 1) * self.score_count(tokens, area)  # the position bias, the shift's mask
        return self.attention_flops(tokens, features, area, self.macs(inputs, output)) + added

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        # the products written out, as torchvision does: the qkv projection keeps its input (the windows, copied
        # into rows, unless the map is one column of windows and is not shifted: then a view of the input) and
        # its weight; Q·Kᵀ the scaled queries and the transposed keys (copied); the gathered position bias its
        # index (int64, for the table's gradient); the softmax its output, which A·V keeps too, with the values
        # (copied); the output projection its input (copied back from heads, for its weight's gradient) and its
        # weight. The mask and the rolls keep nothing.
        # The copies of K and V are views of the projection's output (3·L·C) when the batch holds one window.
        height, width, features = inputs[0]
        tokens, area = height * width, self.window_size * self.window_size
        window = self.window_size
        rolled = self.shift != 0 and any(not is_concrete(side) or side > window for side in (height, width))
        in_place = is_concrete(width) and width == window and not rolled
        rows, scores = tokens * features, self.score_count(tokens, area)
        qkv_input = Saved("input") if in_place else Saved("own", elements=rows)
        # the scores are in the parameters' type once the position bias (a parameter) is added: float32 under
        # --amp, where A·V keeps autocast's half copy of the softmax besides
        softmax = [Saved("own", elements=scores, dtype="param"), Saved("own", elements=scores, dtype="cast")]
        return [*[qkv_input] * trainable, *[Saved("param", 0, 3 * features * features)] * needs_grad[0],
                Saved("own", elements=rows), Saved("own", elements=rows),
                *[Saved("buffer", 0, area * area, "int64")] * trainable, *softmax, Saved("own", elements=rows),
                *[Saved("own", elements=rows)] * trainable, Saved("param", 2, features * features)]

    def backward(self, inputs: list[Shape], output: Shape) -> Backward:
        # the four gradient products of Q·Kᵀ and A·V within each window; the scaling, position bias, mask and
        # softmax as in forward; the position bias table's gradient an add per score
        height, width, features = inputs[0]
        tokens, area = height * width, self.window_size * self.window_size
        scores = self.score_count(tokens, area)
        parts = self.attention_backward(tokens, features, area, 4, (5 if self.shift else 4) * scores)
        return parts._replace(weight_flops=parts.weight_flops + scores)

    def arithmetic(self, inputs: list[Shape], output: Shape) -> list[tuple[str, str]]:
        height, width, features = inputs[0]
        tokens, area, w = height * width, self.window_size * self.window_size, self.window_size
        return [
            ("windows", f"({height}/{w})·({width}/{w}) = {tokens // area:,} windows of {w}·{w} = {area} tokens"),
            ("params", f"4·{features}²{' + 4·' + str(features) if self.bias else ''} + (2·{w} - 1)²·{self.heads} "
                       f"= {self.params(inputs):,} (projections, relative position bias table)"),
            ("buffers", f"{w}⁴ = {self.buffers(inputs):,} (relative position index)"),
            ("MACs", f"4·{tokens}·{features}² + 2·{tokens}·{area}·{features} = {self.macs(inputs, output):,} "
                     f"(projections; Q·Kᵀ and A·V within each window)"),
            ("FLOPs", f"2·{self.macs(inputs, output):,}" + (f" + 4·{tokens}·{features}" if self.bias else "")
             + f" + {tokens}·{features} (scale) + {3 + (2 if self.shift else 1)}·{self.heads}·{tokens}·{area} "
               f"(softmax, position bias{', mask' if self.shift else ''}) = {self.flops(inputs, output):,}"),
        ]

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.WindowAttention", (inputs[0][2], self.heads, self.window_size, self.shift),
                         {"bias": self.bias})


@register
class PatchMerging(LayerKind):
    follows_positions = False  # a 2x2 gather on a channels-last map, not followed
    kind = "patch_merging"
    torch_name = "the gather of torchvision's PatchMerging (before its norm and reduction)"
    summary = "gather each 2x2 patch of a channels-last map into one token: H x W x C -> H/2 x W/2 x 4C (Swin)"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 3:
            raise LayerError(f"patch_merging needs a channels-last map (height x width x channels), got "
                             f"{format_shape(inputs[0])}")
        height, width, features = inputs[0]
        return ((height + 1) // 2, (width + 1) // 2, 4 * features)  # an odd side is padded, as torchvision does

    def saved(self, inputs: list[Shape], output: Shape, needs_grad: tuple[bool, ...],
              trainable: bool) -> list[Saved]:
        return []  # strided slices and a concatenation (and a pad for an odd side): nothing

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.PatchMerging")
