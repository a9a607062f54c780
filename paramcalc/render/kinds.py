"""The layer kinds, described from their registry: the grid of `paramcalc layers` and the page
docs/layer-kinds.md (written by tools/update_docs.py, checked by the tests to be current)."""

from __future__ import annotations

from ..engine.layers import REGISTRY, REQUIRED
from .grid import Column, Grid


def _yaml_value(value: object, name: str = "") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:  # an optional field: a pooling's stride defaults to its kernel, others are left out
        return "the kernel" if name == "stride" else "none"
    return str(value)


def kinds_grid(names: list[str] | None = None) -> Grid:
    """Every layer kind (or those named): its summary, each field with type and default, its FLOPs and
    PyTorch module."""
    grid = Grid([Column(""), Column("", min_width=30, wrap=True)], header=False)
    for name in names or REGISTRY:
        kind = REGISTRY[name]
        grid.add((name, "bold cyan"), (f"{kind.summary}" + (f"  (also {', '.join(kind.aliases)})"
                                                           if kind.aliases else ""), ""))
        for f in kind.fields:
            default = "required" if f.default is REQUIRED else f"default {_yaml_value(f.default, f.name)}"
            grid.add((f"  {f.name}", "bold"), f"{f.type.describe()}; {default}" + (f" - {f.doc}" if f.doc else ""))
        grid.add(("  FLOPs", "dim"), (kind.flops_formula, "dim"))
        grid.add(("  PyTorch", "dim"), (kind.torch_name, "dim"))
    return grid


def _field_text(field: object) -> str:
    name, default = field.name, field.default  # type: ignore[attr-defined]
    return f"`{name}`" if default is REQUIRED else f"`{name}` ({_yaml_value(default, name)})"


def layer_kinds_markdown() -> str:
    """Every layer kind: what it does, its fields (required ones without a default), the field a scalar sets
    (`- maxpool: 2`), its FLOPs per sample and the PyTorch module it stands for."""
    lines = [
        "# Layer kinds",
        "",
        "Every kind a spec can use, generated from paramcalc's registry (`paramcalc layers` prints the same,",
        "`paramcalc layers conv2d` one kind). A field without a default is required; the *short form* is the",
        "field a scalar sets (`- maxpool: 2` is `{maxpool: {kernel: 2}}`). FLOPs are per sample, at inference;",
        "MACs count the multiply-accumulates of convolutions and linear layers ([conventions](conventions.md)).",
        "",
        "| kind | what it does | fields (default) | short form | FLOPs | PyTorch |",
        "|---|---|---|---|---|---|",
    ]
    for name, kind in REGISTRY.items():
        also = f" (also {', '.join(f'`{alias}`' for alias in kind.aliases)})" if kind.aliases else ""
        fields = ", ".join(_field_text(field) for field in kind.fields) or "-"
        primary = f"`{kind.primary}`" if kind.primary else "-"
        lines.append(f"| `{name}`{also} | {kind.summary} | {fields} | {primary} | {kind.flops_formula} | "
                     f"{kind.torch_name} |")
    lines += ["", "Field types: sizes are whole numbers of at least 1 (`stride`, `kernel`, `dilation` take one",
              "number for both axes or `[height, width]`); `padding` takes a number, `[height, width]`, `same`,",
              "`valid` or `{top, bottom, left, right}`; `groups: depthwise` is one group per input channel; `dim`",
              "and `dims` (one or a list) number dimensions as PyTorch does (1 = channels, -1 = last).", ""]
    return "\n".join(lines)
