"""SpecField types: how a layer's spec values are read, checked and described.

A field receives its value already evaluated in the layer's scope (numbers, lists,
mappings, or one of its words as a string) and checks and converts it. Fields raise
FieldError with what was found and what would be valid; the engine adds file, line
and layer path.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from typing import Any

from ...errors import Problem
from ...limits import MAX_SIZE
from ...spec.literals import as_written


class FieldError(Problem):
    """A field's value is not what the field takes; the engine adds the file, line and layer."""


REQUIRED = object()


class SpecField(namedtuple("SpecField", "name type default doc", defaults=(REQUIRED, ""))):
    """One spec field of a layer kind: its name, type (a FieldType), default and meaning."""

    __slots__ = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


EXPRESSION = {"type": "string", "description": "an expression over vars, block arguments and index"}


class FieldType:
    description = ""

    def words(self) -> tuple[str, ...]:
        """Bare words the field takes as they are ('same', 'depthwise'), not as names of variables."""
        return ()

    def read(self, value: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        return self.description

    def json_schema(self) -> dict:
        """What the field accepts, as JSON Schema (for `paramcalc schema` and editors)."""
        return {}


def _is_fraction(value: Any) -> bool:
    fractions = sys.modules.get("fractions")  # imported by whatever made the fraction: checking imports nothing
    return fractions is not None and isinstance(value, fractions.Fraction)


def _whole_number(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if _is_fraction(value):
        raise FieldError(f"{what} must be a whole number, got {as_written(value)}",
                         hint="use // for whole-number division, or round()/ceil()/floor()")
    raise FieldError(f"{what} must be a whole number, got {as_written(value)}")


class Int(FieldType):
    def __init__(self, minimum: int = 1, keywords: tuple[str, ...] = ()) -> None:
        self.minimum = minimum
        self.keywords = keywords  # words accepted as they are, like 'depthwise'

    def words(self) -> tuple[str, ...]:
        return self.keywords

    def read(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.keywords:
            return value
        value = _whole_number(value, "the value")
        if value < self.minimum:
            raise FieldError(f"must be at least {self.minimum}, got {value}")
        if value > MAX_SIZE:
            raise FieldError(f"must be at most {MAX_SIZE:,}, got {value:,}")
        return value

    def describe(self) -> str:
        words = "".join(f" or '{k}'" for k in self.keywords)
        return f"integer >= {self.minimum}{words}"

    def json_schema(self) -> dict:
        return {"anyOf": [{"type": "integer", "minimum": self.minimum, "maximum": MAX_SIZE}, EXPRESSION]}


class Real(FieldType):
    def __init__(self, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def read(self, value: Any) -> float:
        if isinstance(value, bool) or not (isinstance(value, (int, float)) or _is_fraction(value)):
            raise FieldError(f"must be a number, got {as_written(value)}")
        number = float(value)
        if self.minimum is not None and number < self.minimum or self.maximum is not None and number > self.maximum:
            raise FieldError(f"must be between {self.minimum} and {self.maximum}, got {float(value):g}")
        return float(value)

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"number in [{self.minimum:g}, {self.maximum:g}]"
        return "number"

    def json_schema(self) -> dict:
        number: dict = {"type": "number"}
        if self.minimum is not None:
            number["minimum"] = self.minimum
        if self.maximum is not None:
            number["maximum"] = self.maximum
        return {"anyOf": [number, EXPRESSION]}


class Bool(FieldType):
    description = "true or false"

    def json_schema(self) -> dict:
        return {"anyOf": [{"type": "boolean"}, EXPRESSION]}

    def read(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise FieldError(f"must be true or false, got {as_written(value)}")
        return value


class Pair(FieldType):
    """An int used for both axes, or [height, width]."""

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def read(self, value: Any) -> tuple[int, int]:
        items = list(value) if isinstance(value, list) else [value, value]
        if len(items) != 2:
            raise FieldError(f"must be one number or [height, width], got {len(items)} values")
        values = tuple(_whole_number(item, "each size") for item in items)
        for size in values:
            if size < self.minimum:
                raise FieldError(f"must be at least {self.minimum}, got {size}")
            if size > MAX_SIZE:
                raise FieldError(f"must be at most {MAX_SIZE:,}, got {size:,}")
        return values  # type: ignore[return-value]

    def describe(self) -> str:
        return f"integer >= {self.minimum}, or [height, width]"

    def json_schema(self) -> dict:
        one = {"anyOf": [{"type": "integer", "minimum": self.minimum, "maximum": MAX_SIZE}, EXPRESSION]}
        return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


class Padding(FieldType):
    """PyTorch's padding forms plus an explicit asymmetric mapping; read as (top, bottom, left, right)."""

    def __init__(self, keywords: tuple[str, ...] = ("same", "valid")) -> None:
        self.keywords = keywords

    def words(self) -> tuple[str, ...]:
        return self.keywords

    def describe(self) -> str:
        words = "".join(f", '{k}'" for k in self.keywords)
        return f"integer >= 0, [height, width], {{top, bottom, left, right}}{words}"

    def json_schema(self) -> dict:
        one = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_SIZE}, EXPRESSION]}
        sides = {"type": "object", "additionalProperties": False,
                 "properties": {side: one for side in ("top", "bottom", "left", "right")}}
        forms = [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}, sides]
        return {"anyOf": forms}

    def read(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.keywords:
            return value
        if isinstance(value, dict):
            sides = ("top", "bottom", "left", "right")
            unknown = set(value) - set(sides)
            if unknown:
                raise FieldError(f"unknown side '{sorted(unknown)[0]}'", hint="sides are top, bottom, left, right")
            return tuple(self._amount(value.get(side, 0)) for side in sides)
        if isinstance(value, list):
            if len(value) != 2:
                raise FieldError(f"a list must be [height, width], got {len(value)} values",
                                 hint="for different amounts on each side write {top: 0, bottom: 1, left: 0, right: 1}")
            height, width = (self._amount(item) for item in value)
            return (height, height, width, width)
        amount = self._amount(value)
        return (amount, amount, amount, amount)

    @staticmethod
    def _amount(value: Any) -> int:
        value = _whole_number(value, "padding")
        if not 0 <= value <= MAX_SIZE:
            raise FieldError(f"padding must be between 0 and {MAX_SIZE:,}, got {value:,}")
        return value


class Choice(FieldType):
    def __init__(self, options: tuple[str, ...]) -> None:
        self.options = options

    def words(self) -> tuple[str, ...]:
        return self.options

    def read(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise FieldError(f"must be one of {', '.join(self.options)}, got {as_written(value)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def json_schema(self) -> dict:
        return {"enum": list(self.options)}


class Axis(FieldType):
    """A tensor dimension in PyTorch's numbering, where 0 is the batch."""

    def read(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(f"must be a dimension number, got {as_written(value)}")
        return value

    def describe(self) -> str:
        return "dimension as in PyTorch (1 = channels, -1 = last)"

    def json_schema(self) -> dict:
        return {"anyOf": [{"type": "integer"}, EXPRESSION]}
