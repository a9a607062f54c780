"""Specs -> budget checks: each spec read, analysed and checked against its limits, one by one.

A spec that cannot be read or analysed is reported as an errored check, and the others are still checked:
in CI, one broken spec must not hide the results of the rest. A baseline that cannot be used at all (an
unknown revision, a broken report) stops the whole check.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

from .analysis import analyze, require_concrete
from .baseline import Baseline, BaselineError
from .budget import ModelCheck, check_model
from .errors import SpecError
from .spec import SpecFile, load_spec


def check_specs(paths: list[str], limits: dict[str, int], baseline: Baseline | None = None,
                max_increase: Fraction | int = 0) -> list[ModelCheck]:
    return [check_spec(path, limits, baseline, max_increase) for path in paths]


def check_spec(path: str, limits: dict[str, int], baseline: Baseline | None,
               max_increase: Fraction | int) -> ModelCheck:
    started = time.perf_counter()
    try:
        spec = load_spec(SpecFile(path))
        result = require_concrete(analyze(spec), "check", spec)
        figures = baseline.figures(path, result.name) if baseline else None
    except BaselineError:
        raise
    except SpecError as err:
        return ModelCheck(path, Path(path).stem, {}, error=err, seconds=time.perf_counter() - started)
    model = check_model(path, result.name, result.totals, spec.budget, limits, figures,
                        baseline.label if baseline else "", max_increase)
    if baseline and figures is None:
        model.notes.append(f"no baseline in {baseline.label}: a new model")
    model.seconds = time.perf_counter() - started
    return model
