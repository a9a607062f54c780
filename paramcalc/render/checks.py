"""Budget check results as text, JSON, Markdown, GitHub workflow annotations or JUnit XML."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from ..budget import FIGURES, ModelCheck, Outcome
from . import units

CHECK_SCHEMA = "paramcalc.check/1"


def amount(figure: str, value: int, exact: bool = True) -> str:
    """25,557,032 (25.56 M) for counts, 110,000,000 B (110.00 MB) for bytes."""
    if FIGURES[figure].unit == "bytes":
        human = units.size_in_bytes(value)
        return human if exact is False or value < 1000 else f"{value:,} B ({human})"
    human = units.count(value)
    return human if exact is False or value < 1000 else f"{value:,} ({human})"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:+.2f}%" if whole else "new"


def describe(outcome: Outcome) -> str:
    """One sentence about one outcome, for people."""
    limit = outcome.limit
    figure, value = outcome.figure, outcome.value
    if limit.baseline is not None:
        growth = value - limit.baseline
        change = f"{growth:+,} ({_percent(growth, limit.baseline)})" if growth else "unchanged"
        verdict = "more than allowed" if not outcome.ok else "within"
        return (f"{outcome.label} {amount(figure, value)}: {change} against {limit.source.split(' +')[0]}, "
                f"{verdict} (limit {limit.value:,})")
    if outcome.ok:
        return f"{outcome.label} {amount(figure, value)} is within {limit.value:,} ({limit.source})"
    return (f"{outcome.label} {amount(figure, value)} is over the budget {limit.value:,} "
            f"by {outcome.over_by:,} ({_percent(outcome.over_by, limit.value)}); budget from {limit.source}")


def to_text(checks: list[ModelCheck], style=lambda text, ok: text) -> str:
    lines = []
    for check in checks:
        mark = "ok  " if check.ok else "OVER"
        lines.append(style(f"{mark} {check.name} ({check.file})", check.ok))
        for outcome in check.outcomes:
            lines.append(style(f"     {'✓' if outcome.ok else '✗'} {describe(outcome)}", outcome.ok))
        lines.extend(f"     note: {note}" for note in check.notes)
    over = sum(not check.ok for check in checks)
    lines.append(f"{len(checks)} model{'s' * (len(checks) != 1)} checked, "
                 + (f"{over} over budget" if over else "all within budget"))
    return "\n".join(lines)


def check_data(checks: list[ModelCheck]) -> dict:
    return {
        "schema": CHECK_SCHEMA,
        "ok": all(check.ok for check in checks),
        "models": [{
            "spec": check.file,
            "name": check.name,
            "ok": check.ok,
            "figures": check.figures,
            "checks": [{
                "figure": o.figure, "value": o.value, "limit": o.limit.value, "ok": o.ok, "over_by": max(o.over_by, 0),
                "source": o.limit.source, "file": o.limit.file, "line": o.limit.line, "baseline": o.limit.baseline,
            } for o in check.outcomes],
            "notes": check.notes,
        } for check in checks],
    }


def to_json(checks: list[ModelCheck]) -> str:
    return json.dumps(check_data(checks), indent=2)


def to_markdown(checks: list[ModelCheck]) -> str:
    over = sum(not check.ok for check in checks)
    lines = [f"### paramcalc budgets: {'all within budget' if not over else f'{over} over budget'}", "",
             "| model | figure | value | limit | | declared in |", "|---|---|---:|---:|---|---|"]
    for check in checks:
        for o in check.outcomes:
            status = "✅" if o.ok else f"❌ +{o.over_by:,}"
            lines.append(f"| `{check.name}` | {o.label} | {o.value:,} | {o.limit.value:,} | {status} | "
                         f"`{o.limit.source}` |")
        for note in check.notes:
            lines.append(f"| `{check.name}` | | | | | {note} |")
    return "\n".join(lines)


def _annotation_text(text: str) -> str:
    """GitHub's workflow-command escaping for a message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _annotation_property(text: str) -> str:
    return _annotation_text(text).replace(":", "%3A").replace(",", "%2C")


def to_github(checks: list[ModelCheck]) -> str:
    lines = []
    for check in checks:
        for o in check.outcomes:
            if o.ok:
                continue
            where = f"file={_annotation_property(o.limit.file or check.file)}"
            if o.limit.line:
                where += f",line={o.limit.line}"
            lines.append(f"::error {where},title={_annotation_property('paramcalc budget')}::"
                         + _annotation_text(f"{check.name}: {describe(o)}"))
    over = sum(not check.ok for check in checks)
    lines.append(f"paramcalc: {len(checks)} model{'s' * (len(checks) != 1)} checked, "
                 + (f"{over} over budget" if over else "all within budget"))
    return "\n".join(lines)


def to_junit(checks: list[ModelCheck]) -> str:
    cases = sum(max(len(check.outcomes), 1) for check in checks)
    failures = sum(not o.ok for check in checks for o in check.outcomes)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="paramcalc" tests="{cases}" failures="{failures}">']
    for check in checks:
        failed = sum(not o.ok for o in check.outcomes)
        lines.append(f'  <testsuite name={quoteattr(check.name)} tests="{max(len(check.outcomes), 1)}" '
                     f'failures="{failed}" file={quoteattr(check.file)}>')
        for o in check.outcomes:
            name = quoteattr(f"{o.figure} <= {o.limit.value} ({o.limit.source})")
            lines.append(f'    <testcase classname={quoteattr(check.name)} name={name} file={quoteattr(check.file)}>')
            if not o.ok:
                lines.append(f'      <failure message={quoteattr(describe(o))} type="budget">'
                             f'{escape(describe(o))}</failure>')
            lines.append("    </testcase>")
        if not check.outcomes:
            lines.append(f'    <testcase classname={quoteattr(check.name)} name="budget">'
                         f'<skipped message={quoteattr(" ".join(check.notes))}/></testcase>')
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines)


RENDERERS = {"text": to_text, "json": to_json, "markdown": to_markdown, "github": to_github, "junit": to_junit}
