"""Spec -> readable PyTorch source: one nn.Module class with the spec's names, and the spec it came from.

The class builds the same modules as `build`, held in containers that mirror the spec's blocks
(`self.layer3[4].conv2`), and its forward is one line per layer, in spec order. The file needs only
torch; `paramcalc verify model.py` checks it against the spec embedded at its end.
"""

from __future__ import annotations

import inspect
import keyword
import os
import re
from pathlib import Path

from torch import nn

from ..engine.graph import INPUT_PORT, Graph, Node
from ..engine.layers.base import TorchCall
from ..spec.format import Spec, is_name
from ..spec.source import read_text
from . import modules
from .build import prepare, torch_call


def class_name(spec_name: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", spec_name)
    name = "".join(word[:1].upper() + word[1:] for word in words if word) or "Model"
    return name if name[0].isalpha() and not keyword.iskeyword(name) else "Model" + name


def _literal(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return repr(value[0])  # kernel_size=3 rather than (3, 3)
    return repr(value)


def _constructor(call: TorchCall) -> str:
    """`nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)`, leaving out PyTorch's defaults."""
    local = call.module.startswith("paramcalc.")
    name = call.module.removeprefix("paramcalc.")
    factory = getattr(modules, name) if local else getattr(nn, name)
    defaults = {p.name: p.default for p in inspect.signature(factory).parameters.values()
                if p.default is not inspect.Parameter.empty}
    parts = [_literal(arg) for arg in call.args]
    for key, value in call.kwargs.items():
        default = defaults.get(key, inspect.Parameter.empty)
        if default is not inspect.Parameter.empty and _literal(value) == _literal(default):
            continue
        parts.append(f"{key}={_literal(value)}")
    return f"{'' if local else 'nn.'}{name}({', '.join(parts)})"


class _Writer:
    def __init__(self, graph: Graph, analysis) -> None:
        self.graph, self.analysis = graph, analysis
        self.nodes = graph.nodes
        self.accessors: dict[int, str] = {}
        self.variables: dict[int, str] = {INPUT_PORT: "x"}
        self.used_modules: set[str] = set()

    def is_list(self, node: Node) -> bool:
        names = [self.nodes[child].path[-1] for child in node.children]
        return bool(names) and names == [str(i) for i in range(len(names))]

    def accessor(self, node: Node) -> str:
        parent = "self" if node.parent is None else self.accessors[node.parent]
        name = node.path[-1]
        if node.parent is not None and self.is_list(self.nodes[node.parent]):
            return f"{parent}[{name}]"
        if name.isidentifier() and not keyword.iskeyword(name):
            return f"{parent}.{name}"
        return f"{parent}.get_submodule({name!r})"

    def init_lines(self) -> list[str]:
        lines = []
        for node in self.nodes:
            access = self.accessors[node.index] = self.accessor(node)
            comment = ""
            if node.is_group:
                value = "nn.ModuleList()" if self.is_list(node) else "nn.Module()"
                comment = f"  # {node.repeated or node.kind}" if node.kind != "group" and is_name(node.kind) else ""
            else:
                assert node.layer is not None
                call = torch_call(self.graph, self.analysis, node)
                if call.module.startswith("paramcalc."):
                    self.used_modules.add(call.module.removeprefix("paramcalc."))
                value = _constructor(call)
            lines.append(self.attach(node, access, value) + comment)
            if node.frozen and (node.parent is None or not self.nodes[node.parent].frozen):
                lines.append(f"{access}.requires_grad_(False)  # frozen")
        return lines

    def attach(self, node: Node, access: str, value: str) -> str:
        parent = "self" if node.parent is None else self.accessors[node.parent]
        if node.parent is not None and self.is_list(self.nodes[node.parent]):
            return f"{parent}.append({value})"
        if ".get_submodule(" in access[len(parent):]:
            return f"{parent}.add_module({node.path[-1]!r}, {value})"
        return f"{access} = {value}"

    def variable(self, node: Node) -> str:
        name = re.sub(r"\W", "_", "_".join(node.path))
        if not name.isidentifier() or keyword.iskeyword(name) or name[0].isdigit():
            name = "layer_" + name
        taken = set(self.variables.values())
        candidate, suffix = name, 2
        while candidate in taken:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        return candidate

    def forward_lines(self) -> list[str]:
        lines = []
        for node in self.nodes:
            if node.is_group:
                continue
            self.variables[node.index] = name = self.variable(node)
            arguments = ", ".join(self.variables[port] for port in node.inputs)
            line = f"{name} = {self.accessors[node.index]}({arguments})"
            lines.append(f"if self.training:  # only in training\n    {line}" if node.train_only else line)
        lines.append(f"return {self.variables[self.graph.output]}")
        return lines


def export_source(source: str | os.PathLike | dict | Spec, spec_text: str | None = None) -> str:
    """Python source for a spec: helper modules it needs, the model class, and the spec itself."""
    graph, analysis = prepare(source)
    if spec_text is None and isinstance(source, (str, os.PathLike)) and Path(os.fspath(source)).is_file():
        spec_text = read_text(os.fspath(source))  # checked as the spec was: a regular file, within the limit
    writer = _Writer(graph, analysis)
    init, forward = writer.init_lines(), writer.forward_lines()
    name = class_name(graph.spec.name)
    totals = analysis.totals
    docstring = (f"{graph.spec.name}, written by `paramcalc export` from {graph.spec.file}.\n\n"
                 f"{totals.params:,} parameters, {totals.macs:,} MACs at input "
                 f"{'x'.join(map(str, graph.input_shape))} (batch {graph.batch}).\n"
                 "Check it against the spec at the end of this file with: paramcalc verify <this file>\n")
    out = [string_literal(docstring), "", "import torch  # noqa: F401", "from torch import nn",
           "from torch.nn import functional as F  # noqa: F401", ""]
    for helper in sorted(writer.used_modules):
        out += ["", inspect.getsource(getattr(modules, helper)).rstrip(), ""]
    out += ["", f"class {name}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    out += ["        " + line for line in init]
    out += ["", "    def forward(self, x):"]
    out += ["        " + line.replace("\n", "\n        ") for line in forward]
    out += ["", "", "MODEL = " + name,
            f"INPUT_SHAPE = ({', '.join(map(str, (graph.batch, *graph.input_shape)))})",
            "# The spec this file was written from, for `paramcalc verify`:",
            f"SPEC = {'None' if spec_text is None else string_literal(spec_text)}", ""]
    return "\n".join(out)


def string_literal(text: str) -> str:
    """A Python literal whose value is exactly `text`: triple-quoted when that reads well and is safe (no
    quotes, backslashes or characters that are not printable, which a spec's name or file could hold to
    break out of the string), and repr's literal otherwise."""
    if all(character.isprintable() or character == "\n" for character in text) and "\\" not in text \
            and '"' not in text and "\r" not in text:
        return '"""' + text + '"""'
    return repr(text)
