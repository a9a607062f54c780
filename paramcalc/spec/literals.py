"""Numbers read exactly from their text, with their size checked before they are built.

`1e6` is 10**6, `0.1` is 1/10, `2.5e-3` is 1/400: a spec's numbers are exact, so every count is. A literal
is refused while it is still text when it would be too large or too fine (too many digits, an exponent
beyond the bounds), so that `1e99999999` costs nothing; every value an expression makes is then checked
by `bounded`, which keeps each step of an evaluation small.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import ExprError
from ..limits import MAX_DENOMINATOR, MAX_LITERAL_DIGITS, MAX_MAGNITUDE

SI_SUFFIXES = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DIGITS = frozenset("0123456789")
# An exponent beyond this makes any mantissa of at most MAX_LITERAL_DIGITS digits cross the bounds.
_MAX_EXPONENT = MAX_LITERAL_DIGITS + len(str(MAX_MAGNITUDE))


def shorten(text: str, limit: int = 60) -> str:
    """Long texts are cut in messages: the place in the file shows the rest."""
    return text if len(text) <= limit else text[:limit] + "…"


def exact(value: Any) -> Any:
    """A fraction that is a whole number becomes an int; anything else is returned as it is."""
    if type(value) is Fraction and value.denominator == 1:
        return value.numerator
    return value


def bounded(value: Any) -> Any:
    """The value, when its magnitude is at most MAX_MAGNITUDE and, for a fraction, its denominator at most
    MAX_DENOMINATOR; otherwise an ExprError. Anything that is not a number passes."""
    if type(value) is int:
        if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            return value
    elif type(value) is Fraction:
        if value.denominator > MAX_DENOMINATOR:
            raise ExprError(f"a fraction finer than 1/10^{len(str(MAX_DENOMINATOR)) - 1} ({_fraction_text(value)})",
                            hint="paramcalc keeps every number exact; round it, e.g. round(x, 6)")
        if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            return exact(value)
    else:
        return value
    raise ExprError(f"a value exceeds 10^{len(str(MAX_MAGNITUDE)) - 1} in magnitude",
                    hint="no figure of a network needs numbers that large")


def _fraction_text(value: Fraction) -> str:
    numerator, denominator = str(value.numerator), str(value.denominator)
    if len(numerator) + len(denominator) > 40:
        return f"a denominator of {len(denominator)} digits"
    return f"{numerator}/{denominator}"


def read_decimal(text: str) -> Any:
    """A decimal literal without underscores (`64`, `0.5`, `1e6`, `2.5E-3`, `.5`, `+1.`) read exactly and
    bounded; an int when it is whole. The digits and the exponent are checked before any number is built."""
    body = text[1:] if text[:1] in ("+", "-") else text
    mantissa, marker, exponent_text = body.replace("E", "e").partition("e")
    whole, point, decimals = mantissa.partition(".")
    if not (whole or decimals) or not _DIGITS.issuperset(whole + decimals) or (marker and not exponent_text):
        raise ExprError(f"'{shorten(text)}' is not a number")
    exponent_digits = exponent_text[1:] if exponent_text[:1] in ("+", "-") else exponent_text
    if marker and (not exponent_digits or not _DIGITS.issuperset(exponent_digits)):
        raise ExprError(f"'{shorten(text)}' is not a number")
    digits = (whole + decimals).lstrip("0")
    if len(digits) > MAX_LITERAL_DIGITS:
        raise ExprError(f"'{shorten(text)}' has more than {MAX_LITERAL_DIGITS} digits",
                        hint="no size or rate in a network needs that many digits")
    if len(exponent_digits.lstrip("0")) > 4 or abs(int(exponent_text or 0)) > _MAX_EXPONENT:
        if not digits:  # 0e99999: zero whatever the exponent
            return 0
        raise ExprError(f"the exponent of '{shorten(text)}' is out of range",
                        hint=f"exponents of at most ±{_MAX_EXPONENT} (values up to 10^{len(str(MAX_MAGNITUDE)) - 1})")
    power = int(exponent_text or 0) - len(decimals)
    value = Fraction(int(digits or "0") * 10**max(power, 0), 10**max(-power, 0))
    return bounded(-value if text[:1] == "-" else value)


def read_number(text: str) -> Any:
    """A number as a person writes an amount: a decimal literal with underscores, `0x40`, `0b101`, `0o17`,
    and an SI suffix (`25M`, `1.5k`, `4.1G`); exact and bounded."""
    text = text.strip()
    scale = 1
    if text[-1:] in SI_SUFFIXES:
        scale, text = SI_SUFFIXES[text[-1]], text[:-1]
    cleaned = text.replace("_", "")
    body = cleaned.lstrip("+-")
    if body[:2].lower() in ("0x", "0o", "0b"):
        if len(body) > MAX_LITERAL_DIGITS + 2:
            raise ExprError(f"'{shorten(text)}' has more than {MAX_LITERAL_DIGITS} digits")
        try:
            value: Any = int(cleaned, 0)
        except ValueError:
            raise ExprError(f"'{shorten(text)}' is not a number") from None
    else:
        if "__" in text or text.startswith("_") or text.endswith("_"):
            raise ExprError(f"'{shorten(text)}' is not a number")
        value = read_decimal(cleaned)
    return bounded(value * scale)


def as_written(value: Any) -> str:
    """A value as a spec writes it: 'text', 0.1 (not Fraction(1, 10)), 64/3 when no decimal is exact, true,
    null, [1, 0.5] and {out: 8}."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, Fraction):
        return _decimal_text(value) or str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(as_written, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {as_written(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (int, str)):
        return repr(value)  # text in quotes, with its unprintable characters escaped
    return str(value)  # a size that depends on the input: its formula


def amount_as_written(value: Any) -> str:
    """An amount as written: text as it is (25.6M, 110 MB), a number as as_written shows it (1.5)."""
    return value if isinstance(value, str) else as_written(value)


def _decimal_text(value: Fraction) -> str | None:
    """0.1 for 1/10, -2.5 for -5/2: the exact decimal of a fraction whose denominator divides a power of ten
    (every literal a spec writes), or None for one such as 1/3."""
    rest, twos, fives = value.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    places = max(twos, fives)  # 2^a * 5^b divides 10^max(a, b)
    if rest != 1 or places > MAX_LITERAL_DIGITS:
        return None
    if places == 0:  # a whole number, such as 4/2
        return str(value.numerator)
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    return ("-" if value < 0 else "") + digits[:-places] + "." + digits[-places:]
