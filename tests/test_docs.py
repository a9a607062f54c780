"""The README and docs/ document what the code does: the set-up commands first, every command's output as
paramcalc prints it, every Python example as it runs, every whole spec they show analysable, and the page
of layer kinds generated from the registry."""

from __future__ import annotations

import doctest
import re
import sys
import textwrap
from pathlib import Path

import pytest

import paramcalc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.update_docs import commands, run  # noqa: E402

from .conftest import require_torch  # noqa: E402

README = (ROOT / "README.md").read_text()
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PASTED = [(document, command) for document in DOCUMENTS for command in commands(document.read_text())]


def test_setup_commands_on_the_first_screen():
    first_screen = "\n".join(README.splitlines()[:24])
    assert "pip install . && paramcalc show specs/vgg16.yaml" in first_screen
    assert "pip install -e '.[test]' && python -m pytest" in first_screen


def test_the_readme_fits_on_a_few_screens():
    assert len(README.splitlines()) <= 250


def _pasted(text: str, command: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"$ {command}") + 1
    return lines[start:lines.index("```", start)]


@pytest.mark.parametrize("document, command", PASTED, ids=[f"{d.name}: {c}" for d, c in PASTED])
def test_pasted_output_is_real(document, command, monkeypatch):
    if command.split()[1] in ("verify", "export"):
        require_torch()
    pasted = _pasted(document.read_text(), command)
    monkeypatch.chdir(ROOT)
    actual = run(command)
    if "..." in pasted:  # abridged: the first and last lines as printed
        cut = pasted.index("...")
        assert pasted[:cut] == actual[:cut]
        assert pasted[cut + 1:] == actual[len(actual) - (len(pasted) - cut - 1):]
    else:
        assert pasted == actual


def test_the_page_of_layer_kinds_is_generated_from_the_registry():
    from paramcalc.render.kinds import layer_kinds_markdown

    assert (ROOT / "docs" / "layer-kinds.md").read_text() == layer_kinds_markdown(), \
        "run: python tools/update_docs.py"


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if ">>> " in d.read_text()], ids=lambda d: d.name)
def test_python_examples_run_as_shown(document, monkeypatch):
    if "paramcalc.torch" in document.read_text():
        require_torch()
    monkeypatch.chdir(ROOT)
    failures, _ = doctest.testfile(str(document), module_relative=False, optionflags=doctest.ELLIPSIS,
                                   globs={"paramcalc": paramcalc})
    assert failures == 0


WHOLE_SPECS = [(document, block) for document in DOCUMENTS
               for block in re.findall(r"```yaml\n(.*?)```", document.read_text(), flags=re.S)
               if re.search(r"^name:", block, flags=re.M) and re.search(r"^layers:", block, flags=re.M)]


@pytest.mark.parametrize("document, block", WHOLE_SPECS, ids=[f"{d.name}:{i}" for i, (d, _) in enumerate(WHOLE_SPECS)])
def test_every_whole_spec_shown_is_analysable(document, block):
    paramcalc.analyze(textwrap.dedent(block))
