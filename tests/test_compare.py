"""`paramcalc compare`: figures side by side, the layer alignment, and every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main
from paramcalc.engine.compare import align_layers

SPECS = Path(__file__).resolve().parent.parent / "specs"
STACK, SINGLE = str(SPECS / "examples" / "stack_3x3.yaml"), str(SPECS / "examples" / "conv_5x5.yaml")


def run(*args: str):
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "120"})
    assert "Traceback" not in result.output
    return result


def rows(output: str) -> dict[str, str]:
    return {line.split("  ")[0]: line for line in output.splitlines() if line and not line.startswith(" ")}


def test_two_3x3_against_one_5x5_reads_at_a_glance():
    result = run("compare", STACK, SINGLE)
    assert result.exit_code == 0
    table = rows(result.output)
    assert table["params"].split() == ["params", "294,912", "409,600", "+114,688", "·", "1.39x"]
    assert table["receptive field"].split() == ["receptive", "field", "5", "5", "same"]
    assert table["MACs"].split()[1:3] == [f"{3 * 3 * 128 * 128 * 2 * 56 * 56:,}", f"{5 * 5 * 128 * 128 * 56 * 56:,}"]
    assert table["output shape"].split()[2:] == ["128x56x56", "128x56x56", "same"]


def test_tables_fit_120_columns():
    for args in ([STACK, SINGLE, "--layers"],
                 [str(SPECS / "examples" / "inception_naive.yaml"), str(SPECS / "examples" / "inception_reduced.yaml"),
                  "--layers"],
                 [str(SPECS / "resnet50.yaml"), str(SPECS / "resnet101.yaml"), "--layers", "--depth", "2"],
                 [str(SPECS / "resnet50.yaml"), str(SPECS / "resnet101.yaml"), str(SPECS / "resnet152.yaml")]):
        output = run("compare", *args).output
        assert max(len(line) for line in output.splitlines()) <= 120, args


def test_layers_align_by_name_then_position():
    first = paramcalc.analyze(SPECS / "resnet50.yaml").records
    second = paramcalc.analyze(SPECS / "resnet101.yaml").records
    pairs = align_layers([r for r in first if r.depth < 2], [r for r in second if r.depth < 2])
    by_name = {pair.name: pair.status for pair in pairs}
    assert by_name["layer3.5"] == "same"
    assert by_name["layer3.6"] == "only second" and by_name["layer3.22"] == "only second"
    assert by_name["layer3"] == "changed"
    assert by_name["fc"] == "same"
    assert [pair.name for pair in pairs][-3:] == ["avgpool", "flatten", "fc"]
    # names that do not match pair by position: stack_3x3's conv1 with conv_5x5's only layer, 'conv'
    stack = paramcalc.analyze(STACK).records
    single = paramcalc.analyze(SINGLE).records
    assert [(p.name, p.status) for p in align_layers(stack, single)] == [
        ("conv1 / conv", "changed"), ("1", "only first"), ("conv2", "only first")]


def test_layers_changed_only():
    output = run("compare", str(SPECS / "resnet50.yaml"), str(SPECS / "resnet101.yaml"), "--layers", "--depth", "2",
                 "--changed").output
    names = [line.split()[0] for line in output.splitlines()[12:] if line.strip() and not line.startswith(("─", "A ="))]
    assert "layer1" not in names and "layer3" in names and "22" in names


def test_json_csv_markdown():
    data = json.loads(run("compare", STACK, SINGLE, "--format", "json").output)
    assert data["schema"] == "paramcalc.compare/1"
    assert "bias not counted" in data["conventions"]["macs"]
    params = next(f for f in data["figures"] if f["figure"] == "params")
    assert params["values"] == [294_912, 409_600]
    assert params["differences"] == [0, 114_688]
    assert params["ratios"][1] == 409_600 / 294_912
    assert [m["spec"] for m in data["models"]] == [STACK, SINGLE]
    table = list(csv.reader(io.StringIO(run("compare", STACK, SINGLE, "--format", "csv").output)))
    assert table[0] == ["figure", "stack_3x3", "conv_5x5"]
    assert ["params", "294912", "409600"] in table
    markdown = run("compare", STACK, SINGLE, "--format", "markdown").output
    assert "| params | 294,912 | 409,600 | +114,688 · 1.39x |" in markdown
    layers = json.loads(run("compare", STACK, SINGLE, "--layers", "--format", "json").output)["layers"]
    assert [(layer["name"], layer["status"]) for layer in layers] == [
        ("conv1 / conv", "changed"), ("1", "only first"), ("conv2", "only first")]
    assert layers[0]["first"]["params"] == 3 * 3 * 128 * 128 and layers[0]["second"]["params"] == 5 * 5 * 128 * 128


def test_usage_errors():
    assert run("compare", STACK, "--layers").exit_code == 2
    assert run("compare").exit_code == 2


def test_layers_pair_only_at_the_same_level_under_the_same_parent():
    # B's body has two more layers, and B pools with 'gap' where A has 'pool': A's pool pairs with B's gap (the
    # same level, by position), never with B's body.2
    body = "  - name: body\n    layers: [{conv2d: {out: 8, kernel: 3, padding: 1}}, relu{extra}]\n"
    a = paramcalc.analyze("name: a\ninput: [8, 16, 16]\nlayers:\n" + body.replace("{extra}", "")
                          + "  - {name: pool, global_avgpool}\n  - {name: fc, linear: 10}\n")
    b = paramcalc.analyze("name: b\ninput: [8, 16, 16]\nlayers:\n"
                          + body.replace("{extra}", ", {conv2d: {out: 8, kernel: 1}}, relu")
                          + "  - {name: gap, global_avgpool}\n  - {name: fc, linear: 10}\n")
    pairs = [(pair.name, pair.status) for pair in align_layers(list(a.records), list(b.records))]
    assert pairs == [("body", "changed"), ("body.0", "same"), ("body.1", "same"), ("body.2", "only second"),
                     ("body.3", "only second"), ("pool / gap", "same"), ("fc", "same")]
    # a group with no partner takes its layers with it
    c = paramcalc.analyze("name: c\ninput: [8, 16, 16]\nlayers:\n  - {name: pool, global_avgpool}\n"
                          "  - {name: fc, linear: 10}\n")
    pairs = [(pair.name, pair.status) for pair in align_layers(list(a.records), list(c.records))]
    assert pairs == [("body", "only first"), ("body.0", "only first"), ("body.1", "only first"), ("pool", "same"),
                     ("fc", "same")]
