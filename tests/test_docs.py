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


def fenced_blocks(text: str) -> list[str]:
    """The contents of a Markdown text's fenced code blocks, in order."""
    blocks, inside = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if inside is None:
                inside = []
            else:
                blocks.append("\n".join(inside))
                inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


def test_the_junit_example_is_what_check_prints_but_for_the_times(monkeypatch):
    text = (ROOT / "docs" / "ci.md").read_text()
    shown = re.search(r"```xml\n(<\?xml.*?)```", text, flags=re.S).group(1).splitlines()
    monkeypatch.chdir(ROOT)
    actual = run("paramcalc check specs/vgg16.yaml --max-params 100M --format junit")

    def timeless(lines: list[str]) -> list[str]:
        return [re.sub(r'time="[0-9.]+"', 'time="…"', line) for line in lines]

    assert timeless(shown) == timeless(actual)


def test_the_verify_examples_of_an_exported_and_an_edited_module(tmp_path, monkeypatch):
    require_torch()
    blocks = fenced_blocks((ROOT / "docs" / "pytorch.md").read_text())
    exported = next(block for block in blocks if block.startswith("ok    resnet18.py:")).splitlines()
    edited = next(block for block in blocks if block.startswith("FAIL  resnet18.py:")).splitlines()
    monkeypatch.chdir(tmp_path)
    assert run(f"paramcalc export {ROOT / 'specs/resnet18.yaml'} -o resnet18.py") == ["wrote resnet18.py"]
    assert run("paramcalc verify resnet18.py") == exported
    module = tmp_path / "resnet18.py"
    source = module.read_text()
    conv1 = "self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)"
    assert conv1 in source
    module.write_text(source.replace(conv1, conv1.replace("bias=False", "bias=True")))
    assert run("paramcalc verify resnet18.py") == edited


def test_the_baseline_example_against_a_revision(tmp_path, monkeypatch):
    import subprocess

    shown = next(block for block in fenced_blocks((ROOT / "docs" / "ci.md").read_text())
                 if block.startswith("OVER resnet50 (specs/resnet50.yaml)")).splitlines()
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "resnet50.yaml"
    spec.write_text((ROOT / "specs" / "resnet50.yaml").read_text())
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)}
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "main"], ["branch", "origin/main"]):
        subprocess.run(["git", *command], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert "classes: 1000" in spec.read_text()
    spec.write_text(spec.read_text().replace("classes: 1000", "classes: 1100"))  # a wider classifier
    monkeypatch.chdir(tmp_path)
    assert run("paramcalc check specs/resnet50.yaml --baseline origin/main --max-increase 0.5%") == shown


ZOO_ROW = re.compile(r"^\| \[`(\w+)`\]\(\.\./(specs/[\w/]+\.yaml)\) \| (.*) \|$", re.M)


def test_the_zoo_tables_list_every_spec_with_its_figures():
    """docs/zoo.md's tables hold every bundled spec, each row as paramcalc prints its totals (the figures
    themselves are checked against torchvision by test_zoo and test_zoo_beyond)."""
    from paramcalc.engine.dims import format_shape
    from paramcalc.render.units import field_size

    rows = ZOO_ROW.findall((ROOT / "docs" / "zoo.md").read_text())
    assert sorted(path for _, path, _ in rows) == sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").rglob("*.yaml"))
    for name, path, cells in rows:
        result = paramcalc.analyze(ROOT / path)
        totals = result.totals
        if "/examples/" in path:
            expected = [format_shape(result.input_shape), f"{totals.params:,}", f"{totals.macs:,}",
                        format_shape(totals.output_shape), field_size(totals.rf)]
        else:
            expected = [f"{totals.params:,}", f"{totals.buffers:,}", f"{totals.macs:,}", f"{totals.flops:,}",
                        str(totals.layers)]
        assert cells.split(" | ") == expected, name
