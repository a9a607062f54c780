"""A small table layout: fixed columns, computed widths, one line per row.

The same grid prints as plain text (a pipe or a file: no colour) or with ANSI styles (a terminal);
rich is imported only to export a picture. Laying the table out ourselves costs a few microseconds a
row, where a rich Table measures every cell again. (No dataclasses or typing here: on the path of
every `paramcalc show` their imports would cost more than the table.)
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import IO, Any, Iterable, Union

    Cell = Union[str, tuple[str, str]]  # text, or (text, style)

GAP = "  "


class Column(namedtuple("Column", "header right max_width", defaults=(False, None))):
    """header; right: numbers are right-aligned; max_width: longer cells end with '…'."""

    __slots__ = ()


class Grid:
    def __init__(self, columns: list[Column], title: str = "", caption: str = "", header: bool = True) -> None:
        self.columns = columns
        self.title, self.caption, self.header = title, caption, header
        self.rows: list[list[Cell]] = []

    def add(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def widths(self) -> list[int]:
        widths = [len(column.header) if self.header else 0 for column in self.columns]
        for row in self.rows:
            for index, cell in enumerate(row):
                size = len(cell if isinstance(cell, str) else cell[0])
                if size > widths[index]:
                    widths[index] = size
        return [min(width, column.max_width or width) for width, column in zip(widths, self.columns)]

    def lines(self) -> list[list[tuple[str, str]]]:
        """Each line as (text, style) pieces; the plain text is their concatenation."""
        widths = self.widths()
        total = sum(widths) + len(GAP) * (len(widths) - 1)
        lines: list[list[tuple[str, str]]] = []
        if self.title:
            lines.append([(self.title, "bold")])
        if self.header:
            lines.append(self._row([(column.header, "bold") for column in self.columns], widths))
            lines.append([("─" * total, "")])
        lines.extend(self._row(row, widths) for row in self.rows)
        if self.caption:
            lines.append([(self.caption, "dim")])
        return lines

    def _row(self, cells: Iterable[Cell], widths: list[int]) -> list[tuple[str, str]]:
        pieces = []
        for index, (cell, width, column) in enumerate(zip(cells, widths, self.columns)):
            text, style = (cell, "") if isinstance(cell, str) else cell
            if len(text) > width:
                text = text[:width - 1] + "…"
            padded = text.rjust(width) if column.right else text.ljust(width)
            pieces.append(((GAP if index else "") + padded, style))
        return pieces


def plain(lines: list[list[tuple[str, str]]]) -> str:
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)


def _lines(blocks: list[Any]) -> list[list[tuple[str, str]]]:
    lines: list[list[tuple[str, str]]] = []
    for block in blocks:
        lines.extend([[("", "")]] if block is None else block.lines())
    return lines


def styled_text(lines: list[list[tuple[str, str]]]) -> Any:
    from rich.text import Text

    text = Text(no_wrap=True, overflow="ignore")
    for number, line in enumerate(lines):
        if number:
            text.append("\n")
        for piece, style in line:
            text.append(piece, style=style or None)
    text.rstrip()
    return text


_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35",
        "cyan": "36"}
_COLOURS = {"red", "green", "yellow", "blue", "magenta", "cyan"}


def ansi(lines: list[list[tuple[str, str]]], colour: bool = True) -> str:
    """The lines with their styles as ANSI escape codes, the ones rich writes for the same styles
    (without colours under NO_COLOR, as rich does: bold and dim stay)."""
    out = []
    for line in lines:
        pieces = []
        last = len(line) - 1
        for number, (piece, style) in enumerate(line):
            if number == last:
                piece = piece.rstrip()
            codes = ";".join(_SGR[word] for word in style.split() if colour or word not in _COLOURS)
            pieces.append(f"\x1b[{codes}m{piece}\x1b[0m" if codes and piece else piece)
        out.append("".join(pieces))
    return "\n".join(out).rstrip()


def emit(blocks: list[Any], file: IO[str], styled: bool) -> None:
    """Print grids (and blank lines, as None) plainly, or styled with ANSI codes on a terminal."""
    import os

    lines = _lines(blocks)
    if not styled or os.environ.get("TERM") == "dumb":
        file.write(plain(lines) + "\n")
        return
    file.write(ansi(lines, colour=not os.environ.get("NO_COLOR")) + "\n")


EXPORT_FORMATS = (".svg", ".html", ".txt")


def export(blocks: list[Any], path: str, title: str) -> None:
    """Write what the terminal shows with rich's exporters: an SVG picture, an HTML page or plain text."""
    import io
    import os

    from rich.console import Console

    lines = _lines(blocks)
    width = max((sum(len(piece) for piece, _ in line) for line in lines), default=80)
    console = Console(file=io.StringIO(), record=True, width=width + 1, force_terminal=True, force_jupyter=False,
                      color_system="truecolor")
    console.print(styled_text(lines), soft_wrap=True)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".svg":
        console.save_svg(path, title=title)
    elif extension == ".html":
        console.save_html(path)
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(plain(lines) + "\n")
