"""Symbolic sizes: a small exact expression type for input sizes written as names (`--input 3xHxW`).

A size that depends on the input is a polynomial with integer coefficients over *atoms*:

- `floor((a·H + b) / d)` with d >= 1, gcd(a, d) = 1, a > 0 and 0 <= b < d (d = 1, a = 1: `H` itself),
- `gcd(floor((a·H + b) / d), k)`, which adaptive pooling's window sums need.

The sliding-window formula keeps a size in that form: floor((floor((a·H + b)/d) + c) / s) is
floor((a·H + b + c·d) / (d·s)), so a tower of strided layers collapses to one atom (resnet50's last
map is `ceil(H/32)`, i.e. floor((H + 31)/32)). Every input size is at most limits.MAX_SIZE, so a floor
whose divisor is past what its numerator reaches there is a constant or a single step
(`floor_within_sizes`): divisors stay bounded however deep the tower. Atoms are normalised, so equal sizes
are equal objects and `same(a, b)` is a structural comparison first. Products of atoms (H_out·W_out·C·k·k)
make MACs and FLOPs polynomials, whose leading term (resnet50: ≈ 81,456·H·W) is the cost per pixel.

Deciding on a symbolic size (is the map at least one pixel?) is paramcalc.engine.conditions'. Concrete sizes
stay Python ints.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..errors import LayerError
from ..limits import MAX_SIZE


class SymbolicSize:
    """A size that depends on the input's symbols. Immutable and hashable; never equal to an int."""

    __slots__ = ("terms", "_hash", "_leading")

    def __init__(self, terms: dict[tuple, int]) -> None:
        self.terms = terms  # monomial (a sorted tuple of atoms) -> coefficient; () is the constant
        self._hash = hash(frozenset(terms.items()))
        self._leading: tuple[int, dict[tuple, Fraction]] | None = None  # worked out once, when first asked

    # --- arithmetic -----------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        terms = dict(self.terms)
        for monomial, coefficient in terms_of(other).items():
            terms[monomial] = terms.get(monomial, 0) + coefficient
        return make_size(terms)

    __radd__ = __add__

    def __neg__(self) -> Any:
        return make_size({monomial: -coefficient for monomial, coefficient in self.terms.items()})

    def __sub__(self, other: Any) -> Any:
        return self + (-other)

    def __rsub__(self, other: Any) -> Any:
        return (-self) + other

    def __mul__(self, other: Any) -> Any:
        if isinstance(other, int):
            return make_size({monomial: coefficient * other for monomial, coefficient in self.terms.items()})
        if not isinstance(other, SymbolicSize):
            return NotImplemented
        terms: dict[tuple, int] = {}
        for left, a in self.terms.items():
            for right, b in other.terms.items():
                monomial = tuple(sorted(left + right))
                terms[monomial] = terms.get(monomial, 0) + a * b
        return make_size(terms)

    __rmul__ = __mul__

    def __floordiv__(self, other: Any) -> Any:
        if isinstance(other, SymbolicSize):
            if other == self:
                return 1
            raise undecidable(f"{self} divided by {other}")
        if not isinstance(other, int) or other < 1:
            raise undecidable(f"{self} divided by {other}")
        if other == 1:
            return self
        if all(coefficient % other == 0 for coefficient in self.terms.values()):
            return make_size({monomial: coefficient // other for monomial, coefficient in self.terms.items()})
        linear = _as_floor(self)
        if linear is None:
            raise undecidable(f"floor(({self}) / {other})")
        symbol, a, b, d = linear
        return floor_within_sizes(symbol, a, b, d * other)

    def __rfloordiv__(self, other: Any) -> Any:
        raise undecidable(f"{other} divided by {self}")

    # --- a symbolic size has no truth value and no order: those are conditions --------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolicSize) and other.terms == self.terms

    def __hash__(self) -> int:
        return self._hash

    def _no_order(self, other: Any) -> bool:
        raise undecidable(f"comparing {self} with {other}")

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __bool__(self) -> bool:
        raise undecidable(f"whether {self} is zero")

    def __mod__(self, other: Any) -> Any:
        raise undecidable(f"{self} mod {other}")

    def __format__(self, spec: str) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"SymbolicSize({str(self)!r})"

    # --- reading ----------------------------------------------------------------------------
    def symbols(self) -> set[str]:
        return {atom[1] for monomial in self.terms for atom in monomial}

    def evaluate(self, values: dict[str, int]) -> int:
        total = 0
        for monomial, coefficient in self.terms.items():
            for atom in monomial:
                coefficient *= atom_value(atom, values[atom[1]])
            total += coefficient
        return total

    def shifted(self, symbol: str, step: int) -> Any:
        """The same size with `symbol` replaced by `symbol + step`."""
        total: Any = 0
        for monomial, coefficient in self.terms.items():
            product: Any = coefficient
            for atom in monomial:
                product = product * (_shift_atom(atom, step) if atom[1] == symbol else make_size({(atom,): 1}))
            total = total + product
        return total

    def __str__(self) -> str:
        linear = _as_floor(self)
        if linear is not None:  # one floor, as the sliding-window formula writes it: floor((H - 1)/2)
            return _linear_text(*linear)
        ordered = sorted(self.terms.items(), key=lambda item: (-len(item[0]), item[0]))
        text = ""
        for monomial, coefficient in ordered:
            factors = [_atom_text(atom) for atom in monomial]
            magnitude = abs(coefficient)
            if magnitude != 1 or not factors:
                factors.insert(0, f"{magnitude:,}")
            term = "·".join(_power_text(factors))
            if not text:
                text = ("-" if coefficient < 0 else "") + term
            else:
                text += (" - " if coefficient < 0 else " + ") + term
        return text

    def leading(self) -> tuple[int, dict[tuple, Fraction]]:
        """(degree, {symbols: coefficient}): the terms that dominate for large sizes, e.g. (2, {('H', 'W'): 81456})
        for resnet50's MACs.

        An atom floor((a·H + b)/d) grows like (a/d)·H; a gcd atom stays bounded and is kept as a factor.
        """
        if self._leading is None:
            self._leading = self._work_out_leading()
        return self._leading

    def _work_out_leading(self) -> tuple[int, dict[tuple, Fraction]]:
        degree = max(degree_of(monomial) for monomial in self.terms)
        lead: dict[tuple, Fraction] = {}
        for monomial, coefficient in self.terms.items():
            if degree_of(monomial) != degree:
                continue
            value = Fraction(coefficient)
            key: list = []
            for atom in monomial:
                if atom[0] == "f":
                    value *= Fraction(atom[2], atom[4])
                    key.append(atom[1])
                else:
                    key.append(atom)
            group = tuple(sorted(key, key=str))
            lead[group] = lead.get(group, Fraction(0)) + value
        return degree, {key: value for key, value in lead.items() if value}


def terms_of(value: Any) -> dict[tuple, int]:
    if isinstance(value, SymbolicSize):
        return value.terms
    if isinstance(value, int):
        return {(): value}
    raise TypeError(f"cannot combine a symbolic size with {value!r}")


def make_size(terms: dict[tuple, int]) -> Any:
    """A SymbolicSize, or a plain int when nothing symbolic is left."""
    terms = {monomial: coefficient for monomial, coefficient in terms.items() if coefficient}
    if not terms or (len(terms) == 1 and () in terms):
        return terms.get((), 0)
    return SymbolicSize(terms)


def symbol(name: str) -> SymbolicSize:
    return SymbolicSize({(("f", name, 1, 0, 1),): 1})


def is_symbolic(value: Any) -> bool:
    return isinstance(value, SymbolicSize)


def floor_of(name: str, a: int, b: int, d: int) -> Any:
    """floor((a·name + b) / d), normalised (d > 0)."""
    if a == 0:
        return b // d
    if a < 0:  # floor((-a·H + b)/d) = -ceil((a·H - b)/d) = -floor((a·H - b + d - 1)/d)
        return -floor_of(name, -a, -b + d - 1, d)
    common = math.gcd(a, d)
    if common > 1:  # a·H is a multiple of common: floor((aH + b)/d) = floor((aH/c + floor(b/c)) / (d/c))
        a, b, d = a // common, b // common, d // common
    if d == 1:
        return make_size({(("f", name, 1, 0, 1),): a, (): b})
    whole, rest = divmod(b, d)
    return make_size({(("f", name, a, rest, d),): 1, (): whole})


def floor_within_sizes(name: str, a: int, b: int, d: int) -> Any:
    """floor((a·name + b) / d) for every size a spec allows (1 <= name <= MAX_SIZE), in its smallest form.

    Over those sizes the floor runs from first = floor((a + b)/d) to last = floor((a·MAX_SIZE + b)/d). When
    they are equal (the divisor is beyond what the numerator can reach) it is that constant: ceil(H/2^30) is
    1 for every allowed H. When they differ by one and d > MAX_SIZE, it is first until the smallest size t
    where it reaches last, i.e. first + [H >= t] = first + floor((H + MAX_SIZE - t)/MAX_SIZE). So a tower of
    strided layers keeps its divisor at most a·MAX_SIZE (at most MAX_SIZE when a = 1), however deep it is.
    """
    if a < 0:  # floor((a·H + b)/d) = -floor((-a·H - b + d - 1)/d), which grows with H
        return -floor_within_sizes(name, -a, d - 1 - b, d)
    value = floor_of(name, a, b, d)
    if a == 0 or d == 1:
        return value
    first, last = (a + b) // d, (a * MAX_SIZE + b) // d
    if first == last:
        return first
    if last == first + 1 and d > MAX_SIZE:
        step = -(-((first + 1) * d - b) // a)  # the smallest H with a·H + b >= (first + 1)·d; 1 < step <= MAX_SIZE
        return first + floor_of(name, 1, MAX_SIZE - step, MAX_SIZE)
    return value


def gcd_of(value: Any, k: int) -> Any:
    """gcd(value, k) for a size of the form floor((a·H + b)/d) (plus a constant) and a whole k >= 1."""
    if isinstance(value, int):
        return math.gcd(value, k)
    linear = _as_floor(value)
    if linear is None:
        raise undecidable(f"gcd({value}, {k})")
    if k == 1:
        return 1
    name, a, b, d = linear
    common = math.gcd(a, d)
    a, b, d = a // common, b // common, d // common
    return make_size({(("g", name, a, b % (k * d), d, k),): 1})  # gcd(x, k) depends on x mod k only


def _as_floor(value: SymbolicSize) -> tuple[str, int, int, int] | None:
    """(H, a, b, d) when value == floor((a·H + b)/d) exactly, else None."""
    others = [(monomial, coefficient) for monomial, coefficient in value.terms.items() if monomial]
    if len(others) != 1 or len(others[0][0]) != 1 or others[0][0][0][0] != "f":
        return None
    (((_, name, a, b, d),), coefficient) = others[0]
    constant = value.terms.get((), 0)
    if d == 1:
        return name, coefficient * a, coefficient * b + constant, 1
    if coefficient != 1:
        return None
    return name, a, b + constant * d, d


def atom_value(atom: tuple, size: int) -> int:
    if atom[0] == "f":
        return (atom[2] * size + atom[3]) // atom[4]
    return math.gcd((atom[2] * size + atom[3]) // atom[4], atom[5])


def _shift_atom(atom: tuple, step: int) -> Any:
    if atom[0] == "f":
        return floor_of(atom[1], atom[2], atom[3] + atom[2] * step, atom[4])
    return gcd_of(floor_of(atom[1], atom[2], atom[3] + atom[2] * step, atom[4]), atom[5])


def degree_of(monomial: tuple) -> int:
    return sum(1 for atom in monomial if atom[0] == "f")


def _linear_text(name: str, a: int, b: int, d: int) -> str:
    scaled = name if a == 1 else f"-{name}" if a == -1 else f"{a:,}·{name}"
    if d == 1:
        return scaled if b == 0 else f"{scaled} + {b:,}" if b > 0 else f"{scaled} - {-b:,}"
    if b == 0:
        return f"floor({scaled}/{d})"
    if b == d - 1:
        return f"ceil({scaled}/{d})"
    return f"floor(({scaled} {'+' if b > 0 else '-'} {abs(b)})/{d})"


def _atom_text(atom: tuple) -> str:
    if atom[0] == "f":
        return _linear_text(*atom[1:])
    return f"gcd({_linear_text(*atom[1:5])}, {atom[5]})"


def _power_text(factors: list[str]) -> list[str]:
    """H·H·W -> H^2·W"""
    result: list[str] = []
    for factor in factors:
        if result and result[-1].split("^")[0] == factor:
            base, _, power = result[-1].partition("^")
            result[-1] = f"{base}^{int(power or 1) + 1}"
        else:
            result.append(factor)
    return result


def leading_text(value: Any) -> str:
    """'≈ 81,456·H·W' (resnet50's MACs): a symbolic size's dominant terms, coefficients rounded."""
    if not isinstance(value, SymbolicSize):
        return f"{value:,}"
    degree, lead = value.leading()
    parts = []
    for key, coefficient in sorted(lead.items(), key=lambda item: -abs(item[1])):
        factors = _power_text([name if isinstance(name, str) else _atom_text(name) for name in key])
        parts.append("·".join([_rounded(coefficient), *factors]))
    exact = all(len(monomial) == degree and all(atom[0] == "f" and atom[4] == 1 for atom in monomial)
                for monomial in value.terms)  # a plain product of the symbols is its own leading term
    return ("" if exact else "≈ ") + " + ".join(parts).replace("+ -", "- ")


def leading_weight(value: Any, degree: int) -> float:
    """The sum of the coefficients of the degree-`degree` terms: a layer's share of the cost at large sizes."""
    if not isinstance(value, SymbolicSize):
        return float(value) if degree == 0 else 0.0
    own, lead = value.leading()
    return float(sum(lead.values())) if own == degree else 0.0


def _rounded(value: Fraction) -> str:
    if value.denominator == 1:
        return f"{value.numerator:,}"
    if abs(value) >= 100:
        return f"{round(value):,}"
    return f"{float(value):.4g}"


def evaluate(value: Any, values: dict[str, int]) -> Any:
    """A size (or a tuple of sizes) at concrete values of the symbols."""
    if isinstance(value, SymbolicSize):
        return value.evaluate(values)
    if isinstance(value, tuple):
        return tuple(evaluate(item, values) for item in value)
    return value


def undecidable(what: str) -> LayerError:
    return LayerError(f"paramcalc cannot work out {what} for every input size",
                      hint="give concrete sizes, e.g. --input 3x224x224")
