"""Hostile specs: code injection through export, numbers and aliases that never finish, reads that never end.

Each reproducer once ran for minutes, filled the memory, exited 70 or ran a command; now each is refused
with one message (exit 2) in bounded memory, or (YAML's numbers) read as YAML means it.
"""

from __future__ import annotations

import ast
import os
import re
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

from .fuzzing import HOSTILE_NAMES, check_export, hostile_name
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
