"""Rewrite the output pasted in README.md under every '$ paramcalc ...' line with what paramcalc prints now.

    python tools/update_readme.py

tests/test_readme.py fails when the README and paramcalc disagree; this script is how to bring the
README up to date. An abridged block ('...' on a line of its own) keeps its number of first and last lines.
"""

from __future__ import annotations

import glob
import os
import shlex
import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from paramcalc.cli import main  # noqa: E402


def run(command: str) -> list[str]:
    words = shlex.split(command)[1:]
    arguments = [match for word in words for match in (sorted(glob.glob(word)) if "*" in word else [word])]
    return CliRunner().invoke(main, arguments, env={"COLUMNS": None, "FORCE_COLOR": None}).output.splitlines()


def update(text: str) -> str:
    lines = text.splitlines()
    out, index = [], 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if not line.startswith("$ paramcalc ") or "python " in line:
            continue
        end = lines.index("```", index)
        old = lines[index:end]
        new = run(line[2:])
        if "..." in old:
            cut = old.index("...")
            tail = len(old) - cut - 1
            new = new[:cut] + ["..."] + new[len(new) - tail:]
        out.extend(new)
        index = end
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    os.chdir(ROOT)
    readme = ROOT / "README.md"
    readme.write_text(update(readme.read_text()))
