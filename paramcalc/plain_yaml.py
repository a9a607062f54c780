"""The plain YAML that specs are written in, read without building libyaml's node tree.

Specs use a small part of YAML: block mappings and lists, one-line flow collections (`{out: 64, kernel: 3}`,
`[3, 224, 224]`), plain and simply quoted scalars, comments. `read_plain` reads exactly that part into the
same values and positions as libyaml's composer followed by `libyaml_reader._Converter`, several times faster on
a long file. Anything else (anchors, aliases, tags, block or multi-line scalars, escapes, complex
keys, document markers, tabs, non-ASCII text, duplicate keys, and every kind of mistake) makes it decline
by returning None; the file is then read by libyaml, whose messages point at the problem. A property test
compares the two readers on generated documents and on mutated zoo specs.
"""

from __future__ import annotations

import re
from sys import intern

from .limits import MAX_YAML_NESTING
from .source import YList, YMap, _plain_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

# characters outside printable ASCII and the line feed: tabs, carriage returns, control and non-ASCII
_UNUSUAL = re.compile(r"[^\n\x20-\x7e]")
# a block mapping's key: a simple name, spaces, the colon (a value, if any, follows after a space)
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-]*) *:")
# one token of a flow collection: an indicator, a value colon, a quoted scalar, a plain scalar, or anything
# else (which declines); a plain scalar keeps its trailing spaces until it is stripped
_FLOW_TOKEN = re.compile(r' *(?:([\[\]{},])|(:)(?= )|("[^"\\]*"|\'[^\']*\')|([^ \[\]{},:#"\'][^\[\]{},:#"\']*)|(.))')
# a line's comment: '#' at its start or after a space, outside quotes (a quote left open stops the match)
_BEFORE_COMMENT = re.compile(r"""(?:[^"'#]|"[^"\\]*"|'[^']*'|(?<! )#)*""")
# characters that start something other than a plain scalar (YAML's indicators); '-' is allowed before
# a non-space character (-1)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# A flow collection's shape: its text with every letter, digit and the other characters that mean the same
# wherever they stand replaced by 'x'. Reading a line (tokens, structure, checks) depends on its shape
# only, so lines of one shape share one plan; the values (and duplicate keys) are read from each line.
_NEUTRAL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.()+/=<^~"
_SHAPE = bytes.maketrans(_NEUTRAL, b"x" * len(_NEUTRAL))
_MAX_PLANS = 4096  # shapes kept; the lines of further shapes are each read token by token


class _Decline(Exception):
    """The text is outside the plain subset: libyaml reads it."""


def read_plain(text: str) -> Any:
    """The YMap of a spec written in the plain subset of YAML, or None to let libyaml read it."""
    try:
        if _UNUSUAL.search(text):
            _check_comments_only(text)
        return _Reader(text).document()
    except (_Decline, RecursionError):
        return None


def _comment_start(content: str) -> int:
    """Where a line's comment starts (its length when it has none): at a '#' that starts the line or follows
    a space, outside quotes."""
    if "'" in content or '"' in content:
        end = _BEFORE_COMMENT.match(content).end()  # type: ignore[union-attr]
        if end < len(content) and content[end] != "#":
            raise _Decline  # a quote left open
        return end
    end = content.find(" #")
    return len(content) if end < 0 else end


def _check_comments_only(text: str) -> None:
    """Declines unless every character outside printable ASCII is a printable one in a comment (a '·' or a
    '×' explaining a size): YAML allows those there, and they move no position that a value has."""
    in_comment_until = 0  # the end of the last line found to have a comment before such a character
    for match in _UNUSUAL.finditer(text):
        if not match.group().isprintable() or match.group().isascii():
            raise _Decline  # a tab, a carriage return, a control character, a byte order mark
        if match.start() < in_comment_until:
            continue  # later on a line whose comment has started: each line is looked at once
        start = text.rfind("\n", 0, match.start()) + 1
        content = text[start:match.start()].lstrip(" ")
        if "#" not in content or (content[0] != "#" and _comment_start(content) == len(content)):
            raise _Decline
        end = text.find("\n", match.start())
        in_comment_until = len(text) if end < 0 else end


class _Reader:
    def __init__(self, text: str) -> None:
        # one entry per line with content: (line number from 0, indentation, text without the comment)
        lines: list[tuple[int, int, str]] = []
        for number, line in enumerate(text.split("\n")):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            indent = len(line) - len(content)
            if indent == 0 and content.startswith(("---", "...", "%")):
                raise _Decline
            if "#" in content:
                content = content[:_comment_start(content)]
            lines.append((number, indent, content.rstrip(" ")))
        self.lines = lines
        self.plans: dict[bytes, tuple] = {}  # a flow collection's shape -> how to read its values

    def document(self) -> Any:
        lines = self.lines
        if not lines:
            raise _Decline
        number, indent, content = lines[0]
        if _is_item(content):
            raise _Decline  # a spec is a mapping; the spec reader says so
        value, end = self.mapping(0, indent, 0)
        if end != len(lines):
            raise _Decline
        return value

    def block(self, at: int, depth: int) -> tuple[Any, int]:
        """The block mapping or list starting on entry `at`, and the entry after it."""
        _, indent, content = self.lines[at]
        if _is_item(content):
            return self.sequence(at, indent, depth)
        return self.mapping(at, indent, depth)

    def sequence(self, at: int, indent: int, depth: int) -> tuple[YList, int]:
        if depth >= MAX_YAML_NESTING:
            raise _Decline
        lines, count = self.lines, len(self.lines)
        items: list[Any] = []
        number = lines[at][0]
        marks = [number, indent]
        while at < count:
            number, line_indent, content = lines[at]
            if line_indent != indent or not _is_item(content):
                if line_indent > indent:
                    raise _Decline
                break
            rest = content[1:].lstrip(" ")
            column = indent + len(content) - len(rest)
            if not rest:  # '-' alone: the item is below it, or empty
                if at + 1 < count and lines[at + 1][1] > indent:
                    value, at = self.block(at + 1, depth + 1)
                    marks += (value._marks[0], value._marks[1])  # where the block below starts
                    items.append(value)
                    continue
                items.append(None)
                marks += (number, indent + 1)
                at += 1
                continue
            if rest[0] not in "[{\"'" and _KEY.match(rest):
                lines[at] = (number, column, rest)  # a mapping that starts on the item's line
                value, at = self.mapping(at, column, depth + 1)
            else:
                value = self.inline(rest, number, column, depth + 1)
                at += 1
            items.append(value)
            marks += (number, column)
        result = YList(items)
        result._marks = tuple(marks)
        return result, at

    def mapping(self, at: int, indent: int, depth: int) -> tuple[YMap, int]:
        if depth >= MAX_YAML_NESTING:
            raise _Decline
        lines, count = self.lines, len(self.lines)
        result = YMap()
        number = lines[at][0]
        marks = [number, indent]
        while at < count:
            number, line_indent, content = lines[at]
            if line_indent != indent:
                if line_indent > indent:
                    raise _Decline
                break
            match = _KEY.match(content)
            if match is None:
                raise _Decline  # a list item among keys, a complex or quoted key, or not a mapping at all
            key = match.group(1)
            if key in result or len(key) > 1000:
                raise _Decline
            colon_end = match.end()
            rest = content[colon_end:]
            at += 1
            if rest:
                if rest[0] != " ":
                    raise _Decline  # 'a:b' is one scalar
                value_text = rest.lstrip(" ")
                column = indent + len(content) - len(value_text)
                if at < count and lines[at][1] > indent:
                    raise _Decline  # a scalar continued on the next line
                marks += (number, indent, number, column)
                result[key] = self.inline(value_text, number, column, depth + 1)
                continue
            if at < count and (lines[at][1] > indent or (lines[at][1] == indent and _is_item(lines[at][2]))):
                value, at = self.block(at, depth + 1)
                marks += (number, indent, value._marks[0], value._marks[1])
            else:
                value = None  # an empty value stands where its colon ends
                marks += (number, indent, number, indent + colon_end)
            result[key] = value
        result._marks = tuple(marks)
        return result, at

    def inline(self, text: str, number: int, column: int, depth: int) -> Any:
        """A value written on one line after a key or a '- ': a flow collection or a scalar."""
        first = text[0]
        if first == "[" or first == "{":
            shape = text.encode().translate(_SHAPE)
            plan = self.plans.get(shape)
            if plan is None:
                plan = _Flow(text).plan(depth)
                if len(self.plans) < _MAX_PLANS:
                    self.plans[shape] = plan
            return _build(plan, text, (number, column))
        if first == '"' or first == "'":
            if len(text) < 2 or text[-1] != first or first in text[1:-1] or (first == '"' and "\\" in text):
                raise _Decline
            return text[1:-1]
        if not _plain_ok(text) or ": " in text or text[-1] == ":" or "#" in text:
            raise _Decline
        return _plain_value(text)


def _is_item(content: str) -> bool:
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


def _plain_ok(text: str) -> bool:
    """Whether a plain scalar starts as one: not with an indicator, except '-' before a non-space (-1)."""
    return text[0] not in _INDICATORS or (text[0] == "-" and len(text) > 1 and text[1] != " ")


# What a plan holds for a value: a scalar is (kind, start, end) in the line's text (an empty value stands
# where the next indicator is), a collection is (is a mapping, where it starts, entries). A mapping's entries
# are (key start, key end, value), a list's are its values. Positions count from the collection's line start.
_PLAIN, _QUOTED, _EMPTY = "plain", "quoted", "empty"
# the kinds of token, as numbered by _FLOW_TOKEN's groups
_INDICATOR, _COLON, _QUOTED_TOKEN, _PLAIN_TOKEN, _OTHER = 1, 2, 3, 4, 5


def _build(plan: tuple, text: str, line: tuple[int, int]) -> Any:
    """The values of one line of a plan's shape."""
    is_mapping, _, entries = plan
    result: Any = YMap() if is_mapping else YList()
    for entry in entries:
        kind, start, end = part = entry[2] if is_mapping else entry
        value: Any
        if kind is _PLAIN:
            value = _plain_value(text[start:end])
        elif kind is _QUOTED:
            value = text[start + 1:end - 1]
        elif kind is _EMPTY:
            value = None
        else:
            value = _build(part, text, line)
        if is_mapping:
            result[intern(text[entry[0]:entry[1]])] = value  # one string for the many uses of a key
        else:
            result.append(value)
    if is_mapping and len(result) != len(entries):
        raise _Decline  # a key given twice: libyaml's reader says where
    result._marks = (line, plan)  # worked out by line_marks when a message needs them
    return result


def line_marks(line: tuple[int, int], plan: tuple) -> tuple[int, ...]:
    """The positions of a collection read from one line (number, column where the collection starts) with
    a plan: they are worked out when a message first needs them."""
    number, column = line
    is_mapping, start, entries = plan
    marks = [number, column + start]
    for entry in entries:
        if is_mapping:
            marks += (number, column + entry[0])
            entry = entry[2]
        marks += (number, column + entry[1])  # where the value starts, for a scalar and a collection
    return tuple(marks)


class _Flow:
    """Makes the plan of one line's flow collection from its tokens: (kind, offset in the text, text)."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[int, int, str]] = []
        for match in _FLOW_TOKEN.finditer(text):
            group = match.lastindex or _OTHER  # every alternative is a group: one of them matched
            self.tokens.append((group, match.start(group), match.group(group)))

    def plan(self, depth: int) -> tuple:
        plan, end = self.collection(0, depth)
        if end != len(self.tokens):
            raise _Decline
        return plan

    def token(self, at: int) -> tuple[int, int, str]:
        return self.tokens[at] if at < len(self.tokens) else (_OTHER, 0, "")

    def value(self, at: int, depth: int) -> tuple[Any, int]:
        kind, offset, text = self.token(at)
        if kind == _PLAIN_TOKEN:
            text = text.rstrip(" ")
            if not _plain_ok(text):
                raise _Decline
            return (_PLAIN, offset, offset + len(text)), at + 1
        if kind == _QUOTED_TOKEN:
            return (_QUOTED, offset, offset + len(text)), at + 1
        return self.collection(at, depth)

    def collection(self, at: int, depth: int) -> tuple[tuple, int]:
        kind, start, text = self.token(at)
        if kind != _INDICATOR or text not in "[{" or depth >= MAX_YAML_NESTING:
            raise _Decline
        entries: list[Any] = []
        at += 1
        if text == "[":
            while True:
                kind, _, text = self.token(at)
                if kind == _INDICATOR and text == "]":
                    return (False, start, tuple(entries)), at + 1
                item, at = self.value(at, depth + 1)
                entries.append(item)
                kind, _, text = self.token(at)
                if kind != _INDICATOR or text not in ",]":
                    raise _Decline  # a ':' makes a one-pair mapping; anything else is a mistake
                if text == ",":
                    at += 1
        keys = set()
        while True:
            kind, offset, text = self.token(at)
            if kind == _INDICATOR and text == "}":
                return (True, start, tuple(entries)), at + 1
            key = text.rstrip(" ")
            if kind != _PLAIN_TOKEN or key in keys or len(key) > 1000 or not _plain_ok(key):
                raise _Decline
            keys.add(key)  # a shape's keys differ from its lines'; each line is checked again when built
            key_span = (offset, offset + len(key))
            at += 1
            kind, offset, text = self.token(at)
            if kind == _COLON:
                at += 1
                kind, offset, text = self.token(at)
            elif kind != _INDICATOR or text not in ",}":
                raise _Decline
            if kind == _INDICATOR and text in ",}":
                value: Any = (_EMPTY, offset, offset)  # an empty value stands where the next indicator is
            else:
                value, at = self.value(at, depth + 1)
            entries.append((*key_span, value))
            kind, _, text = self.token(at)
            if kind != _INDICATOR or text not in ",}":
                raise _Decline
            if text == ",":
                at += 1


