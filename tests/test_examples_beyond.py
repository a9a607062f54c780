"""The examples beyond CNN classifiers (a U-Net, an LSTM text classifier, a tiny ViT) against the same models
written by hand with torch.nn; their figures at symbolic input sizes; and bad input to the new layer kinds.

The torch models below are written from the specs' text, not built with paramcalc.torch, so that a mistake in
paramcalc's builder cannot hide one in its counting. MACs are FlopCounterMode's FLOPs // 2, except where
FlopCounterMode does not see the work on CPU (the fused LSTM kernel; nn.MultiheadAttention's fused path):
there the MACs are worked out by hand below, or the same computation is written with explicit matmuls.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

from .conftest import require_torch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "specs" / "examples"


@pytest.fixture(scope="module")
def torch():
    return require_torch()  # pytest.importorskip("torch"), but a failure in CI (PARAMCALC_REQUIRE_TORCH=1)


def measured(torch, model, x) -> tuple[int, object]:
    """(FlopCounterMode's total FLOPs, the output) of one forward pass in eval mode."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    return counter.get_total_flops(), y


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


# --- the U-Net ----------------------------------------------------------------------------------------------
def unet_small(torch):
    nn = torch.nn

    def double_conv(inputs, out):  # conv1, bn1, relu1, conv2, bn2, relu2
        return nn.Sequential(nn.Conv2d(inputs, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(),
                             nn.Conv2d(out, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.pool1 = double_conv(1, 16), nn.MaxPool2d(2)
            self.enc2, self.pool2 = double_conv(16, 32), nn.MaxPool2d(2)
            self.bottleneck = double_conv(32, 64)
            self.up2, self.dec2 = nn.ConvTranspose2d(64, 32, 2, stride=2), double_conv(64, 32)
            self.up1, self.dec1 = nn.ConvTranspose2d(32, 16, 2, stride=2), double_conv(32, 16)
            self.head = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            enc1 = self.enc1(x)
            enc2 = self.enc2(self.pool1(enc1))
            bottom = self.bottleneck(self.pool2(enc2))
            dec2 = self.dec2(torch.cat([enc2, self.up2(bottom)], dim=1))     # cat2: from [enc2, up2]
            dec1 = self.dec1(torch.cat([enc1, self.up1(dec2)], dim=1))       # cat1: from [enc1, up1]
            return self.head(dec1)

    return UNet()


@pytest.mark.parametrize("size", [(64, 64), (96, 128)])
def test_unet_small_equals_the_module_written_by_hand(torch, size):
    model = unet_small(torch)
    flops, y = measured(torch, model, torch.randn(1, 1, *size))
    result = paramcalc.analyze(EXAMPLES / "unet_small.yaml", input=f"1x{size[0]}x{size[1]}")
    assert result.totals.params == parameters(model) == 117_090
    assert (result.batch, *result.totals.output_shape) == tuple(y.shape) == (1, 2, *size)
    assert result.totals.macs == flops // 2  # convolutions and transposed convolutions: FlopCounterMode sees all
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # torch's buffers hold one num_batches_tracked per batch norm, which paramcalc does not count
    assert result.totals.buffers == sum(b.numel() for b in model.buffers()) - len(batch_norms) == 640


# --- a (2+1)-D convolution ----------------------------------------------------------------------------------
def test_conv_2plus1d_equals_torchvision_s_factorisation_written_by_hand(torch):
    """torchvision's Conv2Plus1D: mid = (in·out·27) // (in·9 + 3·out) planes, a 1x3x3 then a 3x1x1 kernel."""
    nn = torch.nn
    mid = (64 * 64 * 3 * 3 * 3) // (64 * 3 * 3 + 3 * 64)
    assert mid == 144
    model = nn.Sequential(nn.Conv3d(64, mid, (1, 3, 3), padding=(0, 1, 1), bias=False), nn.BatchNorm3d(mid),
                          nn.ReLU(), nn.Conv3d(mid, 64, (3, 1, 1), padding=(1, 0, 0), bias=False))
    flops, y = measured(torch, model, torch.randn(1, 64, 8, 28, 28))
    result = paramcalc.analyze(EXAMPLES / "conv_2plus1d.yaml")
    assert result.totals.params == parameters(model) == 3 * 3 * 3 * 64 * 64 + 2 * mid  # as the full 3-D kernel
    assert result.totals.macs == flops // 2 == 8 * 28 * 28 * (mid * 64 * 9 + 64 * mid * 3)
    assert (result.batch, *result.totals.output_shape) == tuple(y.shape)


# --- the LSTM classifier ------------------------------------------------------------------------------------
VOCAB, EMBED, HIDDEN, LSTM_LAYERS, DIRECTIONS, CLASSES = 10_000, 128, 128, 2, 2, 2


def lstm_macs(steps: int) -> int:
    """Per layer and direction, every step runs the 4 gates on the step's input and the last hidden state:
    4h·in + 4h·h MACs; the first layer reads the 128-feature embedding, the second both directions (2h)."""
    total = 0
    for layer in range(LSTM_LAYERS):
        inputs = EMBED if layer == 0 else DIRECTIONS * HIDDEN
        total += steps * DIRECTIONS * (4 * HIDDEN * inputs + 4 * HIDDEN * HIDDEN)
    return total


def lstm_classifier_macs(steps: int) -> int:
    return lstm_macs(steps) + DIRECTIONS * HIDDEN * CLASSES  # the embedding, the mean: no MACs; fc 256 -> 2


def lstm_classifier(torch):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN, num_layers=LSTM_LAYERS, bidirectional=True, batch_first=True)
            self.mean, self.flatten = nn.AdaptiveAvgPool1d(1), nn.Flatten()
            self.fc = nn.Linear(DIRECTIONS * HIDDEN, CLASSES)

        def forward(self, tokens):
            x, _ = self.lstm(self.embedding(tokens))                 # T x 256
            return self.fc(self.flatten(self.mean(x.transpose(1, 2))))  # to_features_first, mean, flatten

    return Classifier()


def unrolled_lstm(torch, lstm, x):
    """nn.LSTM's computation written out step by step with its own weights, so that FlopCounterMode sees
    every gate's matrix products (it does not see the fused CPU kernel)."""
    for layer in range(lstm.num_layers):
        outputs = []
        for suffix, steps in (("", range(x.shape[1])), ("_reverse", reversed(range(x.shape[1])))):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}{suffix}"), getattr(lstm, f"weight_hh_l{layer}{suffix}")
            b_ih, b_hh = getattr(lstm, f"bias_ih_l{layer}{suffix}"), getattr(lstm, f"bias_hh_l{layer}{suffix}")
            h = c = x.new_zeros(x.shape[0], lstm.hidden_size)
            out = [None] * x.shape[1]
            for t in steps:
                gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
                i, f, g, o = gates.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = out[t] = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(torch.stack(out, dim=1))
        x = torch.cat(outputs, dim=2)
    return x


def test_lstm_classifier_equals_the_module_written_by_hand(torch):
    from torch.utils.flop_counter import FlopCounterMode

    model = lstm_classifier(torch)
    tokens = torch.randint(0, VOCAB, (1, 64))
    flops, y = measured(torch, model, tokens)
    result = paramcalc.analyze(EXAMPLES / "lstm_classifier.yaml")
    assert result.totals.params == parameters(model) == 1_939_970
    assert (result.batch, *result.totals.output_shape) == tuple(y.shape) == (1, 2)
    # FlopCounterMode counts the classifier's addmm only: the fused LSTM is invisible to it on CPU
    assert flops // 2 == DIRECTIONS * HIDDEN * CLASSES
    assert result.totals.macs == flops // 2 + lstm_macs(64) == 41_943_552
    assert result["lstm"].macs == lstm_macs(64) == 64 * 2 * (4 * 128 * 128 + 4 * 128 * 128) \
        + 64 * 2 * (4 * 128 * 256 + 4 * 128 * 128)
    # The hand formula, checked: the LSTM unrolled with its own weights gives its output, and FlopCounterMode
    # counts its matrix products (two per gate set and step); 8 tokens keep the Python loop short
    with torch.no_grad():
        embedded = model.embedding(tokens[:, :8])
        with FlopCounterMode(display=False) as counter:
            unrolled = unrolled_lstm(torch, model.lstm, embedded)
        fused, _ = model.lstm(embedded)
    assert torch.allclose(unrolled, fused, atol=1e-5)
    assert counter.get_total_flops() // 2 == lstm_macs(8)


# --- the tiny ViT -------------------------------------------------------------------------------------------
PATCH, E, HEADS, MLP, BLOCKS, VIT_CLASSES = 4, 64, 4, 256, 4, 10


def tiny_vit(torch, tokens: int):
    nn = torch.nn

    class Attention(nn.Module):
        """nn.MultiheadAttention's self-attention with explicit matmuls (its fused path hides them from
        FlopCounterMode): the same in_proj (Q, K, V) and out_proj, so the same parameters."""

        def __init__(self):
            super().__init__()
            self.in_proj, self.out_proj = nn.Linear(E, 3 * E), nn.Linear(E, E)

        def forward(self, x):
            n, length, _ = x.shape
            q, k, v = (part.reshape(n, length, HEADS, E // HEADS).transpose(1, 2)
                       for part in self.in_proj(x).chunk(3, dim=-1))
            weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(E // HEADS), dim=-1)   # Q·Kᵀ: L²·E
            return self.out_proj((weights @ v).transpose(1, 2).reshape(n, length, E))          # A·V: L²·E

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attention, self.ln_2 = nn.LayerNorm(E), Attention(), nn.LayerNorm(E)
            self.mlp = nn.Sequential(nn.Linear(E, MLP), nn.GELU(), nn.Linear(MLP, E))

        def forward(self, x):
            x = x + self.attention(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TinyViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, E, PATCH, stride=PATCH)
            self.class_token = nn.Parameter(torch.zeros(1, 1, E))
            self.pos_embedding = nn.Parameter(torch.randn(1, tokens, E))   # one row per token of this input
            self.blocks = nn.Sequential(*(Block() for _ in range(BLOCKS)))
            self.ln, self.head = nn.LayerNorm(E), nn.Linear(E, VIT_CLASSES)

        def forward(self, image):
            x = self.patch_embed(image).flatten(2).transpose(1, 2)          # patches x 64
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
            x = self.blocks(x + self.pos_embedding)
            return self.head(self.ln(x)[:, 0])                              # cls: token 0

    return TinyViT()


def tiny_vit_macs(height: int, width: int) -> int:
    patches = (height // PATCH) * (width // PATCH)
    tokens = patches + 1
    attention = 4 * tokens * E * E + 2 * tokens * tokens * E     # projections; Q·Kᵀ and A·V
    mlp = tokens * E * MLP + tokens * MLP * E
    return patches * (3 * PATCH * PATCH) * E + BLOCKS * (attention + mlp) + E * VIT_CLASSES


def test_the_hand_written_attention_is_nn_multihead_attention(torch):
    attention = tiny_vit(torch, 65).blocks[0].attention.eval()
    reference = torch.nn.MultiheadAttention(E, HEADS, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(attention.in_proj.weight)
        reference.in_proj_bias.copy_(attention.in_proj.bias)
        reference.out_proj.weight.copy_(attention.out_proj.weight)
        reference.out_proj.bias.copy_(attention.out_proj.bias)
        x = torch.randn(2, 65, E)
        assert torch.allclose(attention(x), reference(x, x, x, need_weights=False)[0], atol=1e-5)
    assert parameters(attention) == parameters(reference) == 4 * E * E + 4 * E


@pytest.mark.parametrize("size", [(32, 32), (64, 96)])
def test_tiny_vit_equals_the_module_written_by_hand(torch, size):
    tokens = (size[0] // PATCH) * (size[1] // PATCH) + 1
    model = tiny_vit(torch, tokens)
    flops, y = measured(torch, model, torch.randn(1, 3, *size))
    result = paramcalc.analyze(EXAMPLES / "tiny_vit.yaml", input=f"3x{size[0]}x{size[1]}")
    assert result.totals.params == parameters(model)
    assert (result.batch, *result.totals.output_shape) == tuple(y.shape) == (1, VIT_CLASSES)
    assert result.totals.macs == flops // 2 == tiny_vit_macs(*size)
    if size == (32, 32):
        assert result.totals.params == 208_074 and result.totals.macs == 15_139_968


# --- symbolic sizes -----------------------------------------------------------------------------------------
def same_as_concrete(at: paramcalc.Analysis, concrete: paramcalc.Analysis) -> None:
    """Every record and total equal; a receptive field is None where it depends on a symbolic size (docs/api.md:
    'None ... when the field depends on a symbolic size'; here every layer after the class token), exact where
    it is kept."""
    for ours, reference in zip(at.records, concrete.records, strict=True):
        assert ours._replace(rf=None) == reference._replace(rf=None), ours.name
        if ours.rf is not None:
            assert ours.rf == reference.rf, ours.name
    assert at.totals._replace(rf=None) == concrete.totals._replace(rf=None)
    assert at.input_shape == concrete.input_shape


def test_tiny_vit_at_any_size_grows_with_degree_4_and_needs_whole_patches():
    result = paramcalc.analyze(EXAMPLES / "tiny_vit.yaml", input="3xHxW")
    # 4 blocks of 2·L²·E with L ≈ H·W/16 tokens: 4·2·64·(H·W)²/16² = 2·H²·W²
    degree, terms = result.totals.macs.leading()
    assert degree == 4
    assert terms == {("H", "H", "W", "W"): Fraction(BLOCKS * 2 * E, PATCH ** 4)} == {("H", "H", "W", "W"): 2}
    assert [(str(condition), layer) for condition, layer in result.conditions] == [
        ("H divisible by 4", "patch_embed"), ("W divisible by 4", "patch_embed")]
    at = result.at({"H": 64, "W": 96})
    same_as_concrete(at, paramcalc.analyze(EXAMPLES / "tiny_vit.yaml", input="3x64x96"))
    tokens = 16 * 24 + 1
    for record in (r for r in at.records if r.kind == "attention"):
        assert record.macs == 4 * tokens * E * E + 2 * tokens ** 2 * E, record.name
    assert at.totals.macs == tiny_vit_macs(64, 96) == 152_765_568
    with pytest.raises(ValueError, match="H divisible by 4"):
        result.at({"H": 66, "W": 96})


def test_show_says_attention_makes_the_macs_grow():
    result = CliRunner().invoke(main, ["show", str(EXAMPLES / "tiny_vit.yaml"), "--input", "3xHxW"])
    assert result.exit_code == 0, result.output
    grow = [line for line in result.output.splitlines() if line.startswith("MACs grow")]
    assert len(grow) == 1 and "degree 4" in grow[0] and "attention" in grow[0], grow
    assert "blocks.0.attention" in grow[0]


def test_vit_b_32_takes_only_224x224():
    result = paramcalc.analyze(ROOT / "specs" / "vit_b_32.yaml", input="3xHxW")
    assert [(str(condition), layer) for condition, layer in result.conditions] == [
        ("H = 224", "image_size"), ("W = 224", "image_size")]
    concrete = paramcalc.analyze(ROOT / "specs" / "vit_b_32.yaml")
    assert result.at({"H": 224, "W": 224}).totals.macs == concrete.totals.macs


def test_lstm_classifier_macs_are_linear_in_the_length():
    result = paramcalc.analyze(EXAMPLES / "lstm_classifier.yaml", input="T")
    degree, terms = result.totals.macs.leading()
    assert degree == 1 and terms == {("T",): lstm_macs(1)}
    assert result.conditions == ()
    for steps in (10, 300):
        at = result.at({"T": steps})
        assert at.totals.macs == lstm_classifier_macs(steps)
        same_as_concrete(at, paramcalc.analyze(EXAMPLES / "lstm_classifier.yaml", input=str(steps)))
    assert lstm_classifier_macs(10) == 6_554_112 and lstm_classifier_macs(300) == 196_608_512


# --- bad input to the new kinds -----------------------------------------------------------------------------
def located(text: str, marker: str, value: str) -> tuple[int, int]:
    """(line, column), 1-based, of `value` after `marker` on the line that holds `marker`."""
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return number, line.index(value, line.index(marker)) + 1
    raise AssertionError(f"{marker!r} is not in the spec")


BAD = {
    # name: (spec text, marker, value (where the column points), layer, fragments of the message)
    "permute_not_a_permutation": (
        ("name: t\ninput: [8, 6, 6]\nlayers:\n  - {name: c, conv2d: {out: 8, kernel: 1}}\n"
         "  - {name: p, permute: [0, 2, 2, 1]}\n"),
        "name: p", "[", "p",
        ["dims [0, 2, 2, 1] is not a permutation of 0..3", "hint: list each of 0..3 once"]),
    "reshape_sizes_do_not_multiply_out": (
        "name: t\ninput: [8, 6, 6]\nlayers:\n  - {name: r, reshape: [8, 35]}\n",
        "name: r", "[", "r",
        ["has 288 elements but [8, 35] multiply to 280", "hint: the sizes must multiply to the same total"]),
    "heads_do_not_divide_the_embedding": (
        "name: t\ninput: [10, 64]\nlayers:\n  - {name: ln, layernorm}\n  - {name: attn, attention: {heads: 5}}\n",
        "name: attn", "5", "attn",
        ["5 heads do not divide the embedding dimension 64", "hint: ", "choose heads that divide it"]),
    "window_does_not_divide_the_map": (
        ("name: t\ninput: [10, 10, 32]\nlayers:\n  - {name: ln, layernorm}\n"
         "  - {name: attn, window_attention: {heads: 2, window_size: 4}}\n"),
        "name: attn", "4", "attn",
        ["the window (4) does not divide the map's height 10", "hint: ", "choose an input size"]),
}


def assert_one_located_message(result, path: str, line: int, column: int, layer: str, fragments: list[str]) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    message = result.stderr
    assert message.startswith(f"error: {path}:{line}:{column}: layer '{layer}': "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_new_kinds_give_one_located_message_and_exit_2(case, tmp_path):
    text, marker, value, layer, fragments = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    line, column = located(text, marker, value)
    result = CliRunner().invoke(main, ["show", str(path)])
    assert_one_located_message(result, str(path), line, column, layer, fragments)


def test_vit_b_32_refuses_another_size():
    path = ROOT / "specs" / "vit_b_32.yaml"
    line, column = located(path.read_text(), "name: image_size", "[")
    result = CliRunner().invoke(main, ["show", str(path), "--input", "3x256x256"])
    assert_one_located_message(result, str(path), line, column, "image_size",
                               ["the model takes only 3x224x224 inputs, got 3x256x256", "hint: give --input 3x224x224"])


def test_swin_s_refuses_a_map_its_window_does_not_divide():
    # 256 / 4 = 64 tokens a side, and 7 does not divide 64 (torchvision pads the map; paramcalc counts whole
    # windows and says so). The layer is the first block's attention, on its line in the block's definition.
    path = ROOT / "specs" / "swin_s.yaml"
    line, column = located(path.read_text(), "window_size:", ": window")
    column += len(": ")  # the value, not the key
    result = CliRunner().invoke(main, ["show", str(path), "--input", "3x256x256"])
    assert_one_located_message(result, str(path), line, column, "features.1.0.attn",
                               ["the window (7) does not divide the map's height 64", "torchvision pads the map",
                                "choose an input size whose maps the window divides"])
