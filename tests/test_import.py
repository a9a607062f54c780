"""`paramcalc import`: specs written from PyTorch models (tests/data/torch_models.py, written by hand), checked
against the models themselves; and, where torchvision is installed, every model of the reference figures."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main
from paramcalc.engine.conventions import analyze_as
from paramcalc.engine.graph import expand
from paramcalc.engine.specs import as_spec

from .conftest import require_torch

torch = require_torch()

from paramcalc.torch.against import build_on_meta, verify_against  # noqa: E402
from paramcalc.torch.importer import import_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "data" / "torch_models.py"


def imported(name: str, shape: tuple, **options) -> str:
    return import_model(f"{MODELS}:{name}", shape, **options)


def test_a_residual_net_becomes_a_block_repeated():
    text = imported("Net", (3, 32, 32))
    spec = yaml.safe_load(text)
    assert text.startswith(f"# Imported by paramcalc from {MODELS}:Net, traced at input 3x32x32.")
    assert list(spec["blocks"]) == ["block"]  # the class Block, used twice
    assert {"name": "blocks", "repeat": 2, "block": None} in spec["layers"]
    assert [layer["name"] for layer in spec["layers"]] == ["stem", "blocks", "pool", "flatten", "fc"]  # its names
    model = build_on_meta(f"{MODELS}:Net")
    result = paramcalc.analyze(text)
    assert result.totals.params == sum(p.numel() for p in model.parameters()) == 448 + 2 * 4_672 + 170
    assert verify_against(text, f"{MODELS}:Net").ok


def test_tokens_attention_and_the_parameters_a_model_holds_itself():
    text = imported("Tokens", (3, 32, 32))
    kinds = [next(k for k in layer if k not in ("name", "from")) for layer in yaml.safe_load(text)["layers"]]
    assert kinds == ["conv2d", "flatten", "transpose", "class_token", "position_embedding", "attention", "select",
                     "linear"]
    assert verify_against(text, f"{MODELS}:Tokens").ok


def test_an_embedding_and_an_lstm():
    text = imported("Reader", (12,))
    result = paramcalc.analyze(text)
    # embedding 100·16, LSTM 4·24·(16 + 24) + 2·4·24, head 24·3 + 3
    assert result.totals.params == 1_600 + 4 * 24 * 40 + 8 * 24 + 75
    assert result.totals.macs == 12 * 4 * 24 * 40 + 72
    assert verify_against(text, f"{MODELS}:Reader").ok


def test_a_head_that_runs_only_in_training_is_train_only():
    text = imported("WithAuxiliary", (3, 10, 10))
    spec = yaml.safe_load(text)
    assert spec["output"] == "fc"
    assert {"name": "aux", "linear": 2, "from": "flatten", "train_only": True} in spec["layers"]
    assert paramcalc.analyze(text).totals.params == 3 * 9 * 8 + 8 + 8 * 2 + 2 + 8 * 4 + 4
    assert verify_against(text, f"{MODELS}:WithAuxiliary").ok


def test_x_mean_becomes_a_mean_not_a_pooling():
    """x.mean(dims) is aten::mean, which ptflops and fvcore do not count where they count F.adaptive_avg_pool2d: it
    is imported as `mean`, with its dims and keepdim as the code gives them."""
    text = imported("Means", (3, 10, 6))
    layers = {layer["name"]: layer for layer in yaml.safe_load(text)["layers"]}
    assert layers["mean"]["mean"] == {"dims": [2, 3], "keepdim": True}  # x.mean([2, 3], keepdim=True): the gate
    assert layers["mean_2"]["mean"] == [2, 3]  # x.mean([2, 3])
    assert layers["mean_3"] == {"name": "mean_3", "mean": 1, "from": "mul"}  # torch.mean(x, 1)
    assert not any(layer.get("functional") for name, layer in layers.items() if name.startswith("mean"))
    result = paramcalc.analyze(text)
    # conv 3·9·8 + 8, gate 8·8 + 8, fc (8 + 10·6)·4 + 4; each mean one FLOP per element of its 8x10x6 input
    assert result.totals.params == 224 + 72 + 276
    assert result.totals.macs == 8 * 60 * 27 + 64 + 68 * 4
    assert [result[name].flops for name in ("mean", "mean_2", "mean_3")] == [480, 480, 480]
    assert [result[name].shape for name in ("mean", "mean_2", "mean_3")] == [(8, 1, 1), (8,), (10, 6)]
    assert verify_against(text, f"{MODELS}:Means").ok
    # as measured (ptflops 0.7.5, thop 0.1.1, fvcore 0.1.5, torch 2.14.1): the means count nothing; ptflops counts the
    # convolutions and fc with their biases (13,440 + 72 + 276) and F.relu (480); fvcore and thop the MACs
    for peer, total in (("ptflops", 14_268), ("thop", 13_296), ("fvcore", 13_296)):
        assert analyze_as(text, peer)[1].total == total, peer


def test_a_mean_over_the_batch_is_refused(tmp_path):
    (tmp_path / "batch.py").write_text("from torch import nn\n\n\nclass Net(nn.Module):\n"
                                       "    def forward(self, x):\n        return x.mean([0, 2]) + x.mean()\n")
    with pytest.raises(paramcalc.SpecError) as caught:
        import_model(f"{tmp_path / 'batch.py'}:Net", (3, 4, 4))
    assert "mean over dimensions [0, 2], the batch (dimension 0) among them" in str(caught.value)
    assert "a mean over every dimension, the batch's too" in str(caught.value)


ODD = '''\
import torch
from torch import nn


class Fancy(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return torch.fft.rfft(x, dim=-1).abs()


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fancy = Fancy()
        self.fc = nn.Linear(8 * 6 * 4, 2)

    def forward(self, x):
        x = torch.erf(self.fancy(self.conv(x)))
        return self.fc(x.flatten(1))
'''


def test_what_paramcalc_cannot_read_stops_the_import_with_every_part_and_its_line(tmp_path):
    (tmp_path / "odd.py").write_text(ODD)
    result = CliRunner().invoke(main, ["import", f"{tmp_path / 'odd.py'}:Odd", "--input", "3x8x8"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "paramcalc has no layer kind for 3 part(s)" in result.output
    assert "odd.py:11: fft_rfft: no layer kind" in result.output
    assert "odd.py:11: abs: no layer kind" in result.output
    assert "odd.py:22: erf: no layer kind" in result.output
    assert "--custom NAME" in result.output


def test_custom_writes_a_placeholder_with_the_parameters_and_the_shape(tmp_path):
    (tmp_path / "odd.py").write_text(ODD)
    out = tmp_path / "odd.yaml"
    result = CliRunner().invoke(main, ["import", f"{tmp_path / 'odd.py'}:Odd", "--input", "3x8x8", "--custom",
                                       "Fancy", "--custom", "erf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "- {name: fancy, custom: {out: [8, 6, 4], params: 8, macs: 0}}  # fill in the MACs" in text
    assert "- {name: erf, custom: {out: [8, 6, 4], macs: 0}}  # fill in the MACs" in text
    # conv 3·9·8 + 8 = 224, Fancy's own 8, fc 192·2 + 2 = 386
    assert paramcalc.analyze(out).totals.params == 224 + 8 + 386


CALLS = '''\
from torch import nn
from torch.nn import functional as F


class Unit(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


class Calls(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.units = nn.Sequential(Unit(8), Unit(8))
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        x = F.max_pool2d(self.units(x), 2)
        x = F.interpolate(x, scale_factor=2.0)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)
'''


def test_function_calls_are_marked_functional_where_counters_see_the_difference(tmp_path):
    (tmp_path / "calls.py").write_text(CALLS)
    text = import_model(f"{tmp_path / 'calls.py'}:Calls", (3, 8, 8))
    spec = yaml.safe_load(text)
    layers = {layer["name"]: layer for layer in spec["layers"]}
    assert "functional" not in layers["relu"] and "functional" not in layers["pool"]  # modules
    for name in ("maxpool", "upsample", "global_avgpool"):  # F.max_pool2d, F.interpolate, F.adaptive_avg_pool2d
        assert layers[name].get("functional") is True, name
    assert "functional" not in layers["flatten"]  # a function, but one no counter counts
    # the class Unit is a block: its F.relu is marked in the block, once for every use
    assert {"name": "relu", "relu": None, "functional": True} in spec["blocks"]["unit"]["layers"]
    nodes = {node.name: node for node in expand(as_spec(text)).nodes}
    assert nodes["units.1.relu"].functional and not nodes["relu"].functional
    # ptflops: the module ReLU twice (its hook, and the patched F.relu it calls), the function F.relu once
    _, counts = analyze_as(text, "ptflops")
    assert counts.by_name["relu"] == 2 * 8 * 8 * 8 and counts.by_name["units.0.relu"] == 8 * 4 * 4


def test_show_and_compare_take_a_model_path_with_an_input_size(tmp_path):
    result = CliRunner().invoke(main, ["show", f"{MODELS}:Net", "--input", "3x32x32", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["params"] == 448 + 2 * 4_672 + 170
    (tmp_path / "net.yaml").write_text(imported("Net", (3, 32, 32)))
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "net.yaml"), f"{MODELS}:Net", "--input", "3x32x32"])
    assert result.exit_code == 0, result.output
    assert "same" in result.output
    refused = CliRunner().invoke(main, ["show", f"{MODELS}:Net"])
    assert refused.exit_code == 2 and "as a PyTorch model it needs its input size" in refused.output


# --- torchvision's models, against the reference figures ---------------------------------------------------
TORCHVISION = importlib.util.find_spec("torchvision") is not None
REFERENCE = {**json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"],
             **json.loads((ROOT / "tests/data/torchvision_beyond.json").read_text())["models"]}
PATHS = {"fcn_resnet101": "torchvision.models.segmentation.fcn_resnet101",
         "deeplabv3_mobilenet_v3_large": "torchvision.models.segmentation.deeplabv3_mobilenet_v3_large",
         "mc3_18": "torchvision.models.video.mc3_18"}
KWARGS = {"fcn_resnet101": {"weights_backbone": None}, "deeplabv3_mobilenet_v3_large": {"weights_backbone": None},
          "googlenet": {"aux_logits": False}}
needs_torchvision = pytest.mark.skipif(not TORCHVISION, reason="torchvision is not installed "
                                                               "(pip install torch==2.14.1 torchvision==0.29.1)")


def imported_torchvision(name: str) -> str:
    reference = REFERENCE[name]
    return import_model(PATHS.get(name, f"torchvision.models.{name}"), tuple(reference["input"][1:]),
                        kwargs=KWARGS.get(name))


@needs_torchvision
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_every_reference_model_imports_exactly(name):
    reference = REFERENCE[name]
    text = imported_torchvision(name)
    result = paramcalc.analyze(text)
    assert result.totals.params == reference["params"]
    assert result.totals.buffers == reference["bn_running_stats"] or result.totals.buffers == reference["buffers"]
    assert result.totals.macs == reference.get("macs", reference.get("macs_conv_linear"))
    assert (result.batch, *result.totals.output_shape) == tuple(reference["output"])
    # every leaf with parameters, in the order it runs: its parameters and output shape are the model's
    model = PATHS.get(name, f"torchvision.models.{name}")
    comparison = verify_against(text, model, kwargs=KWARGS.get(name))
    assert comparison.ok, comparison.divergence
    shapes = [tuple(leaf["out"] if isinstance(leaf, dict) else leaf[2]) for leaf in reference["leaves"]]
    ours = {(result.batch, *record.shape) for record in result.leaves() if record.shape is not None}
    assert all(shape in ours for shape in shapes)  # every leaf's output shape is one of the spec's


@needs_torchvision
def test_imported_specs_are_short():
    names = ("resnet50", "resnet152", "vit_b_32", "densenet121")
    texts = {name: imported_torchvision(name) for name in names}
    lines = {name: len(text.splitlines()) for name, text in texts.items()}
    assert lines["resnet50"] <= 80 and abs(lines["resnet152"] - lines["resnet50"]) <= 5
    assert lines["vit_b_32"] <= 70 and lines["densenet121"] <= 90
    # torchvision's names are kept: its dense layers are denselayer1, denselayer2, ...
    assert "{name: denseblock1, repeat: 6, names: denselayer1, dense_layer}" in texts["densenet121"]
    assert paramcalc.analyze(texts["densenet121"])["features.denseblock3.denselayer24.conv2"].params == 9 * 128 * 32


@needs_torchvision
@pytest.mark.parametrize("name", ["densenet121", "googlenet", "mobilenet_v2"])
def test_imported_marks_reproduce_the_counters_that_hook_modules(name, tmp_path):
    # DenseNet's last F.relu and F.adaptive_avg_pool2d, GoogLeNet's F.relu in BasicConv2d and MobileNet v2's
    # F.adaptive_avg_pool2d are functions: imported with `functional: true`, the counters' numbers are theirs
    counters = json.loads((ROOT / "tests/data/peer_counters.json").read_text())["models"][name]
    arguments = ["--kwargs", json.dumps(KWARGS[name])] if name in KWARGS else []
    out = tmp_path / f"{name}.yaml"
    result = CliRunner().invoke(main, ["import", f"torchvision.models.{name}", "--input", "3x224x224", *arguments,
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "functional: true" in out.read_text()
    for peer in ("torchvision", "fvcore", "ptflops", "thop", "torchinfo"):
        assert analyze_as(out, peer)[1].total == counters[peer], peer


# --- modules run by a subclass of their kind's standard class: `module: ClassName` ---------------------------
SUBCLASSED = '''
import torch
from torch import nn


class MyConv(nn.Conv2d):
    """An nn.Conv2d with a method of its own: it runs as nn.Conv2d."""

    def fan_in(self):
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]


class MyPool(nn.MaxPool2d):
    pass


class Scaled(nn.Conv2d):
    def forward(self, x):
        return super().forward(x) * 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = MyConv(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = MyPool(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(512, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        return self.fc(torch.flatten(self.conv2(x), 1))


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Scaled(3, 8, 3)

    def forward(self, x):
        return self.conv(x)
'''


def test_a_subclass_of_a_torch_module_is_marked_with_its_class(tmp_path):
    source = tmp_path / "subclassed.py"
    source.write_text(SUBCLASSED)
    text = import_model(f"{source}:Net", (3, 16, 16))
    layers = {layer["name"]: layer for layer in yaml.safe_load(text)["layers"]}
    assert layers["conv"]["module"] == "MyConv" and layers["pool"]["module"] == "MyPool"
    assert "module" not in layers["conv2"] and "module" not in layers["relu"]
    assert verify_against(text, f"{source}:Net").ok
    # measured with ptflops 0.7.5 and thop 0.1.1 (torch 2.14.1): neither hooks MyConv; ptflops counts MyPool through
    # its patched F.max_pool2d (2,048), the ReLU twice (4,096), conv2 and fc with their biases (37,376 + 5,130)
    assert analyze_as(text, "ptflops")[1].total == 48_650
    assert analyze_as(text, "thop")[1].total == 36_864 + 5_120 == 41_984
    # a subclass that changes forward is not its base class: traced through, its F.conv2d has no kind
    with pytest.raises(paramcalc.SpecError, match="conv2d: no layer kind"):
        import_model(f"{source}:Odd", (3, 16, 16))


@needs_torchvision
def test_mc3_18_imports_with_its_convolution_classes_and_the_counters_numbers():
    # torchvision's Conv3DSimple (layer1) and Conv3DNoTemporal (layers 2-4) are nn.Conv3d's subclasses, which
    # ptflops and thop do not hook: imported with `module:`, a block per class, the measured totals
    facts = json.loads((ROOT / "tests/data/peer_counters_more.json").read_text())["models"]["specs/mc3_18.yaml"]
    text = imported_torchvision("mc3_18")
    assert text.count("module: Conv3DSimple") == 2 and text.count("module: Conv3DNoTemporal") == 2  # per block
    assert list(yaml.safe_load(text)["blocks"]) == ["basic_block_conv3dsimple", "basic_block_conv3dnotemporal"]
    marked = Counter(node.module for node in expand(as_spec(text)).nodes if node.module)
    assert marked == {"Conv3DSimple": 4, "Conv3DNoTemporal": 12}
    for peer in ("ptflops", "thop"):
        assert analyze_as(text, peer)[1].total == facts[peer], peer
    assert paramcalc.analyze(text).totals.macs == paramcalc.analyze(ROOT / "specs/mc3_18.yaml").totals.macs
