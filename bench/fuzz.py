"""A long fuzz run: mutated zoo specs through `paramcalc show`, every case must exit 0 or 2 with one
located message and no traceback.

    python bench/fuzz.py                 # 10,000 cases
    python bench/fuzz.py --cases 50000 --seed 7 --json bench/results/fuzz.json
    python bench/fuzz.py --long          # the specs padded past 16,000 characters with comment lines

Prints how many cases were tried and how many failed, by mutation; the failing cases are written out so
they can be replayed.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzzing import cases, check_case  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures and the failing cases here")
    parser.add_argument("--long", action="store_true", help="pad each spec past 16,000 characters with comment lines")
    options = parser.parse_args()
    started = time.perf_counter()
    tried, failed = collections.Counter(), []
    exports = importlib.util.find_spec("torch") is not None  # hostile names go through `export`, which needs torch
    with tempfile.TemporaryDirectory() as directory:
        for index, case in enumerate(cases(options.cases, options.seed, options.long, exports)):
            arguments = () if index % 10 == 0 else ("--format", "json")
            problem = check_case(case, Path(directory), arguments)
            kind = case.mutation.split(" + ")[0].split(" ")[0]
            tried[kind] += 1
            if problem:
                failed.append({"spec": case.seed_spec, "mutation": case.mutation, "problem": problem,
                               "text": case.text})
            if (index + 1) % 1000 == 0:
                print(f"  {index + 1:,} cases, {len(failed)} failed, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr)
    seconds = time.perf_counter() - started
    print(f"fuzz run{' (long specs)' if options.long else ''}: seed {options.seed}, {options.cases:,} cases in "
          f"{seconds:.0f} s "
          f"({options.cases / seconds:.0f} per second): {len(failed)} failed")
    for kind, count in sorted(tried.items()):
        print(f"  {kind:<15} {count:>7,} tried")
    for failure in failed[:10]:
        print(f"FAILED {failure['spec']} ({failure['mutation']}): {failure['problem'][:200]}")
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps({"seed": options.seed, "cases": options.cases, "seconds": seconds,
                                            "failed": failed, "tried": tried}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
