"""What `show` prints for a symbolic input: the totals' formulas and notes, the conditions on the symbols,
and the evaluations at the sizes of `--at` (table.at_grid lays them out)."""

from __future__ import annotations

from typing import Any

from ..engine.records import Analysis
from ..engine.symbolic import is_symbolic, leading_text
from ..errors import SpecError
from . import units


def formula(value: Any) -> str:
    """'≈ 81,456·H·W  = 9,408·ceil(H/2)·ceil(W/2) + …', or the number when it does not depend on the input."""
    if not is_symbolic(value):
        return units.count_in_full(value)
    leading = leading_text(value)
    return leading if leading == str(value) else f"{leading}   = {value}"


def leading_sources(result: Analysis, figure: str = "macs") -> str:
    """Which layers make the leading term ('attention: layers.0.attention and 3 more'), when it grows faster
    than the input (degree above 2: attention's cost is quadratic in the token count)."""
    total = getattr(result.totals, figure)
    if not is_symbolic(total) or total.leading()[0] <= 2:
        return ""
    degree = total.leading()[0]
    by_kind: dict[str, list[str]] = {}
    for record in result.leaves():
        value = getattr(record, figure)
        if is_symbolic(value) and value.leading()[0] == degree:
            by_kind.setdefault(record.kind, []).append(record.name)
    parts = [f"{kind} ({names[0]}" + (f" and {len(names) - 1} more)" if len(names) > 1 else ")")
             for kind, names in by_kind.items()]
    return f"with degree {degree} in the sizes, led by " + ", ".join(parts)


def conditions_text(result: Analysis, training: bool = False) -> str:
    """The sizes the model works for at inference ('H >= 75 (Conv2d_1a_3x3)'), or what training adds."""
    conditions = result.training_conditions if training else result.conditions
    if not conditions:
        return "every size"
    return ", ".join(f"{condition} ({layer})" for condition, layer in conditions)


def params_note(result: Analysis) -> str:
    """What the totals say after the parameter count: trainable and frozen, or the layers that make it a formula."""
    totals = result.totals
    if not is_symbolic(totals.params):
        return f"trainable {totals.trainable:,} · frozen {totals.frozen:,}"
    return "depends on the input size through " + ", ".join(r.name for r in result.leaves() if is_symbolic(r.params))


def receptive_text(result: Analysis) -> str:
    if result.totals.rf is None:
        if len(result.input_shape) != 3:  # not an image: never followed
            return units.field_long(None)
        return "depends on the input size (a layer reads the whole map), or is not followed (see the conventions)"
    return units.field_long(result.totals.rf)


def check_sizes(result: Analysis, sizes: list[tuple[int, ...]]) -> None:
    """--at gives one value per symbol of a symbolic input, or SpecError."""
    symbols = result.symbols
    if not symbols:
        raise SpecError("--at evaluates a symbolic input, but this input has no symbols", file=result.file,
                        hint="write the sizes as names: --input 3xHxW --at 224x224,512x512")
    for size in sizes:
        if len(size) != len(symbols):
            raise SpecError(f"--at {'x'.join(map(str, size))} gives {len(size)} value(s) for "
                            f"{len(symbols)} symbol(s) ({', '.join(symbols)})", file=result.file,
                            hint=f"one value per symbol, in order: --at {'x'.join(['224'] * len(symbols))}")


def markdown_lines(result: Analysis, sizes: list[tuple[int, ...]] | None, exact: bool) -> list[str]:
    """The Markdown report's last rows for a symbolic input, and the table of `--at`."""
    totals = result.totals
    lines = [f"| receptive field | {receptive_text(result)} |",
             f"| leading terms | MACs {leading_text(totals.macs)}, FLOPs {leading_text(totals.flops)} |",
             *([f"| MACs grow | {leading_sources(result)} |"] if leading_sources(result) else []),
             f"| valid for | {conditions_text(result)} |"]
    if result.training_conditions:
        lines.append(f"| training needs | {conditions_text(result, training=True)} |")
    if sizes:
        lines += ["", "| input | output | params | MACs | FLOPs | activations |", "|---|---|---:|---:|---:|---:|"]
        for values, at in evaluations(result, sizes):
            label = size_label(values)
            if isinstance(at, str):
                lines.append(f"| {label} | not valid: {at} | | | | |")
                continue
            t = at.totals
            lines.append(f"| {label} | {units.shape(t.output_shape)} | {units.count(t.params, exact)} "
                         f"| {units.count(t.macs, exact)} | {units.count(t.flops, exact)} "
                         f"| {units.size_in_bytes(t.activation_bytes, exact)} |")
    return lines


def size_label(values: dict[str, int]) -> str:
    return ", ".join(f"{name}={value}" for name, value in values.items())  # 'H=224, W=224'


def evaluations(result: Analysis, sizes: list[tuple[int, ...]]) -> list[tuple[dict[str, int], Any]]:
    """(values of the symbols, the concrete Analysis or the reason it does not exist) per size."""
    rows: list[tuple[dict[str, int], Any]] = []
    for size in sizes:
        values = dict(zip(result.symbols, size))
        try:
            rows.append((values, result.at(values)))
        except ValueError as reason:
            rows.append((values, str(reason)))
    return rows
