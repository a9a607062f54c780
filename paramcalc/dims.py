"""Dimensions: the values a shape is made of.

Every size in paramcalc is a `Dim`. Today a Dim is a Python int; the layer formulas are
written with ordinary operators (`+ - * //`) and the helpers below, so that a symbolic
expression type that implements those operators can flow through the same engine.
Anything that has to *decide* on a size (is it positive? do two sizes agree?) goes
through a helper here, because that is where a symbolic size turns into a condition.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable

Dim = int  # a symbolic size type joins it here
Shape = tuple


def ceildiv(numerator: Dim, denominator: Dim) -> Dim:
    return -((-numerator) // denominator)


def numel(shape: Iterable[Dim]) -> Dim:
    total: Dim = 1
    for size in shape:
        total = total * size
    return total


def is_positive(size: Dim) -> bool:
    return size >= 1


def same(a: Dim, b: Dim) -> bool:
    return a == b


def divides(divisor: Dim, value: Dim) -> bool:
    return value % divisor == 0


def format_dim(size: Dim) -> str:
    return str(size)


def format_shape(shape: Shape, sep: str = "x") -> str:
    return sep.join(format_dim(size) for size in shape) if shape else "scalar"
