"""The zoo beyond CNN classifiers (transformers, ConvNeXt, EfficientNet, RegNet, segmentation, video) against
figures measured with PyTorch/torchvision (tests/data/torchvision_beyond.json: torchvision 0.28, torch 2.13
CPU, eval; its "source" and "fields" entries say how each figure was measured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paramcalc

ROOT = Path(__file__).resolve().parent.parent
DATA = json.loads((Path(__file__).parent / "data" / "torchvision_beyond.json").read_text())
REFERENCE = DATA["models"]

# torchvision leaf module type -> the paramcalc kind that stands for it. AdaptiveAvgPool2d is global_avgpool
# when it pools to 1x1 (every one in these models), adaptive_avgpool otherwise (see reference_kind).
KIND = {
    "Conv2d": "conv2d",
    "Conv3d": "conv3d",
    "Conv3DSimple": "conv3d",        # torchvision.models.video.resnet: nn.Conv3d subclasses
    "Conv3DNoTemporal": "conv3d",
    "Linear": "linear",
    "LayerNorm": "layernorm",
    "LayerNorm2d": "layernorm2d",    # torchvision.models.convnext.LayerNorm2d: nn.LayerNorm over the channels
    "BatchNorm2d": "batchnorm",
    "BatchNorm3d": "batchnorm",
    "Permute": "permute",
    "MaxPool2d": "maxpool",
    "AdaptiveAvgPool2d": "global_avgpool",
    "AdaptiveAvgPool3d": "adaptive_avgpool3d",
    "GELU": "gelu",
    "ReLU": "relu",
    "SiLU": "silu",
    "Sigmoid": "sigmoid",
    "Hardswish": "hardswish",
    "Hardsigmoid": "hardsigmoid",
    "Flatten": "flatten",
    "StochasticDepth": "stochastic_depth",
    "Dropout": "dropout",
}
COMPARED = set(KIND.values()) | {"adaptive_avgpool"}

# Every kind above is compared, in forward order, for every model. The spec's layers listed here stand for a
# function that torchvision calls in forward() rather than a module, so the reference (which lists leaf
# modules as they are called) has no leaf for them:
FUNCTIONAL_IN_TORCHVISION = {
    # VisionTransformer._process_input: x.reshape(n, hidden_dim, n_h * n_w) then x.permute(0, 2, 1)
    # (the spec's 'transpose' is not a compared kind)
    "vit_b_32": {"flatten"},
    "efficientnet_b3": {"flatten"},  # EfficientNet._forward_impl: torch.flatten(x, 1)
    "regnet_y_800mf": {"flatten"},   # RegNet.forward: x.flatten(start_dim=1)
    "mc3_18": {"flatten"},           # VideoResNet.forward: x.flatten(1)
}
# Leaves that line up although the module structure differs:
#  - swin_s: torchvision's SwinTransformerBlock holds ONE StochasticDepth module and calls it on both residual
#    branches, so the reference (a forward hook per call) lists it twice per block, both times under the name
#    '<block>.stochastic_depth'; the spec has one layer per branch (stochastic_depth_1, stochastic_depth_2).
#  - vit_b_32: nn.MultiheadAttention calls its weights functionally (in_proj_weight, out_proj.weight), so it
#    is no leaf in the reference; the spec's 'attention' layer (no compared kind) stands for the whole module.
#  - fcn_resnet101, deeplabv3_mobilenet_v3_large: F.interpolate and torch.cat (the spec's upsample and
#    concat) and the squeeze-excitation's scale * input (mul) are functions: no compared kind.


def reference_kind(leaf: dict) -> str:
    if leaf["type"] == "AdaptiveAvgPool2d" and leaf["out"][2:] != [1, 1]:
        return "adaptive_avgpool"
    return KIND[leaf["type"]]


def batch_norm_layers(ref: dict) -> int:
    return sum(1 for leaf in ref["leaves"] if leaf["type"].startswith("BatchNorm"))


@pytest.fixture(scope="module", params=sorted(REFERENCE))
def model(request):
    name = request.param
    return name, REFERENCE[name], paramcalc.analyze(ROOT / "specs" / f"{name}.yaml")


def test_the_reference_says_where_it_comes_from():
    assert "torchvision 0.28" in DATA["source"] and "torch 2.13.0 CPU" in DATA["source"] and "eval" in DATA["source"]
    assert {"params / trainable / buffers", "bn_running_stats", "macs", "attention_macs", "leaves"} \
        <= set(DATA["fields"])
    assert sorted(REFERENCE) == sorted(["vit_b_32", "swin_s", "convnext_small", "efficientnet_b3", "regnet_y_800mf",
                                        "fcn_resnet101", "deeplabv3_mobilenet_v3_large", "mc3_18"])


def test_totals_equal_torchvision(model):
    name, ref, result = model
    totals = result.totals
    assert result.name == name
    assert totals.params == ref["params"]
    assert totals.trainable == ref["trainable"]
    assert totals.macs == ref["macs"]
    assert (result.batch, *totals.output_shape) == tuple(ref["output"])
    assert (result.batch, *result.input_shape) == tuple(ref["input"])


def test_buffers_are_torch_s_without_num_batches_tracked(model):
    # torch's buffers = running_mean + running_var + one num_batches_tracked scalar per batch-norm layer + any
    # other buffer (swin_s: each block's relative_position_index, 49² = 2,401 entries, 24 blocks = 57,624).
    # paramcalc counts every buffer but num_batches_tracked (a step counter, not part of the model's state at
    # inference), so for every model: paramcalc's buffers = torch's buffers - the number of batch-norm layers.
    # With batch norm and no other buffer that is exactly the running statistics (bn_running_stats); swin_s
    # has no batch norm, and its buffers are all relative_position_index.
    name, ref, result = model
    assert result.totals.buffers == ref["buffers"] - batch_norm_layers(ref)
    if batch_norm_layers(ref):
        assert result.totals.buffers == ref["bn_running_stats"]
    if name == "swin_s":
        assert ref["bn_running_stats"] == 0 and result.totals.buffers == ref["buffers"] == 24 * 7 ** 4


def test_every_leaf_type_of_the_reference_has_a_kind(model):
    _, ref, _ = model
    assert {leaf["type"] for leaf in ref["leaves"]} <= set(KIND)


def test_leaves_in_forward_order_equal_torchvision(model):
    name, ref, result = model
    skipped = FUNCTIONAL_IN_TORCHVISION.get(name, set())
    ours = [(r.kind, [result.batch, *r.shape], r.params) for r in result.leaves()
            if r.kind in COMPARED and r.name not in skipped]
    theirs = [(reference_kind(leaf), leaf["out"], leaf["params"]) for leaf in ref["leaves"]]
    assert len(ours) == len(theirs)
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine == reference, f"leaf {index} ({ref['leaves'][index]['name']})"


def test_vit_attention_macs_are_the_two_matmuls_flop_counter_mode_does_not_see():
    ref = REFERENCE["vit_b_32"]
    result = paramcalc.analyze(ROOT / "specs" / "vit_b_32.yaml")
    tokens_out = next(leaf["out"] for leaf in ref["leaves"] if leaf["name"] == "encoder.dropout")
    _, tokens, width = tokens_out                                  # [1, 50, 768]: 49 patches + the class token
    assert (tokens, width) == (50, 768)
    attention = [r for r in result.leaves() if r.kind == "attention"]
    assert len(attention) == 12
    products = 2 * tokens * tokens * width                         # Q·Kᵀ and A·V, L²·E each
    projections = 4 * tokens * width * width                       # in_proj (Q, K, V) and out_proj
    for record in attention:
        assert record.macs == projections + products, record.name
        assert record.params == 4 * width * width + 4 * width
    total_products = sum(record.macs - projections for record in attention)
    assert total_products == 12 * products == ref["attention_macs"] == 46_080_000
    # FlopCounterMode sees every other matrix product (convolution, addmm), not these two on CPU
    assert result.totals.macs - ref["matmul_conv_flops"] // 2 == ref["attention_macs"]
    assert ref["matmul_conv_flops"] == sum(ref["flops_by_op"].values())
