"""Safe, exact arithmetic for spec values: `planes * 4`, `2 if index == 0 else 1`, `25M`, `1e6`.

An expression is parsed with Python's `ast` and evaluated by walking a short whitelist of
node kinds; nothing is ever passed to `eval`. Every number is exact: literals are read as
fractions from their text (so `1e20` is exactly 10**20) and `/` gives a fraction that
becomes an integer again when it divides evenly.

This module is the light front: plain numbers and names are read here; only real expressions
load the parser (paramcalc._evaluator, which imports ast and fractions).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Mapping

SI_SUFFIXES = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DIGITS = "0123456789"
_DIGIT_TUPLE = tuple(_DIGITS)


def is_integer_text(text: str) -> bool:
    """[+-]?[0-9][0-9_]*: a whole number as written, underscores allowed (read without a regex: this
    runs for every value of a spec)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    return body[:1] in _DIGIT_TUPLE and not body.strip(_DIGITS + "_")


def is_plain_name(text: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]*"""
    return text.isidentifier() and text.isascii()


_NOT_IN_NAMES = {code: " " for code in range(128) if not chr(code).isalnum() and chr(code) != "_"}


def names_in(text: str) -> list[str]:
    """Every word of a text that could be a name: a superset of the names an expression reads."""
    words = text.translate(_NOT_IN_NAMES).split()
    if not text.isascii():  # other characters end a name too
        words = "".join(c if c.isascii() else " " for c in " ".join(words)).split()
    return [word for word in words if not word[0].isdigit()]


class ExprError(ValueError):
    """An expression is malformed or cannot be evaluated; the caller adds the location."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def shorten(text: str, limit: int = 60) -> str:
    """Long expressions are cut in messages: the place in the file shows the rest."""
    return text if len(text) <= limit else text[:limit] + "…"


def exact(value: Any) -> Any:
    """A fraction that is a whole number becomes an int; anything else is returned as is."""
    if not isinstance(value, int) and getattr(value, "denominator", None) == 1:
        return int(value)
    return value


def parse_number(text: str) -> Any:
    """Read one numeric literal exactly: `64`, `1_000`, `0x40`, `1e6`, `0.5`, `25M`, `1.5G`."""
    text = text.strip()
    scale = 1
    if text and text[-1] in SI_SUFFIXES:
        scale, text = SI_SUFFIXES[text[-1]], text[:-1]
    if is_integer_text(text):
        return int(text.replace("_", "")) * scale
    whole = _whole_decimal(text, scale)
    if whole is not None:
        return whole
    try:
        if text[:2].lower() in ("0x", "0o", "0b"):
            return int(text, 0) * scale
        from fractions import Fraction

        return exact(Fraction(text.replace("_", "")) * scale)
    except (ValueError, ZeroDivisionError):
        raise ExprError(f"'{shorten(text)}' is not a number") from None


def _whole_decimal(text: str, scale: int) -> int | None:
    """`25.6M`, `1e6`, `1.5e3` when they are whole numbers, read exactly with integers (without importing
    fractions); None for anything else, which parse_number reads as a fraction."""
    mantissa, marker, exponent = text.lower().partition("e")
    whole, _, decimals = mantissa.partition(".")
    digits = (whole + decimals).replace("_", "")
    if not digits.isascii() or not digits.lstrip("+-").isdigit() or digits[1:].lstrip("0123456789") \
            or "_" in exponent or (marker and not exponent):
        return None
    try:
        power = int(exponent or 0) - len(decimals.replace("_", ""))
    except ValueError:
        return None
    if abs(power) > 30:  # a huge or tiny exponent takes the exact (and limited) path
        return None
    value = int(digits) * scale
    if power >= 0:
        return value * 10**power
    divisor = 10**-power
    return value // divisor if value % divisor == 0 else None


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate one expression with the given names. Raises ExprError."""
    stripped = text.strip()
    if stripped in scope and is_plain_name(stripped):
        return scope[stripped]
    if is_integer_text(stripped):
        return int(stripped.replace("_", ""))
    from . import _evaluator

    return _evaluator.evaluate(text, scope)
