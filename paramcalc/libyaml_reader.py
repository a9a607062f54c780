"""YAML text read by PyYAML's composer (libyaml's, when PyYAML was built with it) into the values of
paramcalc.source, for whatever the plain reader (paramcalc.plain_yaml) declines.

PyYAML only keeps positions on its node graph, so we compose nodes (never construct Python objects: no
tags can run code) and convert them ourselves, keeping the positions.
"""

from __future__ import annotations

import yaml

from .errors import Pos, SpecError
from .limits import MAX_YAML_ALIASES, MAX_YAML_NESTING
from .source import YList, YMap, _is_int, _plain_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

try:  # libyaml's parser is several times faster and keeps the same marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


_PLAIN = "tag:paramcalc,2026:plain"  # a plain (unquoted) scalar whose type the converter decides
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",  # a date-like plain scalar; kept as text
    _PLAIN,
}


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """Leaves plain scalars untyped: the converter types them itself (source._plain_value), which is much
    cheaper than PyYAML's resolver being called for every scalar of a long file."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:seq" if kind is yaml.SequenceNode else "tag:yaml.org,2002:map"


def read_with_libyaml(text: str, file: str | None = None) -> Any:
    """YAML text read by libyaml's composer into YMap / YList / scalars; SpecError on any problem."""
    try:
        node = yaml.compose(text, Loader=_FastLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else None
        problem = err.problem or err.context or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", file=file, pos=pos,
                        hint="check the indentation and that every '{', '[' and quote is closed") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow: no mark, but a position
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        character = f"U+{err.character:04X}" if isinstance(err.character, int) else repr(err.character)
        raise SpecError(f"character {character} is not allowed in YAML ({err.reason})", file=file,
                        pos=Pos(line, column), hint="is this a text file? control characters must be removed") from None
    except yaml.YAMLError as err:
        raise SpecError(f"YAML error: {err}", file=file) from None
    if node is None:
        raise SpecError("the file is empty", file=file, pos=Pos(1, 1),
                        hint="a spec needs at least 'name', 'input' and 'layers'")
    return _Converter(file).convert(node)


class _Converter:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.seen_nodes: set[int] = set()
        self.aliases = 0

    def fail(self, node: yaml.Node, message: str, hint: str | None = None) -> SpecError:
        return SpecError(message, file=self.file, pos=_pos(node), hint=hint)

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(node, f"YAML tag '{node.tag}' is not allowed",
                            hint="a spec holds plain numbers, strings, lists and mappings only")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.seen_nodes:
            # an alias: YAML shares the node; count them so 'billion laughs' stays bounded (only a mapping
            # or a list can hold more aliases, so only those are tracked)
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise self.fail(node, f"more than {MAX_YAML_ALIASES} YAML aliases",
                                hint="use a block with 'repeat' instead of copying with aliases")
        self.seen_nodes.add(id(node))
        if depth > MAX_YAML_NESTING:
            raise self.fail(node, f"mappings and lists nest more than {MAX_YAML_NESTING} deep",
                            hint="a spec needs a few levels; use blocks for structure")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, depth)
        marks = [node.start_mark.line, node.start_mark.column]
        items = []
        for child in node.value:
            items.append(self.convert(child, depth + 1))
            mark = child.start_mark
            marks += (mark.line, mark.column)
        result = YList(items)
        result._marks = tuple(marks)
        return result

    def mapping(self, node: yaml.MappingNode, depth: int) -> YMap:
        marks = [node.start_mark.line, node.start_mark.column]
        result = YMap()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "YAML merge keys ('<<') are not supported",
                                hint="define a block under 'blocks:' and use it with arguments")
            if not isinstance(key_node, yaml.ScalarNode):
                found = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                raise self.fail(key_node, f"a mapping key must be a plain name, not {found}",
                                hint="write 'name: value'; a '?' or '[' / '{' before the colon makes a complex key")
            key = str(key_node.value)
            if key in result:
                result._marks = tuple(marks)
                first = result.key_where(key)
                raise self.fail(key_node, f"duplicate key '{key}' (first given on line {first.line})",
                                hint="YAML would silently keep only the last value; remove one of them")
            key_mark, value_mark = key_node.start_mark, value_node.start_mark
            marks += (key_mark.line, key_mark.column, value_mark.line, value_mark.column)
            if value_node.tag == _PLAIN:  # most values: a plain scalar, read here without two calls
                result[key] = _plain_value(value_node.value)
            else:
                result[key] = self.convert(value_node, depth + 1)
        result._marks = tuple(marks)
        return result

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            return _plain_value(text)
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() in ("true", "yes", "on", "y")
        if tag == "tag:yaml.org,2002:int":
            if _is_int(text):
                return int(text.replace("_", ""))
            return text  # 0x.., 0o.., 1:30: left to the expression reader, which says what it accepts
        if tag == "tag:yaml.org,2002:float":
            return text  # read exactly (no binary rounding) by the expression reader
        return text
