"""The figures of the README's output blocks, each from a source other than paramcalc: torchvision's
measured figures (tests/data/torchvision_models.json), the published receptive-field table
(tests/data/receptive_fields.json) and arithmetic written here (the formulas of docs/conventions.md).
tests/test_docs.py only checks that the README shows what paramcalc prints; a wrong figure printed and
pasted again would pass it, not these."""

from __future__ import annotations

import json
import math
from pathlib import Path

from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
VGG16 = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]["vgg16"]
PUBLISHED = {row["endpoint"]: row for row in
             json.loads((ROOT / "tests/data/receptive_fields.json").read_text())["published"]["vgg_16"]}
LEAVES = {name: (kind, tuple(shape[1:]), params) for name, kind, shape, params in VGG16["leaves"]}


def cli(*arguments: str, code: int = 0) -> str:
    out = CliRunner().invoke(main, list(arguments), env={"COLUMNS": None, "FORCE_COLOR": None})
    assert out.exit_code == code, out.output
    return out.output


def vgg16_by_hand() -> dict[str, int]:
    """VGG-16's totals from torchvision's leaves (each layer's output shape and parameter count), with the
    counting rules of docs/conventions.md: a conv's MACs are its weights (params - bias) times its output
    positions; FLOPs are 2 per MAC + 1 per output element for the bias + 1 per element for the ReLU after
    every conv and after fc6 and fc7, + (2·2 - 1) per output element of each 2x2 max-pool, + 1 per input
    element for the adaptive average pool (an identity at 7x7, which still reads each value once)."""
    macs = flops = elements = 0
    for name, (kind, shape, params) in LEAVES.items():
        size = math.prod(shape)
        if kind == "Conv2d":
            channels, height, width = shape
            layer_macs = (params - channels) * height * width
            macs += layer_macs
            flops += 2 * layer_macs + size + size  # bias + ReLU
            elements += 2 * size  # the conv's output and the ReLU's
        elif kind == "Linear":
            layer_macs = params - size
            relu = name != "classifier.6"
            macs += layer_macs
            flops += 2 * layer_macs + size + (size if relu else 0)
            elements += size * (3 if relu else 1)  # linear, ReLU and dropout outputs; fc8 alone
        elif kind == "MaxPool2d":
            flops += (2 * 2 - 1) * size
            elements += size
        elif kind == "AdaptiveAvgPool2d":
            flops += size
            elements += size
    elements += 512 * 7 * 7  # flatten
    return {"macs": macs, "flops": flops, "activation_bytes": 4 * elements}


def test_vgg16_show_totals():
    by_hand = vgg16_by_hand()
    assert by_hand["macs"] == VGG16["macs_conv_linear"] == 15_470_264_320
    assert by_hand["flops"] == 30_972_257_256
    assert by_hand["activation_bytes"] == 114_804_640  # 114.80 MB (decimal units)
    totals = paramcalc.analyze(ROOT / "specs/vgg16.yaml").totals
    assert (totals.params, totals.trainable, totals.buffers) == (VGG16["params"], VGG16["trainable"], 0)
    assert (totals.macs, totals.flops) == (by_hand["macs"], by_hand["flops"])
    assert totals.param_bytes == 4 * VGG16["params"]  # 553.43 MB of float32
    assert totals.activation_bytes == by_hand["activation_bytes"]
    assert totals.output_shape == (1000,)
    # the published table ends at pool5: 212 px, stride 32, padding 90; fc6 reads the whole 7x7 map of
    # pool5, 212 + (7 - 1)·32 = 404 px, stride 32·7 = 224, padding 90
    pool5 = PUBLISHED["pool5"]
    assert totals.rf.size == (pool5["rf"] + 6 * pool5["stride"],) * 2 == (404, 404)
    assert totals.rf.stride == (7 * pool5["stride"],) * 2
    assert totals.rf.padding == (pool5["padding"],) * 2
    assert totals.rf.is_global
    text = cli("show", str(ROOT / "specs/vgg16.yaml"))
    assert f"Params           138.36 M  ({VGG16['params']:,})   trainable {VGG16['params']:,} · frozen 0" in text
    assert f"MACs             15.47 G  ({by_hand['macs']:,})" in text
    assert f"FLOPs            30.97 G  ({by_hand['flops']:,})" in text
    assert f"Param memory     {4 * VGG16['params'] / 1e6:.2f} MB" in text
    assert f"Activations      {by_hand['activation_bytes'] / 1e6:.2f} MB" in text
    assert "Receptive field  404 px: global" in text


def test_vgg16_show_rows():
    result = paramcalc.analyze(ROOT / "specs/vgg16.yaml")
    # conv1_1: 3·3·3·64 + 64 = 1,792 params; 64·224·224·3·3·3 = 86,704,128 MACs; RF 3 (published conv1_1)
    conv1_1 = result["features.conv1_1"]
    assert (conv1_1.params, conv1_1.macs) == (LEAVES["features.0"][2], 64 * 224 * 224 * 3 * 3 * 3)
    assert conv1_1.params == 3 * 3 * 3 * 64 + 64 and conv1_1.shape == (64, 224, 224)
    assert conv1_1.rf.size == (PUBLISHED["conv1/conv1_1"]["rf"],) * 2
    # conv1_2: 3·3·64·64 + 64 = 36,928 params; 64·224·224·64·3·3 = 1,849,688,064 MACs; RF 3 + 2 = 5
    conv1_2 = result["features.conv1_2"]
    assert (conv1_2.params, conv1_2.macs) == (LEAVES["features.2"][2], 64 * 224 * 224 * 64 * 9)
    assert conv1_2.rf.size == (5, 5)
    # features: the 13 convs' parameters; 15,470,264,320 - the three linear layers' MACs
    features = result["features"]
    convs = [p for kind, _, p in LEAVES.values() if kind == "Conv2d"]
    assert features.params == sum(convs) == 14_714_688 and features.shape == (512, 7, 7)
    linear_macs = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert features.macs == VGG16["macs_conv_linear"] - linear_macs
    assert features.rf.size == (PUBLISHED["pool5"]["rf"],) * 2 == (212, 212)
    # classifier: fc6 25088·4096 + 4096, fc7 4096·4096 + 4096, fc8 4096·1000 + 1000
    assert result["classifier.fc6"].params == 25088 * 4096 + 4096 == LEAVES["classifier.0"][2]
    assert result["classifier.fc7"].params == 4096 * 4096 + 4096 == LEAVES["classifier.3"][2]
    assert result["classifier.fc8"].params == 4096 * 1000 + 1000 == LEAVES["classifier.6"][2]
    assert result["classifier"].params == 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert result["classifier"].macs == linear_macs
    assert result["flatten"].shape == (25088,) and result["flatten"].rf.size == (212, 212)
    text = cli("show", str(ROOT / "specs/vgg16.yaml"))
    # the shares: fc6 holds 102,764,544 / 138,357,544 = 74.3 % of the parameters
    assert f"{100 * (25088 * 4096 + 4096) / VGG16['params']:.1f}" == "74.3"
    line = next(row for row in text.splitlines() if row.strip().startswith("fc6"))
    assert line.split()[2:6] == ["4096", "102.76", "M", "74.3"]
    # %M and the bar: each row's MACs over the model's (torchvision's), and a bar of ten cells for 100 %, drawn
    # in eighths of a cell, rounded (99.2 % is 79 eighths: nine full cells and a seven-eighths one)
    total = VGG16["macs_conv_linear"]
    eighth_blocks = " ▏▎▍▌▋▊▉"
    rows = {"features": total - linear_macs, "conv1_1": 64 * 224 * 224 * 27, "conv1_2": 64 * 224 * 224 * 64 * 9,
            "classifier": linear_macs, "fc6": 25088 * 4096, "fc7": 4096 * 4096, "fc8": 4096 * 1000}
    lines = {row.split()[0]: row for row in text.splitlines() if row.strip()}
    for name, macs in rows.items():
        share = 100 * macs / total
        full, rest = divmod(round(share * 10 * 8 / 100), 8)
        bar = ("█" * full + eighth_blocks[rest]).strip()
        cells = lines[name].split()
        assert f"{share:.1f}" in cells, (name, share, cells)
        after = cells[cells.index(f"{share:.1f}") + 1:]
        assert (after[0] if len(after) == 2 else "") == bar, (name, bar, after)  # the bar, then the RF
    assert [lines[name].split()[-2] for name in ("features", "conv1_2", "classifier")] == ["█████████▉", "█▎", "▏"]
    # %P: the 13 convolutions' and the three linear layers' parameters over the model's
    for name, params in (("features", sum(convs)), ("classifier", VGG16["params"] - sum(convs)),
                         ("fc7", 4096 * 4096 + 4096), ("fc8", 4096 * 1000 + 1000)):
        assert f"{100 * params / VGG16['params']:.1f}" in lines[name].split(), name


def test_explain_conv2_1():
    # conv2_1: 64 -> 128 channels, 3x3, padding 1, on pool1's 64x112x112 map
    params = 3 * 3 * 64 * 128 + 128
    macs = 128 * 112 * 112 * 64 * 3 * 3
    flops = 2 * macs + 128 * 112 * 112
    assert (params, macs, flops) == (73_856, 924_844_032, 1_851_293_696)
    record = paramcalc.analyze(ROOT / "specs/vgg16.yaml")["features.conv2_1"]
    assert (record.params, record.macs, record.flops, record.shape) == (params, macs, flops, (128, 112, 112))
    published = PUBLISHED["conv2/conv2_1"]  # 10 px, stride 2, padding 4
    assert (record.rf.size, record.rf.stride, record.rf.padding) == (
        (published["rf"],) * 2, (published["stride"],) * 2, (published["padding"],) * 2)
    text = cli("explain", str(ROOT / "specs/vgg16.yaml"), "features.conv2_1")
    # PyTorch's Conv2d: floor((in + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1
    assert (112 + 2 * 1 - 1 * (3 - 1) - 1) // 1 + 1 == 112
    for axis in ("height", "width"):
        assert f"{axis:<10}floor((112 + 1 + 1 - 1·(3 - 1) - 1) / 1) + 1 = 112" in text
    assert f"params    3·3·64·128 + 128 = {params:,}" in text
    assert f"MACs      128·112·112·64·3·3 = {macs:,}" in text
    assert f"FLOPs     2·{macs:,} + 128·112·112 = {flops:,}" in text
    assert f"share     {100 * macs / VGG16['macs_conv_linear']:.1f}% of the model's MACs, " \
           f"{100 * params / VGG16['params']:.1f}% of its params" in text
    assert "RF        size 6 + (3 - 1)·2 = 10, stride 2·1 = 2, padding 2 + 1·2 = 4" in text


def test_compare_stack_3x3_with_conv_5x5():
    # two 3x3 convs of 128 -> 128 channels without bias, against one 5x5, on a 128x56x56 map
    stack_params, conv_params = 2 * 3 * 3 * 128 * 128, 5 * 5 * 128 * 128
    stack_macs, conv_macs = 2 * 128 * 56 * 56 * 128 * 3 * 3, 128 * 56 * 56 * 128 * 5 * 5
    stack_flops = 2 * stack_macs + 128 * 56 * 56  # + the ReLU between them
    conv_flops = 2 * conv_macs
    map_bytes = 4 * 128 * 56 * 56
    assert (stack_params, conv_params) == (294_912, 409_600)
    assert (stack_macs, conv_macs) == (924_844_032, 1_284_505_600)
    assert (stack_flops, conv_flops) == (1_850_089_472, 2_569_011_200)
    stack = paramcalc.analyze(ROOT / "specs/examples/stack_3x3.yaml").totals
    conv = paramcalc.analyze(ROOT / "specs/examples/conv_5x5.yaml").totals
    assert (stack.params, stack.trainable, stack.macs, stack.flops) == (stack_params, stack_params, stack_macs,
                                                                       stack_flops)
    assert (conv.params, conv.trainable, conv.macs, conv.flops) == (conv_params, conv_params, conv_macs, conv_flops)
    assert (stack.param_bytes, conv.param_bytes) == (4 * stack_params, 4 * conv_params)
    assert (stack.activation_bytes, conv.activation_bytes) == (3 * map_bytes, map_bytes)  # conv, relu, conv
    assert stack.output_shape == conv.output_shape == (128, 56, 56)
    assert stack.rf.size == conv.rf.size == (5, 5)  # 1 + 2 + 2 and 1 + 4
    text = cli("compare", str(ROOT / "specs/examples/stack_3x3.yaml"), str(ROOT / "specs/examples/conv_5x5.yaml"))
    row = {line.split("  ")[0].strip(): line for line in text.splitlines()}
    assert f"+{conv_params - stack_params:,} · {conv_params / stack_params:.2f}x" in row["params"]
    assert f"{stack_macs:,}" in row["MACs"] and f"+{conv_macs - stack_macs:,}" in row["MACs"]
    assert f"{stack_flops:,}" in row["FLOPs"] and f"+{conv_flops - stack_flops:,}" in row["FLOPs"]
    assert f"{4 * stack_params / 1e6:.2f} MB" in row["parameter memory"]
    assert f"+{4 * (conv_params - stack_params) / 1e3:.2f} KB" in row["parameter memory"]
    assert f"{3 * map_bytes / 1e6:.2f} MB" in row["activation memory"]
    assert f"-{2 * map_bytes / 1e6:.2f} MB · {1 / 3:.2f}x" in row["activation memory"]


def test_check_block_figures_are_torchvision_s():
    models = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]
    text = cli("check", str(ROOT / "specs/resnet50.yaml"), str(ROOT / "specs/vgg16.yaml"), "--max-params", "100M",
               code=1)  # one model over budget
    for name in ("resnet50", "vgg16"):
        assert f"params {models[name]['params']:,}" in text
        assert f"MACs {models[name]['macs_conv_linear']:,}" in text
    over = models["vgg16"]["params"] - 100_000_000
    assert f"over the budget 100,000,000 by {over:,} (+{100 * over / 100_000_000:.2f}%)" in text


def tiny_vit_by_hand(height: int, width: int) -> dict[str, int]:
    """tiny_vit (specs/examples/tiny_vit.yaml) by the formulas of docs/conventions.md: N = floor(H/4)·floor(W/4)
    patches of 3·4·4 values, L = N + 1 tokens (the class token) of E = 64 features, 4 heads, an MLP of 256,
    4 encoder blocks, 10 classes."""
    n = (height // 4) * (width // 4)
    tokens, e, mlp = n + 1, 64, 256
    attention_macs = 4 * tokens * e * e + 2 * tokens * tokens * e
    mlp_macs = 2 * tokens * e * mlp
    macs = 64 * n * 3 * 4 * 4 + 4 * (attention_macs + mlp_macs) + 64 * 10
    layernorm = 7 * tokens * e  # 5 per element + 2 for the scale and shift
    block_flops = (2 * layernorm
                   + 2 * attention_macs + 4 * e * tokens + e * tokens + 3 * 4 * tokens * tokens  # biases, scale, softmax
                   + 2 * tokens * e  # the two adds
                   + 2 * mlp_macs + tokens * mlp + tokens * e + 5 * tokens * mlp)  # biases, GELU
    flops = (2 * 64 * n * 48 + 64 * n) + e * tokens + 4 * block_flops + layernorm + (2 * 640 + 10)
    block_params = 2 * 2 * e + (4 * e * e + 4 * e) + (e * mlp + mlp + mlp * e + e)
    params = (48 * 64 + 64) + e + tokens * e + 4 * block_params + 2 * e + (64 * 10 + 10)
    return {"n": n, "macs": macs, "flops": flops, "params": params}


def test_tiny_vit_formulas_and_sizes():
    # the README's formulas in N = floor(H/4)·floor(W/4): MACs 512·N² + 200,704·N + 197,760, FLOPs
    # 1,072·N² + 413,856·N + 407,866; expanded here from the per-layer arithmetic above
    for height, width in ((32, 32), (224, 224), (36, 60)):
        figures = tiny_vit_by_hand(height, width)
        n = figures["n"]
        assert figures["macs"] == 512 * n * n + 200_704 * n + 197_760
        assert figures["flops"] == 1_072 * n * n + 413_856 * n + 407_866
    small, large = tiny_vit_by_hand(32, 32), tiny_vit_by_hand(224, 224)
    assert (small["params"], small["macs"], small["flops"]) == (208_074, 15_139_968, 31_285_562)
    assert (large["params"], large["macs"]) == (404_682, 5_664_867_456)
    symbolic = paramcalc.analyze(ROOT / "specs/examples/tiny_vit.yaml", input_shape=(3, "H", "W"))
    for height, width in ((32, 32), (224, 224), (36, 60)):
        figures = tiny_vit_by_hand(height, width)
        at = symbolic.at({"H": height, "W": width}).totals
        assert (at.params, at.macs, at.flops) == (figures["params"], figures["macs"], figures["flops"])
    assert symbolic["patch_embed"].params == 48 * 64 + 64  # 3.14 k
    text = cli("show", str(ROOT / "specs/examples/tiny_vit.yaml"), "--input", "3xHxW", "--depth", "1",
               "--at", "32x32,224x224")
    assert "= 512·floor(H/4)^2·floor(W/4)^2 + 200,704·floor(H/4)·floor(W/4) + 197,760" in text
    assert "= 1,072·floor(H/4)^2·floor(W/4)^2 + 413,856·floor(H/4)·floor(W/4) + 407,866" in text
    # activations: every layer's output, 4 bytes each. With L = N + 1 tokens of 64: patch_embed N·64, class_token
    # and pos_embedding L·64 each, per block 6·L·64 (two norms, attention, two adds, the MLP's second linear)
    # + 2·L·256 (its first linear and GELU), the final norm L·64, cls 64, head 10: 3,840·N + 3,850 values
    # (N = H·W/16: 960·H·W bytes leading); params hold L·64 for the positions (16·H·W bytes leading)
    def activation_bytes(height: int, width: int) -> int:
        n = (height // 4) * (width // 4)
        return 4 * (64 * n + 2 * 64 * (n + 1) + 4 * (6 * 64 + 2 * 256) * (n + 1) + 64 * (n + 1) + 64 + 10)

    assert activation_bytes(32, 32) == 4 * (3840 * 64 + 3850)
    assert "Activations      ≈ 960·H·W B" in text and "Param memory     ≈ 16·H·W B" in text
    row = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("H=")}
    assert row["H=32,"][9:11] == [f"{activation_bytes(32, 32) / 1e3:.2f}", "KB"]
    assert row["H=224,"][7:11] == [f"{large['flops'] / 1e9:.2f}", "G", f"{activation_bytes(224, 224) / 1e6:.2f}", "MB"]
    assert row["H=32,"][3:9] == [f"{small['params'] / 1e3:.2f}", "k", f"{small['macs'] / 1e6:.2f}", "M",
                                 f"{small['flops'] / 1e6:.2f}", "M"]
    assert row["H=224,"][3:7] == [f"{large['params'] / 1e3:.2f}", "k", f"{large['macs'] / 1e9:.2f}", "G"]


def test_resnet18_convolutions_by_kind():
    # the ptflops block's conv2d row: 20 convolutions (17 in the stem and blocks, 3 downsample), their
    # parameters and MACs (weights times output positions) from torchvision's layers
    leaves = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]["resnet18"]["leaves"]
    convs = [(shape, params) for _, kind, shape, params in leaves if kind == "Conv2d"]
    params = sum(p for _, p in convs)
    macs = sum(p * shape[2] * shape[3] for shape, p in convs)
    assert len(convs) == 20
    result = paramcalc.analyze(ROOT / "specs/resnet18.yaml")
    ours = [r for r in result.leaves() if r.kind == "conv2d"]
    assert (len(ours), sum(r.params for r in ours), sum(r.macs for r in ours)) == (20, params, macs)
    text = cli("show", str(ROOT / "specs/resnet18.yaml"), "--convention", "ptflops", "--by", "kind")
    line = next(row for row in text.splitlines() if row.startswith("conv2d")).split()
    assert line[1:6] == ["20", f"{params / 1e6:.2f}", "M", f"{macs / 1e9:.2f}", "G"]
    # the share: the convolutions' MACs (no bias in ResNet) over ptflops' measured total for resnet18
    total = json.loads((ROOT / "tests/data/peer_counters.json").read_text())["models"]["resnet18"]["ptflops"]
    assert line[6:8] == [f"{100 * macs / total:.1f}", "%"] == ["99.4", "%"]


def resnet50_layers() -> list[tuple[int, int, int, int]]:
    """(FLOPs per sample, elements read per sample, elements written per sample, weights) of every layer of
    ResNet-50 that moves data, from torchvision's leaves and the Bottleneck's forward: conv-bn-ReLU twice,
    conv-bn, the downsample's conv-bn on the block's input, the residual add and a last ReLU."""
    resnet50 = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]["resnet50"]
    leaf = {name: (math.prod(shape), shape, params) for name, _, shape, params in resnet50["leaves"]}
    layers: list[tuple[int, int, int, int]] = []

    def conv(name: str, reads: int) -> int:
        size, shape, params = leaf[name]
        layers.append((2 * params * shape[2] * shape[3], reads, size, params))  # no bias
        return size

    def norm(name: str, relu: bool) -> int:
        size, _, params = leaf[name]
        layers.append((2 * size, size, size, 2 * params))  # scale and shift, and the two running statistics
        if relu:
            layers.append((size, size, size, 0))
        return size

    norm("bn1", relu=conv("conv1", 3 * 224 * 224) > 0)
    x = leaf["maxpool"][0]
    layers.append((8 * x, leaf["bn1"][0], x, 0))  # 3x3: 8 comparisons per output
    blocks = dict.fromkeys(name.rsplit(".", 1)[0] for name in leaf if name.startswith("layer") and "downsample" not in name)
    for block in blocks:
        conv(f"{block}.conv1", x)
        norm(f"{block}.bn1", relu=True)
        conv(f"{block}.conv2", leaf[f"{block}.conv1"][0])
        norm(f"{block}.bn2", relu=True)
        conv(f"{block}.conv3", leaf[f"{block}.conv2"][0])
        out = norm(f"{block}.bn3", relu=False)
        if f"{block}.downsample.0" in leaf:
            conv(f"{block}.downsample.0", x)
            norm(f"{block}.downsample.1", relu=False)
        layers += [(out, 2 * out, out, 0), (out, out, out, 0)]  # the residual add, the last ReLU
        x = out
    layers.append((x, x, 2048, 0))  # the average pool reads every value once
    layers.append((2 * 2048 * 1000 + 1000, 2048, 1000, leaf["fc"][2]))
    return layers


def test_resnet50_on_an_a100_in_bfloat16():
    """The README's `--device a100 --precision bf16 --batch 1,8,64`: each layer takes max(FLOPs / 312 TFLOP/s,
    bytes / 2,039 GB/s) (NVIDIA's A100 80GB SXM datasheet, dense bf16), moving 2 bytes per element of what it
    reads and writes (per sample) and of its weights (once per batch); the flatten is a view and moves nothing."""
    peak, bandwidth = 312e12, 2039e9
    layers = resnet50_layers()
    assert len(layers) == 4 + 16 * 10 + 4 * 2 + 2  # the stem, 16 blocks (4 with a downsample), the head
    text = cli("show", str(ROOT / "specs/resnet50.yaml"), "--device", "a100", "--precision", "bf16",
               "--batch", "1,8,64")
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()[:1].isdigit()}
    for batch, shown in (("1", "107 µs"), ("8", "729 µs"), ("64", "5.81 ms")):
        n = int(batch)
        times = [(max(f * n / peak, 2 * ((r + w) * n + p) / bandwidth), f * n / peak >= 2 * ((r + w) * n + p) / bandwidth)
                 for f, r, w, p in layers]
        seconds = sum(t for t, _ in times)
        flops = sum(f * n for f, _, _, _ in layers)
        moved = sum(2 * ((r + w) * n + p) for _, r, w, p in layers)
        compute = sum(t for t, bound in times if bound) / seconds
        assert (f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms") == shown
        assert rows[batch][1:] == [*shown.split(), f"{n / seconds:,.0f}", f"{flops / seconds / 1e12:.1f}",
                                   "TFLOP/s", f"{flops / moved:.1f}", f"{100 * compute:.0f}%"]
