"""The conditions a symbolic size puts on the input, against trying every size: for sizes drawn at random, the
sizes at which a question holds (is it at least 1? do two sizes agree? does k divide it? is it at most the
largest?) are worked out one by one with integer arithmetic and compared with the sizes the recorded conditions
allow."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramcalc.engine.conditions import (
    Condition,
    Past,
    _prime_factors,
    collecting,
    require_at_most,
    require_divisible,
    require_equal,
    require_positive,
    strongest,
)
from paramcalc.engine.layers import LayerError
from paramcalc.engine.symbolic import evaluate, floor_of, gcd_of, symbol
from paramcalc.limits import MAX_SIZE

MANY = settings(max_examples=120, deadline=None)
TRIED = range(1, 400)  # every period drawn here divides a number below 400 many times over


def scaled_floor(k: int, a: int, b: int, d: int, c: int):
    """k·floor((a·H + b)/d) + c as a symbolic size and as a function of H."""
    return k * floor_of("H", a, b, d) + c, lambda h: k * ((a * h + b) // d) + c


@st.composite
def floors(draw, positive: bool = False):
    a = draw(st.integers(1 if positive else -4, 4).filter(bool))
    b, d, c = draw(st.integers(-30, 30)), draw(st.integers(1, 12)), draw(st.integers(-10, 10))
    return scaled_floor(1 if positive else draw(st.sampled_from([1, 1, 2, -3, 9])), a, b, d, c)


def allowed(found, h: int) -> bool:
    return all(condition.holds({"H": h}) for condition in found)


def assert_describes(answer, found, holds: list[int], sizes=TRIED) -> None:
    """False: the question holds at none of the sizes tried; else the recorded conditions allow exactly those
    where it holds."""
    if answer is False:
        assert not holds
    else:
        assert [h for h in sizes if allowed(found, h)] == holds


def answered(question):
    """(the answer, the conditions recorded), or (None, None) when paramcalc says it cannot decide."""
    with collecting() as found:
        try:
            answer = question()
        except LayerError as error:
            assert "for every input size" in error.message
            return None, None
    return answer, found


@MANY
@given(floors(positive=True))
def test_at_least_one(sized):
    size, at = sized
    if isinstance(size, int):
        return
    answer, found = answered(lambda: require_positive(size))
    holds = [h for h in TRIED if at(h) >= 1]
    assert answer is not False or at(MAX_SIZE) < 1
    assert_describes(answer, found, holds)


@MANY
@given(floors(), floors())
def test_two_sizes_agree(first, second):
    (a, at_a), (b, at_b) = first, second
    answer, found = answered(lambda: require_equal(a, b))
    if answer is None:
        return
    assert_describes(answer, found, [h for h in TRIED if at_a(h) == at_b(h)])


@MANY
@given(floors(), st.integers(1, 12))
def test_a_divisor_divides(sized, divisor):
    size, at = sized
    if isinstance(size, int):
        return
    answer, found = answered(lambda: require_divisible(divisor, size))
    if answer is None:
        return
    assert_describes(answer, found, [h for h in TRIED if at(h) % divisor == 0])


@MANY
@given(floors(), floors(), st.integers(1, 12))
def test_a_divisor_divides_a_product_of_floors(first, second, divisor):
    """A size of degree two repeats modulo the divisor as a floor does: decided, whatever it is."""
    (a, at_a), (b, at_b) = first, second
    size = a * b
    if isinstance(size, int):
        return
    answer, found = answered(lambda: require_divisible(divisor, size))
    assert answer is not None
    assert_describes(answer, found, [h for h in TRIED if at_a(h) * at_b(h) % divisor == 0])


def test_divisibility_of_a_square_by_hand():
    H = symbol("H")
    # H² is a multiple of 4 exactly when H is even; H² + H = H·(H + 1) always is even
    answer, found = answered(lambda: require_divisible(4, H * H))
    assert answer and [str(condition) for condition in found] == ["H divisible by 2"]
    assert answered(lambda: require_divisible(2, H * H + H)) == (True, [])
    # floor(H/2)·floor(H/3) is odd only when both are; by hand, from H = 0:
    # floor(H/2) 0 0 1 1 2 2 3 3 4 4 5 5, floor(H/3) 0 0 0 1 1 1 2 2 2 3 3 3: both odd at H = 3, 10 and 11
    answer, found = answered(lambda: require_divisible(2, (H // 2) * (H // 3)))
    assert answer and [str(condition) for condition in found] == ["H mod 12 in {0, 1, 2, 4, 5, 6, 7, 8, 9}"]


def test_what_cannot_be_decided():
    H, W = symbol("H"), symbol("W")
    for question in (lambda: require_equal(H, W), lambda: require_divisible(2, H * W + 1),
                     lambda: require_equal(H * H, 2 * H), lambda: require_equal(H + gcd_of(H, 4), 2 * H),
                     lambda: require_positive(H * W - 3), lambda: require_divisible(2.5, H + 1)):
        assert answered(question) == (None, None)


@pytest.mark.parametrize("first, second", [
    ((1, 2, 0, 3, 0), (0, 1, 0, 1, 20)),  # floor(2H/3) = 20 at H = 30 and 31, the last sizes the slopes allow
    ((9, 3, 4, 5, 9), (9, 4, 1, 5, 0)),  # 9·floor((3H + 4)/5) + 9 = 9·floor((4H + 1)/5) at five sizes up to 12
    ((1, 1, 0, 1, 0), (2, 1, 0, 2, 0)),  # H = 2·floor(H/2) when H is even: no end
])
def test_sizes_that_meet_at_a_few_sizes(first, second):
    (a, at_a), (b, at_b) = scaled_floor(*first), scaled_floor(*second)
    answer, found = answered(lambda: require_equal(a, b))
    sizes = range(1, 1000)
    assert answer
    assert_describes(answer, found, [h for h in sizes if at_a(h) == at_b(h)], sizes)


def test_divisibility_by_hand():
    H = symbol("H")
    assert answered(lambda: require_divisible(2, 4 * H + 6)) == (True, [])  # every coefficient even
    answer, found = answered(lambda: require_divisible(4, 2 * H + 2))
    assert answer and [str(condition) for condition in found] == ["H odd"]
    answer, found = answered(lambda: require_divisible(6, H + 1))
    assert answer and [str(condition) for condition in found] == ["H mod 6 in {5}"]
    assert answered(lambda: require_divisible(2, 2 * H + 1)) == (False, [])


@pytest.mark.parametrize("number", [*range(1, 400), 65536, 99991, 2 * 99991, 510510, 1_000_000])
def test_prime_factors(number):
    primes = [p for p in range(2, number + 1) if number % p == 0 and all(p % q for q in range(2, math.isqrt(p) + 1))] \
        if number < 2000 else None
    found = _prime_factors(number)
    if primes is not None:
        assert found == primes
    assert found == sorted(set(found))
    rest = number
    for p in found:  # each a prime, dividing the number, and nothing else left
        assert all(p % q for q in range(2, math.isqrt(p) + 1)) and rest % p == 0
        while rest % p == 0:
            rest //= p
    assert rest == 1


@MANY
@given(st.integers(1, 5), st.integers(0, 30), st.integers(1, 8), st.integers(1, 6), st.integers(10, 10**6))
def test_at_most_the_largest(a, b, d, power, largest):
    """(floor((a·H + b)/d))^power against a largest size: within it up to the recorded bound, past it after."""
    size = floor_of("H", a, b, d)
    for _ in range(power - 1):
        size = size * floor_of("H", a, b, d)

    def at(h: int) -> int:
        return ((a * h + b) // d) ** power

    answer, found = answered(lambda: require_at_most(size, largest))
    if isinstance(answer, Past):
        assert answer.values == {"H": 1} and answer.size == at(1) > largest
        return
    bounds = [condition.bound for condition in found if condition.kind == "max"]
    if not bounds:
        assert at(MAX_SIZE) <= largest
    else:
        (bound,) = bounds
        assert at(bound) <= largest < at(bound + 1)


def test_the_strongest_conditions():
    conditions = [(Condition("H", "min", 3), "a"), (Condition("H", "min", 8), "b"), (Condition("H", "min", 5), "c"),
                  (Condition("H", "max", 90), "d"), (Condition("H", "max", 40), "e"), (Condition("H", "max", 70), "f"),
                  (Condition("H", "mod", (2, frozenset({0}))), "g"), (Condition("H", "mod", (2, frozenset({0}))), "h"),
                  (Condition("W", "min", 2), "i"), (Condition("H", "min", 8), "j"), (Condition("H", "max", 40), "k")]
    # the first layer that imposed each is named
    assert strongest(conditions) == [(Condition("H", "min", 8), "b"), (Condition("H", "max", 40), "e"),
                                     (Condition("H", "mod", (2, frozenset({0}))), "g"), (Condition("W", "min", 2), "i")]


def test_a_size_past_the_largest_but_at_the_smallest_input_is_folded():
    """2^63·(H - 1) + W is within 2^63 - 1 only at H = 1, where it is W: what comes back is W (the floors that
    cannot change there replaced by their value), under the condition on the whole size."""
    H, W = symbol("H"), symbol("W")
    largest = 2**63 - 1
    for size, folded in (((2**63) * (H - 1) + W, W), ((2**63) * (H - 1) + 3 * H * W, 3 * W)):
        answer, found = answered(lambda size=size: require_at_most(size, largest))
        assert answer == folded
        assert [(condition.kind, condition.bound) for condition in found] == [("size", (size, largest))]


def test_periods_of_several_floors_and_of_a_gcd():
    H = symbol("H")
    # floor(H/2) + floor(H/3) grows by 3 + 2 = 5 every 6 sizes, so its parity repeats every 12: by hand, from H = 0,
    # 0 0 1 2 3 3 5 5 6 7 8 8, even at H mod 12 in {0, 1, 3, 8, 10, 11}
    answer, found = answered(lambda: require_divisible(2, H // 2 + H // 3))
    assert answer and [str(condition) for condition in found] == ["H mod 12 in {0, 1, 3, 8, 10, 11}"]
    # gcd(H, 4) repeats every 4 sizes: it is 2 at H mod 4 = 2
    answer, found = answered(lambda: require_equal(gcd_of(H, 4), 2))
    assert answer and [str(condition) for condition in found] == ["H mod 4 in {2}"]


def test_the_limit_on_sizes_tried_is_inclusive():
    # 100,000 = MAX_SYMBOLIC_PERIOD sizes are tried; one more is refused
    H = symbol("H")
    answer, found = answered(lambda: require_divisible(100_000, H))
    assert answer and [str(condition) for condition in found] == ["H divisible by 100000"]
    assert answered(lambda: require_divisible(100_001, H)) == (None, None)


def test_at_most_the_largest_under_known_conditions():
    H = symbol("H")
    # with H <= 100 known, 2·H reaches 200 and no more: no new condition
    assert answered(lambda: require_at_most(2 * H, 200, [Condition("H", "max", 100)])) == (2 * H, [])
    # with H mod 4 = 3 known, 2^40·H is within 2^50 up to H = 1,024
    answer, found = answered(lambda: require_at_most(2**40 * H, 2**50, [Condition("H", "mod", (4, frozenset({3})))]))
    assert answer == 2**40 * H and [str(condition) for condition in found] == ["H <= 1,024"]
    # a gcd does not grow steadily with H: not decided
    assert answered(lambda: require_at_most(2**62 * gcd_of(H, 4) + H, 2**63 - 1)) == (None, None)


# --- sizes with terms of both signs: 64·(H - 2)·(W - 2) = 64·H·W - 128·H - 128·W + 256 ------------------------
FLOORS_OF_H = [(1, 0, 1), (1, 0, 2), (2, 1, 3), (1, 2, 4), (3, 0, 2)]  # floor((a·H + b)/d)


def floor_at(a: int, b: int, d: int, h: int) -> int:
    return (a * h + b) // d


def assert_at_most_answered(answer, found, at, low: int, largest: int, sizes) -> None:
    """require_at_most's answer for a size of H from `low` on, against the size at every H tried: cannot decide;
    Past, when no size tried is within the largest; or the size itself (at every size the conditions allow),
    allowed exactly where it is within."""
    if answer is None:
        return
    if isinstance(answer, Past):
        assert answer.values == {"H": low} and answer.size == at(low) > largest
        assert all(at(h) > largest for h in sizes)
        return
    assert [h for h in sizes if allowed(found, h)] == [h for h in sizes if at(h) <= largest]
    assert all(evaluate(answer, {"H": h}) == at(h) for h in sizes if allowed(found, h))


@st.composite
def sums_of_products(draw, growing: bool):
    """c + a sum of k·(product of one or two floors of H, each plus a shift), from H = low, as a size and as a
    function of H. With growing, each shift is minus the floor's value at `low` plus m >= 0, each k > 0 and c > 0:
    a polynomial in what the floors have grown since `low` with no negative coefficient, which never falls and is
    at least 1, as the sizes of a layer are."""
    low, constant = draw(st.integers(1, 6)), draw(st.integers(1 if growing else -20, 20))
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 9) if growing else st.integers(-9, 9).filter(bool))
        factors = []
        for a, b, d in draw(st.lists(st.sampled_from(FLOORS_OF_H), min_size=1, max_size=2)):
            shift = draw(st.integers(0, 3)) - floor_at(a, b, d, low) if growing else draw(st.integers(-8, 8))
            factors.append((a, b, d, shift))
        terms.append((k, factors))

    size = constant
    for k, factors in terms:
        product = k
        for a, b, d, shift in factors:
            product = product * (floor_of("H", a, b, d) + shift)
        size = size + product

    def at(h: int) -> int:
        total = constant
        for k, factors in terms:
            for a, b, d, shift in factors:
                k *= floor_at(a, b, d, h) + shift
            total += k
        return total

    return size, at, low


def at_most_from_the_smallest_size(sized, largest):
    """require_at_most's answer for a drawn size, from H = low, checked against the size at every H tried."""
    size, at, low = sized
    if isinstance(size, int):
        return None
    answer, found = answered(lambda: require_at_most(size, largest, [Condition("H", "min", low)]))
    assert_at_most_answered(answer, found, at, low, largest, range(low, low + 300))
    return answer


@MANY
@given(sums_of_products(growing=False), st.integers(1, 10**4))
def test_at_most_the_largest_with_terms_of_both_signs(sized, largest):
    at_most_from_the_smallest_size(sized, largest)


@MANY
@given(sums_of_products(growing=True), st.integers(1, 10**4))
def test_a_size_that_never_falls_is_decided(sized, largest):
    if not isinstance(sized[0], int):
        assert at_most_from_the_smallest_size(sized, largest) is not None


def test_a_size_that_falls_first_is_not_past_the_largest():
    """H² - 5·H + 10 is 6, 4, 4, 6 at H = 1 to 4: within 5 at H = 2 and 3 only, though not at the smallest H."""
    H = symbol("H")
    answer, found = answered(lambda: require_at_most(H * H - 5 * H + 10, 5))
    assert_at_most_answered(answer, found, lambda h: h * h - 5 * h + 10, 1, 5, range(1, 300))


def power_tower(names: str, power: int):
    """The product of each symbol named, to the power given."""
    tower = 1
    for name in names:
        for _ in range(power):
            tower = tower * symbol(name)
    return tower


def test_the_limit_on_terms_rewritten_about_the_smallest_sizes():
    """A^9·B^9·C^9·D^9, rewritten about A = B = C = D = 1, has 10^4 terms (each power from 0 to 9 of what each
    symbol has grown): exactly the limit, so A^9·B^9·C^9·D^9 - A is still decided."""
    A, largest = symbol("A"), 2**63 - 1
    size = power_tower("ABCD", 9) - A
    answer, found = answered(lambda: require_at_most(size, largest))
    assert answer == size and [(condition.kind, condition.bound) for condition in found] == [("size", (size, largest))]


@pytest.mark.parametrize("make, constant, largest", [
    (lambda A: A * A * power_tower("BCDE", 9), 10, 5),  # one product of 3·10^4 terms
    (lambda A: A * A + power_tower("BCDE", 9), 11, 6),  # 10^4 + 2 terms in all
])
def test_past_the_limit_on_terms(make, constant, largest):
    """With B to E known to be 1, each size is A² - 5·A + 10 (and + 1, the tower's value): 6, 4, 4, 6 from A = 1,
    within `largest` at A = 2 and 3 only. Too many terms to tell that it falls first: not decided, and never
    said to be past the largest."""
    A = symbol("A")
    ones = [Condition(name, "max", 1) for name in "BCDE"]
    answer, found = answered(lambda: require_at_most(make(A) - 5 * A + constant, largest, ones))
    if answer is not None:
        assert not isinstance(answer, Past)
        sizes = [{"A": a, **dict.fromkeys("BCDE", 1)} for a in range(1, 50)]
        assert [point["A"] for point in sizes if all(condition.holds(point) for condition in found)] == [2, 3]


def test_at_most_the_largest_from_the_conditions_recorded_before():
    """H >= 5, recorded in the same block by an earlier question, is where 10·H starts: 50, past 30."""
    H = symbol("H")
    with collecting() as found:
        assert require_positive(H - 4)
        answer = require_at_most(10 * H, 30)
    assert answer == Past({"H": 5}, 50) and [str(condition) for condition in found] == ["H >= 5"]


def test_the_bound_on_coefficients_past_the_largest():
    """c·(H - 1)·(W - 1) + H + W is 2 + (H - 1) + (W - 1) + c·(H - 1)·(W - 1): within 100 at H = 1 up to W = 99
    (and the other way round), where a coefficient past 100 does not matter. The sizes layers make keep their
    coefficients within 100·(2·10^9 + 2)^degree·terms (4 terms of degree 2 here): decided up to exactly that c,
    not past it."""
    H, W, largest = symbol("H"), symbol("W"), 100
    bound = largest * (2 * MAX_SIZE + 2) ** 2 * 4
    for c, decided in ((bound, True), (bound + 1, False)):
        size = c * (H - 1) * (W - 1) + H + W
        answer, found = answered(lambda size=size: require_at_most(size, largest))
        assert (answer is not None) == decided
        if decided:
            assert answer == size and [(condition.kind, condition.bound) for condition in found] == [
                ("size", (size, largest))]


def test_a_size_of_two_symbols_that_falls_is_not_past_the_largest():
    """H·W - 2·H + 12 is 12 - H at W = 1: 11 at the smallest sizes, but within 10 from H = 2 on."""
    H, W = symbol("H"), symbol("W")
    answer, found = answered(lambda: require_at_most(H * W - 2 * H + 12, 10))
    if answer is not None:
        assert not isinstance(answer, Past)
        sizes = [{"H": h, "W": w} for h in range(1, 30) for w in range(1, 30)]
        assert [point for point in sizes if all(condition.holds(point) for condition in found)] == [
            point for point in sizes if point["H"] * point["W"] - 2 * point["H"] + 12 <= 10]


def test_a_condition_on_a_whole_size_holds_up_to_the_largest_and_at_it():
    H, W = symbol("H"), symbol("W")
    condition = Condition(("H", "W"), "size", (H * W, 12))
    assert [(h, w) for h in range(1, 14) for w in range(1, 14) if condition.holds({"H": h, "W": w})] == [
        (h, w) for h in range(1, 14) for w in range(1, 14) if h * w <= 12]
    assert condition.holds({"H": 3, "W": 4}) and not condition.holds({"H": 13, "W": 1})


def test_at_least_one_only_where_a_size_never_falls():
    H = symbol("H")
    # 10 - H falls as H grows (at least 1 up to H = 9); gcd(H, 4) - 1 goes up and down (1, 0, 3, 0, 1, ...): paramcalc
    # decides neither, or decides them right
    for size, at in ((10 - H, lambda h: 10 - h), (gcd_of(H, 4) - 1, lambda h: math.gcd(h, 4) - 1)):
        answer, found = answered(lambda size=size: require_positive(size))
        if answer is not None:
            assert_describes(answer, found, [h for h in TRIED if at(h) >= 1])
    # floor(H/10^9) reaches 1 at the largest size a spec allows only; floor(H/(2·10^9)) never does
    answer, found = answered(lambda: require_positive(floor_of("H", 1, 0, 10**9)))
    assert answer is True and [str(condition) for condition in found] == ["H >= 1000000000"]
    assert answered(lambda: require_positive(floor_of("H", 1, 0, 2 * 10**9))) == (False, [])


def test_the_quick_bound_counts_a_floor_s_offset():
    # floor((2·H + 1)/3) is 666,666,667 at H = 10^9 (without the + 1, 666,666,666): past 666,666,666 there, and
    # within it up to H = 999,999,999
    answer, found = answered(lambda: require_at_most(floor_of("H", 2, 1, 3), 666_666_666))
    assert answer == floor_of("H", 2, 1, 3) and [str(condition) for condition in found] == ["H <= 999,999,999"]


def test_the_strongest_keeps_residues_of_different_moduli():
    by_two, by_three = Condition("H", "mod", (2, frozenset({0}))), Condition("H", "mod", (3, frozenset({1})))
    assert strongest([(by_two, "a"), (by_three, "b"), (by_two, "c")]) == [(by_two, "a"), (by_three, "b")]
