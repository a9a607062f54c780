"""Renderers: analysis results -> tables for people (through rich), JSON, CSV and Markdown for programs.

Importing this package tells the engine's results how to show themselves (paramcalc.engine.records.DISPLAYS):
in a rich console and in Jupyter as the table of `paramcalc show`, and as the JSON report's data.
"""

from __future__ import annotations

from typing import Any

from ..engine.records import DISPLAYS, Analysis


def _blocks(result: Analysis) -> list[Any]:
    from .table import show_blocks

    return show_blocks(result, list(result.records), "macs", False)


def _rich(result: Analysis) -> Any:
    from .grid import block_lines, segments

    return segments(block_lines(_blocks(result)))


def _html(result: Analysis) -> str:
    from .output import html

    return html(_blocks(result))


def _data(result: Analysis) -> dict[str, Any]:
    from .report import report_data

    return report_data(result)


DISPLAYS.update(rich=_rich, html=_html, data=_data)
