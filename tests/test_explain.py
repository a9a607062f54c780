"""`paramcalc explain`: the arithmetic behind a layer, with its own numbers (written out by hand here)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from paramcalc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"


def explain(spec: str, layer: str) -> dict[str, list[str]]:
    result = CliRunner().invoke(main, ["explain", str(SPECS / spec), layer])
    assert result.exit_code == 0, result.output
    lines: dict[str, list[str]] = {}
    for line in result.output.splitlines():
        label, _, text = line.partition("  ")
        lines.setdefault(label.strip(), []).append(text.strip())
    return lines


def test_a_convolution():
    lines = explain("vgg16.yaml", "features.conv2_1")
    assert lines["height"] == ["floor((112 + 1 + 1 - 1·(3 - 1) - 1) / 1) + 1 = 112"]
    assert lines["params"] == [f"3·3·64·128 + 128 = {3 * 3 * 64 * 128 + 128:,}"]
    assert lines["MACs"] == [f"128·112·112·64·3·3 = {128 * 112 * 112 * 64 * 3 * 3:,}"]
    assert lines["FLOPs"] == [f"2·{128 * 112 * 112 * 64 * 9:,} + 128·112·112 = "
                              f"{2 * 128 * 112 * 112 * 64 * 9 + 128 * 112 * 112:,}"]
    # VGG16 pool1 has field 6, stride 2, padding 2 (Araujo et al.); a 3x3 conv adds (3 - 1)·2
    assert lines["RF"] == ["size 6 + (3 - 1)·2 = 10, stride 2·1 = 2, padding 2 + 1·2 = 4"]


def test_a_ceil_mode_pool_and_a_linear_layer():
    pool = explain("googlenet.yaml", "maxpool1")
    assert pool["height"] == ["ceil((112 + 0 + 0 - 1·(3 - 1) - 1) / 2) + 1 = 56"]
    assert pool["FLOPs"] == [f"(3·3 - 1)·{64 * 56 * 56:,} = {8 * 64 * 56 * 56:,}"]
    fc = explain("vgg16.yaml", "classifier.fc6")
    assert fc["params"] == [f"25088·4096 + 4096 = {25088 * 4096 + 4096:,}"]


def test_a_block_sums_its_layers():
    lines = explain("resnet50.yaml", "layer3.0")
    conv1, conv2, conv3, bn = 512 * 256, 3 * 3 * 256 * 256, 256 * 1024, 2 * 256
    downsample = 512 * 1024 + 2 * 1024
    total = conv1 + bn + conv2 + bn + conv3 + 2 * 1024 + downsample
    assert lines["params"] == [f"{conv1:,} + {bn} + {conv2:,} + {bn} + {conv3:,} + 2,048 + {downsample:,} = {total:,}"]
    assert lines["downsample"] == [f"group: params {downsample:,}, MACs {512 * 1024 * 14 * 14:,}"]


def test_an_unknown_layer():
    result = CliRunner().invoke(main, ["explain", str(SPECS / "resnet50.yaml"), "layr3"])
    assert result.exit_code == 2
    assert "no layer named 'layr3'" in result.stderr and "did you mean 'layer3'" in result.stderr
