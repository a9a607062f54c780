"""Dimensions: the values a shape is made of.

A `Dim` is a Python int, or, when the input's sizes are names (`--input 3xHxW`), a
paramcalc.engine.symbolic.SymbolicSize. The layer formulas are written with ordinary operators
(`+ - * //`) and the helpers below, so the same code serves both. Anything that has to
*decide* on a size (is it positive? do two sizes agree?) goes through a helper here: for
an int it is a comparison; for a symbolic size it becomes a condition on the input's symbols.
"""

from __future__ import annotations

import math
from typing import Any, Union

from ..limits import MAX_SIZE
from .conditions import require_divisible, require_equal, require_positive
from .symbolic import SymbolicSize, gcd_of

Dim = Union[int, SymbolicSize]
Shape = tuple  # of Dim: one sample's sizes, without the batch


def ceildiv(numerator: Dim, denominator: Dim) -> Dim:
    return -((-numerator) // denominator)


numel = math.prod  # the number of elements of a shape: its sizes multiplied (a symbolic size multiplies too)


def is_concrete(size: Any) -> bool:
    return type(size) is int


def is_positive(size: Dim) -> bool:
    if type(size) is int:
        return size >= 1
    return require_positive(size)  # type: ignore[arg-type]


def same(a: Dim, b: Dim) -> bool:
    if type(a) is int and type(b) is int:
        return a == b
    return require_equal(a, b)


def divides(divisor: Dim, value: Dim) -> bool:
    if type(divisor) is int and type(value) is int:
        return value % divisor == 0
    if divisor == value:
        return True
    return require_divisible(divisor, value)  # type: ignore[arg-type]


def gcd(size: Dim, k: int) -> Dim:
    if type(size) is int:
        return math.gcd(size, k)
    return gcd_of(size, k)


def shape_parts(text: str) -> list[str]:
    """'3x224x224' or '3 X H X W' -> its sizes as written: ['3', '224', '224']."""
    return [part.strip() for part in text.replace("X", "x").split("x")]


def parse_size(text: str) -> int | None:
    """'224' -> 224: a size given on the command line, written with the digits 0-9, from 1 to MAX_SIZE; None
    otherwise. Its digits are counted before it is made a number (Python refuses more than 4,300)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_SIZE)):
        return None
    size = int(text)
    return size if 1 <= size <= MAX_SIZE else None


def parse_shape(text: str) -> tuple[int | str, ...] | None:
    """'3x224x224' -> (3, 224, 224), '3xHxW' -> (3, 'H', 'W'); None when a part is neither a size
    (parse_size) nor a name."""
    sizes: list[int | str] = []
    for part in shape_parts(text):
        size = parse_size(part)
        if size is not None:
            sizes.append(size)
        elif part.isidentifier():
            sizes.append(part)
        else:
            return None
    return tuple(sizes)


def format_shape(shape: Shape, sep: str = "x") -> str:
    if not shape:
        return "scalar"
    if all(type(size) is int for size in shape):
        return sep.join(map(str, shape))
    # formulas read better spaced, and a sum in parentheses: 2048 x ceil(H/32) x (W - 2)
    return f" {sep} ".join(f"({size})" if _is_sum(str(size)) else str(size) for size in shape)


def _is_sum(text: str) -> bool:
    """Does a formula add or subtract outside parentheses ('H - 2', not 'floor((H - 1)/2)')?"""
    depth = 0
    for index, character in enumerate(text):
        depth += (character == "(") - (character == ")")
        if depth == 0 and character in "+-" and text[index - 1:index] == " ":
            return True
    return False
