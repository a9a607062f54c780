"""Blocks for `paramcalc import`: a module class used several times becomes one block whose arguments are
what differs between its uses (widths, strides, whether a projection exists), and a container of consecutive
uses named 0, 1, 2, ... becomes one `repeat` whose arguments follow `index`.

The uses of a class are unified name by name: a layer or group present in only some uses gets an `if`, and
a reference to it from a use that lacks it reads what it would have read (a skipped layer's name stands
for its input, as in any spec). Uses that cannot be unified (another structure, other references) stay
written out as groups.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..engine.layers import REGISTRY, lookup
from ..spec.format import name_taken_from_blocks
from .writer import Entry


def _setting(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # with a dot: YAML 1.1 (PyYAML) reads 1e-05 as a string, 1.0e-05 as a number
        mantissa, e, exponent = repr(value).partition("e")
        return (mantissa if "." in mantissa else mantissa + ".0") + e + exponent
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_setting(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return value if re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", value) else json.dumps(value)
    return str(value)


def _same(value: Any, default: Any, key: str, settings: dict) -> bool:
    if key == "stride" and default is None:
        return bool(value == settings.get("kernel"))
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value - default) <= 1e-12 * max(1.0, abs(default))
    return type(value) is type(default) and bool(value == default)


CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})  # groups, never blocks
_PLAIN = re.compile(r"^[A-Za-z0-9_ .*+\-/]+$")


class Expr(str):
    """An expression over a block's arguments, written as it is (quoted when YAML would misread it)."""


def _value(value: Any) -> str:
    if isinstance(value, Expr):
        return str(value) if _PLAIN.match(value) else json.dumps(str(value))
    return _setting(value)


def _name(name: str) -> str:
    """A name as YAML reads it back (names read from a model file are anyone's: JSON's quoting is YAML's)."""
    plain = re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", name) or re.fullmatch(r"0|[1-9][0-9]*", name)  # 01 is octal
    return name if plain else json.dumps(name)


def _block_name(class_name: str) -> str:
    """Bottleneck -> bottleneck, _DenseLayer -> dense_layer, InvertedResidual -> inverted_residual."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", class_name.strip("_")).lower() or "block"


def settings_text(kind_name: str, settings: dict) -> str:
    """'conv2d: {out: 64, kernel: 3, padding: 1, bias: false}', defaults left out (an expression never is)."""
    kind = REGISTRY[kind_name]
    defaults = {f.name: f.default for f in kind.fields}
    shown = {key: value for key, value in settings.items()  # a required field's default (REQUIRED) is no value
             if isinstance(value, Expr) or not _same(value, defaults[key], key, settings)
             or (kind_name == "custom" and key == "macs")}  # the figure to fill in
    if not shown:
        return kind_name
    if len(shown) == 1 and kind.primary in shown and not isinstance(shown[kind.primary], dict):  # a mapping is fields
        return f"{kind_name}: {_value(shown[kind.primary])}"
    return f"{kind_name}: {{" + ", ".join(f"{key}: {_value(value)}" for key, value in shown.items()) + "}"


# --- unifying the uses of a class ---------------------------------------------------------------------------
class _Mismatch(Exception):
    """The uses of a class cannot be one block: they stay written out as groups."""


def _order(bodies: list[list[Entry]]) -> list[str]:
    order: list[str] = []
    for body in bodies:
        last = -1
        for entry in body:
            if entry.name in order:
                position = order.index(entry.name)
                if position < last:
                    raise _Mismatch  # layers in another order
                last = position
            else:
                last += 1
                order.insert(last, entry.name)
    return order


class Template:
    """The unified body: for each name, the entries of the uses that have it (None where absent)."""

    def __init__(self, bodies: list[list[Entry]], within: list[bool] | None = None) -> None:
        """within: the uses that have the enclosing group (a group's layers are optional only among those)."""
        self.order = _order(bodies)
        inside = [body for body, present in zip(bodies, within or [True] * len(bodies)) if present]
        optional = sum(1 for name in self.order if not all(any(e.name == name for e in body) for body in inside))
        if optional * 2 > len(self.order):  # uses with mostly other layers are not one block
            raise _Mismatch  # mostly different layers
        # the use with the most layers shows the names the others read (what a layer they lack would read)
        self.fullest = max(range(len(bodies)), key=lambda use: len(bodies[use]))
        self.rows: list[list[Entry | None]] = []
        self.children: dict[str, Template] = {}
        for name in self.order:
            row = [next((e for e in body if e.name == name), None) for body in bodies]
            present = [e for e in row if e is not None]
            first = present[0]
            if any(e.kind != first.kind or e.train_only != first.train_only or e.functional != first.functional or
                   e.module != first.module or set(e.settings) != set(first.settings) for e in present):
                raise _Mismatch  # a layer differs
            if first.kind == "group":
                self.children[name] = Template([e.body if e is not None else [] for e in row],
                                               [e is not None for e in row])
            self.rows.append(row)
        self._check_inputs(bodies)

    def _check_inputs(self, bodies: list[list[Entry]]) -> None:
        """Every use reads the same names, once a name it lacks is read as that layer's own input."""
        stands_for: list[dict[str, str]] = [{} for _ in bodies]
        for name, row in zip(self.order, self.rows):
            present = next(e for e in row if e is not None)
            for use, entry in enumerate(row):
                if entry is None:
                    stands_for[use][name] = stands_for[use].get(present.inputs[0], present.inputs[0])
        for row in self.rows:
            first = self.representative(row)
            for use, entry in enumerate(row):
                if entry is None:
                    continue
                if entry.inputs != [stands_for[use].get(i, i) for i in first.inputs]:
                    raise _Mismatch  # inputs differ
        last = self.order[-1]  # the template's output: in each use, its own last layer (a body read as absent: [])
        if any(body and stands_for[use].get(last, last) != body[-1].name for use, body in enumerate(bodies)):
            raise _Mismatch  # outputs differ


    def representative(self, row: list[Entry | None]) -> Entry:
        entry = row[self.fullest]
        return entry if entry is not None else next(e for e in row if e is not None)


class Block:
    """A block made from the uses of one class: its template, its arguments, each use's values."""

    def __init__(self, name: str, uses: list[Entry]) -> None:
        self.name, self.uses = name, uses
        self.template = Template([use.body for use in uses])
        self.arguments: dict[str, list[Any]] = {}  # argument -> its value in each use
        self.expressions: dict[tuple, Expr] = {}  # (path, field) -> expression, ('if' for presence)
        self._arguments(self.template, "")

    def _argument(self, base: str, values: list[Any], cares: list[bool]) -> Expr:
        """An argument (or an expression over one) for values that differ between the uses. Where a layer is
        missing from a use its value does not matter (`cares` False): any argument that fits the others will do."""
        for name, known in self.arguments.items():
            pairs = [(v, w) for v, w, care in zip(known, values, cares) if care]
            if all(v == w and type(v) is type(w) for v, w in pairs):
                return Expr(name)
            ints = all(isinstance(x, int) and not isinstance(x, bool) for pair in pairs for x in pair)
            if ints and pairs and all(v != 0 and w % v == 0 for v, w in pairs):
                factors = {w // v for v, w in pairs}
                if len(factors) == 1 and factors != {1}:
                    return Expr(f"{factors.pop()} * {name}")
        filled, last = [], next(v for v, care in zip(values, cares) if care)
        for value, care in zip(values, cares):  # a value that does not matter repeats the one before it (the first)
            last = value if care else last
            filled.append(last)
        name, count = base, 2
        while name in self.arguments:
            name, count = f"{base}_{count}", count + 1
        self.arguments[name] = filled
        return Expr(name)

    def _arguments(self, template: Template, prefix: str, within: list[bool] | None = None) -> None:
        """within: the uses in which the enclosing group is present."""
        within = within or [True] * len(self.uses)
        for name, row in zip(template.order, template.rows):
            path = f"{prefix}{name}"
            slug = re.sub(r"\W", "_", path)
            slug = slug if slug[0].isalpha() or slug[0] == "_" else f"layer{slug}"
            present_in = [e is not None for e in row]
            if any(inside and not present for inside, present in zip(within, present_in)):
                self.expressions[(path, "if")] = self._argument(f"with_{slug}", present_in, within)
            present = next(e for e in row if e is not None)
            for key in present.settings:
                values = [e.settings[key] if e is not None else present.settings[key] for e in row]
                if any(v != values[0] or type(v) is not type(values[0])
                       for v, care in zip(values, present_in) if care):
                    self.expressions[(path, key)] = self._argument(f"{slug}_{key}", values, present_in)
            if name in template.children:
                self._arguments(template.children[name], f"{path}.", present_in)

    def arguments_of(self, use: int) -> dict[str, Any]:
        return {name: values[use] for name, values in self.arguments.items()}

    def definition(self) -> list[str]:
        lines = [f"  {self.name}:"]
        if self.arguments:
            lines.append("    args: {" + ", ".join(f"{name}: ~" for name in self.arguments) + "}")
        lines.append("    layers:")
        lines += self._template_lines(self.template, "", "      ")
        return lines

    def _template_lines(self, template: Template, prefix: str, indent: str) -> list[str]:
        lines: list[str] = []
        previous = "input"
        for name, row in zip(template.order, template.rows):
            entry = template.representative(row)
            path = f"{prefix}{name}"
            condition = self.expressions.get((path, "if"))
            inputs = entry.inputs
            if entry.kind == "group":
                lines.append(f"{indent}- name: {_name(name)}")
                if condition:
                    lines.append(f"{indent}  if: {_value(condition)}")
                if inputs != [previous]:
                    lines.append(f"{indent}  from: {_references(inputs)}")
                if entry.train_only:
                    lines.append(f"{indent}  train_only: true")
                lines.append(f"{indent}  layers:")
                lines += self._template_lines(template.children[name], f"{path}.", indent + "    ")
            else:
                settings = {key: self.expressions.get((path, key), value) for key, value in entry.settings.items()}
                parts = [f"name: {_name(name)}", settings_text(entry.kind, settings)]
                if condition:
                    parts.append(f"if: {_value(condition)}")
                if inputs != [previous]:
                    parts.append(f"from: {_references(inputs)}")
                parts += _marks(entry)
                lines.append(f"{indent}- {{{', '.join(parts)}}}" + (f"  # {entry.comment}" if entry.comment else ""))
            previous = name
        return lines


def _marks(entry: Entry) -> list[str]:
    """What a layer says about its role beyond its settings, as the spec writes it."""
    return [*(["train_only: true"] if entry.train_only else []), *(["functional: true"] if entry.functional else []),
            *([f"module: {entry.module}"] if entry.module else [])]


def _references(inputs: list[str]) -> str:
    return inputs[0] if len(inputs) == 1 else "[" + ", ".join(inputs) + "]"


# --- the spec's layers --------------------------------------------------------------------------------------
def _uses_by_class(entries: list[Entry], found: dict[str, list[Entry]]) -> None:
    for entry in entries:
        if entry.kind == "group":
            if entry.module_class:
                found.setdefault(entry.module_class, []).append(entry)
            _uses_by_class(entry.body, found)


def _index_expression(values: list[Any], table: str, variables: dict[str, list]) -> Any:
    """The values of an argument over a repeat's copies, as an expression of `index`; a table in `vars` when no
    short expression gives them."""
    if all(v == values[0] and type(v) is type(values[0]) for v in values):
        return values[0]
    plain = all(isinstance(v, (int, float)) for v in values)
    if all(isinstance(v, bool) for v in values) and values[0] != values[1] and len(set(values[1:])) == 1:
        return Expr("index == 0" if values[0] else "index != 0")
    if plain and len(values) > 1 and all(v == values[1] for v in values[2:]):
        return Expr(f"{_value(values[0])} if index == 0 else {_value(values[1])}")
    if plain and len(values) > 2 and all(v == values[i % 2] for i, v in enumerate(values)):
        return Expr(f"{_value(values[0])} if index % 2 == 0 else {_value(values[1])}")
    variables[table] = values
    return Expr(f"{table}[index]")


def _modules(entries: list[Entry]) -> tuple[str, ...]:
    """The `module` marks of a use's layers, in order: uses run by other classes cannot share a block, as a
    mark is written as it is, not as an argument."""
    return tuple(mark for entry in entries
                 for mark in (_modules(entry.body) if entry.kind == "group" else (entry.module,) if entry.module else ()))


def _by_modules(name: str, uses: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """A class's uses as (block name, uses): all of them, or, when their layers' `module` marks differ (MC3's
    BasicBlock with Conv3DSimple in layer1 and Conv3DNoTemporal after), those of each set of marks."""
    kinds: dict[tuple[str, ...], list[Entry]] = {}
    for use in uses:
        kinds.setdefault(_modules(use.body), []).append(use)
    if len(kinds) == 1:
        return [(name, uses)]
    return [(f"{name}_{marks[0].lower()}" if marks else name, group) for marks, group in kinds.items()]


def emit(root: list[Entry]) -> tuple[list[str], list[str]]:
    """(the `blocks:` lines, the `layers:` lines) for the model's top-level entries."""
    classes: dict[str, list[Entry]] = {}
    _uses_by_class(root, classes)
    blocks: dict[int, tuple[Block, int]] = {}  # id of a use -> (its block, its number among the uses)
    made: list[Block] = []
    taken: set[str] = set()
    for class_name, all_uses in classes.items():
        if class_name in CONTAINERS:
            continue
        for name, uses in _by_modules(_block_name(class_name), all_uses):
            if len(uses) < 2:
                continue
            try:
                while name in taken or name_taken_from_blocks(name, lookup):  # conv, module
                    name += "_block"
                block = Block(name, uses)
            except _Mismatch:
                continue
            taken.add(name)
            made.append(block)
            for number, use in enumerate(uses):
                blocks[id(use)] = (block, number)
    variables: dict[str, list] = {}
    layers = _entry_lines(root, blocks, "  ", variables)
    used: set[int] = set()
    _blocks_used(root, blocks, used)
    made = [block for block in made if id(block) in used]  # not those whose uses all sit in another block's
    definitions = ["blocks:"] + [line for block in made for line in block.definition()] if made else []
    tables = ["vars:"] + [f"  {name}: {_value(values)}" for name, values in variables.items()] if variables else []
    return tables + definitions, layers


def _blocks_used(entries: list[Entry], blocks: dict[int, tuple[Block, int]], used: set[int]) -> None:
    """The blocks the layers use: a use inside another block's use is written in that block's definition."""
    for entry in entries:
        if id(entry) in blocks:
            used.add(id(blocks[id(entry)][0]))
        elif entry.kind == "group":
            _blocks_used(entry.body, blocks, used)


def _numbered(names: list[str]) -> bool | None:
    """None unless the names count up by one (0, 1, 2 or denselayer1, denselayer2, ...); True when the copies need
    a `names:` (they are not 0, 1, 2, ...)."""
    matches = [re.fullmatch(r"(.*?)(\d+)", name) for name in names]
    if not all(matches) or len({m.group(1) for m in matches}) != 1:  # type: ignore[union-attr]
        return None
    numbers = [int(m.group(2)) for m in matches]  # type: ignore[union-attr]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))) or \
            any(m.group(2) != str(n) for m, n in zip(matches, numbers)):  # type: ignore[union-attr]
        return None
    return numbers[0] != 0 or matches[0].group(1) != ""  # type: ignore[union-attr]


def _use_text(block: Block, arguments: dict[str, Any]) -> str:
    if not arguments:
        return block.name
    return f"{block.name}: {{" + ", ".join(f"{k}: {_value(v)}" for k, v in arguments.items()) + "}"


def _entry_lines(entries: list[Entry], blocks: dict[int, tuple[Block, int]], indent: str,
                 variables: dict[str, list], prefix: str = "") -> list[str]:
    lines: list[str] = []
    previous = "input"
    for entry in entries:
        head = [f"name: {_name(entry.name)}"]
        tail = []
        if entry.inputs != [previous]:
            tail.append(f"from: {_references(entry.inputs)}")
        tail += _marks(entry)
        previous = entry.name
        if entry.kind != "group":
            comment = f"  # {entry.comment}" if entry.comment else ""
            lines.append(f"{indent}- {{{', '.join(head + [settings_text(entry.kind, entry.settings)] + tail)}}}{comment}")
            continue
        if id(entry) in blocks:
            block, number = blocks[id(entry)]
            lines.append(f"{indent}- {{{', '.join(head + [_use_text(block, block.arguments_of(number))] + tail)}}}")
            continue
        children = entry.body
        used: list[Any] = [blocks.get(id(child)) for child in children]
        numbered = _numbered([child.name for child in children])
        if len(children) > 1 and numbered is not None and all(u is not None and u[0] is used[0][0] for u in used) \
                and all(child.inputs == ["input" if i == 0 else children[i - 1].name] and not child.train_only
                        for i, child in enumerate(children)):
            block = used[0][0]
            table = re.sub(r"\W", "_", f"{prefix}{entry.name}")
            arguments = {name: _index_expression([block.arguments[name][u[1]] for u in used],
                                                 f"{table}_{name}", variables) for name in block.arguments}
            copies = [f"repeat: {len(children)}"] + ([f"names: {children[0].name}"] if numbered else [])
            lines.append(f"{indent}- {{{', '.join(head + copies + [_use_text(block, arguments)] + tail)}}}")
            continue
        lines.append(f"{indent}- {head[0]}")
        lines += [f"{indent}  {part}" for part in tail]
        lines.append(f"{indent}  layers:")
        lines += _entry_lines(children, blocks, indent + "    ", variables, f"{prefix}{entry.name}.")
    return lines


__all__ = ["Block", "Expr", "emit", "settings_text"]
