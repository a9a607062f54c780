"""The README and docs/ document what the code does: the set-up commands first, every command's output as
paramcalc prints it, every Python example as it runs, every whole spec they show analysable, every other
block they show run by a test of its own, and the page of layer kinds generated from the registry.

Every fenced block of README.md and docs/*.md is run by some test here: test_every_block_is_run_by_a_test
fails on one it does not know. A block that cannot be run (a command that installs packages, the timings of
one machine) says so on the line before its fence, `<!-- not run: why -->`, which Markdown does not show."""

from __future__ import annotations

import ast
import configparser
import doctest
import json
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.update_docs import commands, run  # noqa: E402

from .conftest import require_torch  # noqa: E402

README = (ROOT / "README.md").read_text()
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PASTED = [(document, command) for document in DOCUMENTS for command in commands(document.read_text())]
NOT_RUN = re.compile(r"<!-- not run: (?P<why>.*\S.*?) -->")


@dataclass(frozen=True)
class Block:
    document: Path
    line: int              # the opening fence's line, from 1
    info: str              # what follows the opening ```: yaml, python, sh, or nothing
    text: str              # the lines between the fences
    not_run: str | None    # why not, when `<!-- not run: why -->` is the line before the opening fence

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    """The fenced code blocks of a Markdown document, in order."""
    found, lines, start = [], document.read_text().splitlines(), None
    for number, line in enumerate(lines, start=1):
        if not line.startswith("```"):
            continue
        if start is None:
            start = number
            continue
        marked = NOT_RUN.fullmatch(lines[start - 2].strip()) if start > 1 else None
        found.append(Block(document, start, lines[start - 1][3:].strip(), "\n".join(lines[start:number - 1]),
                           marked["why"] if marked else None))
        start = None
    assert start is None, f"{document.name}:{start}: a block that is never closed"
    return found


BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]
RUNS: dict[tuple[str, str], str] = {}  # (document, how its block starts) -> the test of this file that runs it


def runs(document: str, start: str):
    """Marks a test as the one that runs the block of `document` (README.md, docs/ci.md) starting with `start`."""
    def register(test):
        RUNS[(document, start)] = test.__name__
        return test
    return register


def shown(document: str, start: str) -> str:
    """The one block of `document` that starts with `start`."""
    found = [block.text for block in blocks(ROOT / document) if block.text.startswith(start)]
    assert len(found) == 1, f"{document}: {len(found)} blocks start with {start!r}"
    return found[0]


def prose(document: str) -> str:
    """A document's text with its line breaks and indentation as single spaces, to find a sentence in it."""
    return " ".join((ROOT / document).read_text().split())


def is_doctest(block: Block) -> bool:
    return re.search(r"^>>> ", block.text, flags=re.M) is not None


def is_whole_spec(block: Block) -> bool:
    return block.info == "yaml" and re.search(r"^name:", block.text, flags=re.M) is not None \
        and re.search(r"^layers:", block.text, flags=re.M) is not None


def run_by(block: Block) -> str | None:
    """The test that runs a block, or None."""
    document = str(block.document.relative_to(ROOT))
    for (where, start), test in RUNS.items():
        if where == document and block.text.startswith(start):
            return test
    if block.text.startswith("$ paramcalc "):
        return test_pasted_output_is_real.__name__
    if is_doctest(block):
        return test_python_examples_run_as_shown.__name__
    if is_whole_spec(block):
        return test_every_whole_spec_shown_is_analysable.__name__
    return None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_block_is_run_by_a_test(document):
    unknown = [f"{block}: ```{block.info}" for block in blocks(document)
               if block.not_run is None and run_by(block) is None]
    assert not unknown, ("no test runs these blocks: teach tests/test_docs.py to run them, or, for one that cannot "
                         "be run, write `<!-- not run: why -->` on the line before its fence")
    runnable = [f"{block} (run by {run_by(block)})" for block in blocks(document)
                if block.not_run is not None and run_by(block) is not None]
    assert not runnable, "marked as not run, but a test runs them: remove the mark"
    pasted = commands(document.read_text())
    assert len(pasted) == len(set(pasted)), "the same command twice: only the first one's output is compared"


def test_each_block_a_test_names_is_there_once():
    for (document, start), test in RUNS.items():
        assert test in globals(), test
        assert len([b for b in blocks(ROOT / document) if b.text.startswith(start)]) == 1, (document, start)


def test_the_marks_of_blocks_not_run_are_seen():
    """The mark is recognised where it is written, and nowhere else: a mark that is not right before a fence
    (a typo, a blank line between) would leave its block unmarked, and a mark without a reason is none."""
    marked = [block for block in BLOCKS if block.not_run is not None]
    assert sorted(str(block) for block in marked) == sorted(
        f"{document.relative_to(ROOT)}:{number + 2}" for document in DOCUMENTS
        for number, line in enumerate(document.read_text().splitlines()) if "<!-- not run" in line)
    assert {str(block.document.relative_to(ROOT)) for block in marked} >= {"README.md", "docs/pytorch.md"}
    assert NOT_RUN.fullmatch("<!-- not run: -->") is None and NOT_RUN.fullmatch("<!-- not run:  -->") is None


def _extras() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return set(config["options.extras_require"])


def test_install_commands_name_real_extras():
    """Every `pip install` a block shows installs paramcalc from its clone (`.`, it is not on PyPI) or a git
    URL, with extras that setup.cfg defines, or another package (torch)."""
    named = set()
    for block in BLOCKS:
        for match in re.finditer(r"pip install ([^\n#&|;]*)", block.text):
            for word in shlex.split(match[1]):
                target = re.fullmatch(r"(?P<what>[^\[]+)(?:\[(?P<extras>[\w,-]+)\])?", word)
                assert target, f"{block}: {word}"
                if target["extras"]:
                    assert target["what"] == "." or target["what"].startswith("git+"), f"{block}: {word}"
                    extras = set(target["extras"].split(","))
                    assert extras <= _extras(), f"{block}: {word} names extras setup.cfg does not define"
                    named |= extras
                assert word != "paramcalc", f"{block}: paramcalc is installed from a clone, not from an index"
    assert named >= {"test", "torch", "mutation"}


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


def doctest_text(document: Path) -> str:
    """The document with every line outside its blocks of Python examples blank: an example's expected output
    ends at its block's closing fence, and a failure gives the line of the document."""
    lines = [""] * len(document.read_text().splitlines())
    for block in blocks(document):
        if is_doctest(block):
            body = block.text.splitlines()
            lines[block.line:block.line + len(body)] = body
    return "\n".join(lines) + "\n"


DOCTESTED = [document for document in DOCUMENTS if any(is_doctest(block) for block in blocks(document))]


@pytest.mark.parametrize("document", DOCTESTED, ids=lambda d: d.name)
def test_python_examples_run_as_shown(document, monkeypatch):
    text = doctest_text(document)
    if re.search(r"^(>>>|\.\.\.) .*paramcalc\.torch", text, flags=re.M):
        require_torch()
    monkeypatch.chdir(ROOT)
    test = doctest.DocTestParser().get_doctest(text, {"paramcalc": paramcalc}, document.name, str(document), 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0


def test_the_readme_s_python_example_is_run():
    assert ROOT / "README.md" in DOCTESTED
    examples = doctest.DocTestParser().get_examples(doctest_text(ROOT / "README.md"))
    assert [example.want for example in examples] == ["", "", "(25557032, 61021345792)\n", "(256, 19, 19)\n"]


WHOLE_SPECS = [block for block in BLOCKS if is_whole_spec(block)]


@pytest.mark.parametrize("block", WHOLE_SPECS, ids=str)
def test_every_whole_spec_shown_is_analysable(block):
    paramcalc.analyze(textwrap.dedent(block.text) + "\n")


# --- docs/ci.md -------------------------------------------------------------------------------------------
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}


def git_repository(folder: Path, files: dict[str, str], branch: str = "origin/main") -> None:
    """A repository in `folder` holding `files`, committed, with a branch `branch` at that commit."""
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "main"], ["branch", branch]):
        subprocess.run(["git", *command], cwd=folder, env={**GIT_ENV, "HOME": str(folder)}, check=True,
                       capture_output=True)


def without_budget(spec: str) -> str:
    """A bundled spec without its budget section (the last thing in each), so that a baseline alone limits it."""
    return spec[:spec.index("\nbudget:\n") + 1]


def invoke(arguments: list[str]):
    """paramcalc with `arguments`, a word with * matching files as a shell would."""
    words = [match for word in arguments for match in (sorted(map(str, Path().glob(word))) if "*" in word else [word])]
    return CliRunner().invoke(main, words, env={"COLUMNS": None, "FORCE_COLOR": None}, prog_name="paramcalc")


@runs("docs/ci.md", "<?xml")
def test_the_junit_example_is_what_check_prints_but_for_the_times(monkeypatch):
    text = shown("docs/ci.md", "<?xml").splitlines()
    monkeypatch.chdir(ROOT)
    actual = run("paramcalc check specs/vgg16.yaml --max-params 100M --format junit")

    def timeless(lines: list[str]) -> list[str]:
        return [re.sub(r'time="[0-9.]+"', 'time="…"', line) for line in lines]

    assert timeless(text) == timeless(actual)


@runs("docs/ci.md", "OVER resnet50 (specs/resnet50.yaml)")
def test_the_baseline_example_against_a_revision(tmp_path, monkeypatch):
    text = shown("docs/ci.md", "OVER resnet50 (specs/resnet50.yaml)").splitlines()
    git_repository(tmp_path, {"specs/resnet50.yaml": (ROOT / "specs" / "resnet50.yaml").read_text()})
    spec = tmp_path / "specs" / "resnet50.yaml"
    assert "classes: 1000" in spec.read_text()
    spec.write_text(spec.read_text().replace("classes: 1000", "classes: 1100"))  # a wider classifier
    monkeypatch.chdir(tmp_path)
    assert run("paramcalc check specs/resnet50.yaml --baseline origin/main --max-increase 0.5%") == text


# A spec of one convolution: small, within every budget the documents show; big, over every one of them
# (params 1024·1024·5·5 + 1024 = 26,215,424; MACs 1.3 T; every layer's output 205.5 MB).
SMALL = ("name: budget_example\ninput: [3, 224, 224]\nlayers:\n"
         "  - {name: conv, conv2d: {out: 3, kernel: 3, padding: 1}}\n")
BIG = SMALL.replace("[3, 224, 224]", "[1024, 224, 224]").replace("out: 3, kernel: 3, padding: 1",
                                                                 "out: 1024, kernel: 5, padding: 2")


@runs("docs/ci.md", "budget:\n")
@runs("docs/spec-format.md", "budget:\n")
@pytest.mark.parametrize("document", ["docs/ci.md", "docs/spec-format.md"])
def test_a_budget_section_shown_is_accepted_and_enforced(document, tmp_path, monkeypatch):
    """The section, at the end of a spec, limits each of its figures: `check` cites each limit's line, and
    exits 0 within them and 1 over them."""
    section = shown(document, "budget:\n") + "\n"
    figures = list(yaml.safe_load(section)["budget"])
    assert len(figures) >= 2
    monkeypatch.chdir(tmp_path)
    lines = {figure: SMALL.count("\n") + 1 + index + 1 for index, figure in enumerate(figures)}
    Path("small.yaml").write_text(SMALL + section)
    Path("big.yaml").write_text(BIG + section)
    within = invoke(["check", "small.yaml"])
    assert within.exit_code == 0, within.output
    assert [int(line.rsplit("small.yaml:", 1)[1].rstrip(")")) for line in within.output.splitlines()
            if line.lstrip().startswith("✓")] == list(lines.values()), within.output
    over = invoke(["check", "big.yaml"])
    assert over.exit_code == 1, over.output
    assert [int(line.rsplit("big.yaml:", 1)[1]) for line in over.output.splitlines()
            if line.lstrip().startswith("✗")] == list(lines.values()), over.output


def test_the_units_the_budget_example_names_are_accepted(tmp_path, monkeypatch):
    """docs/ci.md's budget names the ways to write a count (26000000, 26M, 2.6e7; suffixes k, M, G, T) and a
    size (B, kB, MB, ...): each is read, and the three counts are one limit."""
    section = shown("docs/ci.md", "budget:\n")
    counts = re.search(r"# counts: (.*?); suffixes (.*)", section)
    sizes = re.search(r"# bytes: (.*)", section)
    assert counts and sizes
    monkeypatch.chdir(tmp_path)

    def check(budget: str) -> list[str]:
        Path("spec.yaml").write_text(SMALL + "budget:\n" + budget)
        result = invoke(["check", "spec.yaml"])
        assert result.exit_code == 0, result.output
        return [line for line in result.output.splitlines() if "✓" in line]

    spellings = [check(f"  params: {count}\n") for count in counts[1].split(", ")]
    assert len(spellings) == 3 and spellings[0] == spellings[1] == spellings[2]
    assert "within 26,000,000" in spellings[0][0]
    suffixes = counts[2].split(", ")
    assert suffixes == ["k", "M", "G", "T"]
    for power, suffix in enumerate(suffixes, start=1):
        assert f"within {1000 ** power:,} " in check(f"  params: 1{suffix}\n")[0]
    units = sizes[1].split(", ")
    assert units == ["B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"]
    for unit in units:  # a million of each: more than the 602,112 B of the spec's output
        size = 10 ** 6 * (1000 ** units.index(unit) if "i" not in unit else 1024 ** (units.index(unit) - 4))
        assert f"within {size:,} B" in check(f"  activation_memory: 1000000{unit}\n")[0]


@runs("docs/ci.md", "name: model budgets")
def test_the_github_workflow_shown_runs_real_commands(tmp_path, monkeypatch):
    """The workflow's steps, run in a repository with a base branch: with a spec as on the base or grown
    0.4 %, both commands exit 0; grown 6 %, over the 5 % allowed, they exit 1 and the annotations name it.
    The summary is a Markdown table either way."""
    workflow = yaml.safe_load(shown("docs/ci.md", "name: model budgets"))
    assert workflow[True] == "pull_request"  # `on:` is YAML 1.1's true to PyYAML; GitHub reads it as the key on
    steps = workflow["jobs"]["budgets"]["steps"]
    assert [step.get("uses") for step in steps if "uses" in step] == ["actions/checkout@v4", "actions/setup-python@v5"]
    assert steps[0]["with"]["fetch-depth"] == 0  # the baseline revision must be in the clone
    assert steps[1]["with"]["python-version"] == "3.11"
    install, *checks = [step["run"] for step in steps if "run" in step]
    assert install == "pip install ." and (ROOT / "setup.cfg").exists()
    assert [step.get("if") for step in steps if "run" in step] == [None, None, "always()"]
    specs = {f"specs/{name}.yaml": without_budget((ROOT / "specs" / f"{name}.yaml").read_text())
             for name in ("resnet18", "alexnet")}
    git_repository(tmp_path, specs, branch="origin/main")
    monkeypatch.chdir(tmp_path)

    def step(command: str):
        command = command.replace('"origin/$GITHUB_BASE_REF"', "origin/main")  # GITHUB_BASE_REF: main
        command, _, redirect = command.partition(" >> ")
        assert redirect in ("", '"$GITHUB_STEP_SUMMARY" || true')
        words = shlex.split(command)
        assert words[0] == "paramcalc"
        return invoke(words[1:])

    grown = tmp_path / "specs" / "resnet18.yaml"
    for classes, status in [(1000, 0), (1100, 0), (2400, 1)]:  # params +0, +0.44 % and +6.1 % (512 per class)
        grown.write_text(specs["specs/resnet18.yaml"].replace("classes: 1000", f"classes: {classes}"))
        annotations, summary = (step(command) for command in checks)
        assert (annotations.exit_code, summary.exit_code) == (status, status), annotations.output + summary.output
        assert ("::error file=specs/resnet18.yaml" in annotations.output) == bool(status)
        assert "::error file=specs/alexnet.yaml" not in annotations.output
        assert summary.output.startswith("### paramcalc budgets") and "| `resnet18` |" in summary.output


# The keys pre-commit reads from a hook definition (.pre-commit-hooks.yaml) and from a hook in a
# .pre-commit-config.yaml (pre-commit's clientlib: MANIFEST_HOOK_DICT and CONFIG_HOOK_DICT).
PRE_COMMIT_HOOK = {"id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or",
                   "exclude_types", "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames",
                   "description", "language_version", "log_file", "minimum_pre_commit_version", "require_serial",
                   "stages", "verbose"}
PRE_COMMIT_REQUIRED = {"id", "name", "entry", "language"}
PRE_COMMIT_CONFIG_HOOK = PRE_COMMIT_HOOK - {"minimum_pre_commit_version"}


def tags() -> list[str]:
    return subprocess.run(["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def hooks_at_release(rev: str) -> str:
    """The hooks file a `rev:` names: at that tag in a clone that carries the tags; in a clone of one branch
    without them (as CI makes), the tree's own file, which the next release is tagged from."""
    if not tags():
        return (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert rev in tags()
    return subprocess.run(["git", "show", f"{rev}:.pre-commit-hooks.yaml"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


@runs("docs/ci.md", "repos:")
def test_the_pre_commit_config_shown_uses_the_repository_s_hook(tmp_path, monkeypatch):
    """The config names a hook the repository defines, at a tag that exists and defines it too, with keys
    pre-commit knows; the hook runs `paramcalc check` with the config's arguments on the files it matches."""
    (repository,) = yaml.safe_load(shown("docs/ci.md", "repos:"))["repos"]
    (hook,) = repository["hooks"]
    assert set(hook) <= PRE_COMMIT_CONFIG_HOOK
    defined = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}[hook["id"]]
    assert PRE_COMMIT_REQUIRED <= set(defined) <= PRE_COMMIT_HOOK
    assert defined["language"] == "python"  # pre-commit pip-installs the repository: setup.cfg's console script
    assert "paramcalc = paramcalc.cli:run" in (ROOT / "setup.cfg").read_text()
    assert f"(by default `{defined['files']}`)" in prose("docs/ci.md")
    assert hook["id"] in {h["id"] for h in yaml.safe_load(hooks_at_release(repository["rev"]))}
    # what pre-commit runs: the entry, the config's args, then the staged files that `files` matches
    staged = ["models/net.yaml", "specs/other.yaml", "models/notes.txt"]
    matched = [name for name in staged if re.search(hook["files"], name)]
    assert matched == ["models/net.yaml"]
    assert [name for name in staged if re.search(defined["files"], name)] == ["specs/other.yaml"]
    spec = without_budget((ROOT / "specs" / "resnet18.yaml").read_text())
    git_repository(tmp_path, {"models/net.yaml": spec}, branch="base")
    monkeypatch.chdir(tmp_path)
    entry = defined["entry"].split()
    assert entry[0] == "paramcalc"
    for classes, status in [(1000, 0), (1100, 0), (2400, 1)]:  # params +0, +0.44 % and +6.1 % against HEAD
        Path("models/net.yaml").write_text(spec.replace("classes: 1000", f"classes: {classes}"))
        result = invoke([*entry[1:], *hook["args"], *matched])
        assert result.exit_code == status, result.output
        assert ("against baseline HEAD, more than allowed" in result.output) == bool(status)


def test_the_releases_the_documents_name_are_tags():
    """`pip install "git+<url>@v0.3.0"` and `rev: v0.3.0` name a release: a tag of the repository, and the
    version paramcalc says it is."""
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    named = set(re.findall(r"git\+(?:<[^>]*>|[^\s\"`<])*@(v[\d.]*\d)", text))
    named |= set(re.findall(r"^\s*rev: (\S+)", text, flags=re.M))
    assert named == {f"v{paramcalc.__version__}"}
    assert named <= set(tags()) or not tags()  # a clone of one branch carries no tags


# --- docs/hardware.md -------------------------------------------------------------------------------------
@runs("docs/hardware.md", "my_gpu:")
def test_the_devices_file_shown_adds_a_device(tmp_path, monkeypatch):
    text = shown("docs/hardware.md", "my_gpu:")
    ((name, device),) = yaml.safe_load(text).items()
    devices = tmp_path / "devices.yaml"
    devices.write_text(text + "\n")
    monkeypatch.chdir(ROOT)
    listed = run(f"paramcalc devices --devices {devices}")
    header = listed[0].split()
    assert header[:2] == ["Device", "Title"] and header[-2:] == ["GB/s", "GB"]
    row = next(line for line in listed if line.startswith(name + " ")).split()
    assert row == [name, *device["title"].split(), *(str(device["peak"].get(p, "-")) for p in header[2:-2]),
                   str(device["bandwidth"]), str(device["memory"])]
    assert f"{name}: {device['source']}" in listed
    assert any(line.startswith("a100 ") for line in listed)  # the known devices too
    # show --devices FILE --device NAME; the figures kept exactly, as the text says
    exactly = re.search(r"\((\d+(?:\.\d+)?) TFLOPS is ([\d,]+) FLOP/s\)", prose("docs/hardware.md"))
    assert exactly and float(exactly[1]) == device["peak"]["fp32"]
    for precision, peak in [("fp32", int(exactly[2].replace(",", ""))), ("bf16", device["peak"]["bf16"] * 10 ** 12)]:
        result = invoke(["show", "specs/resnet18.yaml", "--devices", str(devices), "--device", name, "--precision",
                         precision, "--format", "json"])
        assert result.exit_code == 0, result.output
        (estimate,) = json.loads(result.output)["roofline"]
        assert estimate["device"]["title"] == device["title"] and estimate["device"]["peak_flops"] == peak
        assert estimate["device"]["bandwidth_bytes"] == device["bandwidth"] * 10 ** 9
    table = invoke(["show", "specs/resnet18.yaml", "--devices", str(devices), "--device", name])
    assert table.exit_code == 0 and device["title"] in table.output


# --- docs/symbolic.md -------------------------------------------------------------------------------------
@runs("docs/symbolic.md", "paramcalc show SPEC --input 3xHxW")
def test_the_synopsis_of_symbolic_sizes_is_a_real_command(monkeypatch):
    (synopsis,) = shown("docs/symbolic.md", "paramcalc show SPEC --input 3xHxW").splitlines()
    options = re.findall(r"--[\w-]+", synopsis)
    assert options == ["--input", "--at", "--exact"]
    monkeypatch.chdir(ROOT)
    listed = [line.split()[0] for line in run("paramcalc show --help") if line.lstrip().startswith("--")]
    assert all(option in listed for option in options)
    filled = synopsis.replace("SPEC", "specs/vgg16.yaml").replace(",...", "").replace("[", "").replace("]", "")
    result = invoke(shlex.split(filled)[1:])
    assert result.exit_code == 0, result.output
    assert "H=224, W=224" in result.output and "H=512, W=512" in result.output


@runs("docs/symbolic.md", "input: [2, H, W]")
def test_what_paramcalc_cannot_decide_stops_with_the_message_shown():
    spec = "name: undecided\n" + shown("docs/symbolic.md", "input: [2, H, W]") + "\n"
    said = re.search(r'paramcalc stops at the layer `(\w+)` with "(.*?)" and the hint to give concrete sizes',
                     prose("docs/symbolic.md"))
    assert said
    with pytest.raises(paramcalc.SpecError) as stopped:
        paramcalc.analyze(spec)
    assert f"layer '{said[1]}': {said[2]}" in str(stopped.value)
    assert stopped.value.hint.startswith("give concrete sizes")
    # "which agree exactly when H and W are both even"
    assert paramcalc.analyze(spec, input="2x8x6").totals.output_shape == (2 * 8 * 6,)
    for odd in ("2x7x8", "2x8x7"):
        with pytest.raises(paramcalc.SpecError, match="needs matching shapes"):
            paramcalc.analyze(spec, input=odd)


# --- docs/spec-format.md ----------------------------------------------------------------------------------
@runs("docs/spec-format.md", "blocks:\n  conv_bn:")
def test_the_block_shown_is_used_as_the_text_says():
    block = shown("docs/spec-format.md", "blocks:\n  conv_bn:")
    use = re.search(r"A block is used like a kind: `(- \{.*?\})`", prose("docs/spec-format.md"))
    assert use
    result = paramcalc.analyze(f"name: stem\ninput: [3, 224, 224]\n{block}\nlayers:\n  {use[1]}\n")
    # padding defaults to kernel // 2 = 3: a 7x7 window at stride 2 halves 224; no bias: 7·7·3·64 weights
    assert [(r.name, r.shape, r.params) for r in result.leaves()] == [
        ("stem.conv", (64, 112, 112), 7 * 7 * 3 * 64), ("stem.bn", (64, 112, 112), 2 * 64),
        ("stem.relu", (64, 112, 112), 0)]


# --- docs/api.md ------------------------------------------------------------------------------------------
@runs("docs/api.md", 'eval "$(_PARAMCALC_COMPLETE=bash_source paramcalc)"')
def test_the_shell_completion_lines_print_each_shell_s_script():
    lines = shown("docs/api.md", 'eval "$(_PARAMCALC_COMPLETE=bash_source paramcalc)"').splitlines()
    sources = [re.search(r"_PARAMCALC_COMPLETE=(\w+) paramcalc", line)[1] for line in lines]
    assert sources == ["bash_source", "zsh_source", "fish_source"]
    ends = {"bash_source": "complete -o nosort -F _paramcalc_completion paramcalc", "zsh_source": "#compdef paramcalc",
            "fish_source": "complete --no-files --command paramcalc"}
    for source in sources:  # the variable's name is click's, from the program's name (setup.cfg: paramcalc)
        result = CliRunner().invoke(main, [], env={"_PARAMCALC_COMPLETE": source}, prog_name="paramcalc")
        assert result.exit_code == 0 and ends[source] in result.output, (source, result.output)


# --- docs/pytorch.md --------------------------------------------------------------------------------------
@runs("docs/pytorch.md", "paramcalc export specs/resnet18.yaml -o resnet18.py")
@runs("docs/pytorch.md", "ok    resnet18.py:")
@runs("docs/pytorch.md", "FAIL  resnet18.py:")
def test_the_verify_examples_of_an_exported_and_an_edited_module(tmp_path, monkeypatch):
    require_torch()
    export, verify = [line.partition("#") for line in
                      shown("docs/pytorch.md", "paramcalc export specs/resnet18.yaml -o resnet18.py").splitlines()]
    printed = re.fullmatch(r' prints "(.*)" on standard error', export[2])
    assert printed
    exported = shown("docs/pytorch.md", "ok    resnet18.py:").splitlines()
    edited = shown("docs/pytorch.md", "FAIL  resnet18.py:").splitlines()
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "resnet18.yaml").write_text((ROOT / "specs" / "resnet18.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    written = CliRunner().invoke(main, shlex.split(export[0])[1:], env={"COLUMNS": None})
    assert written.exit_code == 0 and written.stdout == "" and written.stderr.splitlines() == [printed[1]]
    assert run(verify[0].strip()) == exported
    module = tmp_path / "resnet18.py"
    source = module.read_text()
    conv1 = "self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)"
    assert conv1 in source
    module.write_text(source.replace(conv1, conv1.replace("bias=False", "bias=True")))
    assert run(verify[0].strip()) == edited


@runs("docs/pytorch.md", "        if self.training:  # only in training")
def test_the_train_only_lines_shown_are_in_the_export_of_inception_v3(monkeypatch):
    require_torch()
    lines = shown("docs/pytorch.md", "        if self.training:  # only in training").splitlines()
    monkeypatch.chdir(ROOT)
    source = run("paramcalc export specs/inception_v3.yaml")
    assert any(source[i:i + len(lines)] == lines for i in range(len(source)))


@runs("docs/pytorch.md", "FAIL  net.yaml against models.py:Net")
def test_the_verify_example_of_a_spec_that_differs_from_its_model(tmp_path, monkeypatch):
    require_torch()
    from .test_verify_against import MODELS, NET

    # the spec's first block has a 5x5 convolution where the model's has a 3x3
    wrong = NET.replace("{name: conv1, conv2d: {out: 16, kernel: 3, padding: 1",
                        "{name: conv1, conv2d: {out: 16, kernel: 5, padding: 2")
    assert wrong != NET
    (tmp_path / "net.yaml").write_text(wrong)
    (tmp_path / "models.py").write_text(MODELS.read_text())
    monkeypatch.chdir(tmp_path)
    text = shown("docs/pytorch.md", "FAIL  net.yaml against models.py:Net").splitlines()
    assert run("paramcalc verify net.yaml --against models.py:Net") == text


def require_torchvision():
    require_torch()
    return pytest.importorskip("torchvision", reason="torchvision is not installed")


AGAINST_TORCHVISION = "paramcalc verify specs/resnet50.yaml --against torchvision.models.resnet50"


@runs("docs/pytorch.md", AGAINST_TORCHVISION)
def test_the_verify_examples_against_torchvision(monkeypatch):
    require_torchvision()
    lines = shown("docs/pytorch.md", AGAINST_TORCHVISION).splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("paramcalc ")]
    assert len(starts) == 2 and starts[0] == 0
    monkeypatch.chdir(ROOT)
    for start, end in zip(starts, [*starts[1:], len(lines)]):
        assert run(lines[start]) == lines[start + 1:end]


@runs("docs/pytorch.md", "blocks:\n  bottleneck:")
def test_the_import_example_of_resnet50(tmp_path, monkeypatch):
    """The spec `paramcalc import` writes has as many lines as the text says, and the lines shown, in order;
    `...` stands for the lines left out."""
    require_torchvision()
    said = re.search(r"`(paramcalc import torchvision\.models\.resnet50 [^`]*)` gives a (\d+)-line spec",
                     prose("docs/pytorch.md"))
    assert said and said[1].endswith("-o resnet50.yaml")
    monkeypatch.chdir(tmp_path)
    result = invoke(shlex.split(said[1])[1:])
    assert result.exit_code == 0, result.output
    written = Path("resnet50.yaml").read_text().splitlines()
    assert len(written) == int(said[2])
    excerpt = shown("docs/pytorch.md", "blocks:\n  bottleneck:").splitlines()
    parts, current = [], []
    for line in excerpt:
        if line.strip() == "...":
            parts.append(current)
            current = []
        else:
            current.append(line)
    parts.append(current)
    position = 0
    for part in parts:
        found = next((i for i in range(position, len(written) - len(part) + 1) if written[i:i + len(part)] == part),
                     None)
        assert found is not None, part
        assert part is parts[0] or found > position  # `...` leaves out at least one line
        position = found + len(part)


@runs("docs/pytorch.md", "- {name: fancy, custom:")
def test_the_custom_placeholder_shown_is_what_import_writes(tmp_path, monkeypatch):
    require_torch()
    (tmp_path / "odd.py").write_text(textwrap.dedent("""\
        import torch
        from torch import nn


        class Fancy(nn.Module):  # no layer kind of paramcalc's: a spectrum's magnitude, scaled per channel
            def __init__(self):
                super().__init__()
                self.scale = nn.Parameter(torch.ones(8, 1, 1))

            def forward(self, x):
                return torch.fft.rfft(x, dim=-1).abs() * self.scale


        class Odd(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.fancy = Fancy()
                self.fc = nn.Linear(8 * 6 * 4, 2)

            def forward(self, x):
                return self.fc(self.fancy(self.conv(x)).flatten(1))
        """))
    monkeypatch.chdir(tmp_path)
    (line,) = shown("docs/pytorch.md", "- {name: fancy, custom:").splitlines()
    result = invoke(["import", "odd.py:Odd", "--input", "3x8x8", "--custom", "Fancy"])
    assert result.exit_code == 0, result.output
    assert "  " + line in result.stdout.splitlines()


# --- docs/limits.md and docs/testing.md: the bench and the tools -------------------------------------------
def script_options(script: str) -> list[str]:
    usage = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    return re.findall(r"(?<![\w-])--[\w-]+", usage.stdout)


@runs("docs/limits.md", "$ python bench/fuzz.py")
def test_the_fuzz_run_shown_is_what_bench_fuzz_prints():
    """Not rerun (20,000 cases take minutes): the command's options are bench/fuzz.py's, its lines are laid
    out as it prints them, and its mutations are those the fuzzer draws, with the counts adding up."""
    from .fuzzing import cases

    command, first, *rows = shown("docs/limits.md", "$ python bench/fuzz.py").splitlines()
    words = shlex.split(command)[2:]
    assert words[0] == "bench/fuzz.py" and {w for w in words if w.startswith("--")} <= set(script_options(words[0]))
    count, seed = int(words[words.index("--cases") + 1]), int(words[words.index("--seed") + 1])
    assert re.fullmatch(rf"fuzz run: seed {seed}, {count:,} cases in \d+ s \(\d+ per second\): 0 failed", first)
    tried = {}
    for row in rows:
        kind, number, _ = row.split()
        tried[kind] = int(number.replace(",", ""))
        assert row == f"  {kind:<15} {tried[kind]:>7,} tried"
    assert list(tried) == sorted(tried) and sum(tried.values()) == count
    drawn = {case.mutation.split(" + ")[0].split(" ")[0] for case in cases(2_000, seed, False, True)}
    assert set(tried) == drawn


@runs("docs/limits.md", "$ python bench/hostile.py")
def test_the_hostile_run_shown_lists_every_reproducer_as_bench_hostile_prints_it():
    """Not rerun here (tests/test_hostile.py runs every reproducer): the rows are the reproducers, in order, laid
    out as bench/hostile.py prints them, each within the bounds it states."""
    from .hostile_cases import REPRODUCERS

    command, header, *rows, last = shown("docs/limits.md", "$ python bench/hostile.py").splitlines()
    assert command == "$ python bench/hostile.py"
    width = max(map(len, REPRODUCERS))
    assert header == f"{'case':<{width}}  exit  seconds  +peak MB"
    seconds = []
    for row, name in zip(rows, REPRODUCERS, strict=True):
        exit_status, took, growth = row[width:].split()
        assert row == f"{name:<{width}}  {int(exit_status):>4}  {float(took):>7.3f}  {float(growth):>8.1f}"
        assert int(exit_status) == 2 and float(took) <= 2 and float(growth) <= 200
        seconds.append(float(took))
    assert last == f"slowest {max(seconds):.3f} s; all within bounds"


@runs("docs/testing.md", "pip install -e '.[test,torch,mutation]'")
def test_the_mutation_commands_shown_are_real():
    from tools import mutation

    lines = shown("docs/testing.md", "pip install -e '.[test,torch,mutation]'").splitlines()
    runs_of_the_tool = [shlex.split(line.partition("#")[0])[2:] for line in lines
                        if line.startswith("python tools/mutation.py")]
    assert len(runs_of_the_tool) >= 3
    options = script_options("tools/mutation.py")
    for arguments in runs_of_the_tool:
        option = ""
        for word in arguments:
            if word.startswith("--"):
                assert word in options
                option = word
            elif option == "--tests":
                assert (ROOT / word).is_file()  # a test file
            else:
                assert mutation.resolve(word) in mutation.MODULES  # a module or its short name
    assert all(line.startswith(("pip install", "python tools/mutation.py")) for line in lines)


# --- docs/performance.md and bench/run.py -----------------------------------------------------------------
def test_the_benchmark_says_where_its_figures_go():
    docstring = ast.get_docstring(ast.parse((ROOT / "bench" / "run.py").read_text()))
    assert "docs/performance.md" in docstring
    assert "README" not in docstring.replace("bench/README.md", "")  # the README holds no figures of the bench
    assert "`python bench/run.py` measures it" in prose("docs/performance.md")
    (table,) = blocks(ROOT / "docs" / "performance.md")
    assert table.not_run and table.text.startswith("end to end")


# --- the JSON Schema ---------------------------------------------------------------------------------------
def test_the_schema_says_how_a_broadcast_merge_s_receptive_field_is_computed():
    schema = json.loads((ROOT / "paramcalc.schema.json").read_text())
    kinds = schema["definitions"]["layers"]["items"]["anyOf"][1]["properties"]
    for kind in ("add", "mul", "multiply"):
        description = " ".join(kinds[kind]["description"].split())
        for said in ("follows the full-resolution operand", "a global gate", "squeeze-and-excitation",
                     "makes every unit global", "a gate that does not see the whole input", "is not followed",
                     "docs/conventions.md, 'Broadcast merges'"):
            assert said in description, (kind, said)
    assert "Broadcast merges" not in kinds["concat"]["description"]  # a concatenation broadcasts nothing
    conventions = (ROOT / "docs" / "conventions.md").read_text()
    section = conventions[conventions.index("\n## Receptive field\n"):]
    assert "**Broadcast merges.**" in section[:section.index("\n## ", 1)]
    merges = prose("docs/spec-format.md")
    merges = merges[merges.index("### Merges and broadcasting"):merges.index("### Blocks")]
    assert "[Broadcast merges](conventions.md#receptive-field)" in merges


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
