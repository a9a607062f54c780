"""paramcalc against PyTorch itself: build, verify, export (needs the torch extra; CI always has it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcalc.cli import main

from .conftest import require_torch

torch = require_torch()

from paramcalc.torch import build, verify  # noqa: E402
from paramcalc.torch.export import export_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").rglob("*.yaml"))
MORE = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "data" / "more_models").glob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS + MORE)
def test_every_spec_agrees_with_pytorch(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = verify(spec)
    assert result.ok, result.mismatches
    assert result.layers > 0
    assert result.totals["macs"][0] == result.totals["macs"][1]


def test_submodules_follow_the_spec_names():
    model = build(ROOT / "specs" / "resnet50.yaml")
    conv = model.get_submodule("layer3.4.conv2")
    assert isinstance(conv, torch.nn.Conv2d)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (256, 256, (3, 3))
    assert isinstance(model.get_submodule("layer2.0.downsample.0"), torch.nn.Conv2d)
    with torch.no_grad():
        assert model(model.example_input()).shape == (1, 1000)


def test_build_from_text_and_frozen_layers():
    model = build("name: t\ninput: [3, 8, 8]\nlayers:\n  - {name: stem, frozen: true, conv2d: {out: 4, kernel: 3}}\n"
                  "  - {name: head, conv2d: {out: 2, kernel: 1}}\n")
    assert not any(p.requires_grad for p in model.get_submodule("stem").parameters())
    assert all(p.requires_grad for p in model.get_submodule("head").parameters())


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("spec", ["specs/resnet18.yaml", "specs/googlenet.yaml", "specs/examples/stride_padding.yaml",
                                  "specs/examples/blur_3x3.yaml", "tests/data/more_models/shufflenet_v2_x1_0.yaml",
                                  "specs/inception_v3.yaml"])
def test_exported_source_builds_the_same_model(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "exported.py"
    path.write_text(export_source(spec))
    module = _load(path)
    model = module.MODEL()
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in build(spec).parameters())
    assert verify(str(path)).ok
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 0 and result.output.startswith(f"ok    {path}:")


def test_verify_reports_mismatches_with_exit_1(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "edited.py"
    source = export_source("specs/examples/rgb_conv.yaml")
    path.write_text(source.replace("nn.Conv2d(3, 4,", "nn.Conv2d(3, 5,"))  # an edit that breaks the spec
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"FAIL  {path}: 5 mismatches"
    assert lines[2].split() == ["conv", "shape", "1x4x32x32", "1x5x32x32"]
    assert lines[3].split() == ["conv", "params", "112", "140"]
    assert lines[6].split() == ["(model)", "macs", "110,592", "138,240"]


def test_export_command(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    target = tmp_path / "model.py"
    result = CliRunner().invoke(main, ["export", "specs/examples/rgb_conv.yaml", "-o", str(target)])
    assert result.exit_code == 0
    assert "class RgbConv(nn.Module):" in target.read_text()
    assert "self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)" in target.read_text()
    broken = tmp_path / "broken.py"
    broken.write_text("this is not python(")
    bad = CliRunner().invoke(main, ["verify", str(broken)])
    assert bad.exit_code == 2 and "cannot run this file: SyntaxError" in bad.stderr


def test_without_torch_the_commands_say_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    result = CliRunner().invoke(main, ["verify", "specs/resnet18.yaml"])
    assert result.exit_code == 2
    assert "needs PyTorch, which is not installed" in result.stderr
    assert "pip install 'paramcalc[torch]'" in result.stderr




def test_a_concat_along_another_dimension_builds_the_same_concat():
    model = build("name: c\ninput: [2, 3, 4]\nlayers:\n  - {name: a, conv2d: {out: 2, kernel: 1}}\n"
                  "  - {name: c, concat: {dim: 3}, from: [input, a]}\n")
    with torch.no_grad():
        assert model(model.example_input()).shape == (1, 2, 3, 8)  # torch.cat along the width: 4 + 4


def test_normalisation_modules_take_the_spec_s_settings():
    model = build("name: n\ninput: [4, 6]\nlayers:\n  - {name: bn, batchnorm}\n"
                  "  - {name: gn, groupnorm: {groups: 2, eps: 0.001, affine: false}}\n"
                  "  - {name: lrn, lrn: {size: 3, alpha: 0.5, beta: 2.0, k: 3.0}}\n")
    bn, gn, lrn = (model.get_submodule(name) for name in ("bn", "gn", "lrn"))
    assert type(bn) is torch.nn.BatchNorm1d  # a C x L input
    assert (type(gn), gn.num_groups, gn.eps, gn.affine) == (torch.nn.GroupNorm, 2, 0.001, False)
    assert (type(lrn), lrn.size, lrn.alpha, lrn.beta, lrn.k) == (torch.nn.LocalResponseNorm, 3, 0.5, 2.0, 3.0)


def test_resampling_modules_take_the_spec_s_settings():
    """Each built layer's output against PyTorch's functions on the same input (a batch of one, of random values:
    the example input is zeros, which every interpolation keeps)."""
    F = torch.nn.functional
    model = build("name: r\ninput: [2, 4, 6]\nlayers:\n  - {name: up, upsample: {size: [5, 9], mode: bilinear, "
                  "align_corners: true}}\n  - {name: near, upsample: {scale: 2}, from: input}\n"
                  "  - {name: like, upsample: {mode: bicubic}, from: [input, up]}\n"
                  "  - {name: un, pixel_unshuffle: 2, from: input}\n  - {name: square, upsample: {size: 7}, from: input}\n")
    x = torch.rand(model.example_input().shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        up = F.interpolate(x, size=(5, 9), mode="bilinear", align_corners=True)
        expected = {"up": up, "near": F.interpolate(x, scale_factor=2), "un": F.pixel_unshuffle(x, 2),
                    "like": F.interpolate(x, size=(5, 9), mode="bicubic", align_corners=False),
                    "square": F.interpolate(x, size=(7, 7))}
        outputs = {}
        for name in expected:
            model.get_submodule(name).register_forward_hook(
                lambda module, args, output, name=name: outputs.__setitem__(name, output))
        model(x)
    for name, value in expected.items():
        assert outputs[name].shape == value.shape and torch.allclose(outputs[name], value), name


def test_window_attention_without_biases_builds_projections_without_them():
    model = build("name: w\ninput: [4, 4, 8]\nlayers:\n  - {name: w, window_attention: {heads: 2, window_size: 2, "
                  "bias: false}}\n")
    assert all(not name.endswith("bias") or "relative" in name for name, _ in model.named_parameters())
    assert sum(p.numel() for p in model.parameters()) == 4 * 8 * 8 + (2 * 2 - 1) ** 2 * 2  # as paramcalc counts


def test_a_patch_embedding_without_bias_builds_a_projection_without_one():
    model = build("name: p\ninput: [3, 8, 8]\nlayers:\n  - {name: p, patch_embed: {patch: 4, out: 8, bias: false}}\n")
    assert sum(p.numel() for p in model.parameters()) == 3 * 16 * 8


def test_a_plain_recurrent_layer_takes_its_nonlinearity():
    model = build("name: r\ninput: [5, 4]\nlayers:\n  - {name: r, rnn: {hidden: 3, nonlinearity: relu}}\n")
    assert model.get_submodule("r").rnn.nonlinearity == "relu"
