"""A traced model's layers arranged as the model's modules are: a group for each module call, every input named
as a spec names it (`input`, a sibling, `downsample` for the last layer of a group). blocks.py then turns a
class used several times into a block and consecutive uses into a repeat."""

from __future__ import annotations

from dataclasses import dataclass, field

from .trace import Traced


@dataclass
class Group:
    path: str  # the module's path: 'layer1.0' ('' for the model)
    name: str  # its name in its parent: '0'
    items: list["Group | int"] = field(default_factory=list)  # child groups and op indices, in order
    module_class: str = ""

    def last_op(self) -> int | None:
        for item in reversed(self.items):
            found = item.last_op() if isinstance(item, Group) else item
            if found is not None:
                return found
        return None

    def first_op(self) -> int | None:
        for item in self.items:
            found = item.first_op() if isinstance(item, Group) else item
            if found is not None:
                return found
        return None


def build_tree(traced: Traced, classes: dict[str, str]) -> tuple[Group, dict[int, list[Group]]]:
    """The groups, following the module calls each op sits in; and for each op the chain of its groups."""
    root = Group("", "")
    open_groups: list[Group] = [root]
    used_names: dict[int, set[str]] = {id(root): set()}
    chains: dict[int, list[Group]] = {}
    for index, op in enumerate(traced.ops):
        scope = list(op.scope)
        depth = 0
        while depth < len(scope) and depth + 1 < len(open_groups) and open_groups[depth + 1].path == scope[depth]:
            depth += 1
        del open_groups[depth + 1:]
        for path in scope[depth:]:
            parent = open_groups[-1]
            name = path[len(parent.path) + 1:] if parent.path else path
            taken = used_names[id(parent)]
            unique, count = name, 2
            while unique in taken:  # the same module called again later: a second group
                unique, count = f"{name}_{count}", count + 1
            taken.add(unique)
            group = Group(path, unique, module_class=classes.get(path, ""))
            used_names[id(group)] = set()
            parent.items.append(group)
            open_groups.append(group)
        group = open_groups[-1]
        taken = used_names[id(group)]
        unique, count = op.name, 2
        while unique in taken:
            unique, count = f"{op.name}_{count}", count + 1
        taken.add(unique)
        op.name = unique
        group.items.append(index)
        chains[index] = list(open_groups)
    return root, chains


@dataclass
class Entry:
    """One layer (kind: a layer kind) or group (kind: 'group') as the spec will show it."""

    name: str
    kind: str
    settings: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # every input named; 'input' is the group's own
    train_only: bool = False
    body: list["Entry"] = field(default_factory=list)
    module_class: str = ""
    group: Group | None = None
    comment: str = ""


class Writer:
    def __init__(self, traced: Traced, root: Group, chains: dict[int, list[Group]]) -> None:
        self.traced, self.root, self.chains = traced, root, chains
        self.lines: list[str] = []
        self.inputs: dict[int, int | None] = {}  # group id -> the op its first layer reads from outside (-1: input)
        self._group_inputs(root)

    def _group_inputs(self, group: Group) -> None:
        first = group.first_op()
        self.inputs[id(group)] = None
        if first is not None:
            inside = self._ops_in(group)
            outside = [i for i in self.traced.ops[first].inputs if i not in inside]
            self.inputs[id(group)] = outside[0] if outside else None
        for item in group.items:
            if isinstance(item, Group):
                self._group_inputs(item)

    def _ops_in(self, group: Group) -> set[int]:
        found: set[int] = set()
        for item in group.items:
            if isinstance(item, Group):
                found |= self._ops_in(item)
            else:
                found.add(item)
        return found

    def reference(self, source: int, group: Group) -> str:
        """The name by which a layer in `group` reads op `source` (or the model's input, -1)."""
        if source == self.inputs[id(group)]:
            return "input"
        if source == -1:
            return "input"
        chain = self.chains[source]
        # the deepest common group, then the path from there down
        common = 0
        mine = self._chain_of(group)
        while common < len(chain) and common < len(mine) and chain[common] is mine[common]:
            common += 1
        path = [g.name for g in chain[common:]] + [self.traced.ops[source].name]
        # an op that is the last of its group is read by the group's name (downsample, not downsample.1)
        if len(chain) > common and chain[-1].last_op() == source:
            path = [g.name for g in chain[common:]]
        return ".".join(path)

    def _chain_of(self, group: Group) -> list[Group]:
        chain: list[Group] = []

        def find(current: Group, trail: list[Group]) -> bool:
            if current is group:
                chain.extend(trail + [current])
                return True
            return any(find(item, trail + [current]) for item in current.items if isinstance(item, Group))

        find(self.root, [])
        return chain

    def body(self, group: Group) -> list[Entry]:
        """The group's layers and subgroups as entries, every input named (the previous one as well)."""
        entries: list[Entry] = []
        previous, previous_op = "input", self.inputs[id(group)]
        whole = all(self.traced.ops[i].train_only for i in self._ops_in(group)) if group.items else False

        def name_of(source: int) -> str:
            return previous if source == previous_op else self.reference(source, group)

        for item in group.items:
            if isinstance(item, Group):
                source = self.inputs[id(item)]
                entry = Entry(item.name, "group", inputs=[name_of(source) if source is not None else previous],
                              train_only=not whole and all(self.traced.ops[i].train_only for i in self._ops_in(item)),
                              body=self.body(item), module_class=item.module_class, group=item)
                previous_op = item.last_op()
            else:
                op = self.traced.ops[item]
                entry = Entry(op.name, op.kind, settings=dict(op.settings), inputs=[name_of(i) for i in op.inputs],
                              train_only=op.train_only and not whole, comment=op.comment)
                previous_op = item
            entries.append(entry)
            previous = entry.name
        return entries
