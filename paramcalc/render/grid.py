"""Tables laid out by paramcalc's columns and drawn by rich, fitted to the width they are printed at.

A rich Table measures every cell again for each row (resnet152's 573 rows took 0.46 s); laying the
columns out here and handing rich the styled pieces takes a twentieth of that. rich does the rest: colours or none
(NO_COLOR, FORCE_COLOR, a pipe, TERM=dumb), and the SVG, HTML and text exports.

Fitting a table into a width: first the columns that can go are dropped, in the order of their `drop`
(the bar, then the receptive field, then the percentages), then the columns that can be narrowed (names,
kinds) are cut with an ellipsis, down to their `min_width`. A table that fits is never cut.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterable, Union

from rich.segment import Segment, Segments
from rich.style import Style

Cell = Union[str, tuple[str, str]]  # text, or (text, style)
GAP = "  "


class Column(namedtuple("Column", "header right max_width drop min_width", defaults=(False, None, 0, None))):
    """header; right: numbers are right-aligned; max_width: longer cells end with '…'; drop: columns with a
    higher number are dropped first when the table does not fit (0: never); min_width: how far a cell may
    be narrowed when the table does not fit (None: never)."""

    __slots__ = ()


class Grid:
    def __init__(self, columns: list[Column], title: str = "", caption: str = "", header: bool = True) -> None:
        self.columns = columns
        self.title, self.caption, self.header = title, caption, header
        self.rows: list[list[Cell]] = []

    def add(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def natural_widths(self) -> list[int]:
        widths = [len(column.header) if self.header else 0 for column in self.columns]
        for row in self.rows:
            for index, cell in enumerate(row):
                size = len(cell if isinstance(cell, str) else cell[0])
                if size > widths[index]:
                    widths[index] = size
        return [min(width, column.max_width or width) for width, column in zip(widths, self.columns)]

    def fitted(self, width: int | None) -> tuple[list[int], list[int]]:
        """(the columns shown, their widths) at a width (None: any)."""
        widths = self.natural_widths()
        shown = list(range(len(self.columns)))

        def total() -> int:
            return sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)

        if width is None:
            return shown, widths
        for column in sorted((i for i, c in enumerate(self.columns) if c.drop), key=lambda i: -self.columns[i].drop):
            if total() <= width:
                break
            shown.remove(column)
        for index in shown:
            minimum = self.columns[index].min_width
            if total() > width and minimum is not None and widths[index] > minimum:
                widths[index] = max(minimum, widths[index] - (total() - width))
        return shown, widths

    def lines(self, width: int | None = None) -> list[list[tuple[str, str]]]:
        """Each line as (text, style) pieces; the plain text is their concatenation."""
        shown, widths = self.fitted(width)
        total = sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)
        lines: list[list[tuple[str, str]]] = []
        if self.title:
            lines.append([(_cut(self.title, width), "bold")])
        if self.header:
            lines.append(self._row([(column.header, "bold") for column in self.columns], shown, widths))
            lines.append([("─" * total, "")])
        lines.extend(self._row(row, shown, widths) for row in self.rows)
        if self.caption:
            lines.append([(_cut(self.caption, width), "dim")])
        return lines

    def _row(self, cells: list[Cell], shown: list[int], widths: list[int]) -> list[tuple[str, str]]:
        pieces = []
        for place, index in enumerate(shown):
            cell, column, width = cells[index], self.columns[index], widths[index]
            text, style = (cell, "") if isinstance(cell, str) else cell
            text = _cut(text, width)
            padded = text.rjust(width) if column.right else text.ljust(width)
            pieces.append(((GAP if place else "") + padded, style))
        return pieces


def _cut(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[:max(width - 1, 0)] + "…"


def block_lines(blocks: Iterable[Any], width: int | None = None) -> list[list[tuple[str, str]]]:
    """The lines of several grids, a blank line for each None between them."""
    lines: list[list[tuple[str, str]]] = []
    for block in blocks:
        lines.extend([[("", "")]] if block is None else block.lines(width))
    return lines


def plain(lines: list[list[tuple[str, str]]]) -> str:
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)


def segments(lines: list[list[tuple[str, str]]]) -> Segments:
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
