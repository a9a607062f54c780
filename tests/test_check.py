"""`paramcalc check`: budgets from the spec, the command line and a baseline; exit statuses; CI formats."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest
from click.testing import CliRunner

from paramcalc.cli import main
from paramcalc.spec.budget import LimitError, parse_amount

# rgb_conv: 4 filters of 3x3x3 + bias = 112 params; MACs 4 * 32 * 32 * 27 = 110,592
SPEC = """\
name: rgb
input: [3, 32, 32]
layers:
  - conv2d: {out: 4, kernel: 3, padding: 1}
budget:
  params: 100
  macs: 200k
"""
PARAMS, MACS = 112, 110_592


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "rgb.yaml"
    path.write_text(SPEC)
    return str(path)


def test_exit_0_when_within_and_1_when_over(spec, tmp_path):
    over = run("check", spec)
    assert over.exit_code == 1
    assert f"params {PARAMS} is over the budget 100 by 12 (+12.00%); budget from {spec}:6" in over.output
    assert f"MACs {MACS:,} (110.59 k) is within 200,000 ({spec}:7)" in over.output
    assert over.output.splitlines()[-1] == "1 model checked, 1 over budget"
    within = tmp_path / "within.yaml"
    within.write_text(SPEC.replace("params: 100", "params: 112"))
    assert run("check", str(within)).exit_code == 0


def test_command_line_limits_with_suffixes(spec):
    relaxed = spec.replace("rgb.yaml", "relaxed.yaml")
    with open(relaxed, "w") as handle:
        handle.write(SPEC.split("budget:")[0])
    assert run("check", relaxed, "--max-params", "112", "--max-macs", "0.2M").exit_code == 0
    result = run("check", relaxed, "--max-macs", "110.5k", "--max-param-memory", "1kB")
    assert result.exit_code == 1
    assert "MACs 110,592 (110.59 k) is over the budget 110,500 by 92 (+0.08%); budget from --max-macs" in result.output
    assert "parameter memory 448 B is within 1,000 B (1.00 KB) (--max-param-memory)" in result.output


def test_exit_2_on_bad_input_and_usage(spec, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ninput: [3, 8, 8]\nlayers: [conv2]\n")
    result = run("check", str(broken))
    assert result.exit_code == 2 and "unknown layer kind 'conv2'" in result.stderr
    bad_budget = tmp_path / "bad_budget.yaml"
    bad_budget.write_text(SPEC.replace("macs: 200k", "macz: 200k"))
    result = run("check", str(bad_budget))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad_budget}:7:3: unknown budget figure 'macz'")
    assert "did you mean 'macs'" in result.stderr
    assert run("check", spec, "--max-params", "lots").exit_code == 2
    assert run("check", spec, "--max-increase", "five").exit_code == 2
    assert run("check", spec, "--format", "yaml").exit_code == 2
    assert run("check").exit_code == 2


def test_json_format(spec):
    result = run("check", spec, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["schema"] == "paramcalc.check/1" and data["ok"] is False
    model = data["models"][0]
    assert model["figures"]["params"] == PARAMS and model["figures"]["macs"] == MACS
    assert model["checks"][0] == {"figure": "params", "value": PARAMS, "limit": 100, "ok": False, "over_by": 12,
                                  "source": f"{spec}:6", "file": spec, "line": 6, "baseline": None}


def test_github_annotations_point_at_the_budget_line(spec):
    result = run("check", spec, "--format", "github")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"::error file={spec},line=6,title=paramcalc budget::rgb: params 112 is over the budget 100 by 12 "
        f"(+12.00%25); budget from {spec}:6",
        "paramcalc: 1 model checked, 1 over budget",
    ]


def test_markdown_format(spec):
    lines = run("check", spec, "--format", "markdown").output.splitlines()
    assert lines[0] == "### paramcalc budgets: 1 over budget"
    assert f"| `rgb` | params | 112 | 100 | ❌ +12 | `{spec}:6` |" in lines
    assert f"| `rgb` | MACs | 110,592 | 200,000 | ✅ | `{spec}:7` |" in lines


def test_junit_format(spec):
    root = ElementTree.fromstring(run("check", spec, "--format", "junit").output)
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    cases = root.findall("./testsuite/testcase")
    assert [case.get("name") for case in cases] == [f"params <= 100 ({spec}:6)", f"macs <= 200000 ({spec}:7)"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert "over the budget 100 by 12" in cases[0].find("failure").get("message")


def test_model_without_budget_is_noted_not_failed(tmp_path):
    path = tmp_path / "free.yaml"
    path.write_text(SPEC.split("budget:")[0])
    result = run("check", str(path))
    assert result.exit_code == 0
    assert "note: no budget" in result.output


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo)})


def test_baseline_from_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    spec = repo / "specs" / "net.yaml"
    spec.write_text(SPEC.split("budget:")[0])
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    # 4 -> 5 filters: params 112 -> 140 (+25%)
    spec.write_text(SPEC.split("budget:")[0].replace("out: 4", "out: 5"))
    grown = run("check", str(spec), "--baseline", "HEAD", "--max-increase", "10%")
    assert grown.exit_code == 1
    assert "params 140: +28 (+25.00%) against baseline HEAD, more than allowed (limit 123)" in grown.output
    assert run("check", str(spec), "--baseline", "HEAD", "--max-increase", "25%").exit_code == 0
    new = repo / "specs" / "new.yaml"
    new.write_text(SPEC.split("budget:")[0])
    fresh = run("check", str(new), "--baseline", "HEAD")
    assert fresh.exit_code == 0 and "no baseline in HEAD: a new model" in fresh.output
    bad_ref = run("check", str(spec), "--baseline", "no-such-branch")
    assert bad_ref.exit_code == 2 and "'no-such-branch' is not a git revision here" in bad_ref.stderr


def test_baseline_from_a_saved_report(spec, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(run("show", spec, "--format", "json").output)
    grown = tmp_path / "grown.yaml"
    grown.write_text(SPEC.split("budget:")[0].replace("out: 4", "out: 8"))
    result = run("check", str(grown), "--baseline", str(report), "--format", "json")
    assert result.exit_code == 1
    checks = {c["figure"]: c for c in json.loads(result.output)["models"][0]["checks"]}
    assert checks["params"]["baseline"] == PARAMS and checks["params"]["value"] == 8 * 28
    saved = tmp_path / "check.json"
    saved.write_text(run("check", str(grown), "--format", "json").output)
    assert run("check", str(grown), "--baseline", str(saved)).exit_code == 0
    missing = run("check", spec, "--baseline", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


@pytest.mark.parametrize("text, unit, value", [
    ("25M", "count", 25_000_000), ("4.1G", "count", 4_100_000_000), ("1e6", "count", 1_000_000),
    (25557032, "count", 25_557_032), ("110MB", "bytes", 110_000_000), ("2GiB", "bytes", 2 * 2**30),
    ("1.5 kB", "bytes", 1500), ("512", "bytes", 512),
])
def test_limit_amounts(text, unit, value):
    assert parse_amount(text, unit) == value


@pytest.mark.parametrize("text", ["lots", "25Q", "-5", "1e", "MB"])
def test_bad_limit_amounts(text):
    with pytest.raises(LimitError):
        parse_amount(text, "bytes")


def test_a_fractional_count_is_an_error_with_a_hint_and_bytes_keep_their_unit(spec, tmp_path):
    result = run("check", spec, "--max-params", "25.5")
    assert result.exit_code == 2
    assert "'25.5' is not a whole count (did you mean 25.5M (millions)?)" in result.output
    free = tmp_path / "free.yaml"
    free.write_text(SPEC.split("budget:")[0])
    result = run("check", str(free), "--max-param-memory", "100")  # a number without a unit is bytes
    assert "parameter memory 448 B is over the budget 100 B by 348 B (+348.00%)" in result.output
    assert run("check", str(free), "--max-params", "25.5M").exit_code == 0


BROKEN = "name: broken\ninput: [3, 8, 8]\nlayers:\n  - conv2: {out: 4}\n"


@pytest.fixture
def good_and_broken(spec, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    return spec, str(broken)


def test_a_broken_spec_is_reported_beside_the_others_in_every_format(good_and_broken):
    good, broken = good_and_broken
    for output_format in ("text", "json", "markdown", "github", "junit"):
        result = run("check", good, broken, "--format", output_format)
        assert result.exit_code == 2, output_format
        assert result.stderr.startswith(f"error: {broken}:4:5: layer '0': unknown layer kind 'conv2'")
        assert "over the budget 100 by 12" in result.stdout or output_format in ("json", "markdown", "junit")
    models = json.loads(run("check", good, broken, "--format", "json").stdout)["models"]
    assert [m["name"] for m in models] == ["rgb", "broken"] and models[0]["figures"]["params"] == PARAMS
    assert models[1]["ok"] is False and models[1]["error"]["line"] == 4 and models[1]["error"]["column"] == 5
    assert "unknown layer kind 'conv2'" in models[1]["error"]["message"]
    github = run("check", good, broken, "--format", "github").stdout.splitlines()
    assert github[1].startswith(f"::error file={broken},line=4,col=5,title=paramcalc spec error::")
    assert github[-1] == "paramcalc: 2 models checked, 1 over budget, 1 could not be checked"
    markdown = run("check", good, broken, "--format", "markdown").stdout
    assert "| `rgb` | params | 112 | 100 | ❌ +12 |" in markdown and "| `broken` | | | | ⛔ error |" in markdown
    junit = ElementTree.fromstring(run("check", good, broken, "--format", "junit").stdout)
    suites = junit.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [
        ("rgb", "2", "1", "0"), ("broken", "1", "0", "1")]
    assert "unknown layer kind 'conv2'" in suites[1].find("testcase/error").get("message")


# Jenkins's JUnit schema, junit-10.xsd (github.com/jenkinsci/xunit-plugin,
# src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd): per element, the attributes
# it requires, those it allows, and the child elements it allows.
JUNIT_10 = {
    "testsuites": (set(), {"name", "time", "tests", "failures", "errors"}, {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors"},
                  {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id",
                   "package", "file", "log", "url"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name"}, {"name", "time", "classname", "group"},
                 {"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError",
                  "system-out", "system-err"}),
    "failure": (set(), {"type", "message"}, set()),
    "error": (set(), {"type", "message"}, set()),
    "skipped": (set(), {"type", "message"}, set()),
}
SUREFIRE_TIME = r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?"


def assert_valid_junit_10(element: ElementTree.Element) -> None:
    import re

    required, allowed, children = JUNIT_10[element.tag]
    assert required <= set(element.attrib) <= allowed, (element.tag, element.attrib)
    if "time" in element.attrib and element.tag != "testcase":
        assert re.fullmatch(SUREFIRE_TIME, element.get("time")), element.get("time")
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        assert_valid_junit_10(child)


def test_junit_validates_against_jenkins_schema_with_every_count_on_every_suite(good_and_broken, tmp_path):
    good, broken = good_and_broken
    free = tmp_path / "free.yaml"
    free.write_text(SPEC.split("budget:")[0])
    text = run("check", good, broken, str(free), "--format", "junit").stdout
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ElementTree.fromstring(text)
    assert_valid_junit_10(root)
    for suite in root.iter("testsuite"):
        assert {"errors", "failures", "skipped", "tests", "time"} <= set(suite.attrib)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    assert root.findall("testsuite")[2].find("testcase/skipped") is not None  # a spec without a budget


def test_a_baseline_comparison_says_each_moved_figure_once(tmp_path):
    # A classifier of 1000 -> 1200 classes: params, MACs, FLOPs and both memories move, trainable is params
    base = "name: head\ninput: [512]\nlayers:\n  - {name: fc, linear: 1000}\n"
    spec = tmp_path / "head.yaml"
    spec.write_text(base)
    report = tmp_path / "base.json"
    report.write_text(run("show", str(spec), "--format", "json").stdout)
    spec.write_text(base.replace("1000", "1200"))
    lines = run("check", str(spec), "--baseline", str(report)).stdout.splitlines()
    figures = [line.split()[1] for line in lines if line.startswith("     ✗")]
    assert figures == ["params", "MACs", "FLOPs", "parameter", "activation"]
    # 512 x 200 + 200 more parameters: +102,600 of 513,000 = +20.00%
    assert "params 615,600 (615.60 k): +102,600 (+20.00%) against" in lines[1]
    assert not any("trainable" in line for line in lines)
    # a change that rounds to 0.00 % still reads as a change: 64 more output values (256 bytes) of 64 million
    wide = "name: wide\ninput: [3, 1000, 1000]\nlayers:\n  - {name: conv, conv2d: {out: 64, kernel: 1}}\n"
    spec.write_text(wide)
    report.write_text(run("show", str(spec), "--format", "json").stdout)
    spec.write_text(wide + "  - {name: gap, global_avgpool}\n")
    text = run("check", str(spec), "--baseline", str(report)).stdout
    assert "activation memory 256,000,256 B (256.00 MB): +256 B (+0.00010%) against" in text
    assert "+0.00%" not in text


def test_junit_is_well_formed_whatever_characters_a_spec_or_a_file_name_holds(spec, tmp_path):
    control = tmp_path / "control.yaml"
    control.write_text('name: "a\\x01b"\ninput: [3]\nlayers:\n  - {name: fc, linear: 3}\n')
    strange = tmp_path / "b\x01\x1b\ufffe.yaml"
    strange.write_text(BROKEN)
    named = tmp_path / "rgb\x02.yaml"
    named.write_text(SPEC)
    result = run("check", str(control), str(strange), str(named), "--max-params", "1", "--format", "junit")
    assert result.exit_code == 2
    root = ElementTree.fromstring(result.stdout)  # was: not well-formed (invalid token)
    assert_valid_junit_10(root)
    suites = root.findall("testsuite")
    assert [suite.get("file") for suite in suites] == [
        str(control), str(tmp_path / "b\\x01\\x1b\\ufffe.yaml"), str(tmp_path / "rgb\\x02.yaml")]
    assert "'name' holds the unprintable character U+0001 ('\\x01')" in suites[0].find("testcase/error").get("message")
    assert suites[1].find("testcase/error").text.startswith(f"{tmp_path}/b\\x01\\x1b\\ufffe.yaml:4:5: layer '0'")
    assert [suite.get("name") for suite in suites] == ["control", "b\\x01\\x1b\\ufffe", "rgb"]


def test_junit_writes_what_xml_cannot_hold_as_escapes():
    from paramcalc.engine.checking import ModelCheck
    from paramcalc.errors import SpecError
    from paramcalc.render.checks import to_junit

    error = SpecError("unknown layer kind 'a\x00\x01\ud800'", file="x\x0b.yaml", hint="h\x1b")
    root = ElementTree.fromstring(to_junit([ModelCheck("x\x0b.yaml", "x\x0b\uffff", {}, error=error)]))
    suite = root.find("testsuite")
    assert (suite.get("name"), suite.get("file")) == ("x\\x0b\\uffff", "x\\x0b.yaml")
    assert suite.find("testcase/error").get("message") == "unknown layer kind 'a\\x00\\x01\\ud800'"
    assert suite.find("testcase/error").text == "x\\x0b.yaml: unknown layer kind 'a\\x00\\x01\\ud800'\n  hint: h\\x1b"


def test_the_text_report_shows_a_file_name_s_control_characters_escaped(tmp_path):
    named = tmp_path / "rgb\x1b[2J.yaml"
    named.write_text(SPEC)
    result = run("check", str(named))
    assert result.exit_code == 1 and "\x1b" not in result.output
    assert f"OVER rgb ({tmp_path}/rgb\\x1b[2J.yaml)" in result.output
