"""The text checks that replace regular expressions (compiling them cost a cold start about 2 ms) accept
exactly what the expressions accept: each is compared with its regex on random text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from paramcalc._evaluator import _pattern_tokens, _tokens
from paramcalc.budget import split_quantity
from paramcalc.expr import ExprError, is_integer_text, is_plain_name, names_in
from paramcalc.source import _is_int
from paramcalc.spec import NAME_PATTERN, REF_PATTERN, is_name, is_reference

# the characters that matter to these checks, and a few that must be refused
ALPHABET = "0123456789_-+.eEkMGBiaZz xé\t\n\u00a0*()'"
text = st.text(alphabet=ALPHABET, max_size=12)
EXAMPLES = settings(max_examples=3000)
ROOT = Path(__file__).resolve().parent.parent


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


def _outcome(tokenize, value):
    try:
        return tokenize(value)
    except ExprError as err:
        return str(err)


@settings(max_examples=5000)
@given(st.text(alphabet="0123456789_.eEkMxob aZ+-*/%<>=!(),'\"\t\n\u00a0é#", max_size=14))
def test_expression_tokens(value):
    # the expression reader splits plain text itself and hands anything else to its pattern: the tokens (or
    # the message) are the pattern's own either way
    assert _outcome(_tokens, value) == _outcome(_pattern_tokens, value)


def test_expression_tokens_of_the_zoo_need_no_pattern():
    # the expressions the bundled specs use are split without compiling the pattern (what a cold start saves)
    assert _tokens("planes * 4 if i == 0 else c // 2") == [
        ("name", "planes", 0, 6), ("op", "*", 7, 8), ("number", "4", 9, 10), ("name", "if", 11, 13),
        ("name", "i", 14, 15), ("op", "==", 16, 18), ("number", "0", 19, 20), ("name", "else", 21, 25),
        ("name", "c", 26, 27), ("op", "//", 28, 30), ("number", "2", 31, 32)]
    code = ("import paramcalc, sys;"
            "paramcalc.analyze('specs/resnet50.yaml'); paramcalc.analyze('specs/densenet121.yaml');"
            "read = 'paramcalc._evaluator' in sys.modules;"
            "from paramcalc._evaluator import _token_regex; print(read, _token_regex.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["True", "0"]  # the specs' expressions were read, and no pattern compiled
