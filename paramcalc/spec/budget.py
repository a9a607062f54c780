"""Budgets as written: the figures a budget can limit, and limits read from text (25M, 4.1G, 110MB, 5%).

The spec's `budget:` section and the command line's --max-* options are read here; checking a model
against them is paramcalc.engine.checking's.
"""

from __future__ import annotations

import re
from collections import namedtuple
from fractions import Fraction
from typing import Any, Callable

from ..errors import ExprError, Pos, Problem, SpecError, did_you_mean
from .literals import amount_as_written, as_written, read_number, shorten

# unit is 'count' or 'bytes'; read takes the figure from a model's totals (anything with these attributes)
Figure = namedtuple("Figure", "key label unit read")


FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("params", "params", "count", lambda t: t.params),
    Figure("trainable", "trainable params", "count", lambda t: t.trainable),
    Figure("macs", "MACs", "count", lambda t: t.macs),
    Figure("flops", "FLOPs", "count", lambda t: t.flops),
    Figure("param_memory", "parameter memory", "bytes", lambda t: t.param_bytes + t.buffer_bytes),
    Figure("activation_memory", "activation memory", "bytes", lambda t: t.activation_bytes),
    # a training step's (paramcalc.engine.training), worked out only when a budget limits them
    Figure("train_memory", "peak training memory", "bytes", lambda t: getattr(t, "train_peak_bytes", None)),
    Figure("train_flops", "training FLOPs", "count", lambda t: getattr(t, "train_flops", None)),
)}

_BYTE_UNITS = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


_QUANTITY = re.compile(r"\s*([0-9][0-9_.]*(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*")


def split_quantity(text: str) -> tuple[str, str] | None:
    """'25.6M' -> ('25.6', 'M'), '110 MB' -> ('110', 'MB'), '1e9' -> ('1e9', ''): a number and a unit of
    letters; None for anything else."""
    match = _QUANTITY.fullmatch(text)
    return (match[1], match[2]) if match else None


class LimitError(Problem):
    """A limit could not be read; the caller adds where it was written."""


def parse_amount(value: Any, unit: str) -> int:
    """A limit as an exact whole number: 25M, 4.1G, 1e9, 25557032; with unit 'bytes' also 110MB, 2GiB
    (a number without a unit is bytes). A count or a byte size that is not whole is an error."""
    if isinstance(value, bool):
        raise LimitError(f"expected a number, got {as_written(value)}")
    suffix = ""
    try:
        if not isinstance(value, str):
            amount: Any = read_number(str(value)) if not isinstance(value, (int, Fraction)) else value
        else:
            quantity = split_quantity(value)
            if quantity is None:
                raise LimitError(f"'{shorten(value)}' is not an amount like 25M or 4.1G"
                                 + (" or 110MB" if unit == "bytes" else ""))
            number, suffix = quantity
            if suffix in _BYTE_UNITS and unit == "bytes":
                amount = read_number(number) * _BYTE_UNITS[suffix]
            else:
                amount = read_number(number + suffix)
    except ExprError as err:
        hint = "units: " + ", ".join(_BYTE_UNITS) if unit == "bytes" else "suffixes: k, M, G, T"
        raise LimitError(f"'{shorten(str(value))}' is not an amount: {err.message}", hint) from None
    if amount < 0:
        raise LimitError(f"a limit cannot be negative, got {shorten(amount_as_written(value))}")
    if isinstance(amount, Fraction) and amount.denominator != 1:
        shown = shorten(amount_as_written(value))
        if unit == "bytes":
            raise LimitError(f"'{shown}' is not a whole number of bytes",
                             hint="give the size in a smaller unit, e.g. 1500KB rather than 1.5005MB")
        raise LimitError(f"'{shown}' is not a whole count",
                         hint=f"did you mean {shown}M (millions)?" if not suffix else
                         "a count of parameters or operations is a whole number")
    return int(amount)


def parse_percent(text: str) -> Fraction:
    """'5%' or '5' -> 1/20."""
    cleaned = text.strip().removesuffix("%").strip()
    try:
        value = Fraction(read_number(cleaned)) if cleaned and cleaned[-1] not in "kKMGT" else None
    except ExprError:
        value = None
    if value is None:
        raise LimitError(f"'{shorten(text)}' is not a percentage like 5%")
    if value < 0:
        raise LimitError(f"a tolerance cannot be negative, got {shorten(text)}")
    return value / 100


def read_spec_budget(raw: Any, pos: Pos, key_pos: Callable[[str], Pos], value_pos: Callable[[str], Pos],
                     file: str) -> dict[str, tuple[int, Pos]]:
    """The `budget:` section of a spec: figure -> (limit, position of the line that declares it)."""
    if not isinstance(raw, dict):
        raise SpecError("'budget' must be a mapping of figures to limits", pos=pos, file=file,
                        hint="budget: {params: 25.6M, macs: 4.2G, activation_memory: 200MB}")
    budget = {}
    for key, value in raw.items():
        if key not in FIGURES:
            raise SpecError(f"unknown budget figure '{key}'", pos=key_pos(key), file=file,
                            hint=did_you_mean(str(key), FIGURES) or "figures: " + ", ".join(FIGURES))
        try:
            budget[key] = (parse_amount(value, FIGURES[key].unit), key_pos(key))
        except LimitError as err:
            raise SpecError(f"budget {key}: {err.message}", pos=value_pos(key), file=file, hint=err.hint) from None
    return budget


def figures_of(totals: Any) -> dict[str, int]:
    """The figures the totals hold (the training figures only when they were worked out)."""
    figures = {key: figure.read(totals) for key, figure in FIGURES.items()}
    return {key: value for key, value in figures.items() if value is not None}
