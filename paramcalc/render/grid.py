"""Tables laid out by paramcalc's columns and drawn by rich, fitted to the width they are printed at.

A rich Table measures every cell again for each row (resnet152's 573 rows took 0.46 s); laying the
columns out here and handing rich the styled pieces takes a twentieth of that. rich does the rest: colours or none
(NO_COLOR, FORCE_COLOR, a pipe, TERM=dumb), and the SVG, HTML and text exports.

Fitting a table into a width: first the columns that can go are dropped, in the order of their `drop`
(the bar, then the receptive field, then the percentages), then the columns that can be narrowed (names,
kinds) are cut with an ellipsis, first down to their `max_width`, then down to their `min_width`; a column
that wraps (notes, like titles and captions) goes on over the next lines instead. A table that fits is never
cut. Widths are terminal cells (a CJK character takes two), not characters.
"""

from __future__ import annotations

import re
from collections import namedtuple
from typing import Any, Iterable, Union

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.segment import Segment, Segments
from rich.style import Style

Cell = Union[str, tuple[str, str]]  # text, or (text, style)
Line = list[tuple[str, str]]
GAP = "  "
_WORD = re.compile(r"\s*\S+")  # a word and the spaces before it


class Column(namedtuple("Column", "header right max_width drop min_width wrap",
                        defaults=(False, None, 0, None, False))):
    """header; right: numbers are right-aligned; drop: when the table does not fit, columns with a higher
    number are dropped first, and columns with the same number together (0: never); max_width: when it still
    does not fit, longer cells are cut to this first; min_width: then, if need be, as far as this (None: not
    cut); wrap: a cut cell goes on over the next lines instead of ending with '…'."""

    __slots__ = ()


class Grid:
    def __init__(self, columns: list[Column], title: str = "", caption: str = "", header: bool = True) -> None:
        self.columns = columns
        self.title, self.caption, self.header = title, caption, header
        self.rows: list[list[Cell]] = []

    def add(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def natural_widths(self) -> list[int]:
        widths = [cells(column.header) if self.header else 0 for column in self.columns]
        for row in self.rows:
            for index, cell in enumerate(row):
                text = cell if isinstance(cell, str) else cell[0]
                size = len(text) if text.isascii() else cell_len(text)  # cells(), inline: it is run for every cell
                if size > widths[index]:
                    widths[index] = size
        return widths

    def fitted(self, width: int | None) -> tuple[list[int], list[int]]:
        """(the columns shown, their widths) at a width (None: any)."""
        widths = self.natural_widths()
        shown = list(range(len(self.columns)))

        def total() -> int:
            return sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)

        if width is None:
            return shown, widths
        for level in sorted({column.drop for column in self.columns if column.drop}, reverse=True):
            if total() <= width:
                break
            shown = [i for i in shown if self.columns[i].drop != level]
        for limits in ([c.max_width for c in self.columns], [c.min_width for c in self.columns]):
            for index in shown:
                excess, limit = total() - width, limits[index]
                if excess > 0 and limit is not None and widths[index] > limit:
                    widths[index] = max(limit, widths[index] - excess)
        return shown, widths

    def lines(self, width: int | None = None) -> list[Line]:
        """Each line as (text, style) pieces; the plain text is their concatenation."""
        shown, widths = self.fitted(width)
        total = sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)
        lines: list[Line] = [[(text, "bold")] for text in wrapped(self.title, width)] if self.title else []
        if self.header:
            self._add_row(lines, [(column.header, "bold") for column in self.columns], shown, widths)
            lines.append([("─" * total, "")])
        for row in self.rows:
            self._add_row(lines, row, shown, widths)
        if self.caption:
            lines.extend([(text, "dim")] for text in wrapped(self.caption, width))
        return lines

    def _add_row(self, lines: list[Line], row: list[Cell], shown: list[int], widths: list[int]) -> None:
        """Add a row's line to lines, and the lines its wrapped cells go on over."""
        pieces: Line = []
        further: dict[int, tuple[list[str], str]] = {}  # a wrapped cell's next lines and style, by column
        for place, index in enumerate(shown):
            cell, column, width = row[index], self.columns[index], widths[index]
            text, style = (cell, "") if isinstance(cell, str) else cell
            size = len(text) if text.isascii() else cell_len(text)  # cells(), inline
            if size > width:
                if column.wrap:
                    text, *next_lines = wrapped(text, width)
                    further[index] = next_lines, style
                    size = cells(text)
                else:
                    text = set_cell_size(text, width - 1) + "…" if width > 0 else ""
                    size = width
            length = width - size + len(text)  # the characters that take the width's cells
            padded = text.rjust(length) if column.right else text.ljust(length)
            pieces.append(((GAP if place else "") + padded, style))
        lines.append(pieces)
        if not further:
            return
        for number in range(max(len(next_lines) for next_lines, _ in further.values())):
            more: list[Cell] = [""] * len(self.columns)
            for index, (next_lines, style) in further.items():
                more[index] = (next_lines[number] if number < len(next_lines) else "", style)
            self._add_row(lines, more, shown, widths)


def cells(text: str) -> int:
    """How many terminal cells text takes (len() but for wide characters)."""
    return len(text) if text.isascii() else cell_len(text)


def wrapped(text: str, width: int | None) -> list[str]:
    """text in lines of at most width cells, broken between words (a word longer than a line, inside it)."""
    if width is None or cells(text) <= width:
        return [text]
    width = max(width, 1)
    lines, line = [], ""
    for word in _WORD.findall(text):
        if line and cells(line + word) > width:
            lines.append(line)
            line, word = "", word.lstrip()
        line += word
        if cells(line) > width:
            *full, line = chop_cells(line, width)
            lines.extend(full)
    return lines + [line]


def block_lines(blocks: Iterable[Any], width: int | None = None) -> list[Line]:
    """The lines of several grids, a blank line for each None between them."""
    lines: list[Line] = []
    for block in blocks:
        lines.extend([[("", "")]] if block is None else block.lines(width))
    return lines


def plain(lines: list[Line]) -> str:
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)


def segments(lines: list[Line]) -> Segments:
    """The lines as rich segments, each piece in its style, trailing spaces dropped. Handing rich segments
    (not a Text, which it would measure and split again) costs a third of the time."""
    styles: dict[str, Style | None] = {"": None}
    result = []
    for line in lines:
        last = len(line) - 1
        for index, (piece, style) in enumerate(line):
            if style not in styles:
                styles[style] = Style.parse(style)
            result.append(Segment(piece.rstrip() if index == last else piece, styles[style]))
        result.append(Segment.line())
    return Segments(result)
