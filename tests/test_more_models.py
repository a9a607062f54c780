"""The format expresses torchvision classifiers beyond the zoo (SqueezeNet, MobileNet v2, ShuffleNet v2,
Inception v3 with its auxiliary head) with exactly the parameter counts torchvision publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paramcalc

FOLDER = Path(__file__).parent / "data" / "more_models"
PUBLISHED = json.loads((FOLDER / "published.json").read_text())["num_params"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_equals_torchvision_documentation(name):
    result = paramcalc.analyze(FOLDER / f"{name}.yaml")
    assert result.totals.params == PUBLISHED[name]
    assert result.totals.output_shape == (1000,)


def test_inception_v3_auxiliary_head_is_a_side_branch():
    result = paramcalc.analyze(FOLDER / "inception_v3.yaml")
    assert result["AuxLogits"].inputs == ("Mixed_6e.cat",)  # a block's output is its last layer
    assert result["AuxLogits.conv1.conv"].shape == (768, 1, 1)  # 17x17 -> 5x5 pool -> 5x5 conv
    assert result["Mixed_7a"].inputs == ("Mixed_6e.cat",)
