"""Bring README.md and docs/ up to date with what paramcalc prints now.

    python tools/update_docs.py

Rewrites the output under every '$ paramcalc ...' line in README.md and docs/*.md (an abridged block, with
'...' on a line of its own, keeps its number of first and last lines), and writes docs/layer-kinds.md from
the registry of layer kinds. tests/test_docs.py fails when the documents and paramcalc disagree.
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
from paramcalc.render.kinds import layer_kinds_markdown  # noqa: E402

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def run(command: str) -> list[str]:
    """What `paramcalc ...` prints (standard output and error), at no terminal width, from the repository."""
    words = shlex.split(command)[1:]
    arguments = [match for word in words for match in (sorted(glob.glob(word)) if "*" in word else [word])]
    return CliRunner().invoke(main, arguments, env={"COLUMNS": None, "FORCE_COLOR": None},
                              prog_name="paramcalc").output.splitlines()


def commands(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("$ paramcalc ")]


def update(text: str) -> str:
    lines = text.splitlines()
    out, index = [], 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if not line.startswith("$ paramcalc "):
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
    (ROOT / "docs" / "layer-kinds.md").write_text(layer_kinds_markdown())
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        document.write_text(update(document.read_text()))
