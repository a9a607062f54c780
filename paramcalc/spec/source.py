"""Spec text -> plain Python values that remember where they stood in the file.

PyYAML parses the text (with libyaml when PyYAML was built with it) and its resolver types every plain
scalar as `yaml.safe_load` would (YAML 1.1). The parser's events are turned into values here rather than
constructed by PyYAML, so that mappings and lists keep the position of every key and item, and so that
paramcalc's own refusals come on top: tags, merge keys, duplicate keys (PyYAML would silently keep the
last one: a typo that changes a model), octal and sexagesimal numbers (a leading zero is a classic typo),
and documents whose aliases expand past a bound. Numbers with a fraction are read exactly, as fractions.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Any

import yaml

from ..errors import ExprError, Pos, SpecError
from ..limits import MAX_FILE_BYTES, MAX_LITERAL_DIGITS, MAX_YAML_ALIASES, MAX_YAML_NESTING, MAX_YAML_NODES
from .literals import read_decimal, shorten

try:  # libyaml's parser and composer are several times faster and keep the same marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_BOOLEANS = yaml.constructor.SafeConstructor.bool_values


class YMap(dict):
    """A mapping that knows its own position and those of its keys and values."""

    __slots__ = ("pos", "_key_pos", "_value_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self._key_pos: dict[Any, Pos] = {}
        self._value_pos: dict[Any, Pos] = {}

    def key_where(self, key: Any) -> Pos:
        """Where a key is written (the mapping itself when it has no such key)."""
        return self._key_pos.get(key, self.pos)

    def where(self, key: Any) -> Pos:
        """Where a key's value is written."""
        return self._value_pos.get(key, self.pos)


class YList(list):
    """A list that knows its own position and those of its items."""

    __slots__ = ("pos", "_item_pos")

    def __init__(self, pos: Pos, items: list, positions: list[Pos]) -> None:
        super().__init__(items)
        self.pos = pos
        self._item_pos = positions

    def where(self, index: int) -> Pos:
        return self._item_pos[index] if 0 <= index < len(self._item_pos) else self.pos

    def positions(self) -> list[Pos]:
        return list(self._item_pos)


def key_pos(mapping: Any, key: str, fallback: Pos) -> Pos:
    """Where a key is written, when the mapping came from YAML (a dict given from Python has no lines)."""
    return mapping.key_where(key) if isinstance(mapping, YMap) else fallback


def value_pos(container: Any, key: Any, fallback: Pos) -> Pos:
    """Where the value under a key (or at an index) is written, when the container came from YAML."""
    if isinstance(container, YMap) and not isinstance(key, int) or \
            isinstance(container, YList) and isinstance(key, int):
        return container.where(key)
    return getattr(container, "pos", fallback)


def read_text(path: str) -> str:
    """A spec file's text, checked before it is read: a regular file (or '-', standard input) of at most
    MAX_FILE_BYTES, in UTF-8. A FIFO, a device or a directory is refused without opening it."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise SpecError("no such file", file=path, hint="check the path") from None
        except OSError as err:
            raise SpecError(f"cannot read the file: {err.strerror}", file=path) from None
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) \
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a file"
            raise SpecError(f"this is {what}, not a regular file", file=path,
                            hint="give the path of a spec file, or '-' to read one from standard input")
        if info.st_size > MAX_FILE_BYTES:
            raise _too_large(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise SpecError(f"cannot read the file: {err.strerror}", file=path) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"the file is not UTF-8 text (byte {err.start})", file=path) from None


def _too_large(file: str) -> SpecError:
    return SpecError(f"the file is larger than {MAX_FILE_BYTES:,} bytes", file=file,
                     hint="a spec describes a network with blocks and repeats; it never needs to be this long")


def load_yaml(text: str, file: str | None = None) -> Any:
    """Parse YAML text into YMap / YList / scalars. Raises SpecError on any problem."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as err:  # a lone surrogate ('\ud800'): not Unicode text
        raise SpecError(f"the text holds U+{ord(text[err.start]):04X}, a lone surrogate, which is not a character",
                        file=file, pos=_position(text, err.start),
                        hint="a spec is Unicode text; remove the character") from None
    if size > MAX_FILE_BYTES:
        raise _too_large(file or "<string>")
    try:
        return _Reader(text, file).document()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", file=file,
                        pos=Pos(mark.line + 1, mark.column + 1) if mark else None,
                        hint="check the indentation and that every '{', '[' and quote is closed") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow: no mark, but a position
        character = f"U+{err.character:04X}" if isinstance(err.character, int) else repr(err.character)
        raise SpecError(f"character {character} is not allowed in YAML ({err.reason})", file=file,
                        pos=_position(text, err.position),
                        hint="is this a text file? control characters must be removed") from None
    except yaml.YAMLError as err:  # pragma: no cover - every error PyYAML raises is one of the above
        raise SpecError(f"YAML error: {err}", file=file) from None


def _position(text: str, offset: int) -> Pos:
    line = text.count("\n", 0, offset) + 1
    return Pos(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def _short_tag(tag: str) -> str:
    """'tag:yaml.org,2002:python/object' as a spec writes it: '!!python/object'."""
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _pos(event: yaml.Event) -> Pos:
    return Pos(event.start_mark.line + 1, event.start_mark.column + 1)


class _Reader:
    """Builds the values from PyYAML's parser events, as PyYAML's composer builds nodes, without keeping
    a node tree (several hundred bytes per value). An anchored value is shared by its aliases; every
    value counts towards MAX_YAML_NODES as many times as aliases repeat it, so a small file that stands
    for billions of values is refused as soon as its expansion passes the bound."""

    def __init__(self, text: str, file: str | None) -> None:
        self.loader = _Loader(text)
        self.file = file
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, its size in values)
        self.values = 0  # values read so far, aliases expanded
        self.aliases = 0

    def fail(self, event: yaml.Event, message: str, hint: str | None = None) -> SpecError:
        return SpecError(message, file=self.file, pos=_pos(event), hint=hint)

    def document(self) -> Any:
        loader = self.loader
        try:
            loader.get_event()  # the stream's start
            if loader.check_event(yaml.StreamEndEvent):
                raise SpecError("the file is empty", file=self.file, pos=Pos(1, 1),
                                hint="a spec needs at least 'name', 'input' and 'layers'")
            loader.get_event()  # the document's start
            value, _ = self.value(0)
            loader.get_event()  # the document's end
            if not loader.check_event(yaml.StreamEndEvent):
                raise self.fail(loader.peek_event(), "a second YAML document ('---') in the file",
                                hint="a spec file holds one document")
            return value
        finally:
            loader.dispose()

    def count(self, size: int, event: yaml.Event) -> None:
        self.values += size
        if self.values > MAX_YAML_NODES:
            raise self.fail(event, f"the document expands to more than {MAX_YAML_NODES:,} values"
                                   + (" through its YAML aliases" if self.aliases else ""),
                            hint="use a block with 'repeat' instead of copying with aliases" if self.aliases
                            else "a spec describes a network with blocks and repeats")

    def value(self, depth: int) -> tuple[Any, int]:
        """The next value and its size in values (1 for a scalar, aliases expanded)."""
        event = self.loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise self.fail(event, f"more than {MAX_YAML_ALIASES} YAML aliases",
                                hint="use a block with 'repeat' instead of copying with aliases")
            if event.anchor not in self.anchors:
                raise self.fail(event, f"YAML alias '*{event.anchor}' names no anchor above it",
                                hint=f"define it first with '&{event.anchor}', outside the value that uses it")
            value, size = self.anchors[event.anchor]
            self.count(size, event)
            return value, size
        if isinstance(event, yaml.ScalarEvent):
            value, size = self.scalar(event), 1
            self.count(1, event)
        else:
            if depth > MAX_YAML_NESTING:
                raise self.fail(event, f"mappings and lists nest more than {MAX_YAML_NESTING} deep",
                                hint="a spec needs a few levels; use blocks for structure")
            self.check_tag(event, "map" if isinstance(event, yaml.MappingStartEvent) else "seq")
            self.count(1, event)
            if isinstance(event, yaml.MappingStartEvent):
                value, size = self.mapping(event, depth)
            else:
                value, size = self.sequence(event, depth)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, size)
        return value, size

    def check_tag(self, event: yaml.Event, standard: str) -> None:
        if event.tag not in (None, "!", _TAG + standard):
            raise self.fail(event, f"YAML tag '{_short_tag(event.tag)}' is not allowed",
                            hint="a spec holds plain numbers, strings, lists and mappings only")

    def sequence(self, start: yaml.Event, depth: int) -> tuple[YList, int]:
        items, positions, size = [], [], 1
        while not self.loader.check_event(yaml.SequenceEndEvent):
            positions.append(_pos(self.loader.peek_event()))
            item, item_size = self.value(depth + 1)
            items.append(item)
            size += item_size
        self.loader.get_event()
        return YList(_pos(start), items, positions), size

    def mapping(self, start: yaml.Event, depth: int) -> tuple[YMap, int]:
        result, size = YMap(_pos(start)), 1
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_event = self.loader.peek_event()
            if isinstance(key_event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                found = "a list" if isinstance(key_event, yaml.SequenceStartEvent) else "a mapping"
                raise self.fail(key_event, f"a mapping key must be a plain name, not {found}",
                                hint="write 'name: value'; a '?' or '[' / '{' before the colon makes a complex key")
            if isinstance(key_event, yaml.ScalarEvent) and self.tag_of(key_event) == _TAG + "merge":
                raise self.fail(key_event, "YAML merge keys ('<<') are not supported",
                                hint="define a block under 'blocks:' and use it with arguments")
            key, key_size = self.value(depth + 1)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = getattr(key_event, "value", str(key))  # 'null:', 'on:', '1.5:' are names as written
            if key in result:
                raise self.fail(key_event, f"duplicate key '{key}' (first given on line {result.key_where(key).line})",
                                hint="YAML would silently keep only the last value; remove one of them")
            result._key_pos[key] = _pos(key_event)
            result._value_pos[key] = _pos(self.loader.peek_event())
            result[key], value_size = self.value(depth + 1)
            size += key_size + value_size
        self.loader.get_event()
        return result, size

    def tag_of(self, event: yaml.ScalarEvent) -> str:
        if event.tag is None or event.tag == "!":
            return self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return event.tag

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag, text = self.tag_of(event), event.value
        kind = tag[len(_TAG):] if tag.startswith(_TAG) else ""
        if kind not in ("str", "int", "float", "bool", "null", "timestamp"):
            raise self.fail(event, f"YAML tag '{_short_tag(tag)}' is not allowed",
                            hint="a spec holds plain numbers, strings, lists and mappings only")
        if kind == "null":
            return None
        if kind == "bool":
            value = _BOOLEANS.get(text.lower())
            if value is None:
                raise self.fail(event, f"'{shorten(text)}' is not true or false", hint="write true or false")
            return value
        if kind == "int":
            return self.integer(event)
        if kind == "float":
            return self.real(event)
        return text  # a string, or a date-like plain scalar kept as text

    def integer(self, event: yaml.ScalarEvent) -> int:
        """YAML 1.1's integers: decimal, 0b binary and 0x hexadecimal, underscores allowed. A leading zero
        (YAML 1.1's octal: 010 is 8) and base 60 (1:30 is 90) are refused: nobody means them in a spec."""
        text = event.value.replace("_", "")
        body = text.lstrip("+-")
        if ":" in body:
            raise self.fail(event, f"'{shorten(event.value)}' is a base-60 number in YAML 1.1, which paramcalc "
                                   "refuses", hint="quote it if it is text, or write the number in decimal")
        if len(body) > MAX_LITERAL_DIGITS:  # counted first: Python makes no int of more than 4,300 digits
            raise self.fail(event, f"a number with more than {MAX_LITERAL_DIGITS} digits",
                            hint="no size in a network needs that many digits")
        if len(body) > 1 and body[0] == "0" and body.isascii() and body.isdigit():
            octal = f" ({int(text, 8)})" if not set(body) & {"8", "9"} else ""
            sign = text[:len(text) - len(body)]
            raise self.fail(event, f"'{shorten(event.value)}' has a leading zero, which makes it octal in YAML "
                                   f"1.1{octal}", hint=f"write {sign}{body.lstrip('0') or '0'} if you mean decimal")
        try:
            return int(text, 0) if body[:2].lower() in ("0b", "0x") else int(text)
        except ValueError:
            raise self.fail(event, f"'{shorten(event.value)}' is not a number") from None

    def real(self, event: yaml.ScalarEvent) -> Any:
        """A YAML float, read exactly from its text (0.1 is 1/10, not the nearest binary fraction)."""
        text = event.value
        if text.lstrip("+-").lower() in (".inf", ".nan"):
            raise self.fail(event, f"'{text}' is not a finite number", hint="write a number such as 0.5 or 1e-5")
        if ":" in text:
            raise self.fail(event, f"'{shorten(text)}' is a base-60 number in YAML 1.1, which paramcalc refuses",
                            hint="quote it if it is text, or write the number in decimal")
        try:
            return read_decimal(text.replace("_", ""))
        except ExprError as err:
            raise self.fail(event, err.message, err.hint) from None
