"""A traced model's layers arranged as the model's modules are: a group for each module call, every input named
as a spec names it (`input`, a sibling, `downsample` for the last layer of a group). blocks.py then turns a
class used several times into a block and consecutive uses into a repeat."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError
from .layers import Traced


@dataclass(eq=False)
class Group:
    path: str = ""  # the module's path: 'layer1.0' ('' for the model)
    name: str = ""  # its name in its parent: '0'
    parent: Group | None = None
    items: list[Group | int] = field(default_factory=list)  # child groups and op indices, in order
    ops: list[int] = field(default_factory=list)  # every op inside, in order (a group's ops are consecutive)
    module_class: str = ""

    def first_op(self) -> int:  # a group holds one op at least (a model of none is refused before)
        return self.ops[0]

    def last_op(self) -> int:
        return self.ops[-1]

    def chain(self) -> list[Group]:
        """The groups from the model down to this one."""
        chain: list[Group] = []
        group: Group | None = self
        while group is not None:
            chain.append(group)
            group = group.parent
        return chain[::-1]


def build_tree(traced: Traced, classes: dict[str, str]) -> tuple[Group, list[Group]]:
    """The groups, following the module calls each op sits in; and for each op, the group it sits in."""
    root = Group()
    open_groups: list[Group] = [root]
    used_names: dict[int, set[str]] = {id(root): set()}
    owners: list[Group] = []
    for index, op in enumerate(traced.ops):
        scope = list(op.scope)
        depth = 0
        while depth < len(scope) and depth + 1 < len(open_groups) and open_groups[depth + 1].path == scope[depth]:
            depth += 1
        del open_groups[depth + 1:]
        for path in scope[depth:]:
            parent = open_groups[-1]
            name = _unique(path[len(parent.path) + 1:] if parent.path else path, used_names[id(parent)])
            group = Group(path, name, parent, module_class=classes.get(path, ""))
            used_names[id(group)] = set()
            parent.items.append(group)
            open_groups.append(group)
        group = open_groups[-1]
        op.name = _unique(op.name, used_names[id(group)])
        group.items.append(index)
        for enclosing in open_groups:
            enclosing.ops.append(index)
        owners.append(group)
    return root, owners


def _unique(name: str, taken: set[str]) -> str:
    """The name, or name_2, name_3, ... when it is taken (a module called again later, ReLU used thrice)."""
    unique, count = name, 2
    while unique in taken:
        unique, count = f"{name}_{count}", count + 1
    taken.add(unique)
    return unique


@dataclass
class Entry:
    """One layer (kind: a layer kind) or group (kind: 'group') as the spec will show it."""

    name: str
    kind: str
    settings: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # every input named; 'input' is the group's own
    train_only: bool = False
    functional: bool = False  # a layer the model calls as a function (F.relu), not a module
    module: str = ""  # a layer run by a subclass of its kind's standard module: that class (Conv3DSimple)
    body: list[Entry] = field(default_factory=list)
    module_class: str = ""
    comment: str = ""


class Writer:
    def __init__(self, traced: Traced, root: Group, owners: list[Group]) -> None:
        self.traced, self.root, self.owners = traced, root, owners
        self.inputs: dict[int, int | None] = {}  # group id -> the op its first layer reads from outside (-1: input)
        self._group_inputs(root)

    def _group_inputs(self, group: Group) -> None:
        inside = set(group.ops)
        outside = [i for i in self.traced.ops[group.first_op()].inputs if i not in inside]
        self.inputs[id(group)] = outside[0] if outside else None
        for item in group.items:
            if isinstance(item, Group):
                self._group_inputs(item)

    def reference(self, source: int, group: Group) -> str:
        """The name by which a layer in `group` reads op `source` (or the model's input, -1)."""
        if source == self.inputs[id(group)]:  # the group's own input (the model's, for the model)
            return "input"
        if source == -1:  # inside a group, `input` is the group's own
            raise SpecError(f"module '{group.path}' reads the model's input beside its own input (another "
                            "tensor): a spec names the model's input only outside groups",
                            hint="paramcalc cannot import this model as it is; write its spec by hand")
        chain, mine = self.owners[source].chain(), group.chain()
        common = 0  # the deepest common group, then the path from there down
        while common < len(chain) and common < len(mine) and chain[common] is mine[common]:
            common += 1
        path = [g.name for g in chain[common:]]
        # an op that is the last of its group is read by the group's name (downsample, not downsample.1)
        if not (len(chain) > common and chain[-1].last_op() == source):
            path.append(self.traced.ops[source].name)
        return ".".join(path)

    def _train_only(self, group: Group) -> bool:
        return all(self.traced.ops[i].train_only for i in group.ops)

    def body(self, group: Group) -> list[Entry]:
        """The group's layers and subgroups as entries, every input named (the previous one as well)."""
        entries: list[Entry] = []
        previous, previous_op = "input", self.inputs[id(group)]
        whole = bool(group.items) and self._train_only(group)

        def name_of(source: int) -> str:
            return previous if source == previous_op else self.reference(source, group)

        for item in group.items:
            if isinstance(item, Group):
                source = self.inputs[id(item)]
                entry = Entry(item.name, "group", inputs=[name_of(source) if source is not None else previous],
                              train_only=not whole and self._train_only(item), body=self.body(item),
                              module_class=item.module_class)
                previous_op = item.last_op()
            else:
                op = self.traced.ops[item]
                entry = Entry(op.name, op.kind, settings=dict(op.settings), inputs=[name_of(i) for i in op.inputs],
                              train_only=op.train_only and not whole, functional=op.functional, module=op.module,
                              comment=op.comment)
                previous_op = item
            entries.append(entry)
            previous = entry.name
        return entries
