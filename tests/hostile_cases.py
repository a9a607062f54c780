"""Specs and options from strangers that once ran for minutes, filled the memory or ran code, each as a command.

Shared by tests/test_hostile.py (each must exit 2 with one message, within a bounded time and memory) and
bench/hostile.py (which prints how long each takes and how much memory it needs).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAD = "name: t\ninput: [3, 8, 8]\n"


def _layer(value: str) -> str:
    return HEAD + f"layers: [{{conv2d: {{out: {value}, kernel: 1}}}}]\n"


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


def commands(directory: Path) -> dict[str, list[str]]:
    """Each reproducer as paramcalc's arguments, its spec written into `directory`."""
    plain = directory / "plain.yaml"
    plain.write_text(PLAIN)
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
