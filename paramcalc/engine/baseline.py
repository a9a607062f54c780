"""Baselines for relative budgets: the same spec at a git revision, or a saved JSON report.

Nothing leaves the machine: a revision is read with `git show`, a report from a local file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..errors import Pos, SpecError
from ..limits import MAX_FILE_BYTES, MAX_LITERAL_DIGITS
from ..spec.budget import FIGURES, figures_of
from ..spec.source import read_text
from .analysis import analyze, require_concrete
from .records import CHECK_SCHEMA, REPORT_SCHEMA
from .specs import loads_spec


class BaselineError(SpecError):
    """The baseline itself cannot be used (a missing report, an unknown revision): nothing can be compared."""


_SAVE_HINT = "save one with 'paramcalc check ... --format json > report.json', or give a git revision such as HEAD~1 " \
    "or origin/main"


class Baseline:
    """Figures of earlier versions of the models, looked up by spec path."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.reports: dict[str, dict[str, int]] | None = None
        if ref.endswith(".json"):
            if not os.path.lexists(ref):
                raise BaselineError(f"baseline report '{ref}' does not exist", hint=_SAVE_HINT)
            self.reports = _read_reports(ref)

    @property
    def label(self) -> str:
        return self.ref

    def figures(self, spec_path: str, model_name: str) -> dict[str, int] | None:
        """The baseline's figures for one model, or None when the baseline has no such model."""
        if self.reports is not None:
            return self.reports.get(model_name)
        text = _git_show(self.ref, Path(spec_path))
        if text is None:
            return None
        spec = loads_spec(text, file=f"{self.ref}:{spec_path}")
        return figures_of(require_concrete(analyze(spec), "check", spec).totals)


def _read_reports(path: str) -> dict[str, dict[str, int]]:
    def refuse(value: str) -> None:
        raise ValueError(f"{value} is not a figure")

    def whole_number(text: str) -> int:  # its digits counted before Python makes it a number
        if len(text.lstrip("-")) > MAX_LITERAL_DIGITS:
            raise ValueError(f"a number with more than {MAX_LITERAL_DIGITS} digits is not a figure")
        return int(text)

    try:  # a regular file of at most MAX_FILE_BYTES, in UTF-8, checked before it is read, as a spec file is
        text = read_text(path)
    except SpecError as err:
        raise BaselineError(err.message, file=path, hint=_SAVE_HINT) from None
    try:
        # a byte-order mark is how some Windows tools save UTF-8
        data: Any = json.loads(text.removeprefix("\ufeff"), parse_constant=refuse, parse_int=whole_number)
    except json.JSONDecodeError as err:
        raise BaselineError(f"cannot read the baseline report: {err.msg}", file=path, pos=Pos(err.lineno, err.colno),
                            hint=_SAVE_HINT) from None
    except ValueError as err:  # NaN, Infinity and long numbers
        raise BaselineError(f"cannot read the baseline report: {err}", file=path) from None
    except RecursionError:
        raise BaselineError("the baseline report nests lists and mappings too deeply for a report of paramcalc",
                            file=path, hint=_SAVE_HINT) from None
    schema = data.get("schema") if isinstance(data, dict) else None
    hint = "use the JSON of 'paramcalc show --format json' or 'paramcalc check --format json'"
    try:
        if schema == REPORT_SCHEMA:
            reports = {data["name"]: figures_of(SimpleNamespace(**data["totals"]))}
        elif schema == CHECK_SCHEMA:
            reports = {model["name"]: {k: v for k, v in model["figures"].items() if k in FIGURES}
                       for model in data["models"]}
        else:
            raise BaselineError(f"the baseline report has schema {schema!r}", file=path, hint=hint)
    except (KeyError, TypeError, AttributeError) as err:  # a key, or a total, that is missing or not a number
        raise BaselineError(f"the baseline report lacks {err}" if isinstance(err, KeyError) else
                        "the baseline report is not laid out as paramcalc writes it", file=path,
                        hint=hint) from None
    for name, figures in reports.items():
        for key, value in figures.items():
            if type(value) is not int or value < 0:
                raise BaselineError(f"the baseline report's {key} of '{name}' is {value!r}, not a whole number",
                                file=path, hint=hint)
    return reports


def _git_show(ref: str, spec: Path) -> str | None:
    """The spec's text at a revision; None when the file did not exist there."""
    directory = spec.resolve().parent
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True,
                             text=True, check=False)
    except FileNotFoundError:
        raise BaselineError("git is not installed, so a revision cannot be a baseline", file=str(spec),
                        hint="give a saved JSON report instead: --baseline report.json") from None
    if top.returncode != 0:
        raise BaselineError("the spec is not in a git repository, so a revision cannot be a baseline", file=str(spec),
                        hint="give a saved JSON report instead: --baseline report.json")
    relative = spec.resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    verify = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=directory,
                            capture_output=True, text=True, check=False)
    if verify.returncode != 0:
        raise BaselineError(f"'{ref}' is not a git revision here", file=str(spec),
                        hint="use a branch, tag or commit such as HEAD~1 or origin/main, or a .json report")
    with subprocess.Popen(["git", "show", f"{ref}:{relative}"], cwd=directory, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as shown:
        assert shown.stdout is not None
        # one byte past the limit is enough for loads_spec to refuse it as it refuses a spec file that long
        text = shown.stdout.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            shown.kill()
        elif shown.wait() != 0:
            return None  # the spec is new since that revision
    return text.decode("utf-8", errors="replace")
