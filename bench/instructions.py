"""Instructions per operation, counted by valgrind: figures that do not drift with the machine.

    python bench/instructions.py                        # needs valgrind; one to two minutes
    python bench/instructions.py --base /path/to/other  # the same for another checkout, side by side

This machine's speed drifts by up to 1.7x within minutes, so a change worth 10 % cannot be told from
noise by a clock. valgrind (cachegrind, without its cache model) counts the instructions the CPU runs.
Each figure is the difference between two processes that do the same set-up and then run the operation
`count` times and no time at all, divided by `count`: start-up, imports and set-up cancel out. An
instruction is not a nanosecond (a cache miss costs more than an addition), so this tells whether a change
does less work; the bench (run.py) tells how long things take.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import generated_spec  # noqa: E402

RESNET50 = str(ROOT / "specs" / "resnet50.yaml")
LOADED = f"import paramcalc\nfrom paramcalc.graph import expand\nspec = paramcalc.load_spec({RESNET50!r})\n"

# what each operation needs made first, the operation, and how often it runs
OPERATIONS = {
    "parse resnet50 (load_spec)": (LOADED, f"paramcalc.load_spec({RESNET50!r})", 50),
    "analyse resnet50 (analyze(graph))": (LOADED + "graph = expand(spec)\nparamcalc.analyze(graph)\n",
                                          "paramcalc.analyze(graph)", 200),
    # a new input size every time, 32 apart so that even the last maps differ: every figure worked out
    "analyse resnet50 at a new input size": (
        LOADED + "graphs = iter([expand(spec, input_shape=(3, s, s)) for s in range(97, 97 + 32 * 101, 32)])\n",
        "paramcalc.analyze(next(graphs))", 100),
    "expand and analyse resnet50": (
        LOADED, "spec.cache.clear(); getattr(spec, 'results', {}).clear(); paramcalc.analyze(spec)", 50),
}
STAGES = {  # one run of each stage of a generated spec of LAYERS layers, the stages before it made first
    "read": ("", "spec = paramcalc.load_spec(PATH)"),
    "expand": ("spec = paramcalc.load_spec(PATH)\n", "graph = expand(spec)"),
    "analyse": ("spec = paramcalc.load_spec(PATH)\ngraph = expand(spec)\n", "result = paramcalc.analyze(graph)"),
}
LAYERS = 10_000
FIRST_USE = ("import gc, paramcalc, paramcalc.analysis, paramcalc.spec, paramcalc.source\n"  # imported on first use
             "from paramcalc.graph import expand\n"
             "try:\n    import paramcalc.plain_yaml\nexcept ImportError:\n    pass\n"  # an older checkout
             "gc.disable()\n")  # as analyze(path) has it for the whole call


def instructions(tree: str, setup: str, operation: str, count: int) -> int:
    program = f"import sys\nsys.path.insert(0, {tree!r})\n{setup}\nfor _ in range(COUNT):\n    {operation}\n"
    counted = []
    for runs in (count, 0):
        process = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
             sys.executable, "-c", program.replace("COUNT", str(runs))],
            capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False)
        if process.returncode != 0:
            raise SystemExit(f"failed in {tree}: {operation}\n{process.stderr[-2000:]}")
        line = next(line for line in process.stderr.splitlines() if "I   refs:" in line)
        counted.append(int(line.split()[-1].replace(",", "")))
    return round((counted[0] - counted[1]) / count)


def jobs(tree: str, directory: str) -> dict[str, tuple]:
    todo = {what: (tree, *job) for what, job in OPERATIONS.items()}
    for kind in ("plain", "residual"):
        path = str(Path(directory) / f"{kind}.yaml")
        for stage, (setup, operation) in STAGES.items():
            made = f"{FIRST_USE}PATH = {path!r}\n{setup}"
            todo[f"{kind} {LAYERS:,} layers: {stage}, per layer"] = (tree, made, operation, 1)
    return todo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="another checkout of paramcalc to count side by side")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/instructions.py needs valgrind (apt-get install valgrind)")
    trees = [str(ROOT)] + ([str(Path(options.base).resolve())] if options.base else [])
    with tempfile.TemporaryDirectory() as directory:
        for kind in ("plain", "residual"):
            (Path(directory) / f"{kind}.yaml").write_text(generated_spec(LAYERS, kind == "residual"))
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {(tree, what): pool.submit(instructions, *job)
                       for tree in trees for what, job in jobs(tree, directory).items()}
            counts = {key: future.result() for key, future in futures.items()}
    header = f"{'instructions':<48} {'this tree':>12}" + (f" {'base':>12} {'ratio':>6}" if options.base else "")
    print(header)
    for what in jobs(trees[0], ""):
        ours = counts[(trees[0], what)]
        divisor = LAYERS if "per layer" in what else 1
        row = f"{what:<48} {ours / divisor:>12,.0f}"
        if options.base:
            theirs = counts[(trees[1], what)]
            row += f" {theirs / divisor:>12,.0f} {ours / theirs:>5.2f}x"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
