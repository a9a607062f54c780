"""How each type of spec field reads a value: what it gives (written out here by hand) and, for what it refuses,
the message and the hint a person sees. Through a layer, these are the layers' fields in test_errors.py and
test_examples_and_fields.py; here each type meets its edge cases (the largest size, the lowest value, keywords,
wrong types) one at a time."""

from __future__ import annotations

from fractions import Fraction

import pytest

from paramcalc.engine.layers.fields import (Axes, Axis, Bool, Choice, FieldError, Int, Numbers, Padding, Real,
                                            Sizes)
from paramcalc.limits import MAX_SIZE

READ = [
    (Int(), 3, 3),
    (Int(), MAX_SIZE, MAX_SIZE),
    (Int(minimum=0), 0, 0),
    (Int(keywords=("depthwise",)), "depthwise", "depthwise"),
    (Real(0, 1), 1, 1.0),  # both ends belong
    (Real(0, 1), 0, 0.0),
    (Real(0, 1), Fraction(1, 4), 0.25),
    (Real(), -7.5, -7.5),
    (Bool(), False, False),
    (Sizes(), 3, (3, 3)),  # two axes unless told
    (Sizes(), [2, 5], (2, 5)),
    (Sizes(axes=3), 2, (2, 2, 2)),
    (Sizes(axes=1), [MAX_SIZE], (MAX_SIZE,)),
    (Sizes(minimum=0), [0, 4], (0, 4)),
    (Padding(), 2, (2, 2, 2, 2)),  # (top, bottom, left, right)
    (Padding(axes=3), 1, (1, 1, 1, 1, 1, 1)),
    (Padding(axes=1), [3], (3, 3)),
    (Padding(), [1, 2], (1, 1, 2, 2)),
    (Padding(), {"top": 1, "right": 3}, (1, 0, 0, 3)),  # a side left out is 0
    (Padding(), MAX_SIZE, (MAX_SIZE,) * 4),
    (Padding(), "same", "same"),
    (Choice(("nearest", "bilinear")), "bilinear", "bilinear"),
    (Axis(), -1, -1),
    (Axes(), 2, (2,)),
    (Axes(), [-1, -2], (-1, -2)),
    (Numbers("dimensions"), [0, 2, 1], (0, 2, 1)),
    (Numbers("sizes", minimum=1, wildcard=True), [-1, 4], (-1, 4)),
    (Numbers("sizes", minimum=1, scalar=True), 6, (6,)),
    (Numbers("sizes", minimum=1), [MAX_SIZE], (MAX_SIZE,)),
]


@pytest.mark.parametrize("field, value, expected", READ,
                         ids=[f"{type(f).__name__}-{i}" for i, (f, *_) in enumerate(READ)])
def test_a_field_reads_what_it_takes(field, value, expected):
    assert field.read(value) == expected


WILDCARD = " (-1: the size that makes the total agree)"
# (field, value, the message, the hint or None)
REFUSED = [
    (Int(), "depthwise", "the value must be a whole number, got 'depthwise'", None),  # a keyword of another field
    (Int(), 2.5, "the value must be a whole number, got 2.5", None),
    (Int(), Fraction(5, 2), "the value must be a whole number, got 2.5",
     "use // for whole-number division, or round()/ceil()/floor()"),
    (Int(), True, "the value must be a whole number, got true", None),
    (Int(), 0, "must be at least 1, got 0", None),
    (Int(), MAX_SIZE + 1, f"must be at most {MAX_SIZE:,}, got {MAX_SIZE + 1:,}", None),
    (Real(0, 1), True, "must be a number, got true", None),
    (Real(0, 1), "half", "must be a number, got 'half'", None),
    (Real(0, 1), -0.5, "must be between 0 and 1, got -0.5", None),
    (Real(0, 1), 1.5, "must be between 0 and 1, got 1.5", None),
    (Real(minimum=0), -1, "must be between 0 and None, got -1", None),
    (Bool(), 1, "must be true or false, got 1", None),
    (Sizes(), [1, 2, 3], "must be one number or [height, width], got 3 values", None),
    (Sizes(axes=3), [1, 2], "must be one number or [time, height, width], got 2 values", None),
    (Sizes(), [2, 1.5], "each size must be a whole number, got 1.5", None),
    (Sizes(), 0, "must be at least 1, got 0", None),
    (Sizes(), [1, MAX_SIZE + 1], f"must be at most {MAX_SIZE:,}, got {MAX_SIZE + 1:,}", None),
    (Padding(), {"top": 1, "front": 2}, "unknown side 'front'", "sides are top, bottom, left, right"),
    (Padding(), [1, 2, 3], "a list must be [height, width], got 3 values",
     "for different amounts on each side write {top: 0, bottom: 1, left: 0, right: 1}"),
    (Padding(axes=3), [1, 2], "a list must be [time, height, width], got 2 values", None),
    (Padding(axes=1), {"left": 1}, "padding must be a whole number, got {left: 1}", None),  # sides: 2-D only
    (Padding(), "full", "padding must be a whole number, got 'full'", None),
    (Padding(), -1, f"padding must be between 0 and {MAX_SIZE:,}, got -1", None),
    (Padding(), MAX_SIZE + 1, f"padding must be between 0 and {MAX_SIZE:,}, got {MAX_SIZE + 1:,}", None),
    (Padding(), [1, 0.5], "padding must be a whole number, got 0.5", None),
    (Choice(("nearest", "bilinear")), "cubic", "must be one of nearest, bilinear, got 'cubic'", None),
    (Choice(("nearest", "bilinear")), ["nearest"], "must be one of nearest, bilinear, got ['nearest']", None),
    (Axis(), "last", "must be a dimension number, got 'last'", None),
    (Axis(), False, "must be a dimension number, got false", None),
    (Axes(), [], "must be a dimension number or a list of them, got an empty list",
     "PyTorch's mean over no dimensions averages everything, the batch too"),
    (Axes(), [1, "x"], "must be a dimension number or a list of them, got [1, 'x']", None),
    (Numbers("dimensions"), 2, "must be a list of dimensions, got 2", None),  # one number only where said
    (Numbers("dimensions"), [], "must be a list of dimensions, got []", None),
    (Numbers("dimensions", scalar=True), "all", "must be a list of dimensions, got 'all'", None),
    (Numbers("dimensions"), [0, 1.5], "each entry must be a whole number, got 1.5", None),
    (Numbers("dimensions"), [0, -1], "dimensions must be at least 0, got -1", None),  # -1 only where said
    (Numbers("sizes", minimum=1, wildcard=True), [0, 4],
     "sizes must be at least 1, got 0" + WILDCARD, None),
    (Numbers("sizes", minimum=1, wildcard=True), [-2],
     "sizes must be at least 1, got -2" + WILDCARD, None),
    (Numbers("sizes", minimum=1), [MAX_SIZE + 1], f"must be at most {MAX_SIZE:,}, got {MAX_SIZE + 1:,}", None),
]


@pytest.mark.parametrize("field, value, message, hint", REFUSED,
                         ids=[f"{type(f).__name__}-{i}" for i, (f, *_) in enumerate(REFUSED)])
def test_a_field_refuses_with_what_was_found_and_what_would_do(field, value, message, hint):
    with pytest.raises(FieldError) as caught:
        field.read(value)
    assert (caught.value.message, caught.value.hint) == (message, hint)
