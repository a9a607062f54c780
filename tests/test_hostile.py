"""Hostile specs: code injection through export, numbers and aliases that never finish, reads that never end.

Each reproducer once ran for minutes, filled the memory, exited 70 or ran a command; now each is refused
with one message (exit 2) in bounded memory, or (YAML's numbers) read as YAML means it.
"""

from __future__ import annotations

import ast
import os
import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import paramcalc
from paramcalc.cli import main
from paramcalc.spec.source import load_yaml

from .fuzzing import HOSTILE_NAMES, check_export, hostile_name, write_baseline
from .hostile_cases import REPRODUCERS, run_all

ROOT = Path(__file__).resolve().parent.parent
HEAD = "name: t\ninput: [3, 8, 8]\n"


def invoke(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


# --- numbers, aliases and work that never finished ---------------------------------------------------------
@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    return run_all(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("name", REPRODUCERS)
def test_each_reproducer_is_refused_with_one_message_in_bounded_memory(reproduced, name):
    case = reproduced[name]
    assert case["exit"] == 2, case["output"][-500:]
    output = case["output"]
    assert "Traceback" not in output and "internal error" not in output
    assert output.count("error:") + output.count("Error:") == 1
    assert case["growth_mb"] < 200  # the time each takes is in bench/hostile.py (well under 2 s)


def test_the_limits_are_named_with_the_line(reproduced):
    assert ".yaml:4:39: layer 'r.199.0': the model's layers take more than 200,000 inputs" in \
        reproduced["an add of 1,000 inputs, repeated 10,000 times"]["output"]
    assert "more than PyTorch's largest (9,223,372,036,854,775,807)" in \
        reproduced["a concat of a layer with itself, repeated 10,000 times"]["output"]
    assert "repeat must be between 1 and 10,000, got 100,000" in \
        reproduced["50,000 vars and a repeat of 100,000"]["output"]
    assert "expands to more than 1,000,000 values through its YAML aliases" in \
        reproduced["an aliased 20,000-item list, 999 times (64 KB)"]["output"]
    assert "the exponent of '1e99999999' is out of range" in reproduced["out: 1e99999999"]["output"]
    assert "a fraction finer than 1/10^30" in reproduced["a: 1e-30 ** 64, b: a ** 64, ..."]["output"]
    evaluated = "the spec's values come to more than 500,000 characters to evaluate"
    assert re.search(r"case\d+\.yaml:\d+:8: vars: b\d+: " + evaluated,
                     reproduced["1,000 aliased expressions in 990 vars (23 KB)"]["output"])
    assert re.search(r"case\d+\.yaml:6:16: layer '0\.\d+': x: " + evaluated,
                     reproduced["a block argument of 1,000 characters, repeated 10,000 times"]["output"])
    assert ".yaml:3:25: a number with more than 40 digits" in reproduced["out: -0777... (5,200 digits)"]["output"]
    assert "error: sparse.json: the file is larger than 10,000,000 bytes" in \
        reproduced["--baseline: a sparse .json of 1.5 GB"]["output"]
    assert "error: fifo.json: this is a FIFO, not a regular file" in \
        reproduced["--baseline: a FIFO named .json"]["output"]
    assert "each size is a whole number from 1 to 1,000,000,000" in reproduced["--input with 4,301 digits"]["output"]


def test_aliases_of_a_list_are_evaluated_once_per_value(monkeypatch):
    # 990 aliases of 1,000 expressions in one value were 990,000 evaluations (13.8 s); the list is evaluated once
    from paramcalc.engine import graph

    evaluated = []
    monkeypatch.setattr(graph, "evaluate", lambda text, scope: evaluated.append(text) or 1)
    text = HEAD + "vars:\n  a: &a [" + ", ".join(['"2 ** 60 * 3 / 7"'] * 1000) + "]\n  b: [" + \
        ", ".join(["*a"] * 990) + "]\nlayers: [relu]\n"
    assert paramcalc.analyze(text).totals.output_shape == (3, 8, 8)
    assert len(evaluated) == 2000  # a's items, then b's one list of them


def test_many_vars_and_many_repeats_are_not_multiplied():
    # each copy of a repeat sees the vars without copying them (50,000 vars x 10,000 copies was the hang)
    text = HEAD + "vars:\n" + "".join(f"  v{i}: {i}\n" for i in range(50000)) + \
        "blocks:\n  unit: {args: {k: 1}, layers: [{conv2d: {out: v49999 - 49990 + k, kernel: 1}}]}\n" \
        "layers:\n  - {unit: {k: index}, repeat: 10000}\n"
    result = paramcalc.analyze(text)
    assert result.totals.output_shape == (9 + 9999, 8, 8)


# --- numbers mean what YAML says, or are refused -----------------------------------------------------------
def read_value(spelling: str):
    return load_yaml(f"v: {spelling}\n")["v"]


@pytest.mark.parametrize("spelling, value", [
    ("010", None), ("0100", None), ("064", None), ("0_64", None), ("!!int 010", None), ("1:30", None),
    ("190:20:30", None), ("1:30.5", None), (".inf", None), ("-.inf", None), (".nan", None), ("0x40", 64),
    ("0b101", 5), ("1_000", 1000), ("+64", 64), ("-0", 0), ("0", 0), ("1.5e+3", 1500), (".5", Fraction(1, 2)),
    ("+.5", "+.5"), ("1_0.5", Fraction(21, 2)), ("0.1", Fraction(1, 10)), ("1e6", "1e6"),
    ("!!float 3", 3), ("0o10", "0o10"), ("08", "08"),
])
def test_yaml_numbers(spelling, value):
    if value is None:
        with pytest.raises(paramcalc.SpecError) as caught:
            read_value(spelling)
        assert "octal" in str(caught.value) or "base-60" in str(caught.value) or "finite" in str(caught.value)
        return
    assert read_value(spelling) == value
    assert type(read_value(spelling)) is type(value)


def test_octal_layer_fields_are_refused_with_a_hint():
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(HEAD + "layers: [{conv2d: {out: 010, kernel: 1}}]\n")
    assert "leading zero, which makes it octal in YAML 1.1 (8)" in str(caught.value)
    assert "write 10 if you mean decimal" in str(caught.value)
    with pytest.raises(paramcalc.SpecError, match="leading zero"):
        paramcalc.analyze(HEAD + "layers: [{conv2d: {out: '010', kernel: 1}}]\n")  # as an expression too


@pytest.mark.parametrize("spelling", ["0" + "7" * 5200, "-0" + "7" * 5200, "!!int 0" + "7" * 5200, "0x" + "f" * 5000])
def test_a_long_literal_is_refused_by_its_digits_before_it_is_read(spelling):
    with pytest.raises(paramcalc.SpecError) as caught:  # was a ValueError from int(): exit 70
        paramcalc.analyze(HEAD + f"layers: [{{conv2d: {{out: {spelling}, kernel: 1}}}}]\n")
    assert str(caught.value).startswith("<string>:3:25: a number with more than 40 digits")


def test_a_signed_octal_is_read_with_its_sign():
    with pytest.raises(paramcalc.SpecError) as caught:
        read_value("-010")
    assert "'-010' has a leading zero, which makes it octal in YAML 1.1 (-8)" in str(caught.value)
    assert "write -10 if you mean decimal" in str(caught.value)


sign = st.sampled_from(["", "+", "-"])
digits = st.text("0123456789", min_size=1, max_size=6)
underscored = st.builds(lambda a, b: a + "_" + b, digits, digits)
spellings = st.one_of(
    st.builds(lambda s, d: s + d, sign, st.one_of(digits, underscored)),
    st.builds(lambda s, d: s + "0x" + d, sign, st.text("0123456789abcdefABCDEF_", min_size=1, max_size=5)),
    st.builds(lambda s, d: s + "0b" + d, sign, st.text("01_", min_size=1, max_size=6)),
    st.builds(lambda s, a, b: f"{s}{a}:{b}", sign, digits, st.integers(0, 59).map(str)),
    st.builds(lambda s, a, b, e: f"{s}{a}.{b}{e}", sign, st.one_of(st.just(""), digits), st.one_of(st.just(""), digits),
              st.sampled_from(["", "e+3", "e-2", "E+10", "e3"])),
    st.sampled_from([".inf", "-.Inf", ".NaN", "0", "00", "-0_0"]),
)


@settings(max_examples=1500, deadline=None)
@given(spellings)
def test_every_yaml_number_spelling_means_what_pyyaml_reads_or_is_refused(spelling):
    try:
        expected = yaml.safe_load(f"v: {spelling}\n")["v"]
    except ValueError:  # '0b_': PyYAML types it as an integer, then cannot read it
        with pytest.raises(paramcalc.SpecError, match="is not a number"):
            read_value(spelling)
        return
    try:
        ours = read_value(spelling)
    except paramcalc.SpecError as err:
        message = str(err)
        # refused: octal (a leading zero), base 60, not finite, or too many digits; never silently another number
        assert any(word in message for word in ("octal", "base-60", "finite", "digits", "exponent")), message
        return
    if isinstance(expected, float):
        assert float(ours) == expected
    else:
        assert ours == expected and type(ours) is type(expected)


# --- export writes literals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_export_of_a_hostile_name_is_a_module_with_nothing_but_what_paramcalc_meant(name, tmp_path):
    pytest.importorskip("torch") if os.environ.get("PARAMCALC_REQUIRE_TORCH") != "1" else None
    spec = tmp_path / "s.yaml"
    text = hostile_name(HEAD + "layers: [relu]\n", name)
    spec.write_text(text)
    result = invoke("export", str(spec))
    if result.exit_code == 2:  # a name that would act on a terminal is refused where it is written
        assert result.stderr.startswith(f"error: {spec}:1:7: 'name' ") and result.stderr.count("error:") == 1
        return
    assert result.exit_code == 0, result.output
    assert check_export(result.stdout, text) is None
    docstring = ast.get_docstring(ast.parse(result.stdout), clean=False)
    assert docstring is not None and docstring.startswith(f"{name}, written by `paramcalc export` from {spec}.")
    assert not (tmp_path / "PWN").exists()


def test_an_exported_hostile_name_cannot_run_a_command_through_verify(tmp_path):
    pytest.importorskip("torch") if os.environ.get("PARAMCALC_REQUIRE_TORCH") != "1" else None
    spec = tmp_path / "s.yaml"
    spec.write_text("name: 'x\"\"\"; __import__(\"os\").system(\"touch PWN\"); \"\"\"'\ninput: [3, 8, 8]\nlayers: [relu]\n")
    module = tmp_path / "m.py"
    assert invoke("export", str(spec), "-o", str(module)).exit_code == 0
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert invoke("verify", str(module)).exit_code == 0
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "PWN").exists()


# --- files that are not files --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["fifo", "device", "sparse"])
def test_only_regular_files_are_read(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "sparse.yaml"
        with open(path, "wb") as handle:
            handle.truncate(1_500_000_000)
    result = invoke("show", str(path))
    assert result.exit_code == 2
    expected = "larger than 10,000,000 bytes" if kind == "sparse" else f"this is a {'FIFO' if kind == 'fifo' else 'device'}"
    assert result.stderr.startswith(f"error: {path}: ") and expected in result.stderr


def test_standard_input_is_read_when_asked_with_a_dash():
    result = CliRunner().invoke(main, ["show", "-", "--format", "json"], input=HEAD + "layers: [relu]\n")
    assert result.exit_code == 0, result.output
    assert '"spec": "<stdin>"' in result.stdout


# --- ordinary bad input is exit 2, never 70 ------------------------------------------------------------------
@pytest.mark.parametrize("report, message", [
    ('{"schema": "paramcalc.report/1", "name": "t"}', "lacks 'totals'"),
    ('{"schema": "paramcalc.check/1"}', "lacks 'models'"),
    ('{"schema": "paramcalc.check/1", "models": [{"name": "t", "figures": {"params": 1e400}}]}', "not a whole number"),
    ('{"schema": "paramcalc.check/1", "models": [{"name": "t", "figures": {"params": NaN}}]}', "NaN is not a figure"),
    ('{"schema": "paramcalc.report/1", "name": "t", "totals": [1]}', "not laid out as paramcalc writes it"),
])
def test_a_broken_baseline_report_is_bad_input(report, message, tmp_path):
    spec, baseline = tmp_path / "s.yaml", tmp_path / "base.json"
    spec.write_text(HEAD + "layers: [relu]\n")
    baseline.write_text(report)
    result = invoke("check", str(spec), "--baseline", str(baseline))
    assert result.exit_code == 2 and message in result.stderr, result.output


@pytest.mark.parametrize("kind, message", [
    ("fifo", "this is a FIFO, not a regular file"),  # was "does not exist"
    ("directory", "this is a directory, not a regular file"),
    ("sparse", "the file is larger than 10,000,000 bytes"),  # was 10 s and 3 GB to read
    ("nested", "the baseline report nests lists and mappings too deeply"),  # was a RecursionError: exit 70
    ("digits", "cannot read the baseline report: a number with more than 40 digits is not a figure"),
    ("latin-1", "the file is not UTF-8 text (byte 54)"),
])
def test_a_baseline_report_is_checked_before_it_is_read(kind, message, tmp_path):
    spec, baseline = tmp_path / "s.yaml", tmp_path / "base.json"
    spec.write_text(HEAD + "layers: [relu]\n")
    if kind in ("fifo", "directory", "sparse"):
        write_baseline(kind, "", baseline, random.Random(0))  # as the fuzz suite makes them
    elif kind == "nested":
        baseline.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "digits":
        baseline.write_text('{"schema": "paramcalc.check/1", "models": [{"name": "t", "figures": {"params": '
                            + "9" * 5000 + "}}]}")
    else:
        baseline.write_bytes(b'{"schema": "paramcalc.check/1", "models": [{"name": "t\xe9", "figures": {}}]}')
    result = invoke("check", str(spec), "--baseline", str(baseline))
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {baseline}: {message}"), result.output


def test_a_baseline_report_that_is_not_json_is_refused_where_it_breaks(tmp_path):
    spec, baseline = tmp_path / "s.yaml", tmp_path / "base.json"
    spec.write_text(HEAD + "layers: [relu]\n")
    baseline.write_text('{"schema": "paramcalc.check/1",\n "models": [}')
    result = invoke("check", str(spec), "--baseline", str(baseline))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {baseline}:2:13: cannot read the baseline report: Expecting value")


# the peak is read from /proc: ru_maxrss would start from the parent's peak (subprocess starts with vfork)
GIT_BASELINE = """
import sys
from click.testing import CliRunner
from paramcalc.cli import main
result = CliRunner().invoke(main, ["check", sys.argv[1], "--baseline", "HEAD"])
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(result.exit_code, peak // 1000, result.output.splitlines()[0])
"""


def test_a_spec_at_a_revision_is_read_no_further_than_a_spec_file(tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("the peak memory is read from /proc")
    # the revision is the pull request's own: 100 MB in a commit were read whole (and 1.5 GB would be 3 GB)
    def git(*arguments: str) -> None:
        subprocess.run(["git", *arguments], cwd=tmp_path, check=True, capture_output=True)

    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "layers: [relu]\n" + ("#" * 999 + "\n") * 100_000)
    git("init", "-q")
    git("add", "s.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "a long spec")
    spec.write_text(HEAD + "layers: [relu]\n")
    done = subprocess.run([sys.executable, "-c", GIT_BASELINE, str(spec)], capture_output=True, text=True, check=True)
    exit_code, peak_mb, message = done.stdout.split(" ", 2)
    assert exit_code == "2" and message.strip() == f"error: HEAD:{spec}: the file is larger than 10,000,000 bytes"
    assert int(peak_mb) < 120, peak_mb  # about 45 MB with the 10 MB read; over 200 MB when the 100 MB were read


@pytest.mark.parametrize("arguments", [
    ["show", "--input", "9" * 4301 + "x8x8"],  # was a ValueError: exit 70
    ["show", "--input", "3x1000000001x8"],  # was taken
    ["show", "--input", "3xHxW", "--at", "9" * 4301 + "x8"],
    ["show", "--batch", "9" * 4301],
    ["compare", "--batch", "100000000000000000000"],  # was taken
    ["compare", "--batch", "9" * 4301],
    ["check", "--input", "0x8x8"],
])
def test_sizes_on_the_command_line_are_whole_numbers_up_to_the_limit(arguments, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "layers: [relu]\n")
    result = invoke(arguments[0], str(spec), *arguments[1:])
    assert result.exit_code == 2, result.output
    assert "each size is a whole number from 1 to 1,000,000,000" in result.stderr
    assert "9" * 61 not in result.stderr  # the value is shortened in the message
    assert result.stderr.count("Error:") == 1


def test_one_rule_reads_every_size_of_the_command_line():
    from paramcalc.cli_common import parse_batches, parse_sizes
    from paramcalc.engine.dims import parse_shape

    assert parse_shape("3x1000000000xW") == (3, 1_000_000_000, "W")
    assert parse_batches("1, 1000000000") == [1, 1_000_000_000]
    assert parse_sizes("1000000000x1") == [(1_000_000_000, 1)]
    for too_big in ("1000000001", "9" * 4301, "0" * 11 + "1"):
        assert parse_shape(f"3x{too_big}") is None and parse_batches(too_big) is None
        assert parse_sizes(f"{too_big}x1") is None
    assert parse_shape("3x0x8") is None and parse_batches("0") is None and parse_shape("3x²x8") is None


def test_a_spec_path_is_a_file_whatever_its_name_holds(tmp_path):
    from paramcalc.engine.specs import SpecPath, as_spec

    named = HEAD + "layers: [relu]\n"  # a file's name may hold line breaks: this one is a whole spec
    with pytest.raises(paramcalc.SpecError, match="no such file"):
        as_spec(SpecPath(str(tmp_path / named)))
    assert paramcalc.analyze(named).name == "t"  # from Python, text with a line break is still YAML text
    pytest.importorskip("torch") if os.environ.get("PARAMCALC_REQUIRE_TORCH") != "1" else None
    spec = tmp_path / named.replace("name: t", "name: from_the_name")
    spec.write_text(HEAD.replace("name: t", "name: from_the_file") + "layers: [relu, relu]\n")
    result = invoke("export", str(spec))  # export read the file's name as the spec
    assert result.exit_code == 0, result.output
    assert ast.get_docstring(ast.parse(result.stdout)).startswith("from_the_file, written by `paramcalc export`")
    assert "2 layers agree with PyTorch" in invoke("verify", str(spec)).stdout


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_baseline_is_an_error_not_a_pass(blank, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "layers: [relu]\n")
    result = invoke("check", str(spec), "--baseline", blank)
    assert result.exit_code == 2 and "--baseline: is empty" in result.output


def test_writing_into_a_missing_folder_is_bad_input(tmp_path):
    spec = ROOT / "specs" / "examples" / "stack_3x3.yaml"
    result = invoke("show", str(spec), "--export", str(tmp_path / "missing" / "t.svg"))
    assert result.exit_code == 2 and "the folder of" in result.output and "does not exist" in result.output
    pytest.importorskip("torch") if os.environ.get("PARAMCALC_REQUIRE_TORCH") != "1" else None
    result = invoke("export", str(spec), "-o", str(tmp_path / "missing" / "m.py"))
    assert result.exit_code == 2 and "cannot write the file: No such file or directory" in result.stderr


def test_export_never_overwrites_the_spec_it_reads(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "layers: [relu]\n")
    result = invoke("export", str(spec), "-o", str(spec))
    assert result.exit_code == 2 and "-o names the spec itself" in result.stderr
    assert spec.read_text() == HEAD + "layers: [relu]\n"


def test_a_full_disk_is_bad_input():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    from paramcalc.cli import write_file

    with pytest.raises(paramcalc.SpecError, match="cannot write the file: No space left on device"):
        write_file("/dev/full", "text")


# --- YAML's other traps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    (HEAD + "layers:\n  - conv2d: {<<: {out: 4}, kernel: 1}\n", "YAML merge keys ('<<') are not supported"),
    (HEAD + "!!python/name:os.system out: 4\nlayers: [relu]\n", "YAML tag '!!python/name:os.system'"),
    (HEAD + "? [1, 2]\n: 3\nlayers: [relu]\n", "a mapping key must be a plain name, not a list"),
    (HEAD + "vars: {a: *nowhere}\nlayers: [relu]\n", "names no anchor above it"),
    (HEAD + "layers: [relu]\n---\nname: u\n", "a second YAML document"),
    ("name: \ud800\ninput: [3]\nlayers: [relu]\n", "U+D800, a lone surrogate"),
])
def test_yaml_traps_are_refused_where_they_stand(text, message):
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(text)
    assert message in str(caught.value)
    assert re.match(r"<string>:\d+:\d+: ", str(caught.value))


@pytest.mark.parametrize("option, value, says", [
    ("--depth", "9" * 5000, "'" + "9" * 60 + "…' is not a number of levels; it is a whole number from 1 to 1,000,000,000"),
    ("--depth", "0", "'0' is not a number of levels"),
    ("--max-params", "9" * 5000, "'" + "9" * 60 + "…' is not an amount: "),
    ("--max-increase", "9" * 5000 + "%", "'" + "9" * 60 + "…' is not a percentage like 5%"),
])
def test_a_huge_option_value_is_refused_without_being_echoed_whole(tmp_path, option, value, says):
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "layers: [relu]\n")
    command = "show" if option == "--depth" else "check"
    extra = ["--baseline", str(spec)] if option == "--max-increase" else []
    result = invoke(command, str(spec), option, value, *extra)
    assert result.exit_code == 2 and says in result.output, result.output
    assert len(result.output) < 1000


@pytest.mark.parametrize("written, hint", [
    ('"010"', "write 10 rather than 010 (0o10 for octal)"),
    ('"2 * 09"', "write 9 rather than 09"),
])
def test_a_leading_zero_in_an_expression_is_named_as_written(written, hint):
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(HEAD + f"layers: [{{conv2d: {{out: {written}, kernel: 1}}}}]\n")
    assert "has a number with a leading zero" in str(caught.value) and f"hint: {hint}" in str(caught.value)


def test_verify_refuses_an_exported_module_that_is_not_a_regular_file(tmp_path):
    pytest.importorskip("torch")
    fifo = tmp_path / "m.py"
    os.mkfifo(fifo)  # importing it would wait for a writer forever
    result = invoke("verify", str(fifo))
    assert result.exit_code == 2 and "this is not a regular file" in result.output
