"""Specs -> budget checks: each spec read, analysed and checked against its limits, one by one.

No printing here: the checks are plain outcomes that paramcalc.render.checks turns into text, JSON,
Markdown, GitHub annotations or JUnit XML.

A spec that cannot be read or analysed is reported as an errored check, and the others are still checked:
in CI, one broken spec must not hide the results of the rest. A baseline that cannot be used at all (an
unknown revision, a broken report) stops the whole check.
"""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import Pos, SpecError
from ..spec.budget import FIGURES, figures_of
from ..spec.format import Spec
from .analysis import analyze, require_concrete
from .baseline import Baseline, BaselineError
from .records import Totals
from .specs import load_spec


def check_specs(paths: list[str], limits: dict[str, int], baseline: Baseline | None = None,
                max_increase: Fraction | int = 0, load: Callable[[str], Spec] = load_spec,
                optimizer: str = "adam", amp: str | None = None) -> list[ModelCheck]:
    """`load` reads one path: a spec file by default; the CLI's also imports models (an ONNX file). `optimizer`
    and `amp` set the training step that the train_memory and train_flops budgets limit."""
    return [check_spec(path, limits, baseline, max_increase, load, optimizer, amp) for path in paths]


def check_spec(path: str, limits: dict[str, int], baseline: Baseline | None,
               max_increase: Fraction | int, load: Callable[[str], Spec] = load_spec,
               optimizer: str = "adam", amp: str | None = None) -> ModelCheck:
    started = time.perf_counter()
    try:
        spec = load(path)
        result = require_concrete(analyze(spec), "check", spec)
        totals: Any = result.totals
        if any(key.startswith("train_") for key in (*spec.budget, *limits)):
            totals = _WithTraining(result, spec, optimizer, amp)
        figures = baseline.figures(path, result.name) if baseline else None
    except BaselineError:
        raise
    except SpecError as err:
        name = "<stdin>" if path == "-" else Path(path).stem
        return ModelCheck(path, name, {}, error=err, seconds=time.perf_counter() - started)
    model = check_model(path, result.name, totals, spec.budget, limits, figures,
                        baseline.label if baseline else "", max_increase)
    if baseline and figures is None:
        model.notes.append(f"no baseline in {baseline.label}: a new model")
    model.seconds = time.perf_counter() - started
    return model


class _WithTraining:
    """A model's totals, and the training-step figures the train_memory and train_flops budgets read."""

    def __init__(self, result: Any, spec: Spec, optimizer: str, amp: str | None) -> None:
        from .graph import expand
        from .training import training_of

        training = training_of(result, expand(spec), optimizer, amp)
        if training.not_modelled:
            raise SpecError(f"a training budget needs what every layer saves for backward, and paramcalc does not "
                            f"model {', '.join(training.not_modelled)}", file=spec.file)
        self.totals, self.train_peak_bytes, self.train_flops = result.totals, training.peak_bytes, training.train_flops

    def __getattr__(self, name: str) -> Any:
        return getattr(self.totals, name)


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


def check_model(file: str, name: str, totals: Totals, spec_budget: dict[str, tuple[int, Pos]],
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
