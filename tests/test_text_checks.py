"""The text checks that replace regular expressions (compiling them cost a cold start about 2 ms) accept
exactly what the expressions accept: each is compared with its regex on random text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from paramcalc.budget import split_quantity
from paramcalc.expr import is_integer_text, is_plain_name, names_in
from paramcalc.source import _is_int
from paramcalc.spec import NAME_PATTERN, REF_PATTERN, is_name, is_reference

# the characters that matter to these checks, and a few that must be refused
ALPHABET = "0123456789_-+.eEkMGBiaZz xé\t\n\u00a0*()'"
text = st.text(alphabet=ALPHABET, max_size=12)
EXAMPLES = settings(max_examples=3000)


@EXAMPLES
@given(text)
def test_names_and_references(value):
    assert is_name(value) == bool(re.fullmatch(NAME_PATTERN.strip("^$"), value))
    assert is_reference(value) == bool(re.fullmatch(REF_PATTERN.strip("^$"), value))


@EXAMPLES
@given(text)
def test_integers_and_plain_names(value):
    assert is_integer_text(value) == bool(re.fullmatch(r"[+-]?[0-9][0-9_]*", value))
    assert is_plain_name(value) == bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value))
    assert _is_int(value) == bool(re.fullmatch(r"[-+]?(0|[1-9][0-9_]*)", value))


@EXAMPLES
@given(text)
def test_names_in_an_expression_are_a_superset_of_its_names(value):
    words = set(names_in(value))
    assert set(re.findall(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*", value)) <= words


@EXAMPLES
@given(text)
def test_quantities(value):
    match = re.fullmatch(r"\s*([0-9][0-9_.]*(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
    assert split_quantity(value) == (match.groups() if match else None)
