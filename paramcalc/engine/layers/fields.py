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


class Sizes(FieldType):
    """One whole number for every axis, or a list with one per axis ([height, width]; [time, height, width])."""

    AXES = {1: "[length]", 2: "[height, width]", 3: "[time, height, width]"}

    def __init__(self, axes: int = 2, minimum: int = 1) -> None:
        self.axes, self.minimum = axes, minimum

    def read(self, value: Any) -> tuple[int, ...]:
        items = list(value) if isinstance(value, list) else [value] * self.axes
        if len(items) != self.axes:
            raise FieldError(f"must be one number or {self.AXES[self.axes]}, got {len(items)} values")
        values = tuple(_whole_number(item, "each size") for item in items)
        for size in values:
            if size < self.minimum:
                raise FieldError(f"must be at least {self.minimum}, got {size}")
            if size > MAX_SIZE:
                raise FieldError(f"must be at most {MAX_SIZE:,}, got {size:,}")
        return values

    def describe(self) -> str:
        return f"integer >= {self.minimum}" + (f", or {self.AXES[self.axes]}" if self.axes > 1 else "")

    def json_schema(self) -> dict:
        one = {"anyOf": [{"type": "integer", "minimum": self.minimum, "maximum": MAX_SIZE}, EXPRESSION]}
        return {"anyOf": [*one["anyOf"],
                          {"type": "array", "items": one, "minItems": self.axes, "maxItems": self.axes}]}


Pair = Sizes  # two axes, the default


class Padding(FieldType):
    """PyTorch's padding forms plus, in 2-D, an explicit asymmetric mapping. Read as (before, after) for each
    axis in turn: (top, bottom, left, right) in 2-D."""

    def __init__(self, keywords: tuple[str, ...] = ("same", "valid"), axes: int = 2) -> None:
        self.keywords, self.axes = keywords, axes

    def words(self) -> tuple[str, ...]:
        return self.keywords

    def describe(self) -> str:
        words = "".join(f", '{k}'" for k in self.keywords)
        sides = ", {top, bottom, left, right}" if self.axes == 2 else ""
        return f"integer >= 0, {Sizes.AXES[self.axes]}{sides}{words}"

    def json_schema(self) -> dict:
        one = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_SIZE}, EXPRESSION]}
        forms = [*one["anyOf"], {"type": "array", "items": one, "minItems": self.axes, "maxItems": self.axes}]
        if self.axes == 2:
            forms.append({"type": "object", "additionalProperties": False,
                          "properties": {side: one for side in ("top", "bottom", "left", "right")}})
        return {"anyOf": forms}

    def read(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.keywords:
            return value
        if isinstance(value, dict) and self.axes == 2:
            sides = ("top", "bottom", "left", "right")
            unknown = set(value) - set(sides)
            if unknown:
                raise FieldError(f"unknown side '{sorted(unknown)[0]}'", hint="sides are top, bottom, left, right")
            return tuple(self._amount(value.get(side, 0)) for side in sides)
        if isinstance(value, list):
            if len(value) != self.axes:
                hint = ("for different amounts on each side write {top: 0, bottom: 1, left: 0, right: 1}"
                        if self.axes == 2 else None)
                raise FieldError(f"a list must be {Sizes.AXES[self.axes]}, got {len(value)} values", hint=hint)
            return tuple(amount for item in value for amount in (self._amount(item),) * 2)
        return (self._amount(value),) * (2 * self.axes)

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


class Axes(FieldType):
    """Tensor dimensions in PyTorch's numbering (0 is the batch): one, or a list of them, as torch.mean takes."""

    def read(self, value: Any) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise FieldError("must be a dimension number or a list of them, got an empty list",
                             hint="PyTorch's mean over no dimensions averages everything, the batch too")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int):
                raise FieldError(f"must be a dimension number or a list of them, got {as_written(value)}")
        return tuple(items)

    def describe(self) -> str:
        return "dimension or list of dimensions as in PyTorch (1 = channels, -1 = last)"

    def json_schema(self) -> dict:
        one = Axis().json_schema()
        return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 1}]}


class Numbers(FieldType):
    """A list of whole numbers: a permutation of dimensions, or sizes for a reshape (-1 allowed where said)."""

    def __init__(self, what: str, minimum: int = 0, wildcard: bool = False, scalar: bool = False) -> None:
        self.what, self.minimum, self.wildcard, self.scalar = what, minimum, wildcard, scalar

    def read(self, value: Any) -> tuple[int, ...]:
        if self.scalar and not isinstance(value, (list, dict, str)):
            value = [value]
        if not isinstance(value, list) or not value:
            raise FieldError(f"must be a list of {self.what}, got {as_written(value)}")
        numbers = tuple(_whole_number(item, "each entry") for item in value)
        for number in numbers:
            if number < self.minimum and not (self.wildcard and number == -1):
                raise FieldError(f"{self.what} must be at least {self.minimum}, got {number}"
                                 + (" (-1: the size that makes the total agree)" if self.wildcard else ""))
            if number > MAX_SIZE:
                raise FieldError(f"must be at most {MAX_SIZE:,}, got {number:,}")
        return numbers

    def describe(self) -> str:
        return ("one number or a " if self.scalar else "") + f"list of {self.what}"

    def json_schema(self) -> dict:
        one = {"anyOf": [{"type": "integer", "maximum": MAX_SIZE}, EXPRESSION]}
        listed = {"type": "array", "items": one, "minItems": 1}
        return {"anyOf": [*one["anyOf"], listed]} if self.scalar else listed
