"""Budgets: limits on a model's figures, from the spec, the command line or a baseline; and their check.

No printing here: `check_model` returns plain outcomes that the renderers turn into text, JSON,
Markdown, GitHub annotations or JUnit XML.
"""

from __future__ import annotations

import re
from collections import namedtuple

from .errors import Pos, Problem, SpecError, did_you_mean
from .errors import ExprError
from .literals import read_number

from fractions import Fraction
from typing import Any, Callable

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover

    from .analysis import Totals

# unit is 'count' or 'bytes'; read takes the figure from an analysis' totals
Figure = namedtuple("Figure", "key label unit read")


FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("params", "params", "count", lambda t: t.params),
    Figure("trainable", "trainable params", "count", lambda t: t.trainable),
    Figure("macs", "MACs", "count", lambda t: t.macs),
    Figure("flops", "FLOPs", "count", lambda t: t.flops),
    Figure("param_memory", "parameter memory", "bytes", lambda t: t.param_bytes + t.buffer_bytes),
    Figure("activation_memory", "activation memory", "bytes", lambda t: t.activation_bytes),
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
        raise LimitError(f"expected a number, got {value!r}")
    suffix = ""
    try:
        if not isinstance(value, str):
            amount: Any = read_number(str(value)) if not isinstance(value, (int, Fraction)) else value
        else:
            quantity = split_quantity(value)
            if quantity is None:
                raise LimitError(f"'{value}' is not an amount like 25M or 4.1G"
                                 + (" or 110MB" if unit == "bytes" else ""))
            number, suffix = quantity
            if suffix in _BYTE_UNITS and unit == "bytes":
                amount = read_number(number) * _BYTE_UNITS[suffix]
            else:
                amount = read_number(number + suffix)
    except ExprError as err:
        hint = "units: " + ", ".join(_BYTE_UNITS) if unit == "bytes" else "suffixes: k, M, G, T"
        raise LimitError(f"'{value}' is not an amount: {err.message}", hint) from None
    if amount < 0:
        raise LimitError(f"a limit cannot be negative, got {value}")
    if isinstance(amount, Fraction) and amount.denominator != 1:
        if unit == "bytes":
            raise LimitError(f"'{value}' is not a whole number of bytes",
                             hint="give the size in a smaller unit, e.g. 1500KB rather than 1.5005MB")
        raise LimitError(f"'{value}' is not a whole count",
                         hint=f"did you mean {value}M (millions)?" if not suffix else
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
        raise LimitError(f"'{text}' is not a percentage like 5%")
    if value < 0:
        raise LimitError(f"a tolerance cannot be negative, got {text}")
    return value / 100


class Limit(namedtuple("Limit", "figure value source file line baseline", defaults=(None, None, None))):
    """A limit on one figure. source says where it was declared, for people ('specs/a.yaml:12',
    '--max-params', 'baseline HEAD~1 +5%'); baseline is the value a relative limit was computed from."""

    __slots__ = ()


class Outcome(namedtuple("Outcome", "figure value limit")):
    __slots__ = ()

    @property
    def ok(self) -> bool:
        return self.value <= self.limit.value

    @property
    def over_by(self) -> int:
        return self.value - self.limit.value

    @property
    def label(self) -> str:
        return FIGURES[self.figure].label


class ModelCheck:
    """One spec's check: its figures and outcomes, or the error that kept it from being analysed."""

    def __init__(self, file: str, name: str, figures: dict[str, int], error: SpecError | None = None,
                 seconds: float = 0.0) -> None:
        self.file, self.name, self.figures = file, name, figures
        self.error = error
        self.seconds = seconds  # how long reading and analysing the spec took
        self.outcomes: list[Outcome] = []
        self.notes: list[str] = []

    @property
    def ok(self) -> bool:
        return self.error is None and all(outcome.ok for outcome in self.outcomes)


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


def figures_of(totals: "Totals") -> dict[str, int]:
    return {key: figure.read(totals) for key, figure in FIGURES.items()}


def check_model(file: str, name: str, totals: "Totals", spec_budget: dict[str, tuple[int, Pos]],
                cli_limits: dict[str, int], baseline: dict[str, int] | None = None,
                baseline_label: str = "", max_increase: Fraction | int = 0) -> ModelCheck:
    figures = figures_of(totals)
    result = ModelCheck(file=file, name=name, figures=figures)
    for key, (limit, pos) in spec_budget.items():
        result.outcomes.append(Outcome(key, figures[key], Limit(key, limit, f"{file}:{pos.line}", file, pos.line)))
    for key, limit in cli_limits.items():
        option = "--max-" + key.replace("_", "-")
        result.outcomes.append(Outcome(key, figures[key], Limit(key, limit, option, file, None)))
    if baseline is not None:
        # One outcome per figure that moved (one that did not cannot fail), and no trainable count beside an
        # equal parameter count.
        tolerance = f" +{float(max_increase * 100):g}%" if max_increase else ""
        for key, base in baseline.items():
            if key not in figures or figures[key] == base:
                continue
            if key == "trainable" and figures["trainable"] == figures["params"] and base == baseline.get("params"):
                continue
            allowed = int(base * (1 + max_increase))
            result.outcomes.append(Outcome(key, figures[key], Limit(
                key, allowed, f"baseline {baseline_label}{tolerance}", file, None, baseline=base)))
        if not any(outcome.limit.baseline is not None for outcome in result.outcomes):
            result.notes.append(f"no figure changed against {baseline_label}")
    if not result.outcomes and baseline is None:
        result.notes.append("no budget: add a 'budget:' section to the spec, or --max-params and the like")
    return result
