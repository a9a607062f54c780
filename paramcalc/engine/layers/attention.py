"""Attention: every token's output is a mix of all the tokens (or of the tokens in its window).

MACs count the four projections (queries, keys, values, output) and the two products of attention
itself, Q·Kᵀ and A·V: that is torchvision's count (vit_b_16: 17.56 G, of which 0.72 G attention).
"""

from __future__ import annotations

from ..dims import Dim, Shape, divides, format_shape
from .base import LayerError, LayerKind, TorchCall, register
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

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        return TorchCall("paramcalc.PatchMerging")
