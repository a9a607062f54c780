"""The `paramcalc` command's entry point, and the work `show` does.

A machine-readable run (`paramcalc show SPEC --format json|csv|markdown` with plain options) is
answered here without importing click or rich: a script that reads paramcalc's JSON should pay for
Python, PyYAML and paramcalc, nothing more. Everything else, and anything this reader does not
recognise (help, a typo, a value it would have to explain), goes to the click CLI in cli.py, which
prints the usual messages. Both paths call `run_show`, so they cannot differ in what they print.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Sequence

from .dims import parse_shape

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
FORMATS = ("table", "json", "csv", "markdown")
DTYPES = ("float32", "float16", "bfloat16", "float64", "int8", "uint8", "fp32", "fp16", "bf16", "fp64")


def run_show(spec: str, input_shape: tuple[int | str, ...] | None, batch: int | None, dtype: str | None,
             depth: int | None, metric: str, output_format: str, exact: bool,
             emit_table: Callable | None, at: list[tuple[int, ...]] | None = None) -> str | None:
    """Analyse and render; text formats are returned, the table is handed to emit_table.

    An input size given as a name ('3xHxW') makes the analysis symbolic; `at` then lists sizes
    (one value per symbol) to evaluate it at."""
    from .analysis import analyze
    from .spec import SpecFile

    result = analyze(SpecFile(spec), input_shape=input_shape, batch=batch, dtype=dtype)
    if at:
        check_at(result, at)
    records = keep_depth(result.records, depth)
    if output_format == "table":
        from .render.table import show_blocks

        assert emit_table is not None
        blocks = show_blocks(result, records, metric, exact)
        if at:
            from .render.symbolic import at_grid

            blocks += [None, at_grid(result, at, exact)]
        emit_table(blocks)
        return None
    from .render import report

    if output_format == "json":
        return report.to_json(result, records, at)
    if output_format == "csv":
        if at:
            from .errors import SpecError

            raise SpecError("--at has no place in the CSV (one row per layer)", file=result.file,
                            hint="use --format json or markdown with --at, or run once per size with --input")
        return report.to_csv(result, records).rstrip("\n")
    return report.to_markdown(result, records, exact, at)


def print_table(blocks: list[Any]) -> None:
    """Tables go out styled on a terminal (or with FORCE_COLOR; NO_COLOR drops the colours), plain otherwise."""
    from .render.grid import emit

    emit(blocks, sys.stdout, styled=sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR")))


def keep_depth(records: Sequence[Any], depth: int | None) -> list[Any]:
    """The records of the first `depth` levels (all of them without a depth)."""
    return [r for r in records if depth is None or r.depth < depth]


def positive(text: str) -> int | None:
    """A positive whole number written with the digits 0-9 ('²' is a digit to str.isdigit, not to int)."""
    return int(text) if text.isascii() and text.isdigit() and int(text) >= 1 else None


def parse_sizes(text: str) -> list[tuple[int, ...]] | None:
    """'224x224,512x512' -> [(224, 224), (512, 512)]: values for the input's symbols, in order."""
    sizes = [parse_shape(item) for item in text.split(",")]
    if any(size is None or not all(isinstance(part, int) for part in size) for size in sizes):
        return None
    return sizes  # type: ignore[return-value]


def check_at(result: Any, at: list[tuple[int, ...]]) -> None:
    from .errors import SpecError

    symbols = result.symbols
    if not symbols:
        raise SpecError("--at evaluates a symbolic input, but this input has no symbols", file=result.file,
                        hint="write the sizes as names: --input 3xHxW --at 224x224,512x512")
    for size in at:
        if len(size) != len(symbols):
            raise SpecError(f"--at {'x'.join(map(str, size))} gives {len(size)} value(s) for "
                            f"{len(symbols)} symbol(s) ({', '.join(symbols)})",
                            hint=f"one value per symbol, in order: --at {'x'.join(['224'] * len(symbols))}")


def _fast_show(arguments: list[str]) -> dict[str, Any] | None:
    """The options of a plain `show --format json|csv|markdown`, or None to let click handle the call."""
    if len(arguments) < 2 or arguments[0] != "show":
        return None
    options: dict[str, Any] = {"spec": None, "input_shape": None, "batch": None, "dtype": None, "depth": None,
                               "metric": "macs", "output_format": "table", "exact": False, "at": None}
    readers: dict[str, tuple[str, Callable[[str], Any]]] = {
        "--format": ("output_format", lambda v: v if v in FORMATS else None),
        "--input": ("input_shape", parse_shape),
        "--batch": ("batch", positive),
        "--depth": ("depth", positive),
        "--dtype": ("dtype", lambda v: v if v in DTYPES else None),
        "--metric": ("metric", lambda v: v if v in ("macs", "flops") else None),
        "--at": ("at", parse_sizes),
    }
    rest = arguments[1:]
    while rest:
        word = rest.pop(0)
        if word == "--exact":
            options["exact"] = True
        elif word.startswith("--"):
            name, has_value, value = word.partition("=")
            if name not in readers or (not has_value and not rest):
                return None
            if not has_value:
                value = rest.pop(0)
            key, read = readers[name]
            options[key] = read(value)
            if options[key] is None:
                return None
        elif word.startswith("-") or options["spec"] is not None:
            return None
        else:
            options["spec"] = word
    if options["spec"] is None:
        return None
    return options


def report_errors(work: Callable[[], Any], passthrough: tuple[type[BaseException], ...] = ()) -> Any:
    """Run work; a SpecError becomes one message and exit 2, a bug one line and exit 70, never a traceback.

    Exceptions in passthrough (click's own: usage errors, exits) are left to their owner.
    """
    from .errors import SpecError

    try:
        return work()
    except passthrough:
        raise
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as err:  # a bug in paramcalc, not in the spec
        if os.environ.get("PARAMCALC_DEBUG"):
            raise
        print(f"paramcalc: internal error: {type(err).__name__}: {err}\n"
              "  this is a bug in paramcalc; run with PARAMCALC_DEBUG=1 for the details", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


def run(arguments: list[str]) -> int:
    """Run the command line; the exit status."""
    try:
        options = _fast_show(arguments)
        if options is None:
            from .cli import main as click_main

            click_main(args=arguments, prog_name="paramcalc")
        else:
            text = report_errors(lambda: run_show(**options, emit_table=print_table))
            if text is not None:
                sys.stdout.write(text + "\n")
    except BrokenPipeError:  # the reader left (`| head`): not an error
        return 0
    except SystemExit as leaving:
        if leaving.code is None or isinstance(leaving.code, int):
            return leaving.code or 0
        print(leaving.code, file=sys.stderr)
        return 1
    return 0


def main() -> None:
    """The `paramcalc` command. A short-lived process: the garbage collector stays off (nothing paramcalc
    makes has reference cycles, see gcpause.py), and the process ends without tearing the interpreter
    down, which for a large analysis means freeing every object one by one (about 15 ms for resnet50)."""
    import gc

    gc.disable()
    status = run(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader left, or the stream is closed: nothing to flush
            pass
    os._exit(status)
