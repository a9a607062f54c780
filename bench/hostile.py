"""How long each hostile reproducer takes to be refused, and how much memory it needs.

    python bench/hostile.py

Every case runs in one fresh process after the one before, so the memory column is what that case added
to the process's peak (a process's peak only grows). The promise is: exit 2 with one message, within
2 seconds and under 200 MB each (tests/test_hostile.py checks the exit, the message and the memory).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile_cases import run_all  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        results = run_all(Path(directory))
    width = max(map(len, results))
    print(f"{'case':<{width}}  exit  seconds  +peak MB")
    worst = 0.0
    for name, case in results.items():
        worst = max(worst, case["seconds"])
        print(f"{name:<{width}}  {case['exit']:>4}  {case['seconds']:>7.3f}  {case['growth_mb']:>8.1f}")
    failing = [name for name, case in results.items()
               if case["exit"] != 2 or case["seconds"] > 2 or case["growth_mb"] > 200]
    print(f"slowest {worst:.3f} s; " + (f"outside the bounds: {', '.join(failing)}" if failing else "all within bounds"))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
