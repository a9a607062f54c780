"""Specs and options from strangers that once ran for minutes, filled the memory or ran code, each as a command.

Shared by tests/test_hostile.py (each must exit 2 with one message, within a bounded time and memory) and
bench/hostile.py (which prints how long each takes and how much memory it needs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAD = "name: t\ninput: [3, 8, 8]\n"
DIGITS = "9" * 4301  # one more than Python makes an int of
HEAVY = '"2 ** 60 * 3 / 7"'  # an expression that takes arithmetic on fractions, not a lookup


def _layer(value: str) -> str:
    return HEAD + f"layers: [{{conv2d: {{out: {value}, kernel: 1}}}}]\n"


def _anchored(items: str, count: int = 1000) -> str:
    return f"  a: &a [{', '.join([items] * count)}]\n"


# name -> (spec text, or None for the plain spec below; extra command-line words, or a whole command)
REPRODUCERS: dict[str, tuple[str | None, list[str]]] = {
    "out: 1e99999999": (_layer("1e99999999"), []),
    "out: 1e9999999": (_layer("1e9999999"), []),
    "out: 1.0e+99999999 (a YAML float)": (_layer("1.0e+99999999"), []),
    "round(1, -100000000)": (_layer('"round(1, -100000000)"'), []),
    "round(1/3, 1000000000)": (_layer('"round(1/3, 1000000000)"'), []),
    "ceil(1e-99999999)": (_layer('"ceil(1e-99999999)"'), []),
    "a: 1e-30 ** 64, b: a ** 64, ...": (HEAD + "vars: {a: 1e-30 ** 64, b: a ** 64, c: b ** 64, d: c ** 64}\n"
                                        "layers: [relu]\n", []),
    "a 4,301-digit integer": (_layer("1" * 4301), []),
    "--max-params 1e99999999": (None, ["check", "--max-params", "1e99999999"]),
    "--max-param-memory 1e99999999MB": (None, ["check", "--max-param-memory", "1e99999999MB"]),
    "--max-increase 1e99999999%": (None, ["check", "--baseline", "HEAD", "--max-increase", "1e99999999%"]),
    "an aliased 20,000-item list, 999 times (64 KB)": (
        HEAD + "vars:\n  a: &a [" + ", ".join(["1"] * 20000) + "]\n  b: [" + ", ".join(["*a"] * 999) + "]\n"
        "layers: [relu]\n", []),
    "an aliased 200,000-item list, 999 times (604 KB)": (
        HEAD + "vars:\n  a: &a [" + ", ".join(["1"] * 200000) + "]\n  b: [" + ", ".join(["*a"] * 999) + "]\n"
        "layers: [relu]\n", []),
    "an add of 1,000 inputs, repeated 10,000 times": (
        HEAD + "layers:\n  - {name: r, repeat: 10000, layers: [{add: null, from: [" + ", ".join(["input"] * 1000)
        + "]}]}\n", []),
    "50,000 vars and a repeat of 100,000": (
        HEAD + "vars:\n" + "".join(f"  v{i}: {i}\n" for i in range(50000)) + "layers:\n  - {relu: null, repeat: 100000}\n",
        []),
    "a concat of a layer with itself, repeated 100,000 times": (
        HEAD + "layers:\n  - {name: r, repeat: 100000, layers: [{concat: null, from: [input, input]}]}\n", []),
    "a concat of a layer with itself, repeated 10,000 times": (
        HEAD + "layers:\n  - {name: r, repeat: 10000, layers: [{concat: null, from: [input, input]}]}\n", []),
    "--baseline ''": (None, ["check", "--baseline", ""]),
    "1,000 aliased expressions in 990 vars (23 KB)": (
        HEAD + "vars:\n" + _anchored(HEAVY) + "".join(f"  b{i}: *a\n" for i in range(990)) + "layers: [relu]\n", []),
    "40,000 expressions (760 KB)": (HEAD + "vars:\n" + _anchored(HEAVY, 40_000) + "layers: [relu]\n", []),
    "a block argument of 1,000 characters, repeated 10,000 times": (
        HEAD + "blocks:\n  unit: {args: {x: 1}, layers: [relu]}\nlayers:\n  - {unit: {x: \""
        + ("(2 ** 60 * 3 / 7 - 2 ** 60 * 5 / 11 + index) + " * 21)[:997] + "1\"}, repeat: 10000}\n", []),
    "a list of 3,000 numbers and index, repeated 10,000 times": (
        HEAD + "layers:\n  - {reshape: [" + "1, " * 3000 + "\"index * 0 + 192\"], repeat: 10000}\n", []),
    "out: 0777... (5,200 digits)": (_layer("0" + "7" * 5200), []),
    "out: -0777... (5,200 digits)": (_layer("-0" + "7" * 5200), []),
    "out: !!int 0777... (5,200 digits)": (_layer("!!int 0" + "7" * 5200), []),
    "--input with 4,301 digits": (None, ["show", "--input", DIGITS + "x8x8"]),
    "--input 3xHxW --at with 4,301 digits": (None, ["show", "--input", "3xHxW", "--at", DIGITS + "x8"]),
    "--batch with 4,301 digits": (None, ["show", "--batch", DIGITS]),
    "--baseline: a sparse .json of 1.5 GB": (None, ["check", "--baseline", "sparse.json"]),
    "--baseline: a .json nested 200,000 deep": (None, ["check", "--baseline", "deep.json"]),
    "--baseline: a FIFO named .json": (None, ["check", "--baseline", "fifo.json"]),
}
PLAIN = HEAD + "layers: [relu]\n"

# Runs every case in one fresh process, one after another: a process's peak memory only grows, so the growth
# each case causes over the peak before it is what that case needed (at most; the peak is 40 MB to start).
RUNNER = """
import json, resource, sys, time
from click.testing import CliRunner
from paramcalc.cli import main
results = {}
for name, command in json.loads(sys.argv[1]).items():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = CliRunner().invoke(main, command)
    results[name] = {"exit": result.exit_code, "output": result.output, "seconds": time.perf_counter() - started,
                     "growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1000,
                     "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000}
print(json.dumps(results))
"""


def _baselines(directory: Path) -> None:
    """The baseline reports the reproducers name, which the runner finds in its working directory."""
    with open(directory / "sparse.json", "wb") as handle:  # no disk used, but 1.5 GB (and 3 GB as text) to read
        handle.truncate(1_500_000_000)
    (directory / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    if not (directory / "fifo.json").exists():
        os.mkfifo(directory / "fifo.json")  # opening it would wait for a writer forever


def commands(directory: Path) -> dict[str, list[str]]:
    """Each reproducer as paramcalc's arguments, its spec written into `directory`."""
    plain = directory / "plain.yaml"
    plain.write_text(PLAIN)
    _baselines(directory)
    result = {}
    for index, (name, (text, words)) in enumerate(REPRODUCERS.items()):
        if text is None:
            result[name] = [words[0], str(plain), *words[1:]]
        else:
            path = directory / f"case{index}.yaml"
            path.write_text(text)
            result[name] = ["show", str(path), "--format", "json", *words]
    return result


def run_all(directory: Path) -> dict[str, dict]:
    """{name: {exit, output, seconds, growth_mb, peak_mb}}, measured in one fresh process."""
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(commands(directory))], capture_output=True,
                          text=True, timeout=600, cwd=directory, check=True)
    return json.loads(done.stdout)
