"""How tables are fitted to a width (paramcalc/render/grid.py): nothing is cut that fits, paired columns go
together, notes wrap rather than end with '…', and every line is measured in terminal cells."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from paramcalc.cli import main
from paramcalc.render.grid import Column, Grid, plain, wrapped

LONG_NAME = "a_rather_long_layer_name_that_is_about_fifty_chars"
WIDE_NAME = "神经网络" * 15  # 60 characters, 120 cells


def output(*arguments: str, width: int | None) -> list[str]:
    result = CliRunner().invoke(main, list(arguments), env={"COLUMNS": str(width) if width else None})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def spec(tmp_path, name: str = "small", layer: str = "conv") -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: {name}\ninput: [3, 32, 32]\nlayers:\n  - {{name: {layer}, conv2d: {{out: 8, kernel: 3}}}}\n"
                    "  - relu\n")
    return str(path)


@pytest.mark.parametrize("width", [120, 200, None])
def test_a_long_layer_name_is_whole_when_its_row_fits(tmp_path, width):
    lines = output("show", spec(tmp_path, layer=LONG_NAME), width=width)
    assert any(line.startswith(LONG_NAME + " ") for line in lines)
    assert "…" not in "\n".join(lines)


def test_a_long_layer_name_is_whole_in_an_export_and_cut_only_to_fit_80_columns(tmp_path):
    output("show", spec(tmp_path, layer=LONG_NAME), "--export", str(tmp_path / "x.txt"), width=120)
    assert LONG_NAME + " " in (tmp_path / "x.txt").read_text()
    narrow = output("show", spec(tmp_path, layer=LONG_NAME), width=80)
    assert max(map(cell_len, narrow)) <= 80 and LONG_NAME not in "\n".join(narrow)


def test_compare_keeps_kinds_whole_and_drops_the_params_of_both_models_together():
    arguments = ("compare", "--layers", "specs/inception_v3.yaml", "specs/googlenet.yaml")
    for width in (120, 200, None):
        lines = output(*arguments, width=width)
        assert "…" not in "\n".join(lines)
        header = next(line for line in lines if line.startswith("Layer "))
        assert ("Params A" in header) == ("Params B" in header), (width, header)
        assert ("Params A" in header) == (width != 120), (width, header)  # 2 columns short of fitting at 120
    assert "inception_a → inception " in "\n".join(output(*arguments, width=120))


def test_the_totals_notes_wrap_rather_than_being_cut():
    whole = output("show", "specs/fcn_resnet101.yaml", width=None)
    reason = next(line for line in whole if line.startswith("Receptive field"))
    assert len(reason) > 120
    lines = output("show", "specs/fcn_resnet101.yaml", width=120)
    assert max(map(cell_len, lines)) <= 120 and "…" not in "\n".join(lines)
    start = next(index for index, line in enumerate(lines) if line.startswith("Receptive field"))
    continued = [lines[start]] + [line.strip() for line in lines[start + 1:] if line.startswith(" " * 17)]
    assert len(continued) > 1 and " ".join(continued) == reason


@pytest.mark.parametrize("width", [80, 120])
def test_wide_characters_are_measured_in_cells(tmp_path, width):
    lines = output("show", spec(tmp_path, name=WIDE_NAME), width=width)
    assert max(map(cell_len, lines)) <= width
    assert "".join(lines[:2]).startswith(WIDE_NAME)  # the title goes on over a second line, whole
    compared = output("compare", "--layers", "specs/vgg11.yaml", spec(tmp_path, name=WIDE_NAME), width=width)
    assert max(map(cell_len, compared)) <= width


@pytest.mark.parametrize("arguments", [
    ["show", "specs/densenet121.yaml"],
    ["compare", "--layers", "specs/inception_v3.yaml", "specs/googlenet.yaml"],
    ["compare", "--layers", "specs/mobilenet_v2.yaml", "specs/efficientnet_b3.yaml"],
    ["compare", "--layers", "specs/densenet121.yaml", "specs/densenet201.yaml"],
    ["compare", "--layers", "specs/swin_s.yaml", "specs/vit_b_32.yaml"],
])
@pytest.mark.parametrize("width", [80, 120])
def test_every_line_fits_in_cells(arguments, width):
    assert max(map(cell_len, output(*arguments, width=width))) <= width


def grid_of(*rows: tuple[str, ...], columns: list[Column]) -> Grid:
    grid = Grid(columns, header=False)
    for row in rows:
        grid.add(*row)
    return grid


def test_max_width_cuts_only_what_does_not_fit():
    grid = grid_of(("x" * 30, "12"), columns=[Column("", max_width=10, min_width=4), Column("", right=True)])
    assert plain(grid.lines()) == "x" * 30 + "  12"
    assert plain(grid.lines(34)) == "x" * 30 + "  12"
    assert plain(grid.lines(30)) == "x" * 25 + "…  12"  # as far as need be, not down to max_width
    assert plain(grid.lines(12)) == "x" * 7 + "…  12"  # past max_width, towards min_width
    assert plain(grid.lines(5)) == "xxx…  12"


def test_columns_of_the_same_drop_number_go_together():
    columns = [Column("name"), Column("A", drop=1), Column("B", drop=1), Column("bar", drop=2)]
    grid = Grid(columns)
    grid.add("n", "1234", "5678", "#####")
    assert plain(grid.lines(30)).splitlines()[0].split() == ["name", "A", "B", "bar"]
    assert plain(grid.lines(16)).splitlines()[0].split() == ["name", "A", "B"]
    assert plain(grid.lines(15)).splitlines()[0].split() == ["name"]


def test_wide_cells_are_cut_and_padded_in_cells():
    grid = grid_of(("漢字漢字漢字", "1"), ("ab", "22"), columns=[Column("", min_width=3), Column("", right=True)])
    assert plain(grid.lines()).splitlines() == ["漢字漢字漢字   1", "ab            22"]
    assert [cell_len(line) for line in plain(grid.lines(10)).splitlines()] == [10, 10]
    assert plain(grid.lines(10)).splitlines()[0] == "漢字 …   1"  # half a character would not fit: a space


def test_a_wrapping_column_goes_on_below_itself():
    grid = grid_of(("Params", "51.95 M   trainable 51,949,141 · frozen 0"), ("Output", "21x520x520"),
                   columns=[Column(""), Column("", min_width=10, wrap=True)])
    assert plain(grid.lines(30)).splitlines() == [
        "Params  51.95 M   trainable",
        "        51,949,141 · frozen 0",
        "Output  21x520x520",
    ]


def test_wrapped_breaks_between_words_and_inside_a_word_longer_than_a_line():
    assert wrapped("one two three", None) == ["one two three"]
    assert wrapped("one two three", 7) == ["one two", "three"]
    assert wrapped("abcdefghij kl", 4) == ["abcd", "efgh", "ij", "kl"]
    assert wrapped("漢字漢字 ab", 5) == ["漢字", "漢字", "ab"]


def test_explain_and_the_kinds_wrap_their_text_rather_than_cut_it():
    vgg16 = str(Path(__file__).resolve().parent.parent / "specs" / "vgg16.yaml")
    lines = output("explain", vgg16, "features.conv2_1", width=60)
    assert all(len(line) <= 60 for line in lines) and not any("…" in line for line in lines)
    start = next(index for index, line in enumerate(lines) if line.startswith("RF"))
    assert " ".join(line[2:].strip() for line in lines[start:]) == \
        "size 6 + (3 - 1)·2 = 10, stride 2·1 = 2, padding 2 + 1·2 = 4"
    kinds = output("layers", "conv2d", width=60)
    assert all(len(line) <= 60 for line in kinds) and not any("…" in line for line in kinds)
