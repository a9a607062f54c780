"""Spec -> expanded graph: blocks and repeats instantiated, expressions evaluated, names resolved.

Every layer becomes a `Node` with a dotted path (`layer3.4.conv2`); blocks, repeats and
inline groups become group nodes whose children follow them. A layer can only take
input from layers above it, so the graph is acyclic by construction and the node list
is already in a valid evaluation order.
"""

from __future__ import annotations

from collections import ChainMap, namedtuple
from typing import Any, Callable, MutableMapping

from ..errors import Pos, SpecError, did_you_mean, printable
from ..limits import MAX_CONNECTIONS, MAX_EVALUATED_CHARS, MAX_LAYERS, MAX_NESTING, MAX_RANK, MAX_REPEAT, MAX_SIZE
from ..spec.expressions import ExprError, evaluate, names_in
from ..spec.format import (DTYPE_BYTES, DTYPE_HINT, EXPRESSION_SPLIT, INPUT_NAME, BlockDef, LayerSpec, Spec,
                           dtype_name, split_expression)
from ..spec.literals import as_written, shorten
from ..spec.source import key_pos, value_pos
from .cache import Cache, SpecCache
from .dims import Shape, shape_parts
from .layers import WORDS, FieldError, LayerError, LayerKind, lookup
from .symbolic import symbol

INPUT_PORT = -1


class Marks(namedtuple("Marks", "frozen train_only functional")):
    """What a layer or group says about its role, which its layers inherit."""

    __slots__ = ()

    @classmethod
    def of(cls, layer: LayerSpec) -> "Marks":
        return cls(layer.frozen, layer.train_only, layer.functional)


NO_MARKS = Marks(False, False, False)


class Node:
    """One layer or group of the expanded model."""

    __slots__ = ("index", "path", "name", "depth", "kind", "layer", "inputs", "input_names", "parent", "pos",
                 "written", "frozen", "train_only", "functional", "module", "output", "children", "repeated")

    def __init__(self, index: int, path: tuple[str, ...], kind: str, layer: LayerKind | None,
                 inputs: tuple[int, ...], input_names: tuple[str, ...], parent: int | None, pos: Pos,
                 written: LayerSpec | None, marks: Marks) -> None:
        self.index, self.path = index, path
        self.name = ".".join(path)  # 'layer3.4.conv2'
        self.depth = len(path) - 1
        self.kind = kind  # a layer kind, a block's name, 'group' or 'repeat'
        self.layer = layer  # None for a group; identical layers share one object
        self.inputs = inputs  # ports: node indices, or INPUT_PORT for the model's input
        self.input_names = input_names
        self.parent, self.pos, self.written = parent, pos, written  # written: as in the spec
        self.frozen, self.train_only, self.functional = marks  # parameters not trained; runs only in training;
        # PyTorch calls it as a function, not a module (what counters that hook modules see: conventions.py)
        # the class that runs the layer when it is a subclass of the kind's standard one (Conv3DSimple): the spec's
        # `module`, which a group's layers do not inherit; counters that look their hooks up by exact type miss it
        self.module = (written.module or "") if written is not None and layer is not None else ""
        self.output = INPUT_PORT  # a group's output port; a layer's own index
        self.children: list[int] | tuple = [] if layer is None else ()  # a layer has none
        self.repeated = ""  # for a repeat group: what it repeats and how often, e.g. 'bottleneck ×3'

    @property
    def is_group(self) -> bool:
        return self.layer is None

    def where(self, field: str | None) -> Pos:
        """Where a field of this layer is written (for a message), or the layer itself."""
        return _field_pos(self.written, field) if self.written is not None and field else self.pos

    def __repr__(self) -> str:
        return f"Node({self.index}, {self.name!r}, {self.kind!r})"


def _field_pos(layer: LayerSpec, field: str | None) -> Pos:
    fallback = layer.args_pos or layer.pos
    args = layer.args
    return value_pos(args, field, fallback) if field and isinstance(args, dict) and field in args else fallback


class Graph:
    """The expanded model at one input size and batch: what the analysis walks."""

    __slots__ = ("spec", "input_shape", "batch", "dtype", "nodes", "output")

    def __init__(self, spec: Spec, input_shape: Shape, batch: int, dtype: str, nodes: list[Node],
                 output: int) -> None:
        self.spec, self.input_shape, self.batch, self.dtype = spec, input_shape, batch, dtype
        self.nodes, self.output = nodes, output

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]


class _Scope:
    """The names visible to one list of layers; inline groups see their parents' names, blocks do not."""

    def __init__(self, input_port: int, parent: "_Scope | None" = None) -> None:
        self.input_port = input_port
        self.parent = parent
        self.names: dict[str, tuple[int, int | None]] = {}  # name -> (port, group node or None)
        self.pending: frozenset[str] = frozenset()  # names of the list being expanded, not yet reached

    def visible(self) -> list[str]:
        names, scope = [INPUT_NAME], self  # type: list[str], _Scope | None
        while scope is not None:
            names.extend(scope.names)
            scope = scope.parent
        return names


_ABSENT = object()


class Evaluation:
    """Evaluates the YAML values of one expansion, every scalar; a field's bare words (WORDS) stay words unless
    a variable has that name.

    The work is bounded before it is done: the text evaluated in all (a number or a list counts 1) is held to
    MAX_EVALUATED_CHARS, since a repeat evaluates its layers' fields once per copy. Aliases share their anchor's
    list or mapping, which one value evaluates once however often it repeats it: a small file cannot stand for
    a million expressions."""

    def __init__(self) -> None:
        self.remaining = MAX_EVALUATED_CHARS

    def __call__(self, raw: Any, variables: MutableMapping[str, Any]) -> Any:
        return self.walk(raw, variables, {})

    def walk(self, raw: Any, variables: MutableMapping[str, Any], evaluated: dict[int, Any]) -> Any:
        """`evaluated` maps id() of each list and mapping done so far in this value to its result: the objects
        are the value's own, alive until it is done, so an id cannot be reused meanwhile."""
        if type(raw) is int or raw is None:  # the common case first; a bool or a Fraction is returned at the end
            self.spend(1)
            return raw
        if isinstance(raw, str):
            self.spend(len(raw) or 1)
            word = raw.strip()
            if word in WORDS and word not in variables:
                return word
            return evaluate(raw, variables)
        if isinstance(raw, (list, dict)):
            result = evaluated.get(id(raw), _ABSENT)
            if result is _ABSENT:
                self.spend(1)
                result = [self.walk(item, variables, evaluated) for item in raw] if isinstance(raw, list) else \
                    {key: self.walk(value, variables, evaluated) for key, value in raw.items()}
                evaluated[id(raw)] = result
            return result
        self.spend(1)
        return raw

    def spend(self, chars: int) -> None:
        self.remaining -= chars
        if self.remaining < 0:
            raise ExprError(f"the spec's values come to more than {MAX_EVALUATED_CHARS:,} characters to evaluate, "
                            "counting each alias and each copy of a repeat again",
                            hint="a network needs a few thousand short expressions: give a value once under 'vars:' "
                                 "and use its name (b: a) rather than copies through YAML aliases, and check the "
                                 "'repeat' counts")


def _names_in(raw: Any) -> tuple[str, ...]:
    """Every word in the text of a YAML value: a superset of the variables its expressions read."""
    if isinstance(raw, str):
        return tuple(names_in(raw))
    if isinstance(raw, list):
        return tuple(name for item in raw for name in _names_in(item))
    if isinstance(raw, dict):
        return tuple(name for item in raw.values() for name in _names_in(item))
    return ()


class Expander:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.nodes: list[Node] = []
        self.group_scopes: dict[int, _Scope] = {}
        self.layers: dict[tuple, LayerKind] = {}  # identical layers share one object (and its cached results)
        self.made: dict[int, tuple] = {}  # id of a LayerSpec -> (the names it reads, {their values: object})
        self.top_made: dict[tuple, LayerKind] = {}  # a top-level layer's kind and arguments -> object
        self.connections = 0  # inputs of every layer so far (a merge of many inputs inside a repeat adds up)
        self.model_input: Shape | None = None
        self.shapes: dict[int, Shape] = {}  # a layer's output shape, when a block needs its input's
        self.evaluate = Evaluation()

    def fail(self, message: str, pos: Pos | None, layer: str | None = None, hint: str | None = None) -> SpecError:
        return SpecError(message, pos=pos, layer=layer or None, hint=hint, file=self.spec.file)

    def value(self, raw: Any, variables: MutableMapping[str, Any], pos: Pos | None, layer: str | None,
              what: str | None = None) -> Any:
        try:
            return self.evaluate(raw, variables)
        except ExprError as err:
            raise self.fail(f"{what}: {err.message}" if what else err.message, pos, layer, err.hint) from None

    def whole(self, raw: Any, variables: MutableMapping[str, Any], pos: Pos | None, layer: str | None, what: str,
              minimum: int, maximum: int) -> int:
        value = self.value(raw, variables, pos, layer, what)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{what} must be a whole number, got {as_written(value)}", pos, layer,
                            "YAML 1.1 reads yes, no, on and off as true and false" if isinstance(value, bool) else None)
        if not minimum <= value <= maximum:
            raise self.fail(f"{what} must be between {minimum:,} and {maximum:,}, got {value:,}", pos, layer)
        return value

    # --- the model ---------------------------------------------------------------------
    def variables(self) -> dict[str, Any]:
        variables: dict[str, Any] = {}
        for name, raw, pos in self.spec.variables:
            variables[name] = self.value(raw, variables, pos, None, f"vars: {name}")
        return variables

    def expand(self, variables: MutableMapping[str, Any], input_shape: Shape | None = None) -> "Expansion":
        """The nodes. `input_shape` is needed (and given) only when a block reads its input's size."""
        spec = self.spec
        self.globals: MutableMapping[str, Any] = variables
        self.model_input = input_shape
        scope = _Scope(INPUT_PORT)
        output = self.expand_list(spec.layers, scope, (), None, INPUT_PORT, variables, (), 0)
        if spec.output is not None:
            output = self.resolve(spec.output, scope, lambda: (spec.output_pos, None))
        if output != INPUT_PORT and self.nodes[output].train_only:
            raise self.fail(f"the model's output, '{self.nodes[output].name}', runs only in training",
                            spec.output_pos or self.nodes[output].pos, None,
                            hint="name the inference output with 'output:' (the main classifier, not an auxiliary "
                                 "head)")
        return Expansion(self.nodes, output, variables)

    def sizes(self, variables: MutableMapping[str, Any]) -> tuple[Shape, int]:
        """The spec's own input shape and batch, which may use its variables."""
        spec = self.spec
        shape = self.input_shape(spec.input, variables, spec.input_pos)
        batch = self.whole(spec.batch, variables, spec.batch_pos, None, "batch", 1, MAX_SIZE)
        return shape, batch

    def port_shape(self, port: int) -> Shape:
        """The shape a port carries, worked out from the layers expanded so far (for a block that reads
        `in_channels` or `in_shape`): each layer's output shape, once, walking back through the layers it needs
        with a list rather than recursion (a chain may be a repeat of 10,000 layers)."""
        if port == INPUT_PORT:
            assert self.model_input is not None
            return self.model_input
        pending = [port]
        while pending:
            current = pending[-1]
            if current in self.shapes:
                pending.pop()
                continue
            node = self.nodes[current]
            missing = [source for source in node.inputs if source != INPUT_PORT and source not in self.shapes]
            if missing:
                pending.extend(missing)
                continue
            inputs = [self.model_input if source == INPUT_PORT else self.shapes[source] for source in node.inputs]
            try:
                self.shapes[current] = node.layer.output_shape(inputs)  # type: ignore[union-attr, arg-type]
            except LayerError as err:
                raise self.fail(err.message, node.where(err.field), node.name, err.hint) from None
            pending.pop()
        return self.shapes[port]

    def input_shape(self, raw: Any, variables: MutableMapping[str, Any], pos: Pos) -> Shape:
        if isinstance(raw, str) and "x" in raw.replace("X", "x") and not raw.strip().startswith(("'", '"')):
            raw = shape_parts(raw)
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"'input' must be a list of sizes, got {raw!r}", pos,
                            hint="input: [3, 224, 224]  (channels, height, width; without the batch)")
        return tuple(symbol(item.strip()) if is_symbol_name(item, variables) else
                     self.whole(item, variables, pos, None, "each input size", 1, MAX_SIZE) for item in raw)

    # --- lists, layers, groups ---------------------------------------------------------
    def expand_list(self, layers: list[LayerSpec], scope: _Scope, prefix: tuple[str, ...], parent: int | None,
                    port: int, variables: MutableMapping[str, Any], blocks: tuple[str, ...], depth: int) -> int:
        names = [layer.name or str(index) for index, layer in enumerate(layers)]
        scope.pending = frozenset(names)
        for layer, name in zip(layers, names):
            if name in scope.names:
                first = layers[names.index(name)].pos
                raise self.fail(f"duplicate layer name '{name}' (first used on line {first.line})",
                                layer.pos, ".".join((*prefix, name)),
                                hint="names must be unique within their list; unnamed layers are named by position")
            port, group = self.expand_layer(layer, name, scope, prefix, parent, port, variables, blocks, depth)
            scope.names[name] = (port, group)
        scope.pending = frozenset()
        return port

    def expand_layer(self, layer: LayerSpec, name: str, scope: _Scope, prefix: tuple[str, ...], parent: int | None,
                     previous: int, variables: MutableMapping[str, Any], blocks: tuple[str, ...],
                     depth: int) -> tuple[int, int | None]:
        path = (*prefix, name)
        if depth > MAX_NESTING:
            raise self.fail(f"blocks and groups nest more than {MAX_NESTING} deep", layer.pos, ".".join(path))
        if layer.inputs:
            def where() -> tuple[Pos | None, str]:
                return layer.inputs_pos, ".".join(path)
            inputs = [self.resolve(ref, scope, where, own=name) for ref in layer.inputs]
        else:
            inputs = [previous]
        if layer.condition is None and layer.repeat is None:
            return self.expand_one(layer, path, scope, parent, inputs, variables, blocks, depth)
        label = ".".join(path)
        if layer.condition is not None:
            if not self.value(layer.condition, variables, layer.condition_pos, label, "if"):
                return inputs[0], None  # a layer that is left out passes its (first) input on
        if layer.repeat is None:
            return self.expand_one(layer, path, scope, parent, inputs, variables, blocks, depth)
        count = self.whole(layer.repeat, variables, layer.repeat_pos, label, "repeat", 1, MAX_REPEAT)
        group = self.add_node(path, "repeat", None, inputs, parent, layer.pos, marks=Marks.of(layer))
        group.repeated = f"{layer.kind or 'group'} ×{count}"
        instances = _Scope(inputs[0])
        self.group_scopes[group.index] = instances
        port_inputs = inputs
        stem, first = layer.names or ("", 0)
        for index in range(count):
            instance_vars = ChainMap({"index": index}, variables)  # not a copy: vars may be many
            copy = f"{stem}{first + index}"
            port, child_group = self.expand_one(layer, (*path, copy), scope, group.index, port_inputs,
                                                instance_vars, blocks, depth + 1)
            instances.names[copy] = (port, child_group)
            port_inputs = [port]
        group.output = port_inputs[0]
        return group.output, group.index

    def expand_one(self, layer: LayerSpec, path: tuple[str, ...], scope: _Scope, parent: int | None,
                   inputs: list[int], variables: MutableMapping[str, Any], blocks: tuple[str, ...],
                   depth: int) -> tuple[int, int | None]:
        marks = Marks.of(layer)
        if layer.layers is not None:
            self.single_input(inputs, "a group", layer, ".".join(path))
            return self.expand_group(path, "group", layer.layers, layer.output, layer.output_pos, layer.pos, parent,
                                     _Scope(inputs[0], parent=scope), variables, blocks, depth, marks)
        assert layer.kind is not None
        block = self.spec.blocks.get(layer.kind)
        if block is not None:
            return self.expand_block(block, layer, path, parent, inputs, variables, blocks, depth, marks)
        return self.add_layer(layer, path, parent, inputs, variables, marks, reused=bool(blocks) or depth > 0), None

    def expand_block(self, block: BlockDef, layer: LayerSpec, path: tuple[str, ...], parent: int | None,
                     inputs: list[int], variables: MutableMapping[str, Any], blocks: tuple[str, ...], depth: int,
                     marks: Marks) -> tuple[int, int]:
        label = ".".join(path)
        if block.name in blocks:
            chain = " -> ".join((*blocks[blocks.index(block.name):], block.name))
            raise self.fail(f"block '{block.name}' uses itself ({chain})", layer.pos, label,
                            hint="a block cannot contain itself, directly or through other blocks")
        self.single_input(inputs, f"block '{block.name}'", layer, label)
        given = layer.args if isinstance(layer.args, dict) else {}
        own: dict[str, Any] = {}
        arguments = ChainMap(own, self.globals)  # a block sees the spec's vars and its own arguments
        if block.reads_input:  # and its input's size: in_channels, in_shape (a list)
            shape = self.port_shape(inputs[0])
            own["in_shape"] = list(shape)
            own["in_channels"] = shape[0] if shape else None
        for arg in given:
            if arg not in block.args:
                pos = key_pos(given, arg, layer.args_pos or layer.pos)
                split = split_expression(given)  # '8)' may be the piece of {w: max(8, c // 4)} a comma cut off
                raise self.fail(f"block '{block.name}' has no argument '{printable(str(arg))}'"
                                + (f": {EXPRESSION_SPLIT}" if split else ""), pos, label,
                                hint=split or did_you_mean(str(arg), block.args) or
                                f"its arguments: {', '.join(block.args) or 'none'}")
        for arg, (default, default_pos) in block.args.items():
            if arg in given:
                try:
                    arguments[arg] = self.evaluate(given[arg], variables)
                except ExprError:  # where it is written is looked up for the message only
                    self.value(given[arg], variables, value_pos(given, arg, layer.args_pos or layer.pos), label, arg)
            elif default is None:
                raise self.fail(f"block '{block.name}' needs the argument '{arg}'", layer.args_pos or layer.pos,
                                label, hint=f"{block.name}: {{{arg}: ...}}")
            else:
                arguments[arg] = self.value(default, arguments, default_pos, label, f"default of '{arg}'")
        return self.expand_group(path, block.name, block.layers, block.output, block.output_pos, layer.pos, parent,
                                 _Scope(inputs[0]), arguments, (*blocks, block.name), depth, marks)

    def expand_group(self, path: tuple[str, ...], kind: str, layers: list[LayerSpec], output: str | None,
                     output_pos: Pos | None, pos: Pos, parent: int | None, inner: _Scope,
                     variables: MutableMapping[str, Any],
                     blocks: tuple[str, ...], depth: int, marks: Marks) -> tuple[int, int]:
        """A group node for a block instance or an inline group, then its layers in their own scope."""
        group = self.add_node(path, kind, None, [inner.input_port], parent, pos, marks=marks)
        self.group_scopes[group.index] = inner
        group.output = self.expand_list(layers, inner, path, group.index, inner.input_port, variables, blocks,
                                        depth + 1)
        if output is not None:
            group.output = self.resolve(output, inner, lambda: (output_pos, ".".join(path)))
        return group.output, group.index

    def add_layer(self, layer: LayerSpec, path: tuple[str, ...], parent: int | None, inputs: list[int],
                  variables: MutableMapping[str, Any], marks: Marks, reused: bool = False) -> int:
        # A layer's object depends only on its kind, its arguments and the variables they name: a layer written
        # once in a block or a repeat is kept per values of those variables, and a top-level layer (whose
        # variables never change) per its kind and arguments, which a long generated spec repeats.
        if reused:
            made = self.made.get(id(layer))
            if made is None:
                made = self.made[id(layer)] = (_names_in(layer.args), {})
            cache: dict[tuple, LayerKind] = made[1]
            key: tuple | None = tuple(variables.get(name, _ABSENT) for name in made[0])
        else:
            cache, args = self.top_made, layer.args
            # the types are part of the key: 'bias: true' and 'bias: 1' are equal but only one is right
            if isinstance(args, dict):
                values = args.values()
                key = (layer.kind, *args, *values, *map(type, values))
            else:
                key = (layer.kind, args, type(args))
        try:
            shared = cache.get(key)  # type: ignore[arg-type]
        except TypeError:  # a list among them: made afresh
            shared, key = None, None
        if shared is None or not shared.min_inputs <= len(inputs) <= shared.max_inputs:
            shared = self.make_layer(layer, path, inputs, variables)
            if key is not None:
                cache[key] = shared
        node = self.add_node(path, shared.kind, shared, inputs, parent, layer.pos, layer, marks)
        if node.module and node.functional:  # the mark inherited from a group: the spec's own is refused on reading
            raise self.fail(f"'module: {node.module}' on a layer of a group marked 'functional: true': a function "
                            "call runs no module", value_pos(layer.written, "module", layer.pos), ".".join(path),
                            hint="mark the group's other layers 'functional: true' one by one, or drop 'module'")
        node.output = node.index
        return node.index

    def make_layer(self, layer: LayerSpec, path: tuple[str, ...], inputs: list[int],
                   variables: MutableMapping[str, Any]) -> LayerKind:
        label = ".".join(path)
        kind = lookup(layer.kind)  # type: ignore[arg-type]
        assert kind is not None
        if not kind.min_inputs <= len(inputs) <= kind.max_inputs:
            if kind.max_inputs == 1:
                raise self.fail(f"{layer.kind} takes one input, got {len(inputs)}", layer.inputs_pos or layer.pos,
                                label, hint="only merges (concat, add, mul) take several inputs")
            raise self.fail(f"{layer.kind} merges several inputs, got {len(inputs)}", layer.inputs_pos or layer.pos,
                            label, hint=f"from: [a, b] names the layers to {layer.kind}")
        args = layer.args
        if args is not None and not isinstance(args, dict):
            args = {kind.primary: args}
        args = args or {}
        values = {}
        for spec_field in kind.fields:
            if spec_field.name not in args:
                if spec_field.required:
                    raise self.fail(f"{layer.kind} needs '{spec_field.name}'", layer.args_pos or layer.pos, label,
                                    hint=f"{spec_field.name}: {spec_field.type.describe()}"
                                         + (f" ({spec_field.doc})" if spec_field.doc else ""))
                default = spec_field.default
                values[spec_field.name] = None if default is None else spec_field.type.read(default)
                continue
            try:
                value = self.evaluate(args[spec_field.name], variables)
                values[spec_field.name] = spec_field.type.read(value)
            except (ExprError, FieldError) as err:
                hint = err.hint or (f"{spec_field.name}: {spec_field.type.describe()}"
                                    if isinstance(err, FieldError) else None)
                raise self.fail(f"{spec_field.name}: {err.message}", _field_pos(layer, spec_field.name), label,
                                hint) from None
        key = (kind.kind, *values.values())
        shared = self.layers.get(key)
        if shared is None:
            shared = self.layers[key] = kind(**values)
        return shared

    def add_node(self, path: tuple[str, ...], kind: str, layer: LayerKind | None, inputs: list[int],
                 parent: int | None, pos: Pos, written: LayerSpec | None = None, marks: Marks = NO_MARKS) -> Node:
        if len(self.nodes) >= MAX_LAYERS:
            raise self.fail(f"the model expands to more than {MAX_LAYERS:,} layers", pos, ".".join(path),
                            hint="check the 'repeat' counts")
        self.connections += len(inputs)
        if self.connections > MAX_CONNECTIONS:
            raise self.fail(f"the model's layers take more than {MAX_CONNECTIONS:,} inputs together once blocks "
                            "and repeats are expanded", pos, ".".join(path),
                            hint="check the 'repeat' counts and the length of 'from' lists")
        nodes = self.nodes
        if parent is not None:  # freezing a group freezes its layers; a group that runs only in training, its layers
            above = nodes[parent]
            marks = Marks(marks.frozen or above.frozen, marks.train_only or above.train_only,
                          marks.functional or above.functional)
        if not marks.train_only:
            for port in inputs:
                if port != INPUT_PORT and nodes[port].train_only:
                    raise self.fail(f"'{nodes[port].name}' runs only in training, so at inference it gives this "
                                    "layer no input", pos, ".".join(path),
                                    hint="mark this layer 'train_only: true' too, or take its input from a layer "
                                         "that always runs")
        if len(inputs) == 1:
            port = inputs[0]
            names: tuple[str, ...] = (INPUT_NAME if port == INPUT_PORT else nodes[port].name,)
        else:
            names = tuple([INPUT_NAME if port == INPUT_PORT else nodes[port].name for port in inputs])
        node = Node(len(nodes), path, kind, layer, tuple(inputs), names, parent, pos, written, marks)
        nodes.append(node)
        if parent is not None:
            nodes[parent].children.append(node.index)  # type: ignore[union-attr]
        return node

    def single_input(self, inputs: list[int], what: str, layer: LayerSpec, label: str) -> None:
        if len(inputs) != 1:
            raise self.fail(f"{what} takes one input, got {len(inputs)}", layer.inputs_pos, label,
                            hint="merge the inputs first with a concat or add layer")

    # --- names -------------------------------------------------------------------------
    def resolve(self, ref: str, scope: _Scope, where: Callable[[], tuple[Pos | None, str | None]],
                own: str | None = None) -> int:
        """The port a reference names; `where` gives the place and the layer, for a message only."""
        found = scope.names.get(ref)  # the usual case: a layer above in the same list
        if found is not None and ref != own:
            return found[0]

        def fail(message: str, hint: str) -> SpecError:
            pos, label = where()
            return self.fail(message, pos, label, hint)

        first, *rest = ref.split(".")
        if first == INPUT_NAME and not rest:
            return scope.input_port
        if own is not None and first == own and not rest:
            raise fail(f"layer takes its own output as input ('{ref}'), which would be a cycle",
                       "name a layer above this one")
        binding, searched = None, scope  # type: tuple[int, int | None] | None, _Scope | None
        while searched is not None and binding is None:
            binding = searched.names.get(first)
            if binding is None and first in searched.pending:  # in the list, not yet reached: further down
                raise fail(f"'{first}' comes later in the list; a layer can only take input from layers above it",
                           "move the layer up, or the reference down (this rule rules out cycles)")
            searched = searched.parent
        if binding is None:
            raise fail(f"no layer named '{first}' here",
                       did_you_mean(first, scope.visible()) or "names here: " + _some(scope.visible()))
        port, group = binding
        for part in rest:
            inner = self.group_scopes.get(group) if group is not None else None
            if inner is None or part not in inner.names:
                choices = list(inner.names) if inner else []
                raise fail(f"'{ref}': no layer '{part}' inside",
                           did_you_mean(part, choices) or ("inside: " + ", ".join(choices) if choices
                                                           else f"'{ref.rsplit('.', 1)[0]}' is not a group"))
            port, group = inner.names[part]
        return port


def _some(names: list[str]) -> str:
    """A list of names for a hint: all of a short list; of a long one, the input and the nearest ones."""
    if len(names) <= 12:
        return ", ".join(names)
    return ", ".join([names[0], "...", *names[-10:]]) + f" ({len(names)} names)"


class Expansion(namedtuple("Expansion", "nodes output variables")):
    """What a spec expands to; it does not depend on the input size, so a Spec keeps it for reuse."""

    __slots__ = ()


def expand(spec: Spec, input_shape: Shape | None = None, batch: int | None = None, dtype: str | None = None,
           cache: Cache | None = None) -> Graph:
    """The spec's layers with blocks and repeats instantiated, at the spec's input size or the one given.

    The expansion does not depend on the input size unless a block reads its input's size (in_channels,
    in_shape); a Cache keeps it (per input size in that case)."""
    kept = cache.of_spec(spec) if cache is not None else SpecCache()
    expander = Expander(spec)
    if kept.variables is None:
        kept.variables = expander.variables()
    variables = kept.variables
    if input_shape is None or batch is None:
        if kept.sizes is None:
            kept.sizes = expander.sizes(variables)
        own_shape, own_batch = kept.sizes
        input_shape = own_shape if input_shape is None else input_shape
        batch = own_batch if batch is None else batch
    input_shape = tuple(symbol(size.strip()) if isinstance(size, str) else size for size in input_shape)
    if len(input_shape) > MAX_RANK:
        raise SpecError(f"the input has {len(input_shape):,} dimensions; paramcalc takes at most {MAX_RANK}",
                        file=spec.file, pos=spec.input_pos, hint="a sample's shape without the batch: [3, 224, 224]")
    for what, sizes in (("each input size", input_shape), ("the batch", (batch,))):
        # the command line checks what it reads; sizes given through the Python API are held to the same bounds
        if any(isinstance(size, bool) or (isinstance(size, int) and not 1 <= size <= MAX_SIZE) for size in sizes):
            raise SpecError(f"{what} must be a whole number from 1 to {MAX_SIZE:,}, got "
                            f"{shorten(', '.join(map(str, sizes)))}", file=spec.file)
    if dtype is not None and dtype_name(dtype) is None:
        raise SpecError(f"unknown dtype {dtype!r}", file=spec.file, hint=DTYPE_HINT)
    sized = any(block.reads_input for block in spec.blocks.values())
    key = input_shape if sized else None
    expansion = kept.expansions.get(key)
    if expansion is None:
        expansion = expander.expand(variables, input_shape if sized else None)
        kept.keep_expansion(key, expansion)
    return Graph(spec=spec, input_shape=input_shape, batch=batch, dtype=dtype_name(dtype) or spec.dtype,
                 nodes=expansion.nodes, output=expansion.output)


def is_symbol_name(raw: Any, variables: MutableMapping[str, Any]) -> bool:
    """An input size written as a name that is not one of the spec's vars: a symbol (`input: [3, H, W]`)."""
    return isinstance(raw, str) and raw.strip().isidentifier() and raw.strip() not in variables
