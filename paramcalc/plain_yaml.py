"""The plain YAML that specs are written in, read without building libyaml's node tree.

Specs use a small part of YAML: block mappings and lists, one-line flow collections (`{out: 64, kernel: 3}`,
`[3, 224, 224]`), plain and simply quoted scalars, comments. `read_plain` reads exactly that part into the
same values and positions as libyaml's composer followed by `source._Converter`, at about a third of the
cost for a long file. Anything else (anchors, aliases, tags, block or multi-line scalars, escapes, complex
keys, document markers, tabs, non-ASCII text, duplicate keys, and every kind of mistake) makes it decline
by returning None; the file is then read by libyaml, whose messages point at the problem. A property test
compares the two readers on generated documents and on mutated zoo specs.
"""

from __future__ import annotations

import re

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
# a plain scalar of a flow collection that the plans read (a superset is read token by token): it starts
# with a letter, digit, '_', '.', '(', '~', '+' or a '-' before a digit or '.', and holds no indicator
_SCALAR = re.compile(r"((?:[A-Za-z0-9_.(~+]|-(?=[0-9.]))[A-Za-z0-9_.+\-*/()=<>!~^%]*(?: +[A-Za-z0-9_.+\-*/()=<>!~^%]+)*)")
_X = re.compile("x")
_SKELETON_CHARS = frozenset("[]{},: x")
_SLOW = "read token by token"
_MAX_PLANS = 1000  # shapes of flow collections kept; a file with more is read token by token


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
    for match in _UNUSUAL.finditer(text):
        if not match.group().isprintable() or match.group().isascii():
            raise _Decline  # a tab, a carriage return, a control character, a byte order mark
        start = text.rfind("\n", 0, match.start()) + 1
        content = text[start:match.start()].lstrip(" ")
        if "#" not in content or (content[0] != "#" and _comment_start(content) == len(content)):
            raise _Decline


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
        self.plans: dict[str, Any] = {}  # a flow collection's skeleton -> how to build its values

    def document(self) -> Any:
        lines = self.lines
        if not lines:
            raise _Decline
        number, indent, content = lines[0]
        if content[0] == "-" and (len(content) == 1 or content[1] == " "):
            raise _Decline  # a spec is a mapping; the spec reader says so
        value, _, end = self.mapping(0, indent, 0)
        if end != len(lines):
            raise _Decline
        return value

    def block(self, at: int, depth: int) -> tuple[Any, int]:
        """The block mapping or list starting on entry `at`, and the entry after it."""
        _, indent, content = self.lines[at]
        if content[0] == "-" and (len(content) == 1 or content[1] == " "):
            value, end = self.sequence(at, indent, depth)
        else:
            value, _, end = self.mapping(at, indent, depth)
        return value, end

    def sequence(self, at: int, indent: int, depth: int) -> tuple[YList, int]:
        if depth >= MAX_YAML_NESTING:
            raise _Decline
        lines, count = self.lines, len(self.lines)
        items: list[Any] = []
        number = lines[at][0]
        marks = [number, indent]
        while at < count:
            number, line_indent, content = lines[at]
            if line_indent != indent or content[0] != "-" or (len(content) > 1 and content[1] != " "):
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
                value, _, at = self.mapping(at, column, depth + 1)
            else:
                value = self.inline(rest, number, column, depth + 1)
                at += 1
            items.append(value)
            marks += (number, column)
        return YList(items, tuple(marks)), at

    def mapping(self, at: int, indent: int, depth: int) -> tuple[YMap, int, int]:
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
                if value_text[0] in _INDICATORS or ": " in value_text or value_text[-1] == ":":
                    result[key] = self.inline(value_text, number, column, depth + 1)
                else:  # most values: a plain scalar
                    result[key] = _plain_value(value_text)
                continue
            if at < count and (lines[at][1] > indent or (lines[at][1] == indent and _is_item(lines[at][2]))):
                value, at = self.block(at, depth + 1)
                marks += (number, indent, value._marks[0], value._marks[1])
            else:
                value = None  # an empty value stands where its colon ends
                marks += (number, indent, number, indent + colon_end)
            result[key] = value
        result._marks = tuple(marks)
        return result, number, at

    def inline(self, text: str, number: int, column: int, depth: int) -> Any:
        """A value written on one line after a key or a '- ': a flow collection or a scalar."""
        first = text[0]
        if first == "[" or first == "{":
            parts = _SCALAR.split(text)  # what is between the scalars, then the scalars
            skeleton = "x".join(parts[0::2])
            plan = self.plans.get(skeleton)
            if plan is None:
                plan = self.plan(skeleton, depth)
            if plan is not _SLOW:
                return _build(plan, parts[1::2], (number, column, text))
            return _parse_flow(text, number, column, depth)
        if first == '"' or first == "'":
            if len(text) < 2 or text[-1] != first or first in text[1:-1] or (first == '"' and "\\" in text):
                raise _Decline
            return text[1:-1]
        if not _plain_ok(text) or ": " in text or text[-1] == ":" or "#" in text:
            raise _Decline
        return _plain_value(text)

    def plan(self, skeleton: str, depth: int) -> Any:
        """How to build the values of every line shaped like `skeleton` (its scalars replaced by x), or _SLOW
        for a line the plan cannot read (quotes, unusual characters): each of those is read token by token."""
        plan: Any = _SLOW
        if set(skeleton) <= _SKELETON_CHARS and len(self.plans) < _MAX_PLANS:
            numbered = iter(range(len(skeleton)))  # x0, x1, ...: unique keys, so that the parse keeps them all
            plan = _plan_of(_parse_flow(_X.sub(lambda _: f"x{next(numbered)}", skeleton), 0, 0, depth), ())
        self.plans[skeleton] = plan
        return plan


def _is_item(content: str) -> bool:
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


def _plain_ok(text: str) -> bool:
    """Whether a plain scalar starts as one: not with an indicator, except '-' before a non-space (-1)."""
    return text[0] not in _INDICATORS or (text[0] == "-" and len(text) > 1 and text[1] != " ")


def _plan_of(value: Any, path: tuple[int, ...]) -> tuple:
    """From a parsed numbered skeleton: (is a mapping, path, entries), an entry being (key's scalar number,
    what the value is) for a mapping, what the item is for a list; what a value is: a scalar's number, None
    for an empty value, or the plan of a collection. The path is the collection's place in the line (the
    positions of the entries that lead to it)."""
    def part(item: Any, index: int) -> Any:
        if isinstance(item, str):
            return int(item[1:])
        return None if item is None else _plan_of(item, (*path, index))
    if isinstance(value, dict):
        return True, path, tuple((int(key[1:]), part(item, index)) for index, (key, item) in enumerate(value.items()))
    return False, path, tuple(part(item, index) for index, item in enumerate(value))


def _build(plan: tuple, scalars: list[str], line: tuple[int, int, str]) -> Any:
    is_mapping, path, parts = plan
    if is_mapping:
        result = YMap()
        for key, part in parts:
            if part.__class__ is int:
                text = scalars[part]
                # the text is ASCII: digits are a decimal integer, unless they have a leading zero
                result[scalars[key]] = int(text) if text.isdigit() and (text[0] != "0" or len(text) == 1) \
                    else _plain_value(text)
            else:
                result[scalars[key]] = None if part is None else _build(part, scalars, line)
        if len(result) != len(parts):
            raise _Decline  # a key given twice: libyaml's reader says where
        result._marks = LineMarks((line, path))
        return result
    return YList([_plain_value(scalars[part]) if part.__class__ is int else None if part is None else
                  _build(part, scalars, line) for part in parts], LineMarks((line, path)))


class LineMarks(tuple):
    """(line, path): the positions of a collection written on one line, worked out when a message first
    needs them by reading the line again token by token. The line is (number, column, text); the path, the
    collection's place in it."""

    __slots__ = ()

    def resolve(self) -> tuple[int, ...]:
        (number, column, text), path = self
        value = _parse_flow(text, number, column, 0)
        for index in path:
            value = list(value.values())[index] if isinstance(value, dict) else value[index]
        return value._marks


def _parse_flow(text: str, number: int, column: int, depth: int) -> Any:
    tokens = [(match.lastindex, match.start(match.lastindex), match.group(match.lastindex))
              for match in _FLOW_TOKEN.finditer(text)]
    value, end = _Flow(tokens, number, column).value(0, depth)
    if end != len(tokens):
        raise _Decline
    return value


_INDICATOR, _COLON, _QUOTED, _PLAIN, _OTHER = 1, 2, 3, 4, 5


class _Flow:
    """One line's flow collection, from its tokens: (kind, offset in the text, text)."""

    def __init__(self, tokens: list[tuple[int, int, str]], number: int, column: int) -> None:
        self.tokens, self.number, self.column = tokens, number, column

    def value(self, at: int, depth: int) -> tuple[Any, int]:
        tokens = self.tokens
        if at >= len(tokens):
            raise _Decline
        kind, offset, text = tokens[at]
        if kind == _PLAIN:
            return _flow_plain(text), at + 1
        if kind == _QUOTED:
            return text[1:-1], at + 1
        if kind != _INDICATOR or text not in "[{" or depth >= MAX_YAML_NESTING:
            raise _Decline
        number, column = self.number, self.column
        if text == "[":
            items: list[Any] = []
            marks = [number, column + offset]
            at += 1
            while True:
                kind, offset, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
                if kind == _INDICATOR and text == "]":
                    return YList(items, tuple(marks)), at + 1
                value, at = self.value(at, depth + 1)
                items.append(value)
                marks += (number, column + offset)
                kind, _, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
                if kind != _INDICATOR or text not in ",]":
                    raise _Decline  # a ':' makes a one-pair mapping; anything else is a mistake
                if text == ",":
                    at += 1
        result = YMap()
        marks = [number, column + offset]
        at += 1
        while True:
            kind, offset, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
            if kind == _INDICATOR and text == "}":
                result._marks = tuple(marks)
                return result, at + 1
            if kind != _PLAIN:
                raise _Decline
            key = text.rstrip(" ")
            if key in result or len(key) > 1000 or not _plain_ok(key):
                raise _Decline
            key_column = column + offset
            at += 1
            kind, offset, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
            if kind == _COLON:
                at += 1
                kind, offset, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
                if kind == _INDICATOR and text in ",}":
                    value = None  # an empty value stands where the next indicator is
                else:
                    value, at = self.value(at, depth + 1)
            elif kind == _INDICATOR and text in ",}":
                value = None
            else:
                raise _Decline
            result[key] = value
            marks += (number, key_column, number, column + offset)
            kind, _, text = tokens[at] if at < len(tokens) else (_OTHER, 0, "")
            if kind != _INDICATOR or text not in ",}":
                raise _Decline
            if text == ",":
                at += 1


def _flow_plain(text: str) -> Any:
    text = text.rstrip(" ")
    if not _plain_ok(text):
        raise _Decline
    return _plain_value(text)
