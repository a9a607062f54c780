"""`paramcalc show`, `paramcalc layers`, --version and --help."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m")


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def rows(output: str) -> dict[str, list[str]]:
    """Table rows keyed by their first cell."""
    table = {}
    for line in output.splitlines():
        cells = line.split()
        if cells:
            table.setdefault(cells[0], cells)
    return table


def test_show_table_rows_and_totals():
    result = run("show", str(SPECS / "vgg16.yaml"))
    assert result.exit_code == 0
    table = rows(result.output)
    assert table["fc6"][:5] == ["fc6", "linear", "4096", "102.76", "M"]
    assert table["conv1_1"][:5] == ["conv1_1", "conv2d", "64x224x224", "1.79", "k"]
    assert table["pool5"][-1] == "212"
    assert "138.36 M  (138,357,544)" in result.output
    assert "15.47 G  (15,470,264,320)" in result.output
    assert "553.43 MB" in result.output  # 138,357,544 params x 4 bytes
    assert "212" in table["pool5"]


@pytest.mark.parametrize("spec", sorted(str(p.relative_to(SPECS)) for p in SPECS.rglob("*.yaml")))
def test_every_bundled_spec_shows_cleanly(spec):
    result = run("show", str(SPECS / spec))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_show_depth_collapses_blocks_into_summed_rows():
    result = run("show", str(SPECS / "resnet50.yaml"), "--depth", "1")
    table = rows(result.output)
    assert "conv1" in table and "layer3" in table
    assert "layer3.0" not in result.output and "conv2" not in table
    assert table["layer3"][1:4] == ["bottleneck", "×6", "1024x14x14"]
    assert table["layer3"][4:6] == ["7.10", "M"]  # 7,098,368 parameters in the stage


def test_show_input_batch_and_flops():
    result = run("show", str(SPECS / "resnet18.yaml"), "--input", "3x299x299", "--batch", "2",
                 "--metric", "flops", "--exact", "--format", "table")
    assert result.exit_code == 0
    assert "input 3x299x299  ·  batch 2" in result.output
    assert "FLOPs" in result.output.splitlines()[1]
    assert rows(result.output)["layer4"][1:4] == ["basic_block", "×2", "512x10x10"]


def test_show_json_has_exact_integers_and_every_layer():
    result = run("show", str(SPECS / "resnet50.yaml"), "--format", "json")
    data = json.loads(result.output)
    assert data["schema"] == "paramcalc.report/1"
    assert data["totals"]["params"] == 25_557_032
    assert data["totals"]["macs"] == 4_089_184_256
    assert data["totals"]["buffers"] == 53_120
    assert data["totals"]["output"] == [1, 1000]
    names = [layer["name"] for layer in data["layers"]]
    assert names[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    conv = data["layers"][names.index("layer4.2.conv3")]
    assert conv["shape"] == [1, 2048, 7, 7]
    assert conv["params"] == 512 * 2048
    assert conv["receptive_field"]["size"] == [427, 427]
    assert conv["output_bytes"] == 2048 * 7 * 7 * 4


def test_json_totals_are_worked_out_by_hand():
    # VGG-16's FLOPs worked out from torchvision's layers (tests/test_readme_figures.py: 2 per MAC + biases +
    # ReLUs + pools), times the batch of 3; one line per layer: the features group, its 13 convs, 13 ReLUs
    # and 5 pools, avgpool, flatten, the classifier group and its 3 linear layers, 2 ReLUs and 2 dropouts
    from .test_readme_figures import VGG16, vgg16_by_hand

    path = SPECS / "vgg16.yaml"
    data = json.loads(run("show", str(path), "--format", "json", "--batch", "3").output)
    by_hand = vgg16_by_hand()
    assert data["totals"]["flops"] == 3 * by_hand["flops"] == 3 * 30_972_257_256
    assert data["totals"]["macs"] == 3 * VGG16["macs_conv_linear"]
    assert data["totals"]["params"] == VGG16["params"]
    assert len(data["layers"]) == 1 + 13 + 13 + 5 + 2 + 1 + 3 + 2 + 2


def test_piped_output_is_plain_and_no_color_is_honoured():
    plain = run("show", str(SPECS / "alexnet.yaml"))
    assert "\x1b[" not in plain.output
    forced = run("show", str(SPECS / "alexnet.yaml"), env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert COLOUR.search(forced.output)
    no_color = run("show", str(SPECS / "alexnet.yaml"), env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not COLOUR.search(no_color.output)


def test_version_and_help_with_examples():
    assert run("--version").output.strip() == f"paramcalc, version {paramcalc.__version__}"
    for command in ([], ["show"], ["layers"]):
        help_text = run(*command, "--help").output
        assert "Example" in help_text and "paramcalc " in help_text


def test_layers_lists_every_kind_with_its_formula():
    output = run("layers").output
    for kind in ("conv2d", "maxpool", "adaptive_avgpool", "linear", "batchnorm", "hardswish", "channel_split"):
        assert kind in output
    assert "2·MACs + (bias ? out·H_out·W_out : 0)" in output


def test_show_csv_has_one_row_per_layer_with_exact_integers():
    import csv
    import io

    output = run("show", str(SPECS / "resnet18.yaml"), "--format", "csv").output
    table = list(csv.DictReader(io.StringIO(output)))
    # one row per layer: conv1, bn1, relu, maxpool; 4 stages, each a row, 2 blocks a row each with 7 layers
    # (conv1, bn1, relu1, conv2, bn2, add, relu2); the downsample group and its conv and bn in the first block
    # of stages 2 to 4; avgpool, flatten, fc
    assert len(table) == 4 + 4 * (1 + 2 * (1 + 7)) + 3 * 3 + 3 == 84
    fc = next(row for row in table if row["name"] == "fc")
    assert (fc["params"], fc["macs"], fc["shape"]) == (str(512 * 1000 + 1000), str(512 * 1000), "1x1000")
    stage = next(row for row in table if row["name"] == "layer1")
    assert stage["kind"] == "basic_block ×2" and stage["group"] == "True"
    assert stage["rf_height"] == "43" and stage["rf_stride_height"] == "4"


def test_show_markdown():
    output = run("show", str(SPECS / "examples" / "rgb_conv.yaml"), "--format", "markdown").output
    assert "| `conv` | conv2d | 4x32x32 | 112 | 100.0 | 110.59 k | 100.0 | 3 |" in output
    assert "| params | 112 (trainable 112, frozen 0) |" in output


@pytest.mark.parametrize("arguments", [
    ["show", "specs/densenet121.yaml"], ["show", "specs/inception_v3.yaml", "--input", "3xHxW"],
    ["show", "specs/resnet50.yaml", "--input", "3xHxW", "--at", "224x224,512x512"],
    ["compare", "specs/resnet50.yaml", "specs/resnet101.yaml", "--layers", "--depth", "2"],
    ["compare", "specs/vgg11.yaml", "specs/vgg13.yaml", "specs/vgg16.yaml", "specs/vgg19.yaml"],
    ["explain", "specs/resnet50.yaml", "layer3.0.conv2"], ["layers"],
])
@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_s_width(arguments, width):
    result = CliRunner().invoke(main, arguments, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= width


def test_what_goes_first_when_a_table_does_not_fit_and_nothing_is_cut_that_fits():
    wide = CliRunner().invoke(main, ["show", "specs/densenet121.yaml"], env={"COLUMNS": "120"}).output.splitlines()
    assert wide[1].split() == ["Layer", "Kind", "Output", "Params", "%P", "MACs", "%M", "RF"] and "…" not in "".join(wide)
    narrow = CliRunner().invoke(main, ["show", "specs/densenet121.yaml"], env={"COLUMNS": "80"}).output.splitlines()
    assert narrow[1].split() == ["Layer", "Kind", "Output", "Params", "%P", "MACs", "%M"]  # the bar and RF go first
    assert not any("█" in line for line in narrow)
    assert "denseblock4" in "".join(narrow) and "…" not in "".join(narrow[:-12])  # names are whole
    tiny = CliRunner().invoke(main, ["show", "specs/densenet121.yaml"], env={"COLUMNS": "60"}).output.splitlines()
    assert tiny[1].split() == ["Layer", "Kind", "Output", "Params", "MACs"] and max(map(len, tiny)) <= 60
    piped = CliRunner().invoke(main, ["show", "specs/densenet121.yaml"], env={"COLUMNS": None}).output.splitlines()
    assert piped[1].split()[-1] == "RF"  # a pipe gets the whole table


@pytest.mark.parametrize("arguments", [["show", "specs/alexnet.yaml", "--depth", "1"],
                                       ["check", "specs/alexnet.yaml"], ["explain", "specs/alexnet.yaml", "features.conv1"],
                                       ["compare", "specs/vgg11.yaml", "specs/vgg13.yaml"], ["layers", "conv2d"]])
def test_colours_follow_force_color_and_no_color_in_every_command(arguments):
    styled = CliRunner().invoke(main, arguments, env={"FORCE_COLOR": "1", "NO_COLOR": None, "TERM": "xterm"}).output
    assert "\x1b[" in styled
    plain = CliRunner().invoke(main, arguments, env={"FORCE_COLOR": None, "NO_COLOR": None}).output
    assert "\x1b[" not in plain  # not a terminal: no codes
    dumb = CliRunner().invoke(main, arguments, env={"FORCE_COLOR": "1", "TERM": "dumb", "NO_COLOR": "1"}).output
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", dumb)  # NO_COLOR: no colours (bold and dim may stay)
