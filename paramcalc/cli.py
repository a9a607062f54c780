"""The command line: a thin layer over paramcalc.analyze and the renderers."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from . import __version__
from .errors import SpecError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


def parse_input_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.lower().split("x")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not sizes like 3x224x224") from None
    if any(size < 1 for size in sizes):
        raise click.BadParameter(f"'{value}': every size must be at least 1")
    return sizes


class _Group(click.Group):
    """Turns a SpecError into one message and exit status 2, and a bug into one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(0)
        except Exception as err:  # a bug in paramcalc, not in the spec
            if os.environ.get("PARAMCALC_DEBUG"):
                raise
            click.echo(f"paramcalc: internal error: {type(err).__name__}: {err}\n"
                       "  this is a bug in paramcalc; run with PARAMCALC_DEBUG=1 for the details", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paramcalc")
def main() -> None:
    """What a convolutional network costs, from a YAML spec: shapes, parameters, MACs/FLOPs,
    memory and receptive field of every layer.

    \b
    Example:
      paramcalc show specs/vgg16.yaml
    """


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--input", "input_shape", callback=parse_input_shape, metavar="CxHxW",
              help="Override the spec's input size, e.g. 3x299x299 (without the batch).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size (default: the spec's, or 1).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "float64", "int8", "uint8"]),
              help="Element type for the memory figures (default: the spec's, or float32).")
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Show only the first N levels; a collapsed block's row sums its layers.")
@click.option("--metric", type=click.Choice(["macs", "flops"]), default="macs", show_default=True,
              help="The cost column of the table.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for scripts (exact integers).")
@click.option("--exact", is_flag=True, help="Print every digit instead of 138.36 M.")
def show(spec: str, input_shape: tuple[int, ...] | None, batch: int | None, dtype: str | None, depth: int | None,
         metric: str, output_format: str, exact: bool) -> None:
    """Show every layer's output shape, parameters, MACs or FLOPs, share and receptive field.

    \b
    Examples:
      paramcalc show specs/vgg16.yaml
      paramcalc show specs/resnet50.yaml --depth 2
      paramcalc show specs/resnet50.yaml --input 3x299x299 --batch 8 --metric flops
      paramcalc show specs/alexnet.yaml --format json > alexnet.json
    """
    from .analysis import analyze

    result = analyze(spec, input_shape=input_shape, batch=batch, dtype=dtype)
    records = result.records if depth is None else [r for r in result.records if r.depth < depth]
    if output_format == "json":
        from .render.report import to_json

        click.echo(to_json(result, records))
        return
    from .render.table import render_show

    render_show(_console(), result, records, metric, exact)


@main.command()
def layers() -> None:
    """List every layer kind with its fields, defaults and FLOP formula.

    \b
    Example:
      paramcalc layers
    """
    from .render.table import render_kinds

    render_kinds(_console())


def _console() -> Any:
    from rich.console import Console

    # Piped or redirected output is plain text: no colour codes, and wide enough not to wrap.
    console = Console()
    if not console.is_terminal:
        console = Console(width=int(os.environ.get("COLUMNS", 0)) or 140, no_color=True, highlight=False)
    return console


if __name__ == "__main__":  # pragma: no cover
    main()
