"""The README's training block (`paramcalc show specs/resnet50.yaml --train --batch 32 --amp bf16`), each figure
from a source other than paramcalc: what PyTorch's autograd saves, measured on torchvision's resnet50 under CPU
autocast (bfloat16) at batches of 2 and 3 and carried to 32 (what a step saves is a fixed part plus a part per
sample); the backward products counted by FlopCounterMode on the meta device at batch 32; the other backward
work and the memory by docs/conventions.md's rules, over torchvision's layers (tests/data/torchvision_models.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from paramcalc import analyze_training

from .conftest import require_torch

torch = require_torch()
torchvision = pytest.importorskip("torchvision", reason="the README's training block is checked against torchvision")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"]["resnet50"]
BATCH = 32


def saved_bytes(batch: int) -> tuple[int, int]:
    """(every distinct storage autograd keeps for backward, those that are not the model's parameters or buffers),
    one training step of torchvision's resnet50 in train mode under CPU autocast to bfloat16."""
    torch.manual_seed(0)
    model = torchvision.models.resnet50().train()
    own = {tensor.untyped_storage().data_ptr() for tensor in (*model.parameters(), *model.buffers())}
    storages: dict[int, int] = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autocast("cpu", dtype=torch.bfloat16), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.randn(batch, 3, 224, 224))
    return sum(storages.values()), sum(size for pointer, size in storages.items() if pointer not in own)


def test_saved_for_backward_and_peak_memory():
    (two, two_activations), (three, three_activations) = saved_bytes(2), saved_bytes(3)
    at_32 = two + (BATCH - 2) * (three - two)
    activations_at_32 = two_activations + (BATCH - 2) * (three_activations - two_activations)
    training = analyze_training(ROOT / "specs/resnet50.yaml", batch=BATCH, amp="bf16").training
    assert training.saved_bytes == at_32
    assert training.saved_activation_bytes == activations_at_32
    # weights (params and the running statistics; paramcalc leaves out num_batches_tracked, 53 int64 counters) in
    # float32, a gradient per parameter, Adam's two tensors per parameter
    params, buffers = RESNET50["params"], RESNET50["bn_running_stats"]
    weights, gradients, adam = 4 * (params + buffers), 4 * params, 2 * 4 * params
    assert (training.weight_bytes, training.gradient_bytes, training.optimizer_bytes) == (weights, gradients, adam)
    assert training.peak_bytes == weights + gradients + adam + activations_at_32
    assert f"{activations_at_32 / 1e9:.2f}" == "1.45"  # the README's "Saved for backward  1.45 GB"
    assert f"{training.peak_bytes / 1e9:.2f}" == "1.86"


def test_forward_and_backward_flops():
    model = torchvision.models.resnet50().train().to("meta")
    counter = FlopCounterMode(display=False)
    output = model(torch.empty(BATCH, 3, 224, 224, device="meta"))
    with counter:
        output.sum().backward()
    products = counter.get_total_flops()  # the weights' gradients, and the inputs' but the first convolution's
    # the rest, per docs/conventions.md: an input gradient as many FLOPs as the layer's forward (batch norm 2 per
    # element, ReLU and the residual add 1, the 3x3 max pool 8 per output, the average pool 1 per input), batch
    # norm's weights 3 per element, the linear layer's bias an add per output
    leaves = {name: (kind, math.prod(shape)) for name, kind, shape, _ in RESNET50["leaves"]}
    norms = sum(size for kind, size in leaves.values() if kind == "BatchNorm2d")
    # torchvision's Bottleneck applies its ReLU after bn1, bn2 and the add (of bn3's size), the stem's after bn1
    relus = leaves["bn1"][1] + sum(size for name, (kind, size) in leaves.items()
                                   if name.startswith("layer") and name.rsplit(".", 1)[1] in ("bn1", "bn2", "bn3"))
    adds = sum(size for name, (_, size) in leaves.items() if name.startswith("layer") and name.endswith(".bn3"))
    pools = 8 * leaves["maxpool"][1] + 2048 * 7 * 7
    other = BATCH * ((2 + 3) * norms + relus + adds + pools + 1000)
    training = analyze_training(ROOT / "specs/resnet50.yaml", batch=BATCH, amp="bf16").training
    assert 2 * training.backward_macs == products
    assert training.backward_flops == products + other == 518_179_650_816
    # forward: 2 per MAC, batch norm 2 per element, ReLU and add 1, the pools as above, the linear layer's bias
    forward = BATCH * (2 * RESNET50["macs_conv_linear"] + 2 * norms + relus + adds + pools + 1000)
    assert training.forward_flops == forward == 262_957_808_896
    assert training.train_flops == forward + products + other == 781_137_459_712
