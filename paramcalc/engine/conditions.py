"""Conditions on the symbols of an input size: what a layer decides on a symbolic size (paramcalc.engine.symbolic).

Where a layer has to decide on a symbolic size (is the map at least one pixel? do two branches agree?),
the helpers in paramcalc.dims call `require_positive`, `require_equal` or `require_divisible` here,
which answer for every size at once when they can and otherwise record a condition on the input
symbols ("H >= 32", "H divisible by 32"), collected by the analysis through `collecting()`. A question that has
no answer of that form (two different symbols that must agree), or that takes trying more than
limits.MAX_SYMBOLIC_PERIOD sizes, raises a LayerError naming the layer.

"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..errors import LayerError
from ..limits import MAX_SIZE, MAX_SYMBOLIC_PERIOD
from .symbolic import (
    SymbolicSize,
    atom_value,
    degree_of,
    make_size,
    terms_of,
    undecidable,
)


class Condition(namedtuple("Condition", "symbol kind bound")):
    """A condition on the symbols: kind 'min' (symbol >= bound), 'max' (symbol <= bound), 'mod' (bound =
    (m, residues): symbol mod m in residues), 'in' (bound = the only sizes that work) or, the one condition on
    several symbols, 'size' (symbol = their names, bound = (size, largest): size <= largest, for a size that
    multiplies them). `holds` tests concrete values."""

    __slots__ = ()

    def holds(self, values: dict[str, int]) -> bool:
        if self.kind == "size":
            size, largest = self.bound
            return bool(size.evaluate(values) <= largest)
        size = values[self.symbol]
        if self.kind == "min":
            return size >= self.bound
        if self.kind == "max":
            return size <= self.bound
        if self.kind == "mod":
            modulus, residues = self.bound
            return size % modulus in residues
        return size in self.bound

    def __str__(self) -> str:
        name = self.symbol
        if self.kind == "min":
            return f"{name} >= {self.bound}"
        if self.kind == "max":
            return f"{name} <= {self.bound:,}"
        if self.kind == "size":
            return f"{self.bound[0]} <= {self.bound[1]:,}"
        if self.kind == "in":
            sizes = sorted(self.bound)
            return f"{name} = {sizes[0]}" if len(sizes) == 1 else f"{name} in {{{', '.join(map(str, sizes))}}}"
        modulus, residues = self.bound
        if residues == frozenset({0}):
            return f"{name} divisible by {modulus}"
        if modulus == 2:
            return f"{name} odd"
        return f"{name} mod {modulus} in {{{', '.join(map(str, sorted(residues)))}}}"


_collector: ContextVar[list[Condition] | None] = ContextVar("paramcalc_conditions", default=None)


@contextmanager
def collecting() -> Iterator[list[Condition]]:
    """The conditions the sizes must meet, recorded while the block runs (the analysis wraps each layer):
    `with collecting() as conditions: ...`. Outside such a block, a condition is not recorded."""
    found: list[Condition] = []
    token = _collector.set(found)
    try:
        yield found
    finally:
        _collector.reset(token)


def _record(condition: Condition) -> None:
    found = _collector.get()
    if found is not None:
        found.append(condition)


def _one_symbol(value: SymbolicSize, what: Callable[[], str]) -> str:
    """The one symbol of value; `what` words the question when there is not (only then: formatting costs)."""
    names = value.symbols()
    if len(names) != 1:
        raise undecidable(what())
    return names.pop()


def _within_limit(count: int, what: Callable[[], str]) -> None:
    """Deciding a condition takes trying `count` sizes: refuse when that is more than MAX_SYMBOLIC_PERIOD."""
    if count > MAX_SYMBOLIC_PERIOD:
        raise LayerError(f"paramcalc cannot work out {what()} for every input size: that takes trying {count:,} "
                         f"sizes, more than its limit of {MAX_SYMBOLIC_PERIOD:,}",
                         hint="give concrete sizes, e.g. --input 3x224x224")


def _monotone(value: SymbolicSize) -> bool:
    """Degree 1 in one symbol with positive coefficients: the size never falls as the symbol grows."""
    return all(not monomial or (len(monomial) == 1 and monomial[0][0] == "f" and coefficient > 0)
               for monomial, coefficient in value.terms.items())


def require_positive(value: SymbolicSize) -> bool:
    """Is value >= 1? True under a recorded lower bound on its symbol; False when no size a spec allows (at
    most MAX_SIZE) makes it so."""
    name = _one_symbol(value, lambda: f"whether {value} is at least 1")
    if not _monotone(value):
        raise undecidable(f"whether {value} is at least 1")
    if value.evaluate({name: MAX_SIZE}) < 1:
        return False
    low, high = 1, MAX_SIZE  # the smallest size that gives at least 1
    while low < high:
        middle = (low + high) // 2
        if value.evaluate({name: middle}) >= 1:
            high = middle
        else:
            low = middle + 1
    if low > 1:
        _record(Condition(name, "min", low))
    return True


def _period(value: SymbolicSize, name: str) -> int:
    period = 1
    for monomial in value.terms:
        for atom in monomial:
            if atom[1] == name:
                period = math.lcm(period, atom[4] * (atom[5] if atom[0] == "g" else 1))
    return period


def _residue_condition(name: str, period: int, holds: Callable[[int], bool], what: Callable[[], str]) -> bool:
    """Record `name mod m in R` for the smallest m that describes the sizes in [0, period) that hold."""
    _within_limit(period, what)
    good = bytes(holds(r) for r in range(period))
    if not any(good):
        return False
    if all(good):
        return True
    modulus = period  # the smallest period divides every other: take out one prime at a time while it still is one
    for prime in _prime_factors(period):
        while modulus % prime == 0 and good == good[:modulus // prime] * (period * prime // modulus):
            modulus //= prime
    _record(Condition(name, "mod", (modulus, frozenset(r for r in range(modulus) if good[r]))))
    return True


def _prime_factors(number: int) -> list[int]:
    """The distinct primes of a number up to MAX_SYMBOLIC_PERIOD, smallest first."""
    primes, factor = [], 2
    while factor * factor <= number:
        if number % factor == 0:
            primes.append(factor)
            while number % factor == 0:
                number //= factor
        factor += 1
    return primes + ([number] if number > 1 else [])


def require_equal(a: Any, b: Any) -> bool:
    """Do two sizes agree? True (perhaps under a recorded condition) or False when they never do."""
    if a == b:
        return True
    difference = a - b
    if isinstance(difference, int):
        return False

    def what() -> str:
        return f"whether {a} equals {b}"

    name = _one_symbol(difference, what)
    period = _period(difference, name)
    if difference.shifted(name, period) != difference:
        return _finitely_often(difference, name, what)
    return _residue_condition(name, period, lambda r: difference.evaluate({name: r}) == 0, what)


def _finitely_often(difference: SymbolicSize, name: str, what: Callable[[], str]) -> bool:
    """Sizes that drift apart (different slopes) can still meet at a few small inputs: record those.

    difference = slope·H + a bounded rest (|rest| <= bound), so it is zero only where H <= bound/|slope|.
    """
    slope, bound = Fraction(0), Fraction(abs(difference.terms.get((), 0)))
    for monomial, coefficient in difference.terms.items():
        if not monomial:
            continue
        if len(monomial) != 1 or monomial[0][0] != "f":
            raise undecidable(what())
        _, _, a, b, d = monomial[0]
        slope += Fraction(coefficient * a, d)
        bound += Fraction(abs(coefficient) * (abs(b) + d), d)
    largest = min(int(bound / abs(slope)) + 1, MAX_SIZE)  # no larger size can meet, nor can a spec give one
    _within_limit(largest, what)
    meets = frozenset(size for size in range(1, largest + 1) if difference.evaluate({name: size}) == 0)
    if not meets:
        return False
    _record(Condition(name, "in", meets))
    return True


def require_divisible(divisor: int, value: SymbolicSize) -> bool:
    """Does divisor divide value? True (perhaps under a recorded condition) or False when it never does.
    A polynomial with integer coefficients in floors of (a·H + b)/d and gcds of H repeats modulo divisor every
    divisor·lcm(the d's and gcd periods) sizes (each floor grows by a multiple of divisor over that many), so the
    sizes in one such period decide it, whatever the degree."""
    def what() -> str:
        return f"whether {divisor} divides {value}"

    if not isinstance(divisor, int):
        raise undecidable(what())
    if all(coefficient % divisor == 0 for coefficient in value.terms.values()):
        return True
    name = _one_symbol(value, what)
    period = _period(value, name) * divisor
    return _residue_condition(name, period, lambda r: value.evaluate({name: r}) % divisor == 0, what)


def strongest(conditions: Iterable[tuple[Condition, str]]) -> list[tuple[Condition, str]]:
    """One lower bound per symbol (the largest), one upper bound (the smallest), and each other condition
    once, with the first layer that imposed it, in the order they appear."""
    kept: dict[Any, tuple[Condition, str]] = {}
    for condition, layer in conditions:
        key = (condition.symbol, condition.kind) if condition.kind in ("min", "max") else condition
        if key not in kept or (condition.kind == "min" and condition.bound > kept[key][0].bound) or \
                (condition.kind == "max" and condition.bound < kept[key][0].bound):
            kept[key] = (condition, layer)
    return list(kept.values())


# --- sizes that grow: the largest size a tensor may have ----------------------------------------------------
class Past(namedtuple("Past", "values size")):
    """What require_at_most answers when a size passes the largest at every input size the conditions allow:
    the smallest such values of the symbols and the size there."""

    __slots__ = ()


_MAX_EXPANDED_TERMS = 10_000  # terms of a size rewritten about its smallest values (_nondecreasing)


def require_at_most(value: SymbolicSize, largest: int, known: Iterable[Condition] = ()) -> Any:
    """Is value at most `largest` (PyTorch's largest size)? `known` are the conditions recorded so far (those of
    the current `collecting()` block are added); the sizes they allow for each symbol run from its smallest
    value to its largest (at most MAX_SIZE).

    A size paramcalc makes is a nondecreasing function of each symbol there, so it is tried at both ends:
    - at most `largest` at the largest values: value itself, no condition;
    - more at the smallest values: Past(those values, the size there), for the caller's message;
    - otherwise value, under a recorded upper bound: `H <= u`, the largest u that keeps it within (found by
      bisection), or, for a size of several symbols, `size <= largest` itself.
    A coefficient past `largest` means the term it multiplies does not change over the sizes that stay within:
    such a size comes back with the floors that are constant there replaced by their value (2^63·(H - 1) + 1,
    which needs H = 1, is 1), so that the next layer does not grow the coefficient further (2^10000).
    """
    if within_everywhere(value, largest):  # the fast way, for every size of an ordinary network
        return value
    names = sorted(value.symbols())
    conditions = [*known, *(_collector.get() or ())]
    ranges = {name: _range(name, conditions) for name in names}
    low = {name: first for name, (first, _) in ranges.items()}
    high = {name: last for name, (_, last) in ranges.items()}
    if not _nondecreasing(value, low):
        raise undecidable(f"whether {value} stays at most {largest:,}")
    smallest = value.evaluate(low)
    if smallest > largest:
        return Past(low, smallest)
    if value.evaluate(high) > largest:
        if len(names) == 1:
            (name,) = names
            high = {name: _largest_within(value, name, low, high[name], largest)}
            _record(Condition(name, "max", high[name]))
        else:
            _record(Condition(tuple(names), "size", (value, largest)))
            high = {name: _largest_within(value, name, low, high[name], largest) for name in names}
    if all(abs(coefficient) <= largest for coefficient in value.terms.values()):
        return value
    folded = _constant_floors(value, low, high)
    degree = max((degree_of(monomial) for monomial in terms_of(folded)), default=0)
    bound = largest * (2 * MAX_SIZE + 2) ** degree * len(terms_of(folded))
    if any(abs(coefficient) > bound for coefficient in terms_of(folded).values()):  # not for sizes layers make
        raise undecidable(f"whether {value} stays at most {largest:,}")
    return folded


def within_everywhere(value: SymbolicSize, largest: int) -> bool:
    """A quick test: is value at most `largest` at every input size a spec allows? True when its positive terms
    at MAX_SIZE are (a floor of (a·H + b)/d, with a > 0 and 0 <= b < d, is never negative and grows with H;
    gcd(x, k) is at most k); False says only that require_at_most has to look closer."""
    total = 0
    for monomial, coefficient in value.terms.items():
        if coefficient > 0:
            for atom in monomial:
                coefficient *= (atom[2] * MAX_SIZE + atom[3]) // atom[4] if atom[0] == "f" else atom[5]
            total += coefficient
    return total <= largest


def _range(name: str, conditions: list[Condition]) -> tuple[int, int]:
    """The smallest and the largest value of a symbol that the conditions on it alone allow, 1 to MAX_SIZE;
    when they allow none, the smallest bound twice."""
    return _range_of(name, tuple(condition for condition in conditions if condition.symbol == name), MAX_SIZE)


@lru_cache(maxsize=256)
def _range_of(name: str, conditions: tuple[Condition, ...], largest: int) -> tuple[int, int]:
    """_range, kept: a layer after layer that grows its map asks again under the same conditions. With residue
    conditions, the values at the ends are the nearest that meet them within MAX_SYMBOLIC_PERIOD tries (else
    the bounds themselves, which only makes a condition weaker than it could be, never wrong)."""
    first, last = 1, largest
    residues: list[Condition] = []
    sets: list[frozenset] = []
    for condition in conditions:
        if condition.kind == "min":
            first = max(first, condition.bound)
        elif condition.kind == "max":
            last = min(last, condition.bound)
        elif condition.kind == "mod":
            residues.append(condition)
        elif condition.kind == "in":
            sets.append(condition.bound)

    def meets(size: int) -> bool:
        return all(condition.holds({name: size}) for condition in residues)

    if sets:
        allowed = [size for size in frozenset.intersection(*sets) if first <= size <= last and meets(size)]
        return (min(allowed), max(allowed)) if allowed else (first, first)
    if first > last:
        return first, first
    if residues:
        period = math.lcm(*(condition.bound[0] for condition in residues))
        tries = min(period, MAX_SYMBOLIC_PERIOD, last - first + 1)
        low = next((size for size in range(first, first + tries) if meets(size)), None)
        if low is None:
            return (first, first) if tries in (period, last - first + 1) else (first, last)
        high = next((size for size in range(last, last - tries, -1) if meets(size)), last)
        first, last = low, high
    return first, last


def _nondecreasing(value: SymbolicSize, low: dict[str, int]) -> bool:
    """Does value never fall as a symbol grows from its smallest value? Every floor of (a·H + b)/d does not (a > 0):
    written as its value at the smallest H plus what it has grown since (y >= 0), the size is a polynomial in those
    y's, and nondecreasing when none of its coefficients is negative (64·(H - 2)·(W - 2) from H, W = 3 is
    64·(1 + y)·(1 + z)). A gcd does not grow steadily: a size with one is not known to."""
    terms = value.terms.items()
    if any(atom[0] != "f" for monomial, _ in terms for atom in monomial):
        return False
    if all(coefficient > 0 for monomial, coefficient in terms if monomial):
        return True
    grown: dict[tuple, int] = {}
    for monomial, coefficient in terms:
        product: dict[tuple, int] = {(): coefficient}
        for atom in monomial:
            start = atom_value(atom, low[atom[1]])
            expanded: dict[tuple, int] = {}
            for key, value_ in product.items():
                expanded[key] = expanded.get(key, 0) + value_ * start
                longer = tuple(sorted((*key, atom)))
                expanded[longer] = expanded.get(longer, 0) + value_
            product = expanded
            if len(product) > _MAX_EXPANDED_TERMS:
                return False
        for key, value_ in product.items():
            grown[key] = grown.get(key, 0) + value_
        if len(grown) > _MAX_EXPANDED_TERMS:
            return False
    return all(coefficient >= 0 for key, coefficient in grown.items() if key)


def _largest_within(value: SymbolicSize, name: str, low: dict[str, int], high: int, largest: int) -> int:
    """The largest size of `name` from low[name] to high (the other symbols at their smallest values) that keeps
    the nondecreasing value at most largest; it is at most largest at low[name]."""
    first, last = low[name], high
    while first < last:
        middle = (first + last + 1) // 2
        if value.evaluate({**low, name: middle}) <= largest:
            first = middle
        else:
            last = middle - 1
    return first


def _constant_floors(value: SymbolicSize, low: dict[str, int], high: dict[str, int]) -> Any:
    """value with each floor that is the same at a symbol's smallest and largest value (so at every value
    between) replaced by that value."""
    total: Any = 0
    for monomial, coefficient in value.terms.items():
        product: Any = coefficient
        for atom in monomial:
            name = atom[1]
            start = atom_value(atom, low[name])
            product = product * (start if atom_value(atom, high[name]) == start else make_size({(atom,): 1}))
        total = total + product
    return total
