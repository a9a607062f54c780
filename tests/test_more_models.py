"""The format expresses torchvision classifiers beyond the zoo (SqueezeNet, MobileNet v2, ShuffleNet v2) with
exactly the parameter counts torchvision publishes."""

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
