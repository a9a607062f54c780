"""--export: what the terminal shows, written by rich's exporters as SVG, HTML or text."""

from __future__ import annotations

import html.parser
import json
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"
SHOW = ["show", str(SPECS / "examples" / "inception_reduced.yaml")]
COMPARE = ["compare", str(SPECS / "examples" / "stack_3x3.yaml"), str(SPECS / "examples" / "conv_5x5.yaml")]


def run(arguments: list[str]) -> str:
    result = CliRunner().invoke(main, arguments, env={"COLUMNS": None, "FORCE_COLOR": None})
    assert result.exit_code == 0, result.output
    return result.output


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside, self.text = False, []

    def handle_starttag(self, tag, attrs):
        self.inside = self.inside or tag == "pre"

    def handle_endtag(self, tag):
        self.inside = self.inside and tag != "pre"

    def handle_data(self, data):
        if self.inside:
            self.text.append(data)


@pytest.mark.parametrize("arguments", [SHOW, COMPARE])
def test_text_and_html_hold_exactly_the_terminal_output(arguments, tmp_path):
    shown = run(arguments)
    text_file, html_file = tmp_path / "out.txt", tmp_path / "out.html"
    assert run([*arguments, "--export", str(text_file)]) == shown
    assert text_file.read_text() == shown
    run([*arguments, "--export", str(html_file)])
    parser = _Text()
    parser.feed(html_file.read_text())
    assert [line.rstrip() for line in "".join(parser.text).splitlines()] == shown.splitlines()


def test_svg_is_a_picture_of_the_table(tmp_path):
    picture = tmp_path / "out.svg"
    run([*SHOW, "--export", str(picture)])
    root = ElementTree.parse(picture).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    words = "".join(element.text or "" for element in root.iter() if element.tag.endswith("text"))
    # GoogLeNet's inception (3a) on 192x28x28, by hand: 1x1 192->64, 1x1 192->96 then 3x3 96->128, 1x1 192->16
    # then 5x5 16->32, pool then 1x1 192->32, each conv with its bias; 64 + 128 + 32 + 32 = 256 channels out
    params = (192 * 64 + 64) + (192 * 96 + 96 + 9 * 96 * 128 + 128) + (192 * 16 + 16 + 25 * 16 * 32 + 32) \
        + (192 * 32 + 32)
    assert params == 163_696
    for expected in ("branch3x3", f"{params:,}", f"{64 + 128 + 32 + 32}x28x28", "Receptive"):
        assert expected.replace(" ", "\u00a0") in words.replace(" ", "\u00a0")


def test_export_needs_a_known_extension(tmp_path):
    result = CliRunner().invoke(main, [*SHOW, "--export", str(tmp_path / "out.png")])
    assert result.exit_code == 2 and "must end with .svg, .html or .txt" in result.output


@pytest.mark.parametrize("output_format", ["json", "csv", "markdown"])
@pytest.mark.parametrize("arguments", [SHOW, COMPARE], ids=["show", "compare"])
@pytest.mark.parametrize("extension", ["svg", "html", "txt"])
def test_export_is_refused_with_a_format_that_prints_no_table(arguments, output_format, extension, tmp_path):
    picture = tmp_path / f"x.{extension}"
    result = CliRunner().invoke(main, [*arguments, "--format", output_format, "--export", str(picture)])
    assert result.exit_code == 2
    assert f"--export writes the table, but --format {output_format} prints no table" in result.output
    assert not picture.exists() and not any(tmp_path.iterdir())
    assert run([*arguments, "--format", "table", "--export", str(picture)])  # the table itself is exported
    assert picture.exists()


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("spec", sorted((ROOT / "specs").rglob("*.yaml")), ids=lambda p: p.stem)
def test_json_lines_written_directly_equal_the_report_data(spec):
    from paramcalc.render.report import layer_data, to_json

    result = paramcalc.analyze(spec, batch=3, dtype="float16")
    data = json.loads(to_json(result))
    assert data["layers"] == [layer_data(r, 3, 2) for r in result.records]
    assert data == json.loads(json.dumps(result.to_dict()))
    # and the figures themselves from torchvision's measurements where it has the model: parameters, a batch
    # of 3 times its MACs, and 2 bytes (float16) per element of the output, times the batch
    reference = TORCHVISION.get(spec.stem) if spec.parent.name == "specs" else None
    if reference is not None:
        assert data["totals"]["params"] == reference["params"]
        assert data["totals"]["macs"] == 3 * reference.get("macs_conv_linear", reference.get("macs"))
        last = data["layers"][-1]
        assert last["output_bytes"] == 3 * 2 * math.prod(reference["output"][1:]), spec.stem


TORCHVISION = {**json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"],
               **json.loads((ROOT / "tests/data/torchvision_beyond.json").read_text())["models"]}
