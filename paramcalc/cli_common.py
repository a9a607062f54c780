"""What paramcalc's commands share: the options and how they are read, how a command runs (one message and exit
status 2 for bad input, never a traceback), printing through rich, and reading a spec or a model."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

import click

from .engine.dims import parse_shape, parse_size
from .engine.specs import SpecPath
from .errors import SpecError
from .limits import MAX_SIZE
from .spec.format import DTYPE_ALIASES, DTYPE_BYTES
from .spec.literals import shorten

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
EXPORT_FORMATS = (".svg", ".html", ".txt")


# --- options ------------------------------------------------------------------------------------------------
def reading(parse: Callable[[str], Any], expected: str, each: str = "each size") -> Callable[..., Any]:
    """A click callback for an option of sizes: the option's text read by parse, or click's error message."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        parsed = parse(value)
        if parsed is None:
            raise click.BadParameter(f"'{shorten(value)}' is not {expected}; {each} is a whole number from 1 "
                                     f"to {MAX_SIZE:,}")
        return parsed
    return callback


def parse_batches(text: str) -> list[int] | None:
    """'8' -> [8]; '1,8,64' -> [1, 8, 64]."""
    items = text.split(",")
    batches = [size for size in (parse_size(item.strip()) for item in items) if size is not None]
    return batches if len(batches) == len(items) else None


def parse_sizes(text: str) -> list[tuple[int, ...]] | None:
    """'224x224,512x512' -> [(224, 224), (512, 512)]: values for the input's symbols, in order."""
    sizes = [parse_shape(item) for item in text.split(",")]
    if any(size is None or not all(isinstance(part, int) for part in size) for size in sizes):
        return None
    return sizes  # type: ignore[return-value]


def check_export(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.lower().endswith(EXPORT_FORMATS):
        raise click.BadParameter(f"'{value}' must end with .svg, .html or .txt")
    if not os.path.isdir(os.path.dirname(value) or "."):
        raise click.BadParameter(f"the folder of '{value}' does not exist")
    return value


def dtype_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else DTYPE_ALIASES.get(value, value)


# a spec given on the command line is a file whatever its name holds (a line break would make as_spec read
# the name itself as YAML text)
SPEC = click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True, path_type=SpecPath))
SPECS = click.argument("specs", nargs=-1, required=True,
                       type=click.Path(dir_okay=False, allow_dash=True, path_type=SpecPath))
EXPORT = click.option("--export", "export_to", metavar="FILE", callback=check_export,
                      help="Also write the table to FILE.svg, FILE.html or FILE.txt (for slides and docs).")
INPUT = click.option("--input", "input_shape", callback=reading(parse_shape, "positive sizes like 3x224x224 (or "
                                                                               "names: 3xHxW)"), metavar="CxHxW",
                     help="Override the spec's input size, e.g. 3x299x299 (without the batch); names make it "
                          "symbolic: 3xHxW.")
BATCH = click.option("--batch", callback=reading(parse_size, "a batch size"), metavar="N",
                     help="Batch size (default: the spec's, or 1).")
DTYPE = click.option("--dtype", type=click.Choice([*DTYPE_BYTES, *DTYPE_ALIASES]), callback=dtype_option,
                     help="Element type for the memory figures (default: the spec's, or float32).")
EXACT = click.option("--exact", is_flag=True, help="Print every digit instead of 138.36 M (and whole formulas).")
TRAINING = (
    click.option("--train", is_flag=True, help="Add a training step: weights, gradients, optimizer state, the "
                                               "tensors saved for backward, peak memory, forward + backward FLOPs."),
    click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]), default="adam",
                 show_default=True, help="With --train: 0, 1, 2 and 2 state tensors per trainable parameter."),
    click.option("--amp", type=click.Choice(["fp16", "bf16"]),
                 help="With --train: mixed precision, half-precision activations with the weights at --dtype."),
)  # the optimizers are paramcalc.engine.training.OPTIMIZERS


def options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(command: Any) -> Any:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command
    return apply


# --- running a command --------------------------------------------------------------------------------------
def report_errors(work: Callable[[], Any]) -> Any:
    """Run work; a SpecError becomes one message and exit 2, a bug one line and exit 70, never a traceback."""
    try:
        return work()
    except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
        raise
    except SpecError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except BrokenPipeError:  # the reader left (`| head`): not an error
        sys.stderr.close()
        sys.exit(0)
    except Exception as err:  # a bug in paramcalc, not in the spec
        if os.environ.get("PARAMCALC_DEBUG"):
            raise
        click.echo(f"paramcalc: internal error: {type(err).__name__}: {err}\n"
                   "  this is a bug in paramcalc; run with PARAMCALC_DEBUG=1 for the details", err=True)
        sys.exit(EXIT_INTERNAL)


class CommandGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        return report_errors(lambda: super(CommandGroup, self).invoke(ctx))


def console() -> Any:
    """Standard output as rich sees it: colours on a terminal (or with FORCE_COLOR), none under NO_COLOR.
    (rich is imported here: a command that prints no table, such as --format json, does without it.)"""
    from rich.console import Console

    return Console(highlight=False)


def emit(blocks: list[Any], export_to: str | None = None, title: str = "paramcalc") -> None:
    """Print grids; --export also writes them to a file, as SVG, HTML or text."""
    from .render.output import export, print_blocks

    print_blocks(blocks, console())
    if export_to:
        try:
            export(blocks, export_to, title)
        except OSError as err:
            raise unwritable(export_to, err) from None


def write_file(path: str, text: str) -> None:
    """Write a file the user named; a missing folder or a full disk is theirs to fix, said plainly."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise unwritable(path, err) from None


def unwritable(path: str, err: OSError) -> SpecError:
    return SpecError(f"cannot write the file: {err.strerror or err}", file=path,
                     hint="check that its folder exists and that there is room on the disk")


def export_needs_table(export_to: str | None, output_format: str) -> None:
    if export_to and output_format != "table":
        raise click.UsageError(f"--export writes the table, but --format {output_format} prints no table; "
                               "leave out --format, or redirect the output to a file")


def with_hint(err: Any) -> str:
    return err.message + (f" ({err.hint})" if err.hint else "")


_MODEL_PATH = re.compile(r"^(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_][\w.]*)?|[A-Za-z_]\w*:[A-Za-z_][\w.]*"
                         r"|.+\.py:[A-Za-z_][\w.]*)$")


def spec_or_model(source: str, input_shape: tuple | None, command: str) -> Any:
    """A spec file, or a PyTorch model path (torchvision.models.resnet50, file.py:Net) imported on the fly."""
    from .engine.specs import load_spec, loads_spec

    if source.lower().endswith(".onnx"):
        if input_shape is not None:
            raise SpecError(f"--input does not apply to {source}: an ONNX model has the input size it was "
                            "exported with", hint="export the model again at the size you want")
        require_onnx(f"{command} {source}")
        from .importing.onnx_graph import import_onnx

        return loads_spec(import_onnx(source), file=source)
    if source == "-" or os.path.exists(source) or source.endswith((".yaml", ".yml", ".json")) \
            or not _MODEL_PATH.match(source):
        return load_spec(source)
    if input_shape is None or not all(isinstance(size, int) for size in input_shape):
        raise SpecError(f"'{source}' is not a file: as a PyTorch model it needs its input size",
                        hint=f"paramcalc {command} {source} --input 3x224x224")
    require_torch(f"{command} {source}")
    from .torch.importer import import_model

    return loads_spec(import_model(source, input_shape), file=source)


def _require(module: str, what: str, hint: str) -> Callable[[str], None]:
    def require(command: str) -> None:
        import importlib.util

        if importlib.util.find_spec(module) is None:
            raise SpecError(f"'paramcalc {command}' needs {what}, which is not installed", hint=hint)
    return require


require_onnx = _require("onnx", "the onnx package", "pip install 'paramcalc[onnx]'")
require_torch = _require("torch", "PyTorch", "pip install 'paramcalc[torch]'  (for a CPU-only build: "
                                            "pip install torch --index-url https://download.pytorch.org/whl/cpu)")
