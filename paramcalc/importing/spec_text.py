"""The YAML text of an imported spec: a header that says where it came from, then blocks and layers."""

from __future__ import annotations

from ..errors import SpecError
from .blocks import emit
from .layers import Traced
from .writer import Writer, build_tree


def write_spec(traced: Traced, classes: dict[str, str], name: str, header: list[str], input_shape: tuple) -> str:
    """`classes` gives each module path's class (for blocks); `header` is comment lines, written first."""
    if not traced.ops:
        raise SpecError(f"{name}: the model has no layer (its output is its input): a spec has one at least")
    root, owners = build_tree(traced, classes)
    writer = Writer(traced, root, owners)
    blocks, layers = emit(writer.body(root))
    lines = [*(f"# {_printable(line)}" if line else "#" for line in header),
             f"name: {_quoted(name)}",
             f"input: [{', '.join(map(str, input_shape))}]"]
    if traced.output != root.last_op() and traced.output >= 0:
        lines.append(f"output: {writer.reference(traced.output, root)}")
    return "\n".join(lines + blocks + ["layers:"] + layers) + "\n"


def _quoted(name: str) -> str:
    """A name as YAML reads it back unchanged (a file's stem may hold ': ', '#' or quotes)."""
    import json

    plain = name and name[0].isalpha() and all(c.isalnum() or c in "_-." for c in name)
    return name if plain else json.dumps(name)


def _printable(text: str) -> str:
    """A comment line as one line: a file name or an exporter's name read from a model may hold line breaks."""
    return "".join(character if character.isprintable() else "?" for character in text)
