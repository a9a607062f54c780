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

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
FAST_FORMATS = ("json", "csv", "markdown")
DTYPES = ("float32", "float16", "bfloat16", "float64", "int8", "uint8")


def run_show(spec: str, input_shape: tuple[int, ...] | None, batch: int | None, dtype: str | None,
             depth: int | None, metric: str, output_format: str, exact: bool,
             emit_table: Callable | None) -> str | None:
    """Analyse and render; text formats are returned, the table is handed to emit_table."""
    from .analysis import analyze

    result = analyze(spec, input_shape=input_shape, batch=batch, dtype=dtype)
    records = keep_depth(result.records, depth)
    if output_format == "table":
        from .render.table import show_blocks

        assert emit_table is not None
        emit_table(show_blocks(result, records, metric, exact))
        return None
    from .render import report

    if output_format == "json":
        return report.to_json(result, records)
    if output_format == "csv":
        return report.to_csv(result, records).rstrip("\n")
    return report.to_markdown(result, records, exact)


def keep_depth(records: Sequence[Any], depth: int | None) -> list[Any]:
    """The records of the first `depth` levels (all of them without a depth)."""
    return [r for r in records if depth is None or r.depth < depth]


def parse_shape(text: str) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224); None when it is not positive whole numbers."""
    try:
        sizes = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        return None
    return sizes if sizes and all(size >= 1 for size in sizes) else None


def _fast_show(arguments: list[str]) -> dict[str, Any] | None:
    """The options of a plain `show --format json|csv|markdown`, or None to let click handle the call."""
    if len(arguments) < 2 or arguments[0] != "show":
        return None
    options: dict[str, Any] = {"spec": None, "input_shape": None, "batch": None, "dtype": None, "depth": None,
                               "metric": "macs", "output_format": "table", "exact": False}
    readers: dict[str, tuple[str, Callable[[str], Any]]] = {
        "--format": ("output_format", lambda v: v if v in FAST_FORMATS else None),
        "--input": ("input_shape", parse_shape),
        "--batch": ("batch", lambda v: int(v) if v.isdigit() and int(v) >= 1 else None),
        "--depth": ("depth", lambda v: int(v) if v.isdigit() and int(v) >= 1 else None),
        "--dtype": ("dtype", lambda v: v if v in DTYPES else None),
        "--metric": ("metric", lambda v: v if v in ("macs", "flops") else None),
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
    if options["spec"] is None or options["output_format"] not in FAST_FORMATS:
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


def main() -> None:
    options = _fast_show(sys.argv[1:])
    if options is None:
        from .cli import main as click_main

        click_main(prog_name="paramcalc")
        return
    text = report_errors(lambda: run_show(**options, emit_table=None))
    sys.stdout.write(text + "\n")
