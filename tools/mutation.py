"""Mutation testing of the engine's figure code with mutmut (the `mutation` extra): run by hand, too slow for CI.

    pip install -e '.[test,torch,mutation]'
    python tools/mutation.py                       # every figure module (many hours)
    python tools/mutation.py layers/pool.py        # one module (see docs/testing.md for timings)
    python tools/mutation.py pool conv receptive   # short names work too
    python tools/mutation.py --list                # the modules and the tests each one is run against

Each module is mutated on its own, in a scratch copy of the working tree under mutation/work/<module>/ (the
repository itself is never touched, so tests run elsewhere meanwhile see the real code). mutmut first runs the
module's tests once to record which test calls which function, then runs, for each mutant, only the tests that
call the mutated function. The tests of a module are the ones that check its figures against a source other
than paramcalc (PyTorch, torchvision, gradients, published tables, hand arithmetic), fast files first; the
snapshot tests (README, docs, exports, CLI output) are left out on purpose, so a mutant they alone would
catch counts as a survivor.

Results go to mutation/results/<module>.json (counts, score, each surviving mutant with its diff) and
mutation/summary.json (every module run so far). mutation/ is gitignored.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mutation"

# Tests grouped by what they check independently; fast files first within each module's list.
LAYER_HAND = ["tests/test_layer_kinds.py", "tests/test_explain.py", "tests/test_examples_and_fields.py"]
LAYER_TORCH = ["tests/test_kinds_torch.py", "tests/test_torch.py", "tests/test_torch_properties.py"]
ZOO = ["tests/test_more_models.py", "tests/test_zoo.py", "tests/test_zoo_beyond.py"]
BEYOND = ["tests/test_examples_beyond.py", "tests/test_newcomers.py"]
RECEPTIVE = ["tests/test_examples_and_fields.py", "tests/test_receptive_torch.py"]
TRAINING = ["tests/test_training.py", "tests/test_training_torch.py"]
LAYERS = LAYER_HAND + BEYOND + LAYER_TORCH + ZOO + ["tests/test_receptive_torch.py"] + TRAINING

MODULES: dict[str, list[str]] = {
    "paramcalc/engine/layers/base.py": LAYERS,
    "paramcalc/engine/layers/fields.py": LAYERS,
    "paramcalc/engine/layers/conv.py": LAYERS,
    "paramcalc/engine/layers/pool.py": LAYERS,
    "paramcalc/engine/layers/dense.py": LAYERS,
    "paramcalc/engine/layers/elementwise.py": LAYERS,
    "paramcalc/engine/layers/resample.py": LAYERS,
    "paramcalc/engine/layers/structure.py": LAYERS,
    "paramcalc/engine/layers/sequence.py": LAYERS,
    "paramcalc/engine/layers/attention.py": LAYERS,
    "paramcalc/engine/layers/tokens.py": LAYERS,
    "paramcalc/engine/layers/custom.py": LAYERS,
    "paramcalc/engine/receptive.py": RECEPTIVE + ["tests/test_newcomers.py", "tests/test_layer_kinds.py"],
    "paramcalc/engine/analysis.py": ["tests/test_layer_kinds.py", "tests/test_api.py", "tests/test_examples_and_fields.py",
                                     "tests/test_hardware.py", "tests/test_training.py"] + BEYOND + LAYER_TORCH + ZOO,
    "paramcalc/engine/training.py": TRAINING,
    "paramcalc/engine/hardware.py": ["tests/test_hardware.py"],
    "paramcalc/engine/symbolic.py": ["tests/test_symbolic.py", "tests/test_examples_beyond.py"],
}

# Everything the tests read besides the package and tests/ (mutmut copies those itself).
ALSO_COPY = ["specs", "docs", "tools", "bench", "README.md", "paramcalc.schema.json"]
SKIP = {".git", ".venv", "mutation", "mutants", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist"}


def resolve(name: str) -> str:
    """`layers/pool.py`, `pool`, `pool.py` or the full path -> the full path of one module in MODULES."""
    hits = [m for m in MODULES if m == name or m.endswith("/" + name) or m.endswith("/" + name + ".py")]
    if len(hits) != 1:
        raise SystemExit(f"{name!r}: expected one of {', '.join(MODULES)}" + (f" (matches {hits})" if hits else ""))
    return hits[0]


def slug(module: str) -> str:
    return module.removeprefix("paramcalc/engine/").removesuffix(".py").replace("/", ".")


def scratch_copy(work: Path, source: str) -> None:
    """A commit's files (`git archive`, read-only), or the working tree as it is (tracked and untracked files
    alike) without the venv, git data and caches."""
    if work.exists():
        shutil.rmtree(work)
    if source == "worktree":
        shutil.copytree(ROOT, work, ignore=lambda _d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")])
        return
    work.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", source], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)


def configure(work: Path, module: str, tests: list[str]) -> None:
    lines = ["", "[mutmut]", "source_paths = paramcalc", f"only_mutate = {module}",
             "pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests if (work / t).exists()]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -q", "    --hypothesis-seed=0",
              "also_copy ="] + [f"    {p}" for p in ALSO_COPY if (work / p).exists()]
    # mutmut forks each mutant's run from a process that has imported paramcalc and the tests; a timeout is 15
    # times the selected tests' time plus this constant (a loaded machine should not turn survivors into kills)
    lines += ["track_dependencies = false", "use_git_change_detection = false", "timeout_constant = 10", ""]
    cfg = work / "setup.cfg"
    cfg.write_text(cfg.read_text() + "\n".join(lines))
    (work / "pyproject.toml").unlink(missing_ok=True)  # mutmut would look for [tool.mutmut] there first


def def_lines(source: Path) -> dict[str, int]:
    """The line of each function's `def`, by mutmut's mangled name: `x_function`, `xǁClassǁmethod`."""
    lines: dict[str, int] = {}
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines["x_" + node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
    return lines


def diff_line(diff: str) -> int | None:
    """The line a mutant changes, counted from its function's `def` (mutmut diffs one function)."""
    number = None
    for line in diff.splitlines():
        hunk = re.match(r"@@ -(\d+)", line)
        if hunk:
            number = int(hunk.group(1))
            continue
        if number is None or line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            return number
        if not line.startswith("+"):
            number += 1
    return None


# Run in the scratch copy: each mutant's diff against the original source, in one process.
DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
def diff(name):
    try:
        return get_diff_for_mutant(name, path=find_mutant(name).path)
    except Exception as error:
        return f"(no diff: {error!r})"
print(json.dumps([diff(n) for n in json.load(sys.stdin)]))
"""


def collect(work: Path, module: str, seconds: float, source: str) -> dict:
    from mutmut.stats import status_by_exit_code

    meta = json.loads((work / "mutants" / (module + ".meta")).read_text())
    codes = meta["exit_code_by_key"]
    counts: dict[str, int] = {}
    for code in codes.values():
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
    killed, timeout = counts.get("killed", 0), counts.get("timeout", 0)
    tested = sum(n for s, n in counts.items() if s not in ("not checked", "skipped", "check was interrupted by user"))
    names = sorted(name for name, code in codes.items()
                   if status_by_exit_code[code] not in ("killed", "timeout", "not checked"))
    shown = subprocess.run([sys.executable, "-c", DIFFS], input=json.dumps(names), cwd=work, capture_output=True,
                           text=True, check=True)
    survivors = []
    starts = def_lines(work / module)
    for name, diff in zip(names, json.loads(shown.stdout)):
        code = codes[name]
        start, within = starts.get(name.rpartition(".")[2].rpartition("__mutmut_")[0]), diff_line(diff)
        line = start + within - 1 if start is not None and within is not None else None
        survivors.append({"mutant": name, "status": status_by_exit_code[code], "line": line,
                          "diff": "\n".join(l for l in diff.splitlines() if l.startswith(("-", "+", "@@"))
                                            and not l.startswith(("---", "+++")))})
    return {
        "module": module,
        "date": datetime.date.today().isoformat(),
        "source": source,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD" if source == "worktree" else source],
                                 cwd=ROOT, capture_output=True, text=True).stdout.strip()
                  + (" + working tree" if source == "worktree" else ""),
        "tests": MODULES[module],
        "mutants": len(codes),
        "counts": counts,
        "killed": killed,
        "timeout": timeout,
        "survived": counts.get("survived", 0),
        "score": round(100 * (killed + timeout) / tested, 1) if tested else None,
        "seconds": round(seconds),
        "survivors": survivors,
    }


def run(module: str, children: int, keep: bool, source: str) -> dict:
    work = OUT / "work" / slug(module)
    print(f"== {module}: scratch copy in {work.relative_to(ROOT)}", flush=True)
    scratch_copy(work, source)
    configure(work, module, MODULES[module])
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children)], cwd=work, env=env)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        print(f"   mutmut exited {done.returncode}; results so far are kept in {work}", flush=True)
    result = collect(work, module, seconds, source)
    (OUT / "results").mkdir(parents=True, exist_ok=True)
    (OUT / "results" / f"{slug(module)}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"   {result['mutants']} mutants, {result['killed']} killed, {result['timeout']} timeout, "
          f"{result['survived']} survived ({result['counts']}), score {result['score']} %, {seconds / 60:.1f} min",
          flush=True)
    for s in result["survivors"]:
        print(f"   {s['status']}: {module}:{s['line']}  {s['mutant']}", flush=True)
    if not keep:
        shutil.rmtree(work)
    return result


def summarize() -> None:
    results = [json.loads(p.read_text()) for p in sorted((OUT / "results").glob("*.json"))]
    total = {k: sum(r[k] for r in results) for k in ("mutants", "killed", "timeout", "survived")}
    summary = {"modules": {r["module"]: {k: r[k] for k in ("date", "commit", "mutants", "killed", "timeout",
                                                            "survived", "score", "seconds")} for r in results},
               "total": total}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"{'module':40} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} {'score':>6}  date"]
    for r in results:
        lines.append(f"{r['module']:40} {r['mutants']:7} {r['killed']:7} {r['timeout']:7} {r['survived']:8} "
                     f"{r['score']!s:>6}  {r['date']}")
    (OUT / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of them)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests, and stop")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutant runs (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep mutation/work/<module>/ to inspect with mutmut")
    parser.add_argument("--source", default="HEAD",
                        help="what to mutate and test: a commit (default HEAD, so a score belongs to a commit) "
                             "or 'worktree' (the files as they are now, uncommitted tests included)")
    args = parser.parse_args()
    if args.list:
        for module, tests in MODULES.items():
            print(f"{module}\n    " + " ".join(tests))
        return
    try:
        import mutmut  # noqa: F401
    except ImportError:
        raise SystemExit("mutmut is missing: pip install -e '.[mutation]'")
    modules = [resolve(m) for m in args.modules] or list(MODULES)
    for module in modules:
        run(module, args.max_children, args.keep, args.source)
    summarize()


if __name__ == "__main__":
    main()
