"""paramcalc's benchmark: end-to-end runs against the import floor, in-process speed, scale, memory.

    python bench/run.py                  # the full run (a few minutes); prints a table, writes JSON
    python bench/run.py --quick          # one repetition of each, small scales: proves the bench works

Every timing is the median of repeated runs; every ratio is taken against a floor measured in the same
run, side by side (the commands run in turn, so a slow spell of the machine slows them all alike).
Nothing here asserts: the figures of a full run are copied by hand into docs/performance.md, and
bench/README.md says how they are taken.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "FORCE_COLOR", "NO_COLOR")}


def run_command(arguments: list[str], env: dict | None = None) -> float:
    """Wall seconds of one run of a command (its output goes to a pipe, as in a script)."""
    started = time.perf_counter()
    process = subprocess.run(arguments, cwd=ROOT, env=env or ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(arguments)}\n{process.stderr.decode()}")
    return seconds


def measure(arguments: list[str], repeats: int, env: dict | None = None) -> dict:
    """Median wall time and the largest peak memory over repeated runs (memory from a separate run)."""
    times = [run_command(arguments, env) for _ in range(repeats)]
    return {"median_s": statistics.median(times), "runs": repeats, "peak_kib": peak_memory(arguments, env)}


def measure_side_by_side(commands: dict[str, tuple[list[str], dict | None]], repeats: int) -> dict[str, dict]:
    """Like measure, for several commands run in turn (a, b, c, a, b, c, ...): a machine that slows down
    for a while slows every command alike, so the ratios between them hold."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (arguments, env) in commands.items():
            times[name].append(run_command(arguments, env))
    return {name: {"median_s": statistics.median(times[name]), "runs": repeats,
                   "peak_kib": peak_memory(arguments, env)} for name, (arguments, env) in commands.items()}


def peak_memory(arguments: list[str], env: dict | None = None) -> int:
    code = ("import resource, subprocess, sys;"
            f"subprocess.run({arguments!r}, stdout=subprocess.DEVNULL, check=True, cwd={str(ROOT)!r});"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    output = subprocess.run([PYTHON, "-c", code], env=env or ENV, capture_output=True, text=True, check=True)
    return int(output.stdout.strip())


def paramcalc_command(*arguments: str) -> list[str]:
    script = Path(PYTHON).parent / "paramcalc"
    return [str(script), *arguments] if script.exists() else [PYTHON, "-m", "paramcalc", *arguments]


def end_to_end(repeats: int) -> list[dict]:
    terminal = {**ENV, "FORCE_COLOR": "1"}  # what a terminal gets: the table styled with ANSI codes
    commands = {
        "floor_table": ([PYTHON, "-c", "import yaml, click, rich.console, rich.table"], None),
        "floor_json": ([PYTHON, "-c", "import yaml, click, json"], None),
        "json": (paramcalc_command("show", "specs/resnet50.yaml", "--format", "json"), None),
    }
    for spec in ("specs/resnet50.yaml", "specs/resnet152.yaml"):
        commands[f"piped {spec}"] = (paramcalc_command("show", spec), None)
        commands[f"terminal {spec}"] = (paramcalc_command("show", spec), terminal)
    results = measure_side_by_side(commands, repeats)
    floor_table, floor_json = results["floor_table"], results["floor_json"]
    rows = []
    for spec, target in (("specs/resnet50.yaml", 2.0), ("specs/resnet152.yaml", 2.5)):
        for how, label in (("piped", "piped: plain text"), ("terminal", "terminal: styled")):
            row = results[f"{how} {spec}"]
            rows.append({"what": f"show {spec} ({label})", **row, "floor": "import yaml, click, rich",
                         "floor_s": floor_table["median_s"], "ratio": row["median_s"] / floor_table["median_s"],
                         "target": target})
    machine = results["json"]
    rows.append({"what": "show specs/resnet50.yaml --format json", **machine, "floor": "import yaml, click, json",
                 "floor_s": floor_json["median_s"], "ratio": machine["median_s"] / floor_json["median_s"],
                 "target": 1.5})
    return rows


def rate(work, seconds: float) -> float:
    """Calls of work per second: the median over bursts of about 50 ms each, for about `seconds` in all
    (a burst that another process interrupted counts as one slow burst, not as a slower average)."""
    work()
    rates, started = [], time.perf_counter()
    while time.perf_counter() - started < seconds or len(rates) < 3:
        count, burst = 0, time.perf_counter()
        while time.perf_counter() - burst < 0.05:
            work()
            count += 1
        rates.append(count / (time.perf_counter() - burst))
    return statistics.median(rates)


def in_process(seconds: float) -> list[dict]:
    import paramcalc
    from paramcalc.engine.cache import FIGURES_KEPT
    from paramcalc.engine.graph import expand

    path = str(ROOT / "specs" / "resnet50.yaml")
    spec = paramcalc.load_spec(path)
    graph = expand(spec)
    cache = paramcalc.Cache()
    a100 = paramcalc.read_devices()["a100"]
    # more input sizes than a cache keeps figures for, in turn, 32 apart so that even the last maps (1/32 of
    # the input) differ: every layer's figures are worked out again
    sizes = itertools.cycle([(3, size, size) for size in range(97, 97 + 32 * (FIGURES_KEPT + 2), 32)])
    return [
        {"what": "read specs/resnet50.yaml (load_spec)", "per_s": rate(lambda: paramcalc.load_spec(path), seconds)},
        {"what": "expand and analyse a read resnet50 (nothing kept)",
         "per_s": rate(lambda: paramcalc.analyze(spec), seconds)},
        {"what": "analyse an expanded resnet50 (analyze(graph))", "per_s": rate(lambda: paramcalc.analyze(graph),
                                                                               seconds)},
        {"what": "analyse it at a new input size each time, with a Cache",
         "per_s": rate(lambda: paramcalc.analyze(spec, input=next(sizes), cache=cache), seconds)},
        {"what": "a training step of resnet50, batch 32 (analyze_training)",
         "per_s": rate(lambda: paramcalc.analyze_training(spec, batch=32, cache=cache), seconds)},
        {"what": "resnet50 on an A100, batch 32 (roofline)",
         "per_s": rate(lambda: paramcalc.roofline(spec, a100, batch=32, cache=cache), seconds)},
    ]


def generated_spec(layers: int, residual: bool) -> str:
    lines = ["name: generated", "input: [8, 16, 16]", "layers:"]
    if residual:
        for i in range(layers // 4):
            source = "input" if i == 0 else f"r{i - 1}"
            lines += [f"  - {{name: c{i}, conv2d: {{out: 8, kernel: 3, padding: 1}}}}",
                      f"  - {{name: b{i}, batchnorm}}", f"  - {{name: a{i}, add, from: [b{i}, {source}]}}",
                      f"  - {{name: r{i}, relu}}"]
    else:
        for i in range(layers // 2):
            lines += [f"  - {{name: c{i}, conv2d: {{out: 8, kernel: 3, padding: 1}}}}", f"  - {{name: r{i}, relu}}"]
    return "\n".join(lines) + "\n"


# Time the work, not the imports (a constant, which pulls the growth from 10k to 100k layers below 10x, the
# more so when the machine is busy), and read the peak of this process's own memory: ru_maxrss starts
# from the parent's peak when the child is started with vfork, as subprocess does.
SCALE_RUN = """
import resource, sys, time
import paramcalc
started = time.perf_counter()
result = paramcalc.analyze(sys.argv[1])
seconds = time.perf_counter() - started
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, peak, result.totals.layers)
"""


def scale(sizes: list[int], repeats: int) -> list[dict]:
    """Parse + analyse generated specs in a fresh process each: the median of `repeats` runs per size (the
    largest peak memory). The sizes run in turn (1k, 10k, 100k, 1k, ...), so the growth between two sizes
    is a ratio taken side by side: a slow spell of the machine slows every size alike."""
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for residual in (False, True):
            paths = []
            for size in sizes:
                paths.append(Path(directory) / f"{'residual' if residual else 'plain'}_{size}.yaml")
                paths[-1].write_text(generated_spec(size, residual))
            runs: dict[Path, list[list[str]]] = {path: [] for path in paths}
            for _ in range(repeats):
                for path in paths:
                    runs[path].append(subprocess.run([PYTHON, "-c", SCALE_RUN, str(path)], env=ENV, capture_output=True,
                                                     text=True, check=True, cwd=ROOT).stdout.split())
            previous = None
            for path in paths:
                seconds = statistics.median(float(output[0]) for output in runs[path])
                peak, layers = max(int(output[1]) for output in runs[path]), int(runs[path][0][2])
                rows.append({"what": f"{'residual' if residual else 'plain'} {layers:,} layers", "seconds": seconds,
                             "peak_mb": peak / 1024, "growth": seconds / previous if previous else None})
                previous = seconds
    return rows


def torch_side_by_side(repeats: int) -> list[dict]:
    """torchinfo's summary of the model built from the spec, against paramcalc show (needs torch and torchinfo)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchinfo") is None:
        return []
    code = ("import warnings; warnings.filterwarnings('ignore');"
            "import torchinfo; from paramcalc.torch import build;"
            "m = build('specs/resnet50.yaml');"
            "torchinfo.summary(m, input_size=(1, 3, 224, 224), verbose=0)")
    both = measure_side_by_side({"theirs": ([PYTHON, "-c", code], None),
                                 "ours": (paramcalc_command("show", "specs/resnet50.yaml"), None)}, repeats)
    theirs, ours = both["theirs"], both["ours"]
    return [{"what": "torchinfo.summary(resnet50 built from the spec)", **theirs},
            {"what": "paramcalc show specs/resnet50.yaml", **ours,
             "faster": theirs["median_s"] / ours["median_s"], "less_memory": theirs["peak_kib"] / ours["peak_kib"]}]


def main() -> int:
    parser = argparse.ArgumentParser(description="paramcalc's benchmark")
    parser.add_argument("--quick", action="store_true", help="one repetition, small scales (CI)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    options = parser.parse_args()
    repeats, seconds = (1, 0.2) if options.quick else (21, 3.0)
    sizes = [1_000, 10_000] if options.quick else [1_000, 10_000, 100_000]
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "paramcalc")], env=ENV, check=True,
                   stdout=subprocess.DEVNULL)
    gc.collect()
    report = {"machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores,"
                         f" {platform.machine()}", "quick": options.quick,
              "end_to_end": end_to_end(repeats), "in_process": in_process(seconds),
              "scale": scale(sizes, 1 if options.quick else 7),  # the sizes in turn, seven times
              "torch": torch_side_by_side(max(3, repeats // 3))}
    print(f"paramcalc benchmark ({report['machine']}; medians of {repeats} runs)\n")
    print(f"{'end to end':<52} {'median':>9} {'floor':>9} {'ratio':>6} {'target':>7} {'peak MB':>8}")
    for row in report["end_to_end"]:
        print(f"{row['what']:<52} {row['median_s'] * 1000:>7.0f}ms {row['floor_s'] * 1000:>7.0f}ms "
              f"{row['ratio']:>5.2f}x {'<=' + str(row['target']) + 'x':>7} {row['peak_kib'] / 1024:>8.1f}")
    print(f"\n{'in process':<72} {'per second':>11}")
    for row in report["in_process"]:
        print(f"{row['what']:<72} {row['per_s']:>11,.0f}")
    print(f"\n{'scale: parse + analyse':<36} {'seconds':>8} {'growth':>7} {'peak MB':>8}")
    for row in report["scale"]:
        growth = f"{row['growth']:.1f}x" if row["growth"] else ""
        print(f"{row['what']:<36} {row['seconds']:>8.3f} {growth:>7} {row['peak_mb']:>8.1f}")
    if report["torch"]:
        print(f"\n{'with the torch extra':<52} {'median':>9} {'peak MB':>8}")
        for row in report["torch"]:
            extra = f"   {row['faster']:.0f}x faster, {row['less_memory']:.0f}x less memory" if "faster" in row else ""
            print(f"{row['what']:<52} {row['median_s'] * 1000:>7.0f}ms {row['peak_kib'] / 1024:>8.1f}{extra}")
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {options.json.relative_to(ROOT) if options.json.is_relative_to(ROOT) else options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
