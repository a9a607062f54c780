"""The symbolic size type against plain integer arithmetic: every size built here is built twice, once as a
symbolic size and once as a Python function of (H, W) written from the definitions (floor((a·H + b)/d), gcd),
and the two must agree at every size tried: the value, the value after a shift of H, the formula's text read
back as Python, and the leading terms as the limit of the size over N^degree for large N."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramcalc.engine.layers import LayerError
from paramcalc.engine.symbolic import (
    evaluate,
    floor_of,
    floor_within_sizes,
    gcd_of,
    is_symbolic,
    leading_text,
    leading_weight,
    symbol,
)
from paramcalc.limits import MAX_SIZE

MANY = settings(max_examples=150, deadline=None)
Sized = tuple[object, Callable[[int, int], int]]  # (the symbolic size, the same size as a function of H and W)


@st.composite
def atoms(draw, gcds: bool = True, smallest_a: int = -6) -> Sized:
    name = draw(st.sampled_from(["H", "W"]))
    a, b, d = draw(st.integers(smallest_a, 6)), draw(st.integers(-40, 40)), draw(st.integers(1, 40))

    def at(h: int, w: int) -> int:
        return (a * (h if name == "H" else w) + b) // d

    size = floor_of(name, a, b, d)
    if gcds and a > 0 and draw(st.booleans()):
        k = draw(st.integers(1, 12))
        return gcd_of(size, k), lambda h, w: math.gcd(at(h, w), k)
    return size, at


@st.composite
def polynomials(draw, gcds: bool = True) -> Sized:
    """A sum of up to four terms, each an integer times a product of up to three atoms, plus a constant."""
    total: object = draw(st.integers(-50, 50))
    parts: list[tuple[int, list[Callable[[int, int], int]]]] = []
    constant = total
    for _ in range(draw(st.integers(1, 4))):
        coefficient = draw(st.integers(-9, 9))
        drawn = draw(st.lists(atoms(gcds), min_size=1, max_size=3))
        product: object = coefficient
        for size, _ in drawn:
            product = product * size
        total = total + product
        parts.append((coefficient, [at for _, at in drawn]))

    def at(h: int, w: int) -> int:
        return constant + sum(c * math.prod(f(h, w) for f in fs) for c, fs in parts)  # type: ignore[operator]

    return total, at


def value_at(size: object, h: int, w: int) -> int:
    return evaluate(size, {"H": h, "W": w})


def read_back(text: str, h: int, w: int) -> Fraction:
    """A formula's text as Python: 81,456 -> 81456, · -> *, ^ -> **, H/4 exact (Fractions)."""
    python = re.sub(r"(?<=\d),(?=\d{3})", "", text).replace("·", "*").replace("^", "**")
    names = {"H": Fraction(h), "W": Fraction(w), "floor": math.floor, "ceil": math.ceil,
             "gcd": lambda x, k: math.gcd(int(x), int(k))}
    return eval(python, {"__builtins__": {}}, names)  # the text is paramcalc's own, of the sizes drawn here


SIZES = st.integers(1, 500)


@MANY
@given(polynomials(), SIZES, SIZES)
def test_a_size_evaluates_as_its_definition(sized, h, w):
    size, at = sized
    assert value_at(size, h, w) == at(h, w)


@MANY
@given(polynomials(), SIZES, SIZES)
def test_a_size_s_text_read_back_is_the_size(sized, h, w):
    size, at = sized
    assert read_back(str(size), h, w) == at(h, w), str(size)


@MANY
@given(polynomials(), st.integers(-30, 30), SIZES, SIZES)
def test_a_size_shifted_is_the_size_at_the_shifted_input(sized, step, h, w):
    size, at = sized
    if not is_symbolic(size):
        return
    assert value_at(size.shifted("H", step), h, w) == at(h + step, w)
    assert value_at(size.shifted("W", step), h, w) == at(h, w + step)


@MANY
@given(atoms(gcds=False, smallest_a=1), st.integers(-20, 20), st.integers(1, 12), SIZES)
def test_a_floor_divided_is_the_floor_of_the_quotient(sized, constant, divisor, h):
    size, at = sized
    assert value_at((size + constant) // divisor, h, h) == (at(h, h) + constant) // divisor


@MANY
@given(st.integers(-5, 5), st.integers(-3 * MAX_SIZE, 3 * MAX_SIZE), st.integers(1, 6 * MAX_SIZE),
       st.lists(st.integers(1, MAX_SIZE), max_size=5))
def test_a_floor_within_the_allowed_sizes_is_the_floor_there(a, b, d, sizes):
    size = floor_within_sizes("H", a, b, d)
    # the ends of the allowed sizes, and the first size where the floor is past its value at 1
    step = -(-((((a + b) // d) + 1) * d - b) // a) if a > 0 else 1
    for h in {1, 2, MAX_SIZE - 1, MAX_SIZE, step - 1, step, step + 1, *sizes}:
        if 1 <= h <= MAX_SIZE:
            assert value_at(size, h, h) == (a * h + b) // d, (a, b, d, h)


def test_a_floor_past_every_size_steps_once_where_the_numerator_reaches_the_divisor():
    # floor((H + 2·10^9 - 7)/ (2·10^9)) over 1 <= H <= 10^9: 0 below H = 7, 1 from there on
    size = floor_within_sizes("H", 1, 2 * MAX_SIZE - 7, 2 * MAX_SIZE)
    assert [value_at(size, h, h) for h in (1, 6, 7, MAX_SIZE)] == [0, 0, 1, 1]
    assert floor_within_sizes("H", 1, 5, 4 * MAX_SIZE) == 0  # never reaches the divisor
    assert floor_within_sizes("H", 1, 2 * MAX_SIZE, 2 * MAX_SIZE) == 1  # always at least 1, never 2


@MANY
@given(polynomials(gcds=False))
def test_the_leading_terms_are_the_limit_of_the_size(sized):
    """v(N, N)/N^degree tends to the sum of the leading coefficients, v(N, 2N)/N^degree to their sum each
    weighted by 2 per W; the rest is O(1/N)."""
    size, at = sized
    if not is_symbolic(size):
        return
    degree, lead = size.leading()
    n = 10**8
    assert abs(Fraction(at(n, n), n**degree) - sum(lead.values())) < Fraction(1, 1000)
    weighted = sum(c * 2 ** list(key).count("W") for key, c in lead.items())
    assert abs(Fraction(at(n, 2 * n), n**degree) - weighted) < Fraction(1, 1000)
    assert leading_weight(size, degree) == pytest.approx(float(sum(lead.values())))
    assert leading_weight(size, degree + 1) == 0.0


H, W = symbol("H"), symbol("W")


# Each size is built inside the test (a lambda here): a size keeps its leading terms once worked out.
@pytest.mark.parametrize("size, text", [
    (lambda: 2048 * floor_of("H", 1, 31, 32) * floor_of("W", 1, 31, 32), "≈ 2·H·W"),  # 2048·ceil(H/32)·ceil(W/32)
    (lambda: 3 * H * W, "3·H·W"),  # a product of the symbols is its own leading term
    (lambda: 3 * H * W + 5 * H, "≈ 3·H·W"),  # lower terms left out: approximate
    (lambda: 7 * floor_of("H", 1, 0, 3), "≈ 2.333·H"),
    (lambda: 1000 * floor_of("H", 1, 0, 3) + 4, "≈ 333·H"),  # 333.33: rounded to a whole number from 100 on
    (lambda: 201 * floor_of("H", 1, 0, 2), "≈ 100·H"),  # 100.5 rounds to even
    (lambda: 1001 * floor_of("H", 1, 1, 2), "≈ 500·H"),
    (lambda: 100 * floor_of("H", 1, 0, 3), "≈ 33.33·H"),
    (lambda: H * W - 5 * H * H, "-5·H^2 + 1·H·W"),  # the largest coefficient first
    (lambda: 5 * H * W + H * H, "5·H·W + 1·H^2"),
    (lambda: 5 * H * W - H * H, "5·H·W - 1·H^2"),
    (lambda: 12345 * H * H * W, "12,345·H^2·W"),
    (lambda: gcd_of(H, 4) * W, "≈ 1·gcd(H, 4)·W"),  # a bounded factor stays a factor
    (lambda: 17, "17"),
])
def test_leading_text_by_hand(size, text):
    assert leading_text(size()) == text


@pytest.mark.parametrize("size, text", [
    (lambda: H - 3, "H - 3"), (lambda: H + 3, "H + 3"), (lambda: 2 * H + 1, "2·H + 1"), (lambda: H - 1, "H - 1"),
    (lambda: 1000 * H - 1234, "1,000·H - 1,234"),
    (lambda: floor_of("H", 1, -3, 4), "floor((H - 3)/4)"), (lambda: floor_of("H", 3, 5, 4), "floor((3·H + 5)/4)"),
    (lambda: floor_of("H", 1, 0, 4), "floor(H/4)"), (lambda: floor_of("H", 1, 3, 4), "ceil(H/4)"),
    (lambda: 3 * H * W + 5 * H + 2 * W + 7, "3·H·W + 5·H + 2·W + 7"),  # longer products first, then by symbol
    (lambda: 2 * W - H * W - 7, "-H·W + 2·W - 7"),
    (lambda: H * H * H * W, "H^3·W"), (lambda: floor_of("H", 1, 1, 2) * floor_of("H", 1, 1, 2), "ceil(H/2)^2"),
    (lambda: gcd_of(floor_of("H", 1, 1, 2), 8) * W, "W·gcd(ceil(H/2), 8)"),
])
def test_formula_texts_by_hand(size, text):
    assert str(size()) == text


def test_the_gcd_of_a_number():
    assert (gcd_of(12, 8), gcd_of(7, 1), gcd_of(0, 5)) == (4, 1, 5)
    assert gcd_of(H, 1) == 1


def test_leading_weight_of_a_number():
    assert leading_weight(7, 0) == 7.0
    assert leading_weight(7, 1) == 0.0


def test_floor_division_of_a_size():
    assert H // H == 1 and H // 1 == H
    assert (2 * H * W + 4) // 2 == H * W + 2  # every coefficient divisible: divided term by term
    assert (6 * H + 3) // 3 == 2 * H + 1
    for undecidable in (lambda: (H + 1) // H, lambda: H // W, lambda: H // 0, lambda: (H * W + 1) // 2,
                        lambda: 7 // H):
        with pytest.raises(LayerError, match="for every input size"):
            undecidable()


def test_a_floor_past_every_size_is_written_with_whole_numbers():
    # floor((3·H + 1)/(3·10^9)) over 1 <= H <= 10^9: 0 until 3·H + 1 >= 3·10^9, i.e. H >= 10^9
    assert str(floor_within_sizes("H", 3, 1, 3 * MAX_SIZE)) == "floor(H/1000000000)"


def test_what_cancels_is_a_number_again():
    assert (H + 5) - H == 5 and type((H + 5) - H) is int
    assert H * W - W * H == 0 and 3 * H * 0 == 0
    assert (10 - H).evaluate({"H": 3}) == 7 and str(10 - H) == "-H + 10"
    assert repr(H + 1) == "SymbolicSize('H + 1')"
