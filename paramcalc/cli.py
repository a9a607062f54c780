"""The command line: a thin layer over paramcalc.analyze and the renderers."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import click.shell_completion

from . import __version__
from .entry import DTYPES, FORMATS, keep_depth, parse_shape, parse_sizes, print_table, report_errors, run_show
from .errors import SpecError
from .render.grid import EXPORT_FORMATS


def _reading(parse: Any, expected: str) -> Any:
    """A click callback: the option's text read by parse (entry.py's readers), or click's error message."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        parsed = parse(value)
        if parsed is None:
            raise click.BadParameter(f"'{value}' is not {expected}")
        return parsed
    return callback


parse_input_shape = _reading(parse_shape, "positive sizes like 3x224x224 (or names: 3xHxW)")
parse_at = _reading(parse_sizes, "sizes like 224x224,512x512")


def _check_export(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.lower().endswith(EXPORT_FORMATS):
        raise click.BadParameter(f"'{value}' must end with .svg, .html or .txt")
    if value is not None and not os.path.isdir(os.path.dirname(value) or "."):
        raise click.BadParameter(f"the folder of '{value}' does not exist")
    return value


export_option = click.option("--export", "export_to", metavar="FILE", callback=_check_export,
                             type=click.Path(dir_okay=False, writable=True),
                             help="Also write the table to FILE.svg, FILE.html or FILE.txt (for slides and docs).")


class _Group(click.Group):
    """Turns a SpecError into one message and exit status 2, and a bug into one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        click_own = (click.exceptions.Exit, click.ClickException, click.exceptions.Abort)
        return report_errors(lambda: super(_Group, self).invoke(ctx), passthrough=click_own)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paramcalc")
def main() -> None:
    """What a convolutional network costs, from a YAML spec: shapes, parameters, MACs/FLOPs,
    memory and receptive field of every layer.

    \b
    Example:
      paramcalc show specs/vgg16.yaml
    """


def analysis_options(command: Any) -> Any:
    """--input, --batch and --dtype, shared by the commands that analyse specs."""
    command = click.option("--dtype", type=click.Choice(list(DTYPES)),
                           help="Element type for the memory figures (default: the spec's, or float32).")(command)
    command = click.option("--batch", type=click.IntRange(min=1),
                           help="Batch size (default: the spec's, or 1).")(command)
    command = click.option("--input", "input_shape", callback=parse_input_shape, metavar="CxHxW",
                           help="Override the spec's input size, e.g. 3x299x299 (without the batch); "
                                "names make it symbolic: 3xHxW.")(command)
    return command


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@analysis_options
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Show only the first N levels; a collapsed block's row sums its layers.")
@click.option("--metric", type=click.Choice(["macs", "flops"]), default="macs", show_default=True,
              help="The cost column of the table.")
@click.option("--format", "output_format", type=click.Choice(list(FORMATS)), default="table",
              show_default=True, help="table for people; json and csv for scripts (exact integers); markdown.")
@click.option("--exact", is_flag=True, help="Print every digit instead of 138.36 M (and whole formulas).")
@click.option("--at", callback=parse_at, metavar="HxW,...",
              help="With a symbolic input: evaluate at these sizes, one value per symbol (224x224,512x512).")
@export_option
def show(spec: str, input_shape: tuple[int | str, ...] | None, batch: int | None, dtype: str | None,
         depth: int | None, metric: str, output_format: str, exact: bool, at: list[tuple[int, ...]] | None,
         export_to: str | None) -> None:
    """Show every layer's output shape, parameters, MACs or FLOPs, share and receptive field.

    \b
    Examples:
      paramcalc show specs/vgg16.yaml
      paramcalc show specs/resnet50.yaml --depth 2
      paramcalc show specs/resnet50.yaml --input 3x299x299 --batch 8 --metric flops
      paramcalc show specs/alexnet.yaml --format json > alexnet.json
      paramcalc show specs/resnet50.yaml --input 3xHxW --at 224x224,512x512
    """
    _export_needs_table(export_to, output_format)
    title = f"paramcalc show {spec}"
    text = run_show(spec, input_shape, batch, dtype, depth, metric, output_format, exact,
                    emit_table=lambda blocks: _emit(blocks, export_to, title), at=at)
    if text is not None:
        click.echo(text)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@analysis_options
@click.option("--layers", "show_layers", is_flag=True,
              help="Also align the first two models layer by layer (by name, then by position).")
@click.option("--depth", type=click.IntRange(min=1), metavar="N", help="With --layers: only the first N levels.")
@click.option("--changed", is_flag=True, help="With --layers: only the layers that differ.")
@click.option("--format", "output_format", type=click.Choice(list(FORMATS)), default="table",
              show_default=True, help="table for people; json and csv for scripts (exact integers); markdown.")
@click.option("--exact", is_flag=True, help="Print every digit instead of 294.91 k.")
@export_option
def compare(specs: tuple[str, ...], input_shape: tuple[int, ...] | None, batch: int | None, dtype: str | None,
            show_layers: bool, depth: int | None, changed: bool, output_format: str, exact: bool,
            export_to: str | None) -> None:
    """Compare models side by side: each figure, its difference and ratio against the first model.

    \b
    Examples:
      paramcalc compare specs/examples/stack_3x3.yaml specs/examples/conv_5x5.yaml
      paramcalc compare specs/resnet50.yaml specs/resnet101.yaml --layers --depth 2 --changed
      paramcalc compare specs/vgg*.yaml --format markdown
    """
    from .analysis import analyze, require_concrete
    from .compare import align_layers, figure_rows
    from .spec import SpecFile

    _export_needs_table(export_to, output_format)
    if show_layers and len(specs) < 2:
        raise click.UsageError("--layers needs two specs")
    results = [require_concrete(analyze(SpecFile(spec), input_shape=input_shape, batch=batch, dtype=dtype), "compare")
               for spec in specs]
    rows = figure_rows(results)
    pairs = None
    if show_layers:
        pairs = align_layers(keep_depth(results[0].records, depth), keep_depth(results[1].records, depth))
        if changed:
            pairs = [pair for pair in pairs if pair.status != "same"]
    from .render import compare as render

    if output_format == "table":
        blocks: list[Any] = [render.figures_grid(results, rows, exact)]
        if pairs is not None:
            blocks += [None, render.layers_grid(results, pairs, exact)]
        _emit(blocks, export_to, "paramcalc compare " + " ".join(specs))
        return
    text = {"json": lambda: render.to_json(results, rows, pairs), "csv": lambda: render.to_csv(results, rows, pairs),
            "markdown": lambda: render.to_markdown(results, rows, pairs, exact)}[output_format]()
    click.echo(text.rstrip("\n"))


LIMIT_OPTIONS = ("params", "trainable", "macs", "flops", "param_memory", "activation_memory")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--max-params", metavar="N", help="Limit on parameters, e.g. 25M.")
@click.option("--max-trainable", metavar="N", help="Limit on trainable parameters.")
@click.option("--max-macs", metavar="N", help="Limit on MACs, e.g. 4.1G.")
@click.option("--max-flops", metavar="N", help="Limit on FLOPs.")
@click.option("--max-param-memory", metavar="SIZE", help="Limit on parameter memory, e.g. 110MB.")
@click.option("--max-activation-memory", metavar="SIZE", help="Limit on activation memory, e.g. 200MB.")
@click.option("--baseline", metavar="REF", help="A git revision (HEAD~1, origin/main) or a saved JSON report: "
                                                 "fail when a figure grows more than --max-increase.")
@click.option("--max-increase", metavar="PERCENT", default="0%", show_default=True,
              help="How much a figure may grow over the baseline.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown", "github", "junit"]),
              default="text", show_default=True, help="text for people, the others for CI.")
def check(specs: tuple[str, ...], output_format: str, baseline: str | None, max_increase: str,
          **limits: str | None) -> None:
    """Check models against their budgets: exit 0 when all are within, 1 when any is over, 2 on bad input.

    Budgets come from a spec's 'budget:' section, from --max-* options, and from a baseline.

    \b
    Examples:
      paramcalc check specs/*.yaml
      paramcalc check specs/resnet50.yaml --max-params 25M --max-macs 4.1G
      paramcalc check specs/*.yaml --baseline origin/main --max-increase 5% --format github
    """
    from .baseline import Baseline
    from .budget import FIGURES, LimitError, parse_amount, parse_percent
    from .checking import check_specs
    from .render.checks import RENDERERS, to_text

    cli_limits = {}
    for key, value in limits.items():
        figure = key[len("max_"):]
        if value is None:
            continue
        try:
            cli_limits[figure] = parse_amount(value, FIGURES[figure].unit)
        except LimitError as err:
            raise click.BadParameter(_with_hint(err), param_hint=f"--{key.replace('_', '-')}") from None
    try:
        tolerance = parse_percent(max_increase)
    except LimitError as err:
        raise click.BadParameter(_with_hint(err), param_hint="--max-increase") from None
    if baseline is not None and not baseline.strip():
        raise click.BadParameter("is empty: give a git revision (HEAD~1, origin/main) or a saved JSON report "
                                 "(an unset CI variable would otherwise turn the check off)", param_hint="--baseline")
    checks = check_specs(list(specs), cli_limits, Baseline(baseline) if baseline is not None else None, tolerance)
    for model in checks:
        if model.error is not None:
            click.echo(f"error: {model.error}", err=True)
    if output_format == "text":
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = to_text(checks, (lambda line, ok: click.style(line, fg="green" if ok else "red")) if color
                       else (lambda line, ok: line))
    else:
        text = RENDERERS[output_format](checks)
    click.echo(text)
    if any(model.error is not None for model in checks):
        sys.exit(2)
    if not all(model.ok for model in checks):
        sys.exit(1)


def _export_needs_table(export_to: str | None, output_format: str) -> None:
    if export_to and output_format != "table":
        raise click.UsageError(f"--export writes the table, but --format {output_format} prints no table; "
                               "leave out --format, or redirect the output to a file")


def write_file(path: str, text: str) -> None:
    """Write a file the user named; a missing folder or a full disk is their mistake to fix, said plainly."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise SpecError(f"cannot write the file: {err.strerror or err}", file=path,
                        hint="check that its folder exists and that there is room on the disk") from None


def _with_hint(err: Any) -> str:
    return err.message + (f" ({err.hint})" if err.hint else "")


def _figure(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def _require_torch(command: str) -> None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise SpecError(f"'paramcalc {command}' needs PyTorch, which is not installed",
                        hint="pip install 'paramcalc[torch]'  (for a CPU-only build: "
                             "pip install torch --index-url https://download.pytorch.org/whl/cpu)")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def verify(specs: tuple[str, ...]) -> None:
    """Check paramcalc against PyTorch: build each spec as a module, run zeros through it on the CPU,
    and compare every layer's output shape and parameters, and the model's trainable parameters,
    buffers and conv + linear MACs. Exit 0 when all agree, 1 on a mismatch, 2 on bad input.

    A .py file written by 'paramcalc export' is checked against the spec inside it.

    \b
    Examples:
      paramcalc verify specs/resnet50.yaml
      paramcalc verify specs/*.yaml specs/examples/*.yaml
      paramcalc export specs/resnet18.yaml -o resnet18.py && paramcalc verify resnet18.py
    """
    _require_torch("verify")
    from .spec import SpecFile
    from .torch import verify as verify_spec

    failed = 0
    for path in specs:
        result = verify_spec(SpecFile(path))
        totals = {figure: ours for figure, (ours, _) in result.totals.items()}
        figures = (f"params {totals['params']:,} (trainable {totals['trainable']:,}), "
                   f"buffers {totals['buffers']:,}, MACs {totals['macs']:,}")
        if result.ok:
            click.echo(f"ok    {path}: {result.layers} layers agree with PyTorch; {figures}")
            continue
        failed += 1
        click.echo(f"FAIL  {path}: {len(result.mismatches)} mismatch{'es' * (len(result.mismatches) != 1)}")
        width = max(len(m.layer or "(model)") for m in result.mismatches)
        click.echo(f"      {'layer':<{width}}  {'figure':<9} {'paramcalc':>22} {'PyTorch':>22}")
        for m in result.mismatches:
            layer = m.layer or "(model)"
            click.echo(f"      {layer:<{width}}  {m.figure:<9} {_figure(m.paramcalc):>22} {_figure(m.torch):>22}")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Where to write the Python source (default: standard output).")
def export(spec: str, output: str | None) -> None:
    """Write PyTorch source for a spec: an nn.Module class with the spec's layer names.

    \b
    Example:
      paramcalc export specs/resnet18.yaml -o resnet18.py
    """
    _require_torch("export")
    from .spec import SpecFile
    from .torch.export import export_source

    if output is not None and os.path.exists(output) and os.path.samefile(output, spec):
        raise SpecError("-o names the spec itself, which export would overwrite", file=output,
                        hint="write the module to a .py file: -o model.py")
    text = export_source(SpecFile(spec))
    if output is None:
        click.echo(text, nl=False)
        return
    write_file(output, text)
    click.echo(f"wrote {output}", err=True)


def _complete_layer(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of layer names for `explain`, read from the spec already on the command line."""
    from .analysis import analyze
    from .spec import SpecFile

    try:
        names = [record.name for record in analyze(SpecFile(ctx.params["spec"])).records]
    except Exception:  # a spec that does not load completes to nothing
        return []
    return [click.shell_completion.CompletionItem(name) for name in names if name.startswith(incomplete)]


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("layer", shell_complete=_complete_layer)
@analysis_options
def explain(spec: str, layer: str, input_shape: tuple[int, ...] | None, batch: int | None,
            dtype: str | None) -> None:
    """Show the arithmetic behind one layer's shape, parameters, MACs, FLOPs and receptive field, with its
    own numbers; for a block, its layers and their sums.

    \b
    Examples:
      paramcalc explain specs/vgg16.yaml features.conv2_1
      paramcalc explain specs/resnet50.yaml layer3.0
    """
    from .explain import explain as explain_layer
    from .spec import SpecFile

    lines = explain_layer(SpecFile(spec), layer, input_shape=input_shape, batch=batch)
    width = max(len(label) for label, _ in lines)
    for label, text in lines:
        click.echo(f"{label:<{width}}  {text}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (generated from the layer kinds), for editors.

    \b
    Example:
      paramcalc schema > paramcalc.schema.json
    """
    from .schema import to_json

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
    from .errors import did_you_mean
    from .layers import ALIASES, REGISTRY, lookup
    from .render.table import kinds_grid

    for name in names:
        if lookup(name) is None:
            raise click.BadParameter(f"no layer kind '{name}'" + (f"; {did_you_mean(name, [*REGISTRY, *ALIASES])}"
                                                                 if did_you_mean(name, [*REGISTRY, *ALIASES]) else ""),
                                     param_hint="KIND")
    _emit([kinds_grid([lookup(name).kind for name in names] or None)])  # type: ignore[union-attr]


def _emit(blocks: list[Any], export_to: str | None = None, title: str = "paramcalc") -> None:
    """Tables go out as print_table sends them; --export also writes them to a file, as SVG, HTML or text."""
    from .render.grid import export

    print_table(blocks)
    if export_to:
        try:
            export(blocks, export_to, title)
        except OSError as err:
            raise SpecError(f"cannot write the file: {err.strerror or err}", file=export_to,
                            hint="check that its folder exists and that there is room on the disk") from None



if __name__ == "__main__":  # pragma: no cover
    main()
