"""Budget check results as text, JSON, Markdown, GitHub workflow annotations or JUnit XML.

A spec that could not be checked (a mistake in it) is reported in every format, beside the others: an
ERROR block in text, an entry with its error in JSON, a row in Markdown, an annotation on its line for
GitHub, an errored test case in JUnit.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

from ..engine.checking import ModelCheck, Outcome
from ..engine.records import CHECK_SCHEMA
from ..errors import printable
from ..spec.budget import FIGURES
from . import units


def amount(figure: str, value: int, exact: bool = True) -> str:
    """25,557,032 (25.56 M) for counts, 110,000,000 B (110.00 MB) for bytes: a byte size always has its unit."""
    if FIGURES[figure].unit == "bytes":
        human = units.size_in_bytes(value)
        return human if exact is False or value < 1000 else f"{value:,} B ({human})"
    human = units.count(value)
    return human if exact is False or value < 1000 else f"{value:,} ({human})"


def limit_text(figure: str, value: int) -> str:
    """A limit or a difference as given: 200,000 for a count, 110,000,000 B (110.00 MB) for bytes."""
    return amount(figure, value) if FIGURES[figure].unit == "bytes" else f"{value:,}"


def percent(part: int, whole: int) -> str:
    """'+12.00%'; a change too small for two decimals keeps two significant digits ('+0.000065%'), so that
    a change never reads as +0.00%."""
    if not whole:
        return "new"
    value = 100 * part / whole
    if value == 0 or abs(value) >= 0.01:
        return f"{value:+.2f}%"
    decimals = -math.floor(math.log10(abs(value))) + 1
    return f"{value:+.{decimals}f}%"


def describe(outcome: Outcome) -> str:
    """One sentence about one outcome, for people."""
    limit = outcome.limit
    figure, value = outcome.figure, outcome.value
    if limit.baseline is not None:
        growth = value - limit.baseline
        verdict = "more than allowed" if not outcome.ok else "within"
        unit = " B" if FIGURES[figure].unit == "bytes" else ""
        return (f"{outcome.label} {amount(figure, value)}: {growth:+,}{unit} ({percent(growth, limit.baseline)}) "
                f"against {limit.source.split(' +')[0]}, {verdict} (limit {limit_text(figure, limit.value)})")
    if outcome.ok:
        return f"{outcome.label} {amount(figure, value)} is within {limit_text(figure, limit.value)} ({limit.source})"
    return (f"{outcome.label} {amount(figure, value)} is over the budget {limit_text(figure, limit.value)} "
            f"by {limit_text(figure, outcome.over_by)} ({percent(outcome.over_by, limit.value)}); "
            f"budget from {limit.source}")


def summary(checks: list[ModelCheck]) -> str:
    over = sum(not check.ok and check.error is None for check in checks)
    errors = sum(check.error is not None for check in checks)
    parts = [f"{over} over budget" if over else "all within budget" if not errors else ""]
    if errors:
        parts.append(f"{errors} could not be checked")
    return f"{len(checks)} model{'s' * (len(checks) != 1)} checked, " + ", ".join(p for p in parts if p)


def text_lines(checks: list[ModelCheck]) -> list[tuple[str, bool | None]]:
    """The text report, line by line, each with whether it is good news (None: neither)."""
    lines: list[tuple[str, bool | None]] = []
    for check in checks:
        if check.error is not None:
            lines.append((f"ERROR {check.name} ({check.file})", False))
            lines.extend((f"     {line}", False) for line in str(check.error).splitlines())
            continue
        mark = "ok  " if check.ok else "OVER"
        lines.append((f"{mark} {check.name} ({check.file})", check.ok))
        lines.extend((f"     {'✓' if outcome.ok else '✗'} {describe(outcome)}", outcome.ok)
                     for outcome in check.outcomes)
        lines.extend((f"     note: {note}", None) for note in check.notes)
    lines.append((summary(checks), None))
    # a file name (in a name, a budget's source, a message) may hold what a terminal would act on
    return [(printable(line), good) for line, good in lines]


def to_text(checks: list[ModelCheck]) -> str:
    return "\n".join(line for line, _ in text_lines(checks))


def error_data(check: ModelCheck) -> dict[str, Any] | None:
    error = check.error
    if error is None:
        return None
    return {"message": error.message, "hint": error.hint, "layer": error.layer, "file": error.file or check.file,
            "line": error.pos.line if error.pos else None, "column": error.pos.column if error.pos else None}


def check_data(checks: list[ModelCheck]) -> dict:
    return {
        "schema": CHECK_SCHEMA,
        "ok": all(check.ok for check in checks),
        "models": [{
            "spec": check.file,
            "name": check.name,
            "ok": check.ok,
            "error": error_data(check),
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(checks: list[ModelCheck]) -> str:
    lines = [f"### paramcalc budgets: {summary(checks).split(', ', 1)[1]}", "",
             "| model | figure | value | limit | | declared in |", "|---|---|---:|---:|---|---|"]
    for check in checks:
        if check.error is not None:
            lines.append(f"| `{check.name}` | | | | ⛔ error | {_cell(str(check.error))} |")
            continue
        for o in check.outcomes:
            status = "✅" if o.ok else f"❌ +{o.over_by:,}"
            lines.append(f"| `{check.name}` | {o.label} | {o.value:,} | {o.limit.value:,} | {status} | "
                         f"`{o.limit.source}` |")
        for note in check.notes:
            lines.append(f"| `{check.name}` | | | | | {_cell(note)} |")
    return "\n".join(map(printable, lines))


def _annotation_text(text: str) -> str:
    """GitHub's workflow-command escaping for a message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _annotation_property(text: str) -> str:
    return _annotation_text(text).replace(":", "%3A").replace(",", "%2C")


def to_github(checks: list[ModelCheck]) -> str:
    lines = []
    for check in checks:
        if check.error is not None:
            error = check.error
            where = f"file={_annotation_property(error.file or check.file)}"
            if error.pos:
                where += f",line={error.pos.line},col={error.pos.column}"
            lines.append(f"::error {where},title={_annotation_property('paramcalc spec error')}::"
                         + _annotation_text(str(error)))
            continue
        for o in check.outcomes:
            if o.ok:
                continue
            where = f"file={_annotation_property(o.limit.file or check.file)}"
            if o.limit.line:
                where += f",line={o.limit.line}"
            lines.append(f"::error {where},title={_annotation_property('paramcalc budget')}::"
                         + _annotation_text(f"{check.name}: {describe(o)}"))
    lines.append(f"paramcalc: {summary(checks)}")
    return "\n".join(map(printable, lines))


def to_junit(checks: list[ModelCheck]) -> str:
    """JUnit XML as Jenkins's junit-10.xsd describes it: one test suite per model, one test case per limit;
    an over-budget limit is a failure, a spec that could not be checked an errored case."""
    root = ElementTree.Element("testsuites", name="paramcalc")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for check in checks:
        suite = ElementTree.SubElement(root, "testsuite", name=check.name, file=check.file)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if check.error is not None:
            case = ElementTree.SubElement(suite, "testcase", classname=check.name, name="spec")
            ElementTree.SubElement(case, "error", message=check.error.message, type="spec").text = str(check.error)
            counts["tests"] = counts["errors"] = 1
        for o in check.outcomes:
            case = ElementTree.SubElement(suite, "testcase", classname=check.name,
                                          name=f"{o.figure} <= {o.limit.value} ({o.limit.source})")
            counts["tests"] += 1
            if not o.ok:
                ElementTree.SubElement(case, "failure", message=describe(o), type="budget").text = describe(o)
                counts["failures"] += 1
        if check.error is None and not check.outcomes:
            case = ElementTree.SubElement(suite, "testcase", classname=check.name, name="budget")
            ElementTree.SubElement(case, "skipped", message=" ".join(check.notes))
            counts["tests"] = counts["skipped"] = 1
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{check.seconds:.3f}")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(check.seconds for check in checks):.3f}")
    for element in root.iter():
        element.attrib = {key: _xml_text(value) for key, value in element.attrib.items()}
        if element.text is not None:
            element.text = _xml_text(element.text)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")


# What XML 1.0 cannot hold, even as a character reference: most control characters, surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text as JUnit XML can hold it: a character XML does not allow (from a file name or a spec) as its escape."""
    return _NOT_XML.sub(lambda match: printable(match.group()), text)


# The reports of `check`, by --format.
CHECK_RENDERERS = {"text": to_text, "json": to_json, "markdown": to_markdown, "github": to_github, "junit": to_junit}
