"""The command line: click commands over paramcalc's engine and renderers. No figure is worked out here.

Every command reports a mistake in its input as one message and exit status 2, a bug in paramcalc as one
line and exit status 70, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import click.shell_completion

from . import __version__
from .cli_common import (
    BATCH,
    DTYPE,
    EXACT,
    EXIT_BAD_INPUT,
    EXPORT,
    INPUT,
    SPEC,
    SPECS,
    TRAINING,
    CommandGroup,
    check_export,
    console,
    emit,
    export_needs_table,
    options,
    parse_batches,
    parse_sizes,
    reading,
    spec_or_model,
    with_hint,
    write_file,
)
from .cli_models import export, import_command, verify
from .engine.dims import parse_shape, parse_size
from .errors import did_you_mean
from .spec.devices import PRECISIONS


# --- the commands -------------------------------------------------------------------------------------------
@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paramcalc")
def main() -> None:
    """What a neural network costs, from a YAML spec: shapes, parameters, MACs/FLOPs, memory and receptive
    field of every layer.

    \b
    Example:
      paramcalc show specs/vgg16.yaml
    """


SHOW_FORMATS = ("table", "json", "csv", "markdown")
CONVENTION_NAMES = ("torchvision", "fvcore", "ptflops", "thop", "torchinfo")  # engine.conventions.CONVENTIONS
CONVENTION = click.option("--convention", type=click.Choice(CONVENTION_NAMES),
                          help="Count MACs as another tool does, to reproduce its headline number: the MACs column "
                               "and total become that tool's (docs/conventions.md says what each counts).")


@main.command()
@options(SPEC, INPUT)
@click.option("--batch", "batches", callback=reading(parse_batches, "a batch size, or sizes like 1,8,64"),
              metavar="N[,N...]", help="Batch size (default: the spec's, or 1); with --device, a list such as "
                                      "1,8,64 shows how the time and the bound move with it.")
@DTYPE
@click.option("--depth", callback=reading(parse_size, "a number of levels", "it"), metavar="N",
              help="Show only the first N levels; a collapsed block's row sums its layers.")
@click.option("--metric", type=click.Choice(["macs", "flops"]), default="macs", show_default=True,
              help="The cost column of the table.")
@click.option("--format", "output_format", type=click.Choice(SHOW_FORMATS), default="table", show_default=True,
              help="table for people; json and csv for scripts (exact integers); markdown.")
@EXACT
@click.option("--at", callback=reading(parse_sizes, "sizes like 224x224,512x512"), metavar="HxW,...",
              help="With a symbolic input: evaluate at these sizes, one value per symbol (224x224,512x512).")
@CONVENTION
@click.option("--by", type=click.Choice(["kind"]),
              help="A breakdown by layer kind instead of by layer: layers, params, MACs and share of each kind.")
@options(*TRAINING)
@click.option("--device", metavar="NAME", help="Estimate each layer's time on a device (a100, h100, h200, l4, t4, "
                                                "rtx4090: `paramcalc devices` lists them) by the roofline model: a "
                                                "lower bound, not a measurement.")
@click.option("--devices", "devices_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="With --device: more devices, in a YAML file of the form `paramcalc devices` describes.")
@click.option("--precision", type=click.Choice(PRECISIONS),
              help="With --device: the precision the device computes at (default: the dtype's, fp32 for float32).")
@click.option("--export", "export_to", metavar="FILE", callback=check_export,
              help="Also write the table to FILE.svg, FILE.html or FILE.txt (for slides and docs); with --device, "
                   "FILE.svg is the roofline plot.")
def show(spec: str, input_shape: tuple | None, batches: list[int] | None, dtype: str | None, depth: int | None,
         metric: str, output_format: str, exact: bool, at: list[tuple[int, ...]] | None, export_to: str | None,
         convention: str | None = None, by: str | None = None, train: bool = False, optimizer: str = "adam",
         amp: str | None = None, device: str | None = None, devices_file: str | None = None,
         precision: str | None = None) -> None:
    """Show every layer's output shape, parameters, MACs or FLOPs, share and receptive field.

    \b
    Examples:
      paramcalc show specs/vgg16.yaml
      paramcalc show specs/resnet50.yaml --depth 2
      paramcalc show specs/resnet50.yaml --input 3x299x299 --batch 8 --metric flops
      paramcalc show specs/alexnet.yaml --format json > alexnet.json
      paramcalc show specs/resnet50.yaml --input 3xHxW --at 224x224,512x512
      paramcalc show specs/resnet18.yaml --convention fvcore --by kind
      paramcalc show specs/resnet50.yaml --train --batch 32 --optimizer sgd --amp bf16
      paramcalc show specs/resnet50.yaml --device a100 --precision bf16 --batch 1,8,64
    """
    from .engine.analysis import analyze
    from .render.symbolic import check_sizes

    batch = batches[0] if batches else None
    _device_options(device, devices_file, precision, batches, (convention or by) and "--convention and --by")
    export_needs_table(export_to, output_format)
    _training_options(train, optimizer, amp, output_format, (convention or by) and "--convention and --by")
    if convention or by:
        return _show_convention(spec, input_shape, batch, dtype, depth, metric, output_format, exact, at, export_to,
                                convention, by)
    source = spec_or_model(spec, input_shape, "show")
    if train:
        from .engine.training import analyze_training

        result = analyze_training(source, input=input_shape, batch=batch, dtype=dtype, optimizer=optimizer, amp=amp)
    else:
        result = analyze(source, input_shape=input_shape, batch=batch, dtype=dtype)
    if at:
        check_sizes(result, at)
    records = list(result.to_depth(depth).records if depth else result.records)
    if output_format == "table":
        from .render.table import show_blocks

        blocks = show_blocks(result, records, metric, exact)
        if train:
            from .render.training import training_layer_grid, training_totals_grid

            blocks += [None, training_layer_grid(result, records, exact), None, training_totals_grid(result, exact)]
        if at:
            from .render.table import at_grid

            blocks += [None, at_grid(result, at, exact)]
        roofs = _rooflines(source, device, devices_file, precision, batches, input_shape, dtype, train, optimizer)
        if roofs:
            from .render import hardware

            blocks += [None, hardware.batches_grid(roofs) if len(roofs) > 1 else hardware.layers_grid(roofs[0])]
            if export_to and export_to.lower().endswith(".svg"):
                write_file(export_to, hardware.roofline_svg(roofs[0]))
                export_to = None
        emit(blocks, export_to, f"paramcalc show {spec}")
        return
    from .render.report import SHOW_FORMATS as RENDER

    roofs = _rooflines(source, device, devices_file, precision, batches, input_shape, dtype, train, optimizer)
    if roofs:
        from .render.hardware import roofline_data
        from .render.report import format_report, report_data

        data = report_data(result, records, at)
        data["roofline"] = [roofline_data(roof) for roof in roofs]
        click.echo(format_report(data))
        return
    click.echo(RENDER[output_format](result, records, at, exact).rstrip("\n"))


def _device_options(device: str | None, devices_file: str | None, precision: str | None,
                    batches: list[int] | None, conflict: str | None) -> None:
    if device is None:
        if devices_file or precision:
            raise click.UsageError("--devices and --precision go with --device")
        if batches and len(batches) > 1:
            raise click.UsageError("a list of batch sizes goes with --device: it shows how the time moves")
    elif conflict:
        raise click.UsageError(f"--device times paramcalc's own FLOPs; leave out {conflict}")


def _rooflines(source: Any, device: str | None, devices_file: str | None, precision: str | None,
               batches: list[int] | None, input_shape: tuple | None, dtype: str | None, train: bool,
               optimizer: str) -> list[Any]:
    """The model on --device, at each batch size asked for; none without --device."""
    if device is None:
        return []
    from .engine.cache import Cache
    from .engine.hardware import roofline
    from .spec.devices import find_device, read_devices

    chosen, cache = find_device(read_devices(devices_file), device), Cache()
    sizes: list[int | None] = list(batches) if batches else [None]  # None: the spec's batch
    return [roofline(source, chosen, precision=precision, input=input_shape, batch=batch, dtype=dtype, train=train,
                     optimizer=optimizer, cache=cache) for batch in sizes]


def _training_options(train: bool, optimizer: str, amp: str | None, output_format: str,
                      conflict: str | None) -> None:
    """--optimizer and --amp go with --train, which the table and the JSON show."""
    if not train:
        if optimizer != "adam" or amp:
            raise click.UsageError("--optimizer and --amp go with --train")
        return
    if output_format not in ("table", "json"):
        raise click.UsageError(f"--train is shown in the table and the JSON, not in --format {output_format}")
    if conflict:
        raise click.UsageError(f"{conflict} count inference; leave out --train")


def _show_convention(spec: str, input_shape: tuple | None, batch: int | None, dtype: str | None, depth: int | None,
                     metric: str, output_format: str, exact: bool, at: Any, export_to: str | None,
                     convention: str | None, by: str | None) -> None:
    """show --convention NAME and/or --by kind."""
    if at:
        raise click.UsageError("--convention and --by count at concrete sizes; leave out --at (or use --input)")
    if convention and metric != "macs":
        raise click.UsageError(f"--convention {convention} replaces the MACs column; leave out --metric flops")
    if by and depth:
        raise click.UsageError("--by kind counts every layer; leave out --depth")
    from .engine.analysis import analyze
    from .engine.conventions import analyze_as
    from .render import conventions as render

    source = spec_or_model(spec, input_shape, "show")
    if convention:
        result, counts = analyze_as(source, convention, input_shape=input_shape, batch=batch, dtype=dtype)
    else:
        result, counts = analyze(source, input_shape=input_shape, batch=batch, dtype=dtype), None
    records = list(result.to_depth(depth).records if depth else result.records)
    if output_format == "table":
        from .render.table import layer_grid, totals_grid

        first = render.by_kind_grid(result, render.kind_rows(result, counts), counts, exact) if by else \
            layer_grid(result, records, metric, exact, counts)
        emit([first, None, totals_grid(result, exact, counts)], export_to, f"paramcalc show {spec}")
        return
    click.echo(render.SHOW_FORMATS[output_format](result, records, counts, by, exact).rstrip("\n"))


@main.command()
@options(SPECS, INPUT, BATCH, DTYPE)
@click.option("--layers", "show_layers", is_flag=True,
              help="Also align the first two models layer by layer (by name, then by position, level by level).")
@click.option("--depth", callback=reading(parse_size, "a number of levels", "it"), metavar="N",
              help="With --layers: only the first N levels.")
@click.option("--changed", is_flag=True, help="With --layers: only the layers that differ.")
@click.option("--format", "output_format", type=click.Choice(SHOW_FORMATS), default="table", show_default=True,
              help="table for people; json and csv for scripts (exact integers); markdown.")
@EXACT
@CONVENTION
@options(*TRAINING)
@EXPORT
def compare(specs: tuple[str, ...], input_shape: tuple | None, batch: int | None, dtype: str | None,
            show_layers: bool, depth: int | None, changed: bool, output_format: str, exact: bool,
            export_to: str | None, convention: str | None = None, train: bool = False, optimizer: str = "adam",
            amp: str | None = None) -> None:
    """Compare models side by side: each figure, its difference and ratio against the first model.

    \b
    Examples:
      paramcalc compare specs/examples/stack_3x3.yaml specs/examples/conv_5x5.yaml
      paramcalc compare specs/resnet50.yaml specs/resnet101.yaml --layers --depth 2 --changed
      paramcalc compare specs/vgg*.yaml --format markdown
    """
    from .engine.analysis import analyze, require_concrete
    from .engine.compare import align_layers, figure_rows
    from .render import compare as render

    export_needs_table(export_to, output_format)
    _training_options(train, optimizer, amp, output_format, convention and "--convention")
    if show_layers and len(specs) < 2:
        raise click.UsageError("--layers needs two specs")
    if convention:
        from .engine.conventions import analyze_as, convention_row

        counted = [analyze_as(spec_or_model(spec, input_shape, "compare"), convention, input_shape=input_shape,
                              batch=batch, dtype=dtype) for spec in specs]
        results = [result for result, _ in counted]
        rows = convention_row(figure_rows(results), [counts for _, counts in counted])
    else:
        from .engine.training import analyze_training

        def analysis(source: Any) -> Any:
            if train:
                return analyze_training(source, input=input_shape, batch=batch, dtype=dtype, optimizer=optimizer,
                                        amp=amp)
            return analyze(source, input_shape=input_shape, batch=batch, dtype=dtype)

        results = [require_concrete(analysis(spec_or_model(spec, input_shape, "compare")), "compare")
                   for spec in specs]
        rows = figure_rows(results)
    pairs = None
    if show_layers:
        first, second = (list(result.to_depth(depth).records if depth else result.records) for result in results[:2])
        pairs = align_layers(first, second)
        if changed:
            pairs = [pair for pair in pairs if pair.status != "same"]
    if output_format == "table":
        blocks: list[Any] = [render.figures_grid(results, rows, exact)]
        if pairs is not None:
            blocks += [None, render.layers_grid(results, pairs, exact)]
        emit(blocks, export_to, "paramcalc compare " + " ".join(specs))
        return
    click.echo(render.COMPARE_FORMATS[output_format](results, rows, pairs, exact).rstrip("\n"))


CHECK_FORMATS = ("text", "json", "markdown", "github", "junit")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(allow_dash=True))  # a folder is an errored case
@click.option("--max-params", metavar="N", help="Limit on parameters, e.g. 25M.")
@click.option("--max-trainable", metavar="N", help="Limit on trainable parameters.")
@click.option("--max-macs", metavar="N", help="Limit on MACs, e.g. 4.1G.")
@click.option("--max-flops", metavar="N", help="Limit on FLOPs.")
@click.option("--max-param-memory", metavar="SIZE", help="Limit on parameter memory, e.g. 110MB.")
@click.option("--max-activation-memory", metavar="SIZE", help="Limit on activation memory, e.g. 200MB.")
@click.option("--max-train-memory", metavar="SIZE", help="Limit on a training step's peak memory (show --train), "
                                                         "e.g. 4GB.")
@click.option("--max-train-flops", metavar="N", help="Limit on a training step's forward + backward FLOPs.")
@options(*TRAINING[1:])
@click.option("--baseline", metavar="REF", help="A git revision (HEAD~1, origin/main) or a saved JSON report: "
                                                 "fail when a figure grows more than --max-increase.")
@click.option("--max-increase", metavar="PERCENT", default="0%", show_default=True,
              help="How much a figure may grow over the baseline.")
@click.option("--format", "output_format", type=click.Choice(CHECK_FORMATS), default="text", show_default=True,
              help="text for people, the others for CI.")
@click.option("--input", "input_shape", callback=reading(parse_shape, "positive sizes like 3x224x224"),
              metavar="SHAPE", help="for a PyTorch model path given in place of a spec: one sample's input shape")
def check(specs: tuple[str, ...], output_format: str, baseline: str | None, max_increase: str,
          input_shape: tuple | None, optimizer: str = "adam", amp: str | None = None, **limits: str | None) -> None:
    """Check models against their budgets: exit 0 when all are within, 1 when any is over, 2 on bad input
    (every spec is still reported).

    Budgets come from a spec's 'budget:' section, from --max-* options, and from a baseline.

    \b
    Examples:
      paramcalc check specs/*.yaml
      paramcalc check specs/resnet50.yaml --max-params 25M --max-macs 4.1G
      paramcalc check specs/*.yaml --baseline origin/main --max-increase 5% --format github
    """
    from .engine.analysis import concrete_spec
    from .engine.baseline import Baseline
    from .engine.checking import check_specs
    from .render.checks import CHECK_RENDERERS, text_lines
    from .spec.budget import FIGURES, LimitError, parse_amount, parse_percent

    cli_limits = {}
    for key, value in limits.items():
        if value is None:
            continue
        figure = key[len("max_"):]
        try:
            cli_limits[figure] = parse_amount(value, FIGURES[figure].unit)
        except LimitError as err:
            raise click.BadParameter(with_hint(err), param_hint=f"--{key.replace('_', '-')}") from None
    try:
        tolerance = parse_percent(max_increase)
    except LimitError as err:
        raise click.BadParameter(with_hint(err), param_hint="--max-increase") from None
    if baseline is not None and not baseline.strip():
        raise click.BadParameter("is empty: give a git revision (HEAD~1, origin/main) or a saved JSON report "
                                 "(an unset CI variable would otherwise turn the check off)", param_hint="--baseline")
    checks = check_specs(list(specs), cli_limits, Baseline(baseline) if baseline is not None else None, tolerance,
                         load=lambda source: concrete_spec(spec_or_model(source, input_shape, "check"), "check"),
                         optimizer=optimizer, amp=amp)
    for model in checks:
        if model.error is not None:
            click.echo(f"error: {model.error}", err=True)
    if output_format == "text":
        out = console()
        for line, ok in text_lines(checks):
            out.print(line, style=None if ok is None else "green" if ok else "red", soft_wrap=True, markup=False)
    else:
        click.echo(CHECK_RENDERERS[output_format](checks))
    if any(model.error is not None for model in checks):
        sys.exit(EXIT_BAD_INPUT)
    if not all(model.ok for model in checks):
        sys.exit(1)


def _complete_layer(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of layer names for `explain`, read from the spec already on the command line."""
    from .engine.analysis import analyze
    from .engine.specs import load_spec

    try:
        names = [record.name for record in analyze(load_spec(ctx.params["spec"])).records]
    except Exception:  # a spec that does not load completes to nothing
        return []
    return [click.shell_completion.CompletionItem(name) for name in names if name.startswith(incomplete)]


@main.command()
@SPEC
@click.argument("layer", shell_complete=_complete_layer)
@options(INPUT, BATCH, DTYPE)
def explain(spec: str, layer: str, input_shape: tuple | None, batch: int | None, dtype: str | None) -> None:
    """Show the arithmetic behind one layer's shape, parameters, MACs, FLOPs and receptive field, with its
    own numbers; for a block, its layers and their sums.

    \b
    Examples:
      paramcalc explain specs/vgg16.yaml features.conv2_1
      paramcalc explain specs/resnet50.yaml layer3.0
    """
    from .engine.specs import load_spec
    from .render.explain import explain as explain_layer
    from .render.explain import explain_grid

    emit([explain_grid(explain_layer(load_spec(spec), layer, input_shape=input_shape, batch=batch, dtype=dtype))])


@main.command()
@click.option("--devices", "devices_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also list the devices of this YAML file.")
def devices(devices_file: str | None) -> None:
    """List the devices `show --device` knows: peak throughput per precision, memory bandwidth, and the datasheet
    each figure is from. Add your own in a YAML file of the same form (--devices FILE):

    \b
      my_gpu:
        title: My GPU
        peak: {fp32: 19.5, fp16: 312}   # TFLOPS (int8: TOPS), dense
        bandwidth: 2039                 # GB/s
        memory: 80                      # GB (optional)
        source: where the figures come from
    """
    from .render.hardware import devices_grid
    from .spec.devices import read_devices

    known = list(read_devices(devices_file).values())
    emit([devices_grid(known), None])
    out = console()
    for device in known:  # sources in full, wrapped by rich to the terminal's width
        out.print(f"{device.name}: {device.source}", markup=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (generated from the layer kinds), for editors.

    \b
    Example:
      paramcalc schema > paramcalc.schema.json
    """
    from .render.schema import to_json

    click.echo(to_json())


@main.command()
@click.argument("names", nargs=-1, metavar="[KIND]...")
def layers(names: tuple[str, ...]) -> None:
    """List every layer kind (or the kinds named) with its fields, defaults and FLOP formula.

    \b
    Examples:
      paramcalc layers
      paramcalc layers conv2d maxpool
    """
    from .engine.layers import KINDS, lookup
    from .render.kinds import kinds_grid

    for name in names:
        if lookup(name) is None:
            suggestion = did_you_mean(name, KINDS.names)
            raise click.BadParameter(f"no layer kind '{name}'" + (f"; {suggestion}" if suggestion else ""),
                                     param_hint="KIND")
    emit([kinds_grid([lookup(name).kind for name in names] or None)])  # type: ignore[union-attr]


for command in (verify, import_command, export):  # paramcalc.cli_models
    main.add_command(command)


def run() -> None:
    """The `paramcalc` command."""
    main(prog_name="paramcalc")


if __name__ == "__main__":  # pragma: no cover
    run()
