"""The one error type a user ever sees: a mistake in a spec, located in its file."""

from __future__ import annotations

from collections import namedtuple
from typing import Iterable


class Pos(namedtuple("Pos", "line column")):
    """A place in a spec file; line and column count from 1, as editors do."""

    __slots__ = ()


class Problem(ValueError):
    """Something wrong with one value, found where its place in the file is not known: the caller that
    knows the place turns it into a SpecError. `hint` says what would be right."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ExprError(Problem):
    """An expression or a number cannot be read or evaluated."""


class LayerError(Problem):
    """A layer cannot take the input it was given; `field` names the spec field to point at."""

    def __init__(self, message: str, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message, hint)
        self.field = field


class SpecError(Exception):
    """A spec is wrong. The message names the place, the layer, what is wrong and what would be right."""

    def __init__(
        self,
        message: str,
        *,
        pos: Pos | None = None,
        layer: str | None = None,
        hint: str | None = None,
        file: str | None = None,
        block: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.block = block
        self.pos = pos
        self.layer = layer
        self.hint = hint
        self.file = file

    def located(self, *, file: str | None = None, pos: Pos | None = None, layer: str | None = None) -> "SpecError":
        """Fill in whatever location the raiser did not know; what it knew wins."""
        if self.file is None and file is not None:
            self.file = file
        if self.pos is None and pos is not None:
            self.pos = pos
        if self.layer is None and layer is not None:
            self.layer = layer
        return self

    def __str__(self) -> str:
        # every part may quote a spec or a command line: escaped here, so that no message moves a terminal; a
        # message written on several lines keeps its line breaks (one that quotes a spec's text escapes the
        # line breaks of that text itself, with printable)
        message = _printable_lines(self.message)
        what = f"layer '{printable(self.layer)}': {message}" if self.layer else message
        if self.block:
            what = f"block '{printable(self.block)}', {what}"
        text = what
        if self.file is not None or self.pos is not None:
            where = printable(self.file or "<spec>")
            if self.pos is not None:
                where += f":{self.pos.line}:{self.pos.column}"
            text = f"{where}: {what}"
        if self.hint:
            text += f"\n  hint: {_printable_lines(self.hint)}"
        return text


def printable(text: str) -> str:
    """Text from a spec, a file name or a command line as a message shows it: each character that is not
    printable (a control character such as the terminal's escape, a right-to-left override, a line break, a
    lone surrogate from an undecodable file name) as its Python escape, \\x1b, \\u202e, \\n; the rest as it is."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def _printable_lines(text: str) -> str:
    return "\n".join(map(printable, text.split("\n")))


def check_plain_text(what: str, text: object, allowed: str = "") -> None:
    """Text that paramcalc prints (a spec's name, a description, a device's source) holds no character that a
    terminal acts on or that hides what follows: no escape sequence, no carriage return, no right-to-left
    override; `allowed` lists the exceptions (a description's line breaks). A Problem says which otherwise."""
    if not isinstance(text, str) or text.isprintable():
        return
    character = next((c for c in text if not c.isprintable() and c not in allowed), None)
    if character is not None:
        raise Problem(f"{what} holds the unprintable character U+{ord(character):04X} ('{printable(character)}')",
                      hint="write plain text: it is printed, and this character would act on the terminal or the "
                           "report that shows it")


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the nearest valid spelling, or None when nothing is near."""
    import difflib  # only when there is a typo to explain

    close = difflib.get_close_matches(word, sorted(choices), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(choices))
