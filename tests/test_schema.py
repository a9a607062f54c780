"""The JSON Schema of the spec format: generated from the layer registry, shipped for editors, accepting
every bundled spec and rejecting what the loader rejects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

import paramcalc
from paramcalc.render.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "paramcalc.schema.json"
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
VALIDATOR = jsonschema.Draft7Validator(spec_schema())


def test_the_shipped_schema_is_the_generated_one():
    jsonschema.Draft7Validator.check_schema(spec_schema())
    assert json.loads(SHIPPED.read_text()) == spec_schema(), "run: paramcalc schema > paramcalc.schema.json"


@pytest.mark.parametrize("spec", SPECS + sorted((ROOT / "tests" / "data" / "more_models").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_bundled_specs_are_valid(spec):
    errors = [error.message for error in VALIDATOR.iter_errors(yaml.safe_load(spec.read_text()))]
    assert not errors


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_every_spec_names_the_schema_for_editors(spec):
    first = spec.read_text().splitlines()[0]
    relative = os.path.relpath(SHIPPED, spec.parent)
    assert first == f"# yaml-language-server: $schema={relative}"


HEAD = "name: t\ninput: [3, 32, 32]\n"


@pytest.mark.parametrize("text", [
    HEAD + "layer: [relu]\n",                                              # unknown top-level key
    HEAD,                                                                  # no layers
    HEAD + "layers: []\n",                                                 # empty layers
    HEAD + "layers:\n  - conv2d: {out: 8, kernal: 3}\n",                   # unknown field
    HEAD + "layers:\n  - conv2d: {kernel: 3}\n",                           # missing field
    HEAD + "layers:\n  - conv2d: {out: 0, kernel: 3}\n",                   # non-positive size
    HEAD + "layers:\n  - conv2d: {out: 8, kernel: [1, 2, 3]}\n",           # not a pair
    HEAD + "layers:\n  - conv2d: {out: 8, kernel: 3, bias: [1]}\n",        # mistyped
    HEAD + "layers:\n  - {name: a.b, relu}\n",                             # dotted name
    HEAD + "layers:\n  - {relu, module: nn.ReLU}\n",                     # a module path, not a class name
    HEAD + "layers:\n  - {relu, module: 3}\n",                           # not a class name
    HEAD + "layers:\n  - {relu, from: 5.5}\n",                               # from is not a name
    HEAD + "layers: [relu]\ndtype: float8\n",                              # unknown dtype
    HEAD + "layers: [relu]\nbudget: {parms: 3}\n",                         # unknown budget figure
    "input: [3, 8, 8]\nlayers: [relu]\n",                                  # no name
    HEAD + "layers:\n  - maxpool: {kernel: 3, padding: {top: 1, up: 1}}\n",
])
def test_the_schema_rejects_what_the_loader_rejects(text):
    with pytest.raises(paramcalc.SpecError):
        paramcalc.analyze(text)
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text)))
