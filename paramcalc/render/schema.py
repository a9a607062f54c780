"""The spec format as JSON Schema, generated from the layer registry: editors complete and check specs
with it, and it cannot drift from what the loader accepts because both read the same field classes."""

from __future__ import annotations

import json

from ..engine.layers import ALIASES, REGISTRY, LayerKind
from ..engine.layers.fields import EXPRESSION
from ..spec.budget import FIGURES
from ..spec.format import CLASS_PATTERN, DTYPE_ALIASES, DTYPE_BYTES, NAME_PATTERN, REF_PATTERN

SCHEMA_ID = "https://paramcalc.invalid/spec.schema.json"  # not fetched: the schema ships in the repository

# The merges that broadcast an operand (a C x 1 x 1 gate times a C x H x W map), and how their receptive field
# is computed (engine/receptive.py, merge_broadcast); docs/conventions.md explains it under "Broadcast merges".
BROADCASTING_MERGES = ("add", "mul")
BROADCAST_FIELD = ("Receptive field, when an operand is broadcast over the map (a C x 1 x 1 gate): the field "
                   "follows the full-resolution operand (its stride and padding); a global gate, as in "
                   "squeeze-and-excitation, makes every unit global; a gate that does not see the whole input "
                   "(pooled over one axis only, or a convolution strided down to one pixel) is not followed "
                   "(docs/conventions.md, 'Broadcast merges').")


def _kind_body(kind: type[LayerKind]) -> dict:
    properties = {}
    for field in kind.fields:
        schema = dict(field.type.json_schema())
        schema["description"] = field.type.describe() + (f" - {field.doc}" if field.doc else "")
        properties[field.name] = schema
    mapping = {"type": "object", "additionalProperties": False, "properties": properties,
               "required": [f.name for f in kind.fields if f.required]}
    forms: list[dict] = [mapping]
    if not mapping["required"]:
        forms.append({"type": "null"})
    if kind.primary is not None:
        forms.append(next(f for f in kind.fields if f.name == kind.primary).type.json_schema())
    description = kind.summary + f" (FLOPs: {kind.flops_formula})"
    if kind.kind in BROADCASTING_MERGES:
        description += ". " + BROADCAST_FIELD
    return {"description": description, "anyOf": forms}


def spec_schema() -> dict:
    kinds = {name: _kind_body(kind) for name, kind in REGISTRY.items()}
    kinds.update({alias: kinds[target] for alias, target in ALIASES.items()})
    name = {"type": "string", "pattern": NAME_PATTERN}
    reference = {"anyOf": [{"type": "string", "pattern": REF_PATTERN}, {"type": "integer", "minimum": 0}]}
    common = {
        "name": {"anyOf": [name, {"type": "integer", "minimum": 0}],
                 "description": "the layer's name; unnamed layers are named by their position (0, 1, ...)"},
        "from": {"anyOf": [reference, {"type": "array", "items": reference, "minItems": 1}]},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]},
        "names": {"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]*[0-9]$"},
                            {"type": "integer", "minimum": 0}],
                  "description": "with repeat: the first copy's name, ending in its number (denselayer1)"},
        "if": {"anyOf": [{"type": "boolean"}, EXPRESSION]},
        "frozen": {"type": "boolean"},
        "train_only": {"type": "boolean",
                       "description": "the layer or group runs only in training (an auxiliary head): its parameters "
                                      "count, its MACs, FLOPs, activations and size conditions do not"},
        "functional": {"type": "boolean",
                       "description": "PyTorch calls the layer as a function (F.relu), not a module: counters that "
                                      "hook modules (thop, ptflops, torchinfo) see it differently (--convention)"},
        "module": {"type": "string", "pattern": CLASS_PATTERN,
                   "description": "the class PyTorch runs the layer as, when a subclass of its kind's standard module "
                                  "(Conv3DSimple for a conv3d): counters that look hooks up by class (ptflops, thop, "
                                  "torchinfo) see it differently (--convention)"},
    }
    # a layer: a kind alone, or a mapping of the common keys with one kind (or a block, or 'layers')
    layer = {"anyOf": [
        {"type": "string", "description": "a layer kind with its defaults, or a block without arguments"},
        {"type": "object", "properties": {**common, **kinds, "layers": {"$ref": "#/definitions/layers"},
                                          "output": reference},
         "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}],
                                  "description": "a block defined under 'blocks:', with its arguments"},
         "minProperties": 1},
    ]}
    scalar = {"anyOf": [{"type": ["integer", "number", "boolean", "null"]}, {"type": "string"},
                        {"type": "array"}, {"type": "object"}]}
    figures = {key: {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
                     "description": f"the most {figure.label} allowed" + (" (bytes: 110MB)" if figure.unit == "bytes"
                                                                            else " (25M, 4.1G)")}
               for key, figure in FIGURES.items()}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "paramcalc spec",
        "description": "A CNN as layers, for paramcalc: shapes, parameters, MACs/FLOPs, memory, receptive field.",
        "type": "object",
        "required": ["name", "input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "input": {"anyOf": [{"type": "array", "minItems": 1,
                                 "items": {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]}},
                                {"type": "string", "pattern": "x"}],
                      "description": "one sample's shape: [channels, height, width], or '3x224x224'; "
                                     "a name that is not a var (H, W) makes that size symbolic"},
            "batch": {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]},
            "dtype": {"enum": [*DTYPE_BYTES, *DTYPE_ALIASES]},
            "vars": {"type": "object", "propertyNames": name, "additionalProperties": scalar,
                     "description": "named values for expressions; a value may be a table (a list of lists or "
                                    "mappings) read with cfg[index][0], cfg[index].kernel and len(cfg)"},
            "blocks": {"type": "object", "propertyNames": name,
                       "description": "reusable groups of layers; inside one, in_channels and in_shape are the "
                                      "channels and the shape of the block's input",
                       "additionalProperties": {
                "type": "object", "required": ["layers"], "additionalProperties": False,
                "properties": {"args": {"type": "object", "propertyNames": name},
                               "layers": {"$ref": "#/definitions/layers"}, "output": reference,
                               "description": {"type": "string"}}}},
            "layers": {"$ref": "#/definitions/layers"},
            "output": reference,
            "budget": {"type": "object", "additionalProperties": False, "properties": figures},
        },
        "definitions": {"layers": {"type": "array", "minItems": 1, "items": layer}},
    }


def to_json() -> str:
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False)
