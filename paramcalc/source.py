"""YAML text -> plain Python values that remember where they stood in the file.

Two readers make the same values: paramcalc.plain_yaml reads the plain subset of YAML that specs are
written in, and anything else (or a mistake) goes to paramcalc.libyaml_reader, which composes PyYAML's
nodes and converts them. Mappings and lists carry the position of every key and item; duplicate keys are
an error, because PyYAML's habit of silently keeping the last one turns a typo into a different model.
PyYAML is imported only when the plain reader declines: importing it costs more than reading a spec.
"""

from __future__ import annotations

from .errors import Pos, SpecError
from .limits import MAX_FILE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any


def _is_int(text: str) -> bool:
    """[-+]?(0|[1-9][0-9_]*): YAML 1.1's decimal integers as PyYAML's safe loader reads them."""
    body = text[1:] if text[:1] in ("+", "-") else text
    return body == "0" or (body[:1] in ("1", "2", "3", "4", "5", "6", "7", "8", "9")
                           and not body.strip("0123456789_"))
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
         "yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
         "on": True, "On": True, "ON": True, "off": False, "Off": False, "OFF": False}


class YMap(dict):
    """A mapping that knows its own position and those of its keys and values.

    The positions are kept as one flat tuple of numbers (line, column of the mapping, then of each key and
    its value, in order) rather than as YAML nodes: a long file's node tree is several times the size of
    its values, and it is freed as soon as the values are read. A mapping written on one line may hold
    instead what works the tuple out when a message first needs it.
    """

    __slots__ = ("_marks",)
    _marks: Any  # set by whoever makes the mapping, once its keys are known

    @property
    def pos(self) -> Pos:
        marks = marks_of(self)
        return Pos(marks[0] + 1, marks[1] + 1)

    def _find(self, key: str, offset: int) -> Pos:
        marks = marks_of(self)
        for index, name in enumerate(self):
            if name == key:
                at = 2 + 4 * index + offset
                return Pos(marks[at] + 1, marks[at + 1] + 1)
        return self.pos

    def key_where(self, key: str) -> Pos:
        """Where a key is written (the mapping itself when it has no such key)."""
        return self._find(key, 0)

    def where(self, key: str) -> Pos:
        """Where a key's value is written."""
        return self._find(key, 2)


class YList(list):
    """A list that knows its own position and those of its items (line, column pairs in one tuple)."""

    __slots__ = ("_marks",)
    _marks: Any  # set by whoever makes the list

    @property
    def pos(self) -> Pos:
        marks = marks_of(self)
        return Pos(marks[0] + 1, marks[1] + 1)

    def where(self, index: int) -> Pos:
        marks = marks_of(self)
        at = 2 + 2 * index
        return Pos(marks[at] + 1, marks[at + 1] + 1) if at < len(marks) else self.pos

    def positions(self) -> list[Pos]:
        """Where each item is written, all at once (a long spec asks for every layer's)."""
        marks = marks_of(self)
        return [_new_pos(Pos, (marks[at] + 1, marks[at + 1] + 1)) for at in range(2, 2 + 2 * len(self), 2)]


_new_pos = tuple.__new__  # a Pos without the named tuple's own constructor


def marks_of(container: YMap | YList) -> tuple[int, ...]:
    """The container's positions. A collection read from one line of a long file holds (line, plan) instead,
    and they are worked out when first asked for."""
    marks = container._marks
    if type(marks[0]) is tuple:
        from .plain_yaml import line_marks

        marks = container._marks = line_marks(*marks)
    return marks


def key_pos(mapping: Any, key: str, fallback: Pos) -> Pos:
    """Where a key is written, when the mapping came from YAML (a dict given from Python has no lines)."""
    return mapping.key_where(key) if isinstance(mapping, YMap) else fallback


def value_pos(container: Any, key: Any, fallback: Pos) -> Pos:
    """Where the value under a key (or at an index) is written, when the container came from YAML."""
    if isinstance(container, YMap) and isinstance(key, str):
        return container.where(key)
    if isinstance(container, YList) and isinstance(key, int):
        return container.where(key)
    return getattr(container, "pos", fallback)


def load_yaml(text: str, file: str | None = None) -> Any:
    """Parse YAML text into YMap / YList / scalars. Raises SpecError on any problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise SpecError(f"the file is larger than {MAX_FILE_BYTES:,} bytes", file=file,
                        hint="a spec describes a network with blocks and repeats; it never needs to be this long")
    from .plain_yaml import read_plain  # here: both readers import this module

    value = read_plain(text)
    if value is None:  # outside the plain subset, or a mistake: PyYAML reads it and says what is wrong
        from .libyaml_reader import read_with_libyaml

        value = read_with_libyaml(text, file)
    return value


def _plain_value(text: str) -> Any:
    """A plain (unquoted) scalar, typed with YAML 1.1's implicit types as PyYAML's safe loader reads them;
    everything else, numbers like 1e6 and 0x40 included, stays text for the expression reader."""
    if text.isdigit() and text.isascii():  # most values: a decimal integer, unless it has a leading zero
        return int(text) if text[0] != "0" or len(text) == 1 else text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _is_int(text):
        return int(text.replace("_", ""))
    return text
