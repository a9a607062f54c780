"""The per-layer table and the totals, drawn with rich. Only the CLI imports this module."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analysis import Analysis, LayerRecord
from . import units

BAR_WIDTH = 10
HEAVY, NOTABLE = 10.0, 3.0  # percent of the model's total: drawn in red / yellow


def _bar(share: float) -> Text:
    eighths = round(share / 100 * BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")
    return Text(text.ljust(BAR_WIDTH), style=_share_style(share))


def _share_style(share: float) -> str:
    if share >= HEAVY:
        return "bold red"
    if share >= NOTABLE:
        return "yellow"
    return "dim"


def layer_table(result: Analysis, records: list[LayerRecord], metric: str = "macs", exact: bool = False) -> Table:
    totals = result.totals
    metric_total = totals.macs if metric == "macs" else totals.flops
    label = "MACs" if metric == "macs" else "FLOPs"
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                  title=f"{result.name}  ·  input {units.shape(result.input_shape)}  ·  batch {result.batch}",
                  title_justify="left", title_style="bold")
    table.add_column("Layer", no_wrap=True, overflow="ellipsis", max_width=40)
    table.add_column("Kind", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("%P", justify="right", no_wrap=True)
    table.add_column(label, justify="right", no_wrap=True)
    table.add_column(f"%{label[0]}", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=BAR_WIDTH)
    table.add_column("RF", justify="right", no_wrap=True)
    for record in records:
        value = record.macs if metric == "macs" else record.flops
        param_share = units.percent(record.params, totals.params)
        metric_share = units.percent(value, metric_total)
        name = Text("  " * record.depth + record.name.rsplit(".", 1)[-1],
                    style="bold" if record.is_group else "")
        kind = Text(record.repeated or record.kind,
                    style="cyan" if record.is_group else "")
        table.add_row(
            name, kind, units.shape(record.shape),
            Text(units.count(record.params, exact), style=_share_style(param_share) if record.params else "dim"),
            Text(f"{param_share:.1f}" if record.params else "", style=_share_style(param_share)),
            Text(units.count(value, exact), style=_share_style(metric_share) if value else "dim"),
            Text(f"{metric_share:.1f}" if value else "", style=_share_style(metric_share)),
            _bar(metric_share) if value else Text(""),
            units.field_size(record.rf),
        )
    return table


def totals_table(result: Analysis, exact: bool = False) -> Table:
    totals = result.totals
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()

    def both(value: int) -> str:
        return f"{units.count(value)}  ({value:,})" if not exact and value >= 1000 else f"{value:,}"

    table.add_row("Params", f"{both(totals.params)}   trainable {totals.trainable:,} · frozen {totals.frozen:,}")
    table.add_row("Buffers", f"{both(totals.buffers)}   batch-norm running statistics, not trained")
    table.add_row("MACs", f"{both(totals.macs)}   multiply-accumulates of conv and linear layers")
    table.add_row("FLOPs", f"{both(totals.flops)}   2 per MAC + bias, norm, activation, pooling, add")
    table.add_row("Param memory", f"{units.size_in_bytes(totals.param_bytes + totals.buffer_bytes, exact)}   "
                                  f"params + buffers, {result.dtype}")
    table.add_row("Activations", f"{units.size_in_bytes(totals.activation_bytes, exact)}   "
                                 f"every layer's output, batch {result.batch}, {result.dtype}")
    table.add_row("Output", units.shape(totals.output_shape))
    table.add_row("Receptive field", units.field_long(totals.rf))
    return table


def emit(console: Console, renderable: object) -> None:
    """Print; plain-text output (a pipe or a file) loses rich's trailing padding."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as capture:
        console.print(renderable)
    console.file.write("\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n")


def render_show(console: Console, result: Analysis, records: list[LayerRecord], metric: str, exact: bool) -> None:
    emit(console, Group(layer_table(result, records, metric, exact), Text(""), totals_table(result, exact)))


def _yaml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(the kernel)" if value is None else str(value)


def render_kinds(console: Console) -> None:
    from ..layers import REGISTRY
    from ..layers.fields import REQUIRED

    lines = Text()
    for name, kind in REGISTRY.items():
        lines.append(name, style="bold cyan")
        if kind.aliases:
            lines.append(f"  (also {', '.join(kind.aliases)})", style="dim")
        lines.append(f"\n    {kind.summary}\n")
        for f in kind.fields:
            default = "required" if f.default is REQUIRED else f"default {_yaml_value(f.default)}"
            lines.append(f"    {f.name:<20}", style="bold")
            lines.append(f"{f.type.describe()}; {default}" + (f" - {f.doc}" if f.doc else "") + "\n")
        lines.append(f"    FLOPs: {kind.flops_formula}    PyTorch: {kind.torch_name}\n\n", style="dim")
    emit(console, lines)
