"""The spec format: YAML text -> a validated `Spec` whose every part knows its line.

This stage checks structure (which keys exist, what is a layer, which kinds and blocks
are known, which fields a kind has). Values that may be expressions are kept raw; the
expansion evaluates them where each block instance gives them meaning.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from typing import Any, Callable

from ..errors import Pos, Problem, SpecError, check_plain_text, did_you_mean, one_of, printable
from .expressions import names_in
from .literals import as_written, shorten
from .source import YList, key_pos, load_yaml, read_text, value_pos

# A name: letters, digits, '_' and '-', not starting with '-'; a reference: names joined by dots.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$"
REF_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_][A-Za-z0-9_\-]*)*$"
# `module`: the name of a Python class, as `type(module).__name__` gives it (no module path)
CLASS_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = re.compile(NAME_PATTERN[1:-1])
_REFERENCE = re.compile(REF_PATTERN[1:-1])
_CLASS = re.compile(CLASS_PATTERN[1:-1])


def is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def is_reference(text: str) -> bool:
    return _REFERENCE.fullmatch(text) is not None


def _mentions(raw: Any, names: tuple[str, ...]) -> bool:
    """Does any text in a YAML value use one of the names?"""
    if isinstance(raw, str):
        return any(name in names for name in names_in(raw))
    if isinstance(raw, dict):
        return any(_mentions(value, names) for value in raw.values())
    if isinstance(raw, list):
        return any(_mentions(item, names) for item in raw)
    return False


def as_name(value: Any) -> Any:
    """A layer's name or a reference as text: a whole number is a name (`name: 0`, `from: [0, input]`), as
    the position that names an unnamed layer; anything else is returned as it is, to be checked."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value


TOP_KEYS = ("name", "description", "input", "batch", "dtype", "vars", "blocks", "layers", "output", "budget")
LAYER_KEYS = ("name", "from", "repeat", "names", "if", "frozen", "train_only", "functional", "module", "layers",
              "output")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")  # a repeat's first name: denselayer1
_LAYER_KEY_SET = frozenset(LAYER_KEYS)
BLOCK_KEYS = ("args", "layers", "output", "description")


def name_taken_from_blocks(name: str, lookup: Callable[[str], Any]) -> str:
    """What a block of this name would clash with ('a built-in layer kind', "a layer's key"), or '' if nothing:
    `- {name: x, module}` reads as the layer's `module` key, `- conv` as the kind."""
    if lookup(name) is not None:
        return "a built-in layer kind"
    return "a layer's key" if name in _LAYER_KEY_SET else ""
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1}
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "fp64": "float64"}
DTYPE_HINT = "one of " + one_of([*DTYPE_BYTES, *DTYPE_ALIASES])


def dtype_name(name: Any) -> str | None:
    """The dtype's full name for a name or its usual short form (fp16 -> float16); None when unknown."""
    if not isinstance(name, str):
        return None
    name = DTYPE_ALIASES.get(name, name)
    return name if name in DTYPE_BYTES else None
INPUT_NAME = "input"


EXPRESSION_SPLIT = "a comma inside an unquoted expression splits a YAML flow mapping"


def split_expression(mapping: Any) -> str | None:
    """When a comma cut an expression of a flow mapping in two ({out: make_divisible(c // 4, 8)} reads as out:
    'make_divisible(c // 4' and a key '8)'), the hint that says how to write it; None when no value is cut."""
    for key, value in mapping.items():
        if isinstance(value, str) and (value.count("(") > value.count(")") or value.count("[") > value.count("]")):
            return f"quote the expression: {key}: \"{value}, ...\""
    return None


class LayerSpec:
    """One entry of a `layers:` list, as written (positions are where each part stands in the file).

    Where the kind and its arguments are written is looked up when a message needs it (kind_pos,
    args_pos): a long spec would otherwise spend a tenth of its reading time on positions never shown.
    """

    __slots__ = ("pos", "kind", "written", "kind_key", "args", "name", "inputs", "repeat", "names", "condition", "frozen",
                 "train_only", "functional", "module", "layers", "output", "output_pos")

    def __init__(self, pos: Pos, kind: str | None) -> None:
        self.pos = pos
        self.kind = kind  # a layer kind, a block name, or None for an inline group of `layers`
        self.written: Any = None  # the mapping the layer was read from (None for a bare `- relu`)
        self.kind_key: str | None = None  # the kind as written there ('conv' for conv2d)
        self.args: Any = None  # YMap of fields/arguments, a scalar for the primary field, or None
        self.name: str | None = None
        self.inputs: list[str] | None = None
        self.repeat: Any = None
        self.names: tuple[str, int] | None = None  # a repeat's copies: (prefix, first number)
        self.condition: Any = None
        self.frozen = False
        self.train_only = False  # an auxiliary head: its parameters exist, it does not run at inference
        self.functional = False  # PyTorch calls it as a function (F.relu): counters that hook modules miss it
        # the PyTorch class that runs it when not the kind's standard one (Conv3DSimple for a conv3d): a subclass,
        # which counters that look their hooks up by exact type miss; not inherited (a group has no such class)
        self.module: str | None = None
        self.layers: list[LayerSpec] | None = None
        self.output: str | None = None
        self.output_pos: Pos | None = None

    @property
    def kind_pos(self) -> Pos | None:
        if self.kind_key is None:
            return self.pos if self.kind is not None else None
        return key_pos(self.written, self.kind_key, self.pos)

    @property
    def args_pos(self) -> Pos | None:
        if self.kind_key is None or self.args is None:
            return self.kind_pos
        return value_pos(self.written, self.kind_key, self.pos)

    @property
    def inputs_pos(self) -> Pos | None:
        return self._value_pos("from")

    @property
    def repeat_pos(self) -> Pos | None:
        return self._value_pos("repeat")

    @property
    def condition_pos(self) -> Pos | None:
        return self._value_pos("if")

    def _value_pos(self, key: str) -> Pos | None:
        if self.written is None or key not in self.written:
            return None
        return value_pos(self.written, key, self.pos)


BLOCK_INPUT_NAMES = ("in_channels", "in_shape")  # what a block knows of its input


class BlockDef:
    __slots__ = ("name", "pos", "args", "layers", "output", "output_pos", "description", "reads_input")

    def __init__(self, name: str, pos: Pos, args: dict[str, tuple[Any, Pos]], layers: list[LayerSpec],
                 output: str | None = None, output_pos: Pos | None = None, description: str = "",
                 reads_input: bool = False) -> None:
        self.name, self.pos = name, pos
        self.args = args  # name -> (raw default, or None when required; position)
        self.layers = layers
        self.output, self.output_pos = output, output_pos
        self.description = description
        self.reads_input = reads_input  # its expressions use in_channels or in_shape


class Spec:
    """A validated spec: every part as written, with where it stands in the file."""

    def __init__(self, file: str, name: str, input: Any, input_pos: Pos, batch: Any = 1,
                 batch_pos: Pos | None = None, dtype: str = "float32", description: str = "") -> None:
        self.file, self.name = file, name
        self.input, self.input_pos = input, input_pos
        self.batch, self.batch_pos = batch, batch_pos
        self.dtype, self.description = dtype, description
        self.variables: list[tuple[str, Any, Pos]] = []
        self.blocks: dict[str, BlockDef] = {}
        self.layers: list[LayerSpec] = []
        self.output: str | None = None
        self.output_pos: Pos | None = None
        self.budget: dict[str, tuple[int, Pos]] = {}  # figure -> (limit, where declared)

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, file={self.file!r}, {len(self.layers)} layers)"


class Kinds(namedtuple("Kinds", "lookup names")):
    """The layer kinds a spec may use, handed to the reader by the engine that registered them (this stage
    does not import the engine): `lookup(name)` gives a kind's class by its name or an alias (or None), with
    its `fields`, `field_names()` and `primary`; `names` lists every name and alias, for did-you-mean."""

    __slots__ = ()


def load_spec(path: str | os.PathLike, kinds: Kinds, *, file: str | None = None) -> Spec:
    """Read a spec file ('-' is standard input)."""
    path = os.fspath(path)
    file = file or ("<stdin>" if path == "-" else path)
    try:
        text = read_text(path)
    except SpecError as err:
        err.file = file
        raise
    return loads_spec(text, kinds, file=file)


def loads_spec(text: str, kinds: Kinds, *, file: str | None = None) -> Spec:
    """Read a spec from YAML text."""
    file = file or "<string>"
    return spec_from_dict(load_yaml(text, file), kinds, file=file)


def spec_from_dict(data: Any, kinds: Kinds, *, file: str | None = None) -> Spec:
    """Validate a spec already read into Python values (a mapping from YAML, or one built in Python)."""
    file = file or "<dict>"
    try:
        return _SpecReader(file, kinds).spec(data)
    except SpecError as err:
        err.located(file=file)
        raise


class _SpecReader:
    def __init__(self, file: str, kinds: Kinds) -> None:
        self.file = file
        self.lookup = kinds.lookup
        self.kind_names = kinds.names
        self.block_names: set[str] = set()
        self.known_kinds: set[str] = set()  # kinds checked already
        self.block: str | None = None  # the block being read, for messages

    def fail(self, message: str, pos: Pos | None, hint: str | None = None, layer: str | None = None) -> SpecError:
        return SpecError(message, pos=pos, hint=hint, layer=layer, file=self.file, block=self.block)

    def spec(self, data: Any) -> Spec:
        top = Pos(1, 1)
        if not isinstance(data, dict):
            raise self.fail("a spec must be a mapping with 'name', 'input' and 'layers'", getattr(data, "pos", top),
                            hint="start the file with 'name: mynet', 'input: [3, 224, 224]' and 'layers:'")
        self.check_keys(data, TOP_KEYS, "top-level key")
        for required in ("name", "input", "layers"):
            if required not in data:
                raise self.fail(f"missing '{required}'", getattr(data, "pos", top),
                                hint="a spec needs 'name', 'input: [channels, height, width]' and 'layers'")
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"'name' must be text, got {as_written(name)}", value_pos(data, "name", top))
        self.plain_text(data, "name", top)
        dtype = dtype_name(data.get("dtype", "float32"))
        if dtype is None:
            raise self.fail(f"unknown dtype {as_written(data['dtype'])}", value_pos(data, "dtype", top),
                            hint=DTYPE_HINT)
        spec = Spec(file=self.file, name=name.strip(), input=data["input"], input_pos=value_pos(data, "input", top),
                    batch=data.get("batch", 1), batch_pos=value_pos(data, "batch", top), dtype=dtype,
                    description=self.description(data, top))
        spec.variables = self.variables(data.get("vars"), value_pos(data, "vars", top))
        blocks = data.get("blocks") or {}
        if not isinstance(blocks, dict):
            raise self.fail("'blocks' must be a mapping of block names to definitions", value_pos(data, "blocks", top))
        self.block_names = set(blocks)
        spec.blocks = {name: self.block_def(name, body, value_pos(blocks, name, top)) for name, body in blocks.items()}
        self.block = None
        spec.layers = self.layer_list(data["layers"], value_pos(data, "layers", top), "the model", "")
        spec.output, spec.output_pos = self.reference(data, "output", top)
        if data.get("budget") is not None:
            from .budget import read_spec_budget  # only specs with budgets pay for it

            raw = data["budget"]
            spec.budget = read_spec_budget(raw, value_pos(data, "budget", top),
                                           lambda key: key_pos(raw, key, top), lambda key: value_pos(raw, key, top),
                                           self.file)
        return spec

    def plain_text(self, mapping: dict, key: str, fallback: Pos, allowed: str = "") -> None:
        try:
            check_plain_text(f"'{key}'", mapping.get(key), allowed)
        except Problem as err:
            raise self.fail(err.message, value_pos(mapping, key, fallback), hint=err.hint) from None

    def description(self, mapping: dict, fallback: Pos) -> str:
        # a description may run over several lines, indented as its writer likes
        self.plain_text(mapping, "description", fallback, allowed="\n\t")
        return str(mapping.get("description") or "")

    def check_keys(self, mapping: dict, allowed: tuple[str, ...], what: str, layer: str | None = None) -> None:
        for key in mapping:
            if key not in allowed:
                where = key_pos(mapping, key, getattr(mapping, "pos", Pos(1, 1)))
                raise self.fail(f"unknown {what} '{printable(str(key))}'", where,
                                hint=did_you_mean(str(key), allowed) or "allowed: " + one_of(allowed), layer=layer)

    def reference(self, mapping: dict, key: str, fallback: Pos) -> tuple[str | None, Pos | None]:
        if key not in mapping:
            return None, None
        value, pos = as_name(mapping[key]), value_pos(mapping, key, fallback)
        if not isinstance(value, str) or not is_reference(value):
            raise self.fail(f"'{key}' must name a layer, got {as_written(value)}", pos)
        return value, pos

    def variables(self, raw: Any, pos: Pos) -> list[tuple[str, Any, Pos]]:
        if raw is None:
            return []
        if not isinstance(raw, dict):
            raise self.fail("'vars' must be a mapping of names to values", pos, hint="vars: {width: 64, classes: 1000}")
        result = []
        for name, value in raw.items():
            self.check_name(name, value_pos(raw, name, pos), "variable", raw)
            self.not_an_input_name(name, "variable", key_pos(raw, name, pos))
            result.append((name, value, value_pos(raw, name, pos)))
        return result

    def not_an_input_name(self, name: str, what: str, pos: Pos) -> None:
        """A variable or an argument of that name would hide what a block knows of its input, silently: the block
        would size itself from the wrong number."""
        if name in BLOCK_INPUT_NAMES:
            raise self.fail(f"{what} name '{name}' is given by paramcalc", pos,
                            hint="inside a block, in_channels and in_shape are the channels and the shape of the "
                                 "block's input; name it otherwise, e.g. 'width'")

    def check_name(self, name: Any, pos: Pos, what: str, mapping: dict | None = None) -> None:
        """A name is letters, digits, '_' and '-'; `mapping`, the one the name is a key of, may show that the name
        is the piece of an expression that a comma cut off."""
        if isinstance(name, str) and is_name(name):
            return
        written = as_written(name)
        split = split_expression(mapping) if mapping is not None else None
        if split is not None:
            raise self.fail(f"{what} name {written} is not a valid name: {EXPRESSION_SPLIT}", pos, hint=split)
        hint = "use letters, digits, '_' and '-' (no dots: dots separate nested names)"
        if isinstance(name, bool) or name is None:
            hint = ("YAML 1.1 reads yes, no, on, off, true, false and null as values, not text: write the name in "
                    "quotes, with letters, digits, '_' and '-'")
        elif not isinstance(name, str):
            hint = (f"YAML reads {written} as a number, not text: write a name in quotes, with letters, digits, '_' "
                    "and '-'")
        raise self.fail(f"{what} name {written} is not a valid name", pos, hint=hint)

    def block_def(self, name: str, body: Any, pos: Pos) -> BlockDef:
        self.check_name(name, pos, "block")
        taken = name_taken_from_blocks(name, self.lookup)
        if taken:
            raise self.fail(f"block '{name}' has the name of {taken}", pos,
                            hint=f"give the block another name, e.g. '{name}_block'")
        if not isinstance(body, dict) or "layers" not in body:
            raise self.fail(f"block '{name}' needs a 'layers' list", pos,
                            hint="blocks: {name: {args: {planes: ~}, layers: [...]}}")
        self.check_keys(body, BLOCK_KEYS, "block key")
        args_raw = body.get("args") or {}
        if not isinstance(args_raw, dict):
            raise self.fail(f"'args' of block '{name}' must be a mapping of argument names to defaults",
                            value_pos(body, "args", pos),
                            hint="args: {planes: ~, stride: 1}  (~ marks a required argument)")
        self.block = name  # the messages from here on name it
        args = {}
        for arg, default in args_raw.items():
            self.check_name(arg, value_pos(args_raw, arg, pos), "argument", args_raw)
            self.not_an_input_name(arg, "argument", key_pos(args_raw, arg, pos))
            args[arg] = (default, value_pos(args_raw, arg, pos))
        output, output_pos = self.reference(body, "output", pos)
        return BlockDef(name=name, pos=pos, args=args,
                        layers=self.layer_list(body["layers"], value_pos(body, "layers", pos), f"block '{name}'", ""),
                        output=output, output_pos=output_pos, description=self.description(body, pos),
                        reads_input=_mentions({key: value for key, value in body.items() if key != "description"},
                                              BLOCK_INPUT_NAMES))

    def layer_list(self, raw: Any, pos: Pos, where: str, prefix: str) -> list[LayerSpec]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"'layers' of {where} must be a non-empty list, got {shorten(as_written(raw))}", pos,
                            hint="one item per layer: '- conv2d: {out: 64, kernel: 3}' then '- relu'")
        positions = raw.positions() if isinstance(raw, YList) else [pos] * len(raw)  # a list from Python: its own
        return [self.layer(item, where, prefix, index) for index, (item, where) in enumerate(zip(raw, positions))]

    def known_kind(self, kind: Any, where: Callable[[], Pos], label: str) -> str:
        """The kind, checked (once per spec); where it is written is looked up only for a message."""
        if kind in self.known_kinds:
            return kind
        if not isinstance(kind, str) or not kind:
            raise self.fail(f"a layer kind must be a name, got {as_written(kind)}", where(), layer=label)
        if self.lookup(kind) is None and kind not in self.block_names:
            names = [*self.kind_names, *self.block_names]
            raise self.fail(f"unknown layer kind '{printable(kind)}'", where(), layer=label,
                            hint=did_you_mean(kind, names) or "run 'paramcalc layers' for the list; blocks here: "
                            + (one_of(self.block_names) or "none"))
        self.known_kinds.add(kind)
        return kind

    def layer(self, raw: Any, pos: Pos, prefix: str, index: int) -> LayerSpec:
        if isinstance(raw, str):
            return LayerSpec(pos, self.known_kind(raw.strip(), lambda: pos, prefix + str(index)))
        if not isinstance(raw, dict):
            raise self.fail(f"a layer must be a kind name or a mapping, got {shorten(as_written(raw))}", pos,
                            hint="write '- relu' or '- conv2d: {out: 64, kernel: 3}'")
        kinds = raw.keys() - _LAYER_KEY_SET
        name = as_name(raw.get("name"))
        label = prefix + (name if isinstance(name, str) else str(index))
        if len(kinds) != 1 or "layers" in raw:
            self.check_kinds(raw, pos, label)
        layer = LayerSpec(pos, None)
        layer.written = raw
        if kinds:
            kind_key, = kinds
            layer.kind = layer.kind_key = kind_key
            layer.args = raw[kind_key]
            self.known_kind(kind_key, lambda: key_pos(raw, kind_key, pos), label)
            self.check_fields(layer, label)
        else:
            layer.layers = self.layer_list(raw["layers"], value_pos(raw, "layers", pos), "a group", label + ".")
            layer.output, layer.output_pos = self.reference(raw, "output", pos)
        if name is not None:
            if not (isinstance(name, str) and is_name(name)):  # where it is written, for the message only
                self.check_name(name, value_pos(raw, "name", pos), "layer")
            if name == INPUT_NAME:
                raise self.fail("'input' is reserved for the input of the model or block", value_pos(raw, "name", pos),
                                hint="give the layer another name, e.g. 'stem'")
            layer.name = name
        if len(raw) > 1 + (name is not None):  # more than a kind and a name
            if "from" in raw:
                layer.inputs = self.inputs(raw["from"], lambda: value_pos(raw, "from", pos), label)
            layer.repeat = raw.get("repeat")
            if "names" in raw:
                layer.names = self.copy_names(raw, pos, label)
            layer.condition = raw.get("if")
            for flag in ("frozen", "train_only", "functional"):
                if flag in raw:
                    if not isinstance(raw[flag], bool):
                        raise self.fail(f"'{flag}' must be true or false", value_pos(raw, flag, pos), layer=label)
                    setattr(layer, flag, raw[flag])
            if "module" in raw:
                layer.module = self.module_class(raw, pos, label, layer)
        return layer

    def module_class(self, raw: dict, pos: Pos, label: str, layer: LayerSpec) -> str:
        """`module: Conv3DSimple`: a class name, on a layer of a kind (not a group or a block), not a function."""
        value, where = raw["module"], value_pos(raw, "module", pos)
        if not isinstance(value, str) or not _CLASS.fullmatch(value):
            hint = "the class's own name, as type(module).__name__ gives it: module: Conv3DSimple"
            if isinstance(value, str) and "." in value and _CLASS.fullmatch(value.rsplit(".", 1)[-1]):
                hint = f"the class's name without its module path: module: {value.rsplit('.', 1)[-1]}"
            raise self.fail(f"'module' must be the name of a Python class, got {as_written(value)}", where,
                            hint=hint, layer=label)
        if layer.layers is not None or (layer.kind is not None and self.lookup(layer.kind) is None):
            what = "an inline group" if layer.layers is not None else f"block '{layer.kind}'"
            raise self.fail(f"'module' names the class that runs one layer, and {what} is a group of layers", where,
                            hint="put 'module' on the layer inside the group or block that the class runs",
                            layer=label)
        if layer.functional:
            raise self.fail("a layer called as a function (functional: true) runs no module", where, layer=label,
                            hint="keep 'functional: true' for a function call, 'module' for a module's class")
        return value

    def check_kinds(self, raw: dict, pos: Pos, label: str) -> None:
        """A layer has one kind, or 'layers' for an inline group."""
        kinds = [printable(str(key)) for key in raw if key not in _LAYER_KEY_SET]
        split = split_expression(raw)  # the kind '2)' may be the piece of {repeat: max(1, 2), relu} a comma cut off
        why = f": {EXPRESSION_SPLIT}" if split else ""
        if len(kinds) > 1:
            raise self.fail(f"one layer has several kinds: {', '.join(kinds)}{why}", pos, layer=label,
                            hint=split or "each layer is one list item: start each with its own '- '")
        if not kinds and "layers" not in raw:
            raise self.fail("the layer has no kind", pos, layer=label,
                            hint="add a kind such as 'conv2d: {...}', or 'layers: [...]' for a group")
        if kinds and "layers" in raw:
            raise self.fail(f"a layer of kind '{kinds[0]}' cannot also have 'layers'{why}", pos, layer=label,
                            hint=split or f"'layers' makes an inline group; put the '{kinds[0]}' inside it")

    def copy_names(self, raw: Any, pos: Pos, label: str | None) -> tuple[str, int]:
        """`names: denselayer1`: a repeat's copies are denselayer1, denselayer2, ... (as torchvision names them)."""
        value, where = as_name(raw["names"]), value_pos(raw, "names", pos)
        if "repeat" not in raw:
            raise self.fail("'names' goes with 'repeat': it names the copies", where, layer=label,
                            hint="repeat: 6, names: denselayer1")
        match = _NUMBERED.match(value) if isinstance(value, str) and is_name(value) else None
        if match is None or len(match.group(2)) > 9:
            raise self.fail(f"names must be the first copy's name, ending in its number, got {as_written(value)}",
                            where, layer=label, hint="names: denselayer1 names the copies denselayer1, "
                                                     "denselayer2, ...")
        return match.group(1), int(match.group(2))

    def inputs(self, raw: Any, where: Callable[[], Pos], label: str | None) -> list[str]:
        """The names in 'from'; where it is written is looked up only for a message."""
        items = [as_name(item) for item in (raw if isinstance(raw, list) else [raw])]
        if not items:
            raise self.fail("'from' is an empty list", where(), layer=label, hint="from: [branch1, branch2]")
        for item in items:
            if not isinstance(item, str) or not is_reference(item):
                raise self.fail(f"'from' must name layers, got {as_written(item)}", where(), layer=label,
                                hint="from: input, from: conv1 or from: [branch1, branch2]")
        return list(items)

    def check_fields(self, layer: LayerSpec, label: str | None) -> None:
        """Field names are checked here, with their line; their values at expansion."""
        args = layer.args
        kind = self.lookup(layer.kind)
        if kind is None:  # a block: its arguments are checked against its definition at expansion
            if args is not None and not isinstance(args, dict):
                raise self.fail(f"arguments of block '{layer.kind}' must be a mapping", layer.args_pos, layer=label,
                                hint=f"{layer.kind}: {{name: value, ...}}")
            return
        if args is None:
            return
        written = layer.kind or kind.kind  # as the user wrote it ('conv', not 'conv2d'), for the messages
        if not isinstance(args, dict):
            if kind.primary is None:
                raise self.fail(f"{written} takes its settings as a mapping, got {shorten(as_written(args))}",
                                layer.args_pos, layer=label, hint=self.field_hint(kind, written))
            return
        names = kind.field_names()
        if names.issuperset(args):
            return
        for key in args:
            if key not in names:
                where = key_pos(args, key, layer.args_pos or layer.pos)
                split = split_expression(args)
                if split is not None:
                    raise self.fail(f"{written} has no field '{printable(str(key))}': {EXPRESSION_SPLIT}", where,
                                    layer=label, hint=split)
                raise self.fail(f"{written} has no field '{printable(str(key))}'", where, layer=label,
                                hint=did_you_mean(str(key), names) or self.field_hint(kind, written))

    @staticmethod
    def field_hint(kind: Any, written: str) -> str:
        if not kind.fields:
            return f"{written} has no fields"
        return f"{written} fields: " + ", ".join(f.name for f in kind.fields)
