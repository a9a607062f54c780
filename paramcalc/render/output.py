"""Tables out: to the terminal through a rich Console, and to SVG, HTML or text files through rich's exporters.

rich decides on colours (a terminal, NO_COLOR, FORCE_COLOR, TERM=dumb) and the width. A table printed to
a terminal, or wherever COLUMNS is set, is fitted to that width; one printed to a pipe or a file is
printed whole.
"""

from __future__ import annotations

import io
import os
from typing import Any

from rich.console import Console

from .grid import block_lines, cells, plain, segments

EXPORT_FORMATS = (".svg", ".html", ".txt")


def print_blocks(blocks: list[Any], console: Console | None = None) -> None:
    """Print grids (and a blank line for each None) fitted to the console's width."""
    console = console or Console()
    width = console.width if console.is_terminal or os.environ.get("COLUMNS") else None
    console.print(segments(block_lines(blocks, width)), soft_wrap=True, end="")


def recording_console(width: int) -> Console:
    """A console that records what it prints, in colour, whatever the environment (for exports and Jupyter)."""
    return Console(file=io.StringIO(), record=True, width=width, force_terminal=True, force_jupyter=False,
                   color_system="truecolor")


def export(blocks: list[Any], path: str, title: str) -> None:
    """Write what the terminal shows with rich's exporters: an SVG picture, an HTML page or plain text."""
    lines = block_lines(blocks)
    width = max((sum(cells(piece) for piece, _ in line) for line in lines), default=80)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".txt":
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(plain(lines) + "\n")
        return
    console = recording_console(width + 1)
    console.print(segments(lines), soft_wrap=True, end="")
    if extension == ".svg":
        console.save_svg(path, title=title)
    else:
        console.save_html(path)


def html(blocks: list[Any]) -> str:
    """The grids as an HTML fragment (what Jupyter shows)."""
    console = recording_console(200)
    console.print(segments(block_lines(blocks)), soft_wrap=True, end="")
    return console.export_html(inline_styles=True, code_format="<pre style=\"font-family: monospace\">{code}</pre>")
