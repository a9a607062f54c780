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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mutation"

# Tests grouped by what they check independently; fast files first within each module's list.
LAYER_HAND = ["tests/test_layer_kinds.py", "tests/test_explain.py", "tests/test_examples_and_fields.py",
              "tests/test_errors.py"]
LAYER_TORCH = ["tests/test_kinds_torch.py", "tests/test_defaults_against_torch.py", "tests/test_torch.py",
               "tests/test_torch_properties.py"]
ZOO = ["tests/test_more_models.py", "tests/test_zoo.py", "tests/test_zoo_beyond.py"]
BEYOND = ["tests/test_examples_beyond.py", "tests/test_newcomers.py"]
RECEPTIVE = ["tests/test_examples_and_fields.py", "tests/test_receptive_torch.py"]
TRAINING = ["tests/test_training.py", "tests/test_readme_training.py", "tests/test_training_torch.py"]
IMPORT = ["tests/test_import_blocks.py", "tests/test_growing_concats.py", "tests/test_import_functions.py",
          "tests/test_import_onnx_graph.py", "tests/test_import_settings.py", "tests/test_import_onnx_settings.py",
          "tests/test_import_onnx.py", "tests/test_import.py", "tests/test_import_onnx_torch.py",
          "tests/test_verify_against.py"]
LAYERS = LAYER_HAND + BEYOND + LAYER_TORCH + ZOO + ["tests/test_receptive_torch.py"] + TRAINING

MODULES: dict[str, list[str]] = {
    "paramcalc/engine/layers/base.py": LAYERS,
    "paramcalc/engine/layers/fields.py": ["tests/test_fields.py"] + LAYERS,
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
                                     "tests/test_hardware.py", "tests/test_training.py", "tests/test_limits.py"]
                                    + BEYOND + LAYER_TORCH + ZOO + ["tests/test_receptive_torch.py",
                                                                   "tests/test_symbolic.py"],
    "paramcalc/engine/training.py": TRAINING,
    "paramcalc/engine/hardware.py": ["tests/test_hardware.py", "tests/test_readme_figures.py"],
    "paramcalc/engine/symbolic.py": ["tests/test_symbolic_algebra.py", "tests/test_symbolic.py",
                                     "tests/test_examples_beyond.py"],
    "paramcalc/engine/conditions.py": ["tests/test_conditions.py", "tests/test_symbolic_algebra.py", "tests/test_limits.py",
                                       "tests/test_symbolic.py", "tests/test_examples_beyond.py"],
    # the importers: what a model's operations become (kinds, settings, shapes), against the models' own figures
    "paramcalc/importing/layers.py": IMPORT,
    "paramcalc/importing/onnx_ops.py": IMPORT,
    "paramcalc/importing/onnx_graph.py": IMPORT,
    "paramcalc/importing/blocks.py": IMPORT,
    "paramcalc/importing/writer.py": IMPORT,
    "paramcalc/torch/convert.py": IMPORT,
    "paramcalc/torch/importer.py": IMPORT,
    "paramcalc/torch/trace.py": IMPORT,
}

# Everything the tests read besides the package and tests/ (mutmut copies those itself).
ALSO_COPY = ["specs", "docs", "tools", "bench", "README.md", "paramcalc.schema.json"]
UNTESTED = ("not checked", "skipped", "check was interrupted by user")
CAUGHT = ("killed", "timeout")
# Surviving mutants that no test can tell from the original, each with the reason (read by collect()).
EQUIVALENT = ROOT / "tools" / "equivalent_mutants.txt"
SKIP = {".git", ".venv", "mutation", "mutants", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist"}


def resolve(name: str) -> str:
    """`layers/pool.py`, `pool`, `pool.py` or the full path -> the full path of one module in MODULES."""
    hits = [m for m in MODULES if m == name or m.endswith(("/" + name, "/" + name + ".py"))]
    if len(hits) != 1:
        raise SystemExit(f"{name!r}: expected one of {', '.join(MODULES)}" + (f" (matches {hits})" if hits else ""))
    return hits[0]


def slug(module: str) -> str:
    return module.removeprefix("paramcalc/").removeprefix("engine/").removesuffix(".py").replace("/", ".")


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


# Run in the scratch copy's mutants/ with the mutated package first on the path: the mutated functions that run
# while pytest collects the tests and paramcalc's modules are imported (a kind's fields, declared in its class body).
IMPORT_HITS = """
import importlib, json, os, pkgutil, sys
import pytest
import mutmut.mutation.trampoline as trampoline
hits = set()
trampoline.record_trampoline_hit = lambda name, caller=None: hits.add(name)
os.environ["MUTANT_UNDER_TEST"] = "stats"
pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[3:]])
import paramcalc
assert paramcalc.__file__.startswith(sys.argv[2]), paramcalc.__file__
for info in pkgutil.walk_packages(paramcalc.__path__, "paramcalc."):
    if info.name.endswith(".__main__"):  # the command line itself
        continue
    try:
        importlib.import_module(info.name)
    except ImportError:  # an optional package (onnx) that is not installed
        pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(hits), out)
"""


def recheck_at_import(work: Path, module: str, result: dict, checked: dict[str, str]) -> None:
    """Survivors of figure code in functions that ran before mutmut switched a mutant on (at import or
    collection), run again in a fresh pytest process whose environment names the mutant from the start, as
    `mutmut apply` would; `checked` holds the statuses of an earlier check of the same run (--recount)."""
    mutants = work / "mutants"
    tests = [t for t in result["tests"] if (work / t).exists()]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(mutants))
    env.pop("MUTANT_UNDER_TEST", None)
    hits_file = work / "import_hits.json"
    subprocess.run([sys.executable, "-c", IMPORT_HITS, str(hits_file), str(mutants), *tests], cwd=mutants, env=env,
                   capture_output=True, check=True)
    hits = set(json.loads(hits_file.read_text()))
    candidates = [m for m in result["survivors"] if m["mutant"].rpartition("__mutmut_")[0] in hits
                  and m["kind"] == "figure"]
    for survivor in [m for m in candidates if m["mutant"] in checked]:
        survivor["at_import"], survivor["status"] = True, checked[survivor["mutant"]]
    candidates = [m for m in candidates if m["mutant"] not in checked]
    if not candidates:
        tally(result)
        return
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", *tests]
    start = time.monotonic()
    if subprocess.run(command, cwd=mutants, env=env, capture_output=True, check=False).returncode != 0:
        print("   the tests fail unmutated in a fresh process: mutants run at import not checked again", flush=True)
        return
    limit = 3 * (time.monotonic() - start) + 60
    print(f"   {len(candidates)} survivors run at import: each checked again in a fresh process "
          f"({time.monotonic() - start:.0f} s unmutated)", flush=True)
    for survivor in candidates:
        try:
            code = subprocess.run(command, cwd=mutants, env=dict(env, MUTANT_UNDER_TEST=survivor["mutant"]),
                                  capture_output=True, timeout=limit, check=False).returncode
            status = {0: "survived", 5: survivor["status"]}.get(code, "killed")
        except subprocess.TimeoutExpired:
            status = "timeout"
        survivor["at_import"], survivor["status"] = True, status
    tally(result)


# Keyword arguments whose value is text for people: a field's documentation, a message's hint.
TEXT_KEYWORDS = {"doc", "hint", "summary", "help"}
# Calls whose text arguments (string literals) only describe something in a message: need_rank(shape, 3, "a map").
TEXT_CALLS = {"need_rank"}


# methods that describe a field for people and editors (docs/layer-kinds.md, `paramcalc schema`), not a figure:
# the schema is checked against the loader by tests/test_schema.py, the descriptions by the docs' tests
DESCRIBING = {"describe", "json_schema"}


def text_only(mutants_source: Path) -> set[str]:
    """The mutants (by function name) that change only text for people: inside a `raise` statement (a message,
    its field, its hint), in a function that only builds an error or describes the spec format (DESCRIBING), or
    the value of a `doc=`/`hint=` argument, or such an argument left out. mutmut writes each mutant as a function
    beside the original (`..._mutmut_orig`): the two are compared node by node."""
    functions = {node.name: node for node in ast.walk(ast.parse(mutants_source.read_text()))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    text = set()
    for name, function in functions.items():
        stem, _, number = name.rpartition("__mutmut_")
        original = functions.get(stem + "__mutmut_orig")
        if number.isdigit() and original is not None:
            places = set(_differences(original.body, function.body, None))
            describing = stem.rpartition("ǁ")[2] in DESCRIBING
            if _makes_an_error(original) or describing or (places and places <= {"raise", "text"}):
                text.add(name)
    return text


def _makes_an_error(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that only builds an error for its caller to raise (every return is a call to ...Error)."""
    returns = [node for node in ast.walk(function) if isinstance(node, ast.Return)]
    return bool(returns) and all(isinstance(node.value, ast.Call) and ast.unparse(node.value.func).endswith("Error")
                                 for node in returns)


def _differences(a: Any, b: Any, place: str | None) -> Iterator[str | None]:
    """Where two trees differ: 'raise' or 'text' when inside a raise statement or a text argument, else None."""
    if type(a) is not type(b):
        yield place
    elif isinstance(a, list):
        if len(a) == len(b):
            for x, y in zip(a, b):
                yield from _differences(x, y, place)
        elif all(isinstance(k, ast.keyword) for k in a + b):  # arguments left out: text ones only?
            left_out = {k.arg for k in a} ^ {k.arg for k in b}
            yield "text" if place == "text" or left_out <= TEXT_KEYWORDS else place
            common = {k.arg: k for k in b}
            for k in a:
                if k.arg in common:
                    yield from _differences(k, common[k.arg], place)
        else:
            yield place
    elif isinstance(a, ast.AST):
        inner = "raise" if isinstance(a, ast.Raise) else "text" if (
            isinstance(a, ast.keyword) and a.arg in TEXT_KEYWORDS) else place
        if place is None and isinstance(a, ast.Call) and isinstance(b, ast.Call) and len(a.args) == len(b.args) \
                and ast.unparse(a.func).rpartition(".")[2] in TEXT_CALLS:  # its text arguments are for people
            yield from _differences(a.func, b.func, None)
            for x, y in zip(a.args, b.args):
                yield from _differences(x, y, "text" if isinstance(x, (ast.Constant, ast.JoinedStr))
                                        and not isinstance(getattr(x, "value", ""), (int, float)) else None)
            yield from _differences(a.keywords, b.keywords, None)
            return
        for field in a._fields:
            yield from _differences(getattr(a, field, None), getattr(b, field, None), inner if place is None else place)
    elif a != b:
        yield place


def changed_lines(diff: str) -> str:
    """A mutant as `first removed line => first added line`, each stripped: how equivalents are written."""
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return f"{removed[0] if removed else ''} => {added[0] if added else ''}"


def equivalents() -> dict[tuple[str, str, str], str]:
    """EQUIVALENT's entries: (module, function, changed lines) -> why no test can tell the mutant apart."""
    entries = {}
    for number, line in enumerate(EQUIVALENT.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        # the changed lines may hold ' | ' themselves (a type such as `str | None`): the reason never does
        module, function, rest = (line.split(" | ", 2) + ["", ""])[:3]
        changed, _, why = rest.rpartition(" | ")
        if not (module and function and changed and why):
            raise SystemExit(f"{EQUIVALENT.name}:{number}: expected 'module | function | removed => added | why'")
        module, function, changed, why = module.strip(), function.strip(), changed.strip(), why.strip()
        entries[module, function, changed] = why
    return entries


def mark_equivalent(mutant: dict, module: str, known: dict[tuple[str, str, str], str]) -> None:
    """Give the mutant the reason EQUIVALENT holds for it, or take away one it no longer holds."""
    function = mutant["mutant"].rpartition(".")[2].rpartition("__mutmut_")[0]
    why = known.get((slug(module), function, mutant["changed"]))
    mutant.pop("equivalent", None)
    if why is not None:
        mutant["equivalent"] = why


def collect(work: Path, module: str, seconds: float, source: str, commit: str, tests: list[str]) -> dict:
    from mutmut.stats import status_by_exit_code

    meta = json.loads((work / "mutants" / (module + ".meta")).read_text())
    codes = meta["exit_code_by_key"]
    names = sorted(codes)
    shown = subprocess.run([sys.executable, "-c", DIFFS], input=json.dumps(names), cwd=work, capture_output=True,
                           text=True, check=True)
    starts, text, known = def_lines(work / module), text_only(work / "mutants" / module), equivalents()
    mutants = []
    for name, diff in zip(names, json.loads(shown.stdout)):
        function = name.rpartition(".")[2].rpartition("__mutmut_")[0]
        start, within = starts.get(function), diff_line(diff)
        line = start + within - 1 if start is not None and within is not None else None
        mutant = {"mutant": name, "status": status_by_exit_code[codes[name]], "line": line,
                  "kind": "text" if name.rpartition(".")[2] in text else "figure", "changed": changed_lines(diff),
                  "diff": "\n".join(l for l in diff.splitlines() if l.startswith(("-", "+", "@@"))
                                    and not l.startswith(("---", "+++")))}
        mark_equivalent(mutant, module, known)
        mutants.append(mutant)
    return tally({
        "module": module,
        "date": datetime.date.today().isoformat(),
        "source": source,
        "commit": commit,
        "tests": tests,
        "some_tests": tests != MODULES[module],
        "seconds": round(seconds),
        "all": mutants,
    })


def tally(result: dict) -> dict:
    """Counts by status and two scores, each killed (or timed out) over tested: of every mutant, as mutmut counts,
    and of figure code: mutants outside `raise` statements, less those EQUIVALENT explains."""
    mutants = result["all"]
    counts: dict[str, int] = {}
    for mutant in mutants:
        counts[mutant["status"]] = counts.get(mutant["status"], 0) + 1
    result["mutants"], result["counts"] = len(mutants), counts
    result["killed"], result["timeout"], result["survived"] = (counts.get(k, 0) for k in ("killed", "timeout", "survived"))

    def score(chosen: list[dict]) -> float | None:
        tested = [m for m in chosen if m["status"] not in UNTESTED]
        caught = sum(1 for m in tested if m["status"] in CAUGHT)
        return round(100 * caught / len(tested), 1) if tested else None

    figures = [m for m in mutants if m["kind"] == "figure"]
    result["score"] = score(mutants)
    result["figure_score"] = score([m for m in figures if "equivalent" not in m])
    result["equivalent"] = sum(1 for m in figures if "equivalent" in m and m["status"] not in CAUGHT)
    result["survivors"] = [m for m in mutants if m["status"] not in CAUGHT + UNTESTED]
    return result


def run(module: str, children: int, keep: bool, source: str, recount: bool, tests: list[str] | None = None) -> dict:
    work = OUT / "work" / slug(module)
    tests = tests or MODULES[module]
    start = time.monotonic()
    if recount and not (work / "mutants" / (module + ".meta")).exists():  # no kept run (or one still running)
        return recount_stored(module)
    if recount:
        print(f"== {module}: counting the kept run in {work.relative_to(ROOT)} again", flush=True)
        previous = json.loads((OUT / "results" / f"{slug(module)}.json").read_text())
        source, seconds, commit, tests = previous["source"], previous["seconds"], previous["commit"], previous["tests"]
        checked = {m["mutant"]: m["status"] for m in previous.get("all", []) if m.get("at_import")}
    else:
        print(f"== {module}: scratch copy in {work.relative_to(ROOT)}", flush=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD" if source == "worktree" else source],
                                cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip() \
            + (" + working tree" if source == "worktree" else "")  # now: commits made during the run are not it
        scratch_copy(work, source)
        configure(work, module, tests)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children)], cwd=work,
                              env=env, check=False)
        if done.returncode != 0:
            print(f"   mutmut exited {done.returncode}; results so far are kept in {work}", flush=True)
        seconds = time.monotonic() - start
    result = collect(work, module, seconds, source, commit, tests)
    recheck_at_import(work, module, result, checked if recount else {})
    result["seconds"] = round(seconds + time.monotonic() - start) if recount else round(time.monotonic() - start)
    (OUT / "results").mkdir(parents=True, exist_ok=True)
    (OUT / "results" / f"{slug(module)}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"   {result['mutants']} mutants {result['counts']}: score {result['score']} %, figure code "
          f"{result['figure_score']} % ({result['equivalent']} equivalent), {result['seconds'] / 60:.1f} min", flush=True)
    for m in result["survivors"]:
        if m["kind"] == "figure" and "equivalent" not in m:
            print(f"   {m['status']}: {module}:{m['line']}  {m['mutant']}  {m['changed']}", flush=True)
    if not keep and not recount:
        shutil.rmtree(work)
    return result


def recount_stored(module: str) -> dict:
    """The last run's results counted again with EQUIVALENT as it is now, when no run was kept: each mutant's
    status stays as the run found it."""
    path = OUT / "results" / f"{slug(module)}.json"
    if not path.exists():
        raise SystemExit(f"{module}: no run to count again")
    print(f"== {module}: counting {path.relative_to(ROOT)} again", flush=True)
    result, known = json.loads(path.read_text()), equivalents()
    for mutant in result["all"]:
        mark_equivalent(mutant, module, known)
    tally(result)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"   figure code {result['figure_score']} % ({result['equivalent']} equivalent)", flush=True)
    return result


COLUMNS = ("mutants", "killed", "timeout", "survived", "score", "equivalent", "figure_score")


def summarize() -> None:
    results = [json.loads(p.read_text()) for p in sorted((OUT / "results").glob("*.json"))]
    results = [r for r in results if "figure_score" in r]  # written by an older version of this script
    summary = {"modules": {r["module"]: {k: r[k] for k in ("date", "commit", *COLUMNS, "seconds")} for r in results},
               "total": {k: sum(r[k] for r in results) for k in ("mutants", "killed", "timeout", "survived",
                                                                   "equivalent")}}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"{'module':40} " + " ".join(f"{c.replace('_', ' '):>12}" for c in COLUMNS) + "  date, commit"]
    for r in results:
        lines.append(f"{r['module']:40} " + " ".join(f"{r[c]!s:>12}" for c in COLUMNS) + f"  {r['date']}, {r['commit']}")
    (OUT / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def markdown_table() -> str:
    """The last run of each module as docs/testing.md shows it."""
    rows = ["| module | commit | mutants | killed or timed out | equivalent | figure score | score |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for path in sorted((OUT / "results").glob("*.json")):
        r = json.loads(path.read_text())
        if "figure_score" in r:
            files = len(r["tests"])
            commit = f"{r['commit']} ({files} test file{'s' * (files != 1)})" if r.get("some_tests") else r["commit"]
            rows.append(f"| `{r['module'].removeprefix('paramcalc/')}` | {commit} | {r['mutants']} | "
                        f"{r['killed'] + r['timeout']} | {r['equivalent']} | {r['figure_score']} % | {r['score']} % |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of them)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests, and stop")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutant runs (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep mutation/work/<module>/ to inspect with mutmut")
    parser.add_argument("--table", action="store_true", help="print the last runs as a Markdown table, and stop")
    parser.add_argument("--recount", action="store_true",
                        help="count the last run again after editing tools/equivalent_mutants.txt, without mutmut "
                             "(with a run kept by --keep, its survivors run at import are checked again too)")
    parser.add_argument("--tests", nargs="+", metavar="FILE",
                        help="run against these test files instead of the module's list: a quicker run, whose score "
                             "can only be lower (the table names how many files it ran)")
    parser.add_argument("--source", default="HEAD",
                        help="what to mutate and test: a commit (default HEAD, so a score belongs to a commit) "
                             "or 'worktree' (the files as they are now, uncommitted tests included)")
    args = parser.parse_args()
    if args.table:
        print(markdown_table())
        return
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
        run(module, args.max_children, args.keep, args.source, args.recount, args.tests)
    summarize()


if __name__ == "__main__":
    main()
