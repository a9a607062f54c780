"""Every zoo spec against figures measured with PyTorch/torchvision (tests/data/torchvision_models.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paramcalc

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_models.json").read_text())["models"]

# paramcalc kind -> the torch module type the reference lists for it
TORCH_TYPE = {
    "conv2d": "Conv2d",
    "linear": "Linear",
    "maxpool": "MaxPool2d",
    "avgpool": "AvgPool2d",
    "adaptive_avgpool": "AdaptiveAvgPool2d",
    "global_avgpool": "AdaptiveAvgPool2d",
    "batchnorm": "BatchNorm2d",
}

# torchvision's DenseNet pools with the function F.adaptive_avg_pool2d in forward(), not with a module,
# so the reference (which lists modules) has no leaf for it; the spec's layer of that name is skipped.
FUNCTIONAL_IN_TORCHVISION = {"densenet121": {"avgpool"}, "densenet169": {"avgpool"}, "densenet201": {"avgpool"}}


@pytest.fixture(scope="module", params=sorted(REFERENCE))
def model(request):
    name = request.param
    return name, REFERENCE[name], paramcalc.analyze(ROOT / "specs" / f"{name}.yaml")


def test_totals_equal_torchvision(model):
    name, ref, result = model
    totals = result.totals
    assert result.name == name
    assert totals.params == ref["params"]
    assert totals.trainable == ref["trainable"]
    assert totals.buffers == ref["bn_running_stats"]
    assert totals.macs == ref["macs_conv_linear"]
    assert (result.batch, *totals.output_shape) == tuple(ref["output"])
    assert (result.batch, *result.input_shape) == tuple(ref["input"])


def test_layer_shapes_in_forward_order_equal_torchvision(model):
    name, ref, result = model
    skipped = FUNCTIONAL_IN_TORCHVISION.get(name, set())
    ours = [(TORCH_TYPE[r.kind], [result.batch, *r.shape], r.params) for r in result.leaves()
            if r.kind in TORCH_TYPE and r.name not in skipped]
    theirs = [(kind, shape, params) for _, kind, shape, params in ref["leaves"]]
    assert len(ours) == len(theirs)
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine == tuple(reference), f"leaf {index} ({ref['leaves'][index][0]})"
