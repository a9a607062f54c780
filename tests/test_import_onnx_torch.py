"""`paramcalc import model.onnx` on torchvision's models exported by torch.onnx.export, with both exporters: the
dynamo exporter (the default, which needs onnxscript) and the TorchScript one (dynamo=False).

Exporters fold each batch norm into the convolution before it at inference, so the file holds other weights than
the module: the parameters and statistics expected are the tensors in the file (counted here with onnx), the
MACs and output those of the reference figures (tests/data) or of PyTorch's FlopCounterMode, which folding does
not change. A training-mode export keeps the batch norms: then parameters and batch-norm statistics are the
module's own.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections import Counter
from pathlib import Path

import pytest
import yaml

import paramcalc

from .conftest import require_torch

torch = require_torch()
onnx = pytest.importorskip("onnx")
if importlib.util.find_spec("torchvision") is None:
    pytest.skip("needs torchvision", allow_module_level=True)

import torchvision
from onnx import numpy_helper
from torch.utils.flop_counter import FlopCounterMode

from paramcalc.engine.graph import expand
from paramcalc.engine.specs import as_spec
from paramcalc.importing.onnx_graph import import_onnx, read_onnx

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = {**json.loads((ROOT / "tests/data/torchvision_models.json").read_text())["models"],
             **json.loads((ROOT / "tests/data/torchvision_beyond.json").read_text())["models"]}
EXPORTERS = ["torchscript", pytest.param("dynamo", marks=pytest.mark.skipif(
    importlib.util.find_spec("onnxscript") is None, reason="the dynamo exporter needs onnxscript"))]
MAX_LINES = {"resnet18": 40, "mobilenet_v2": 260, "vit_b_32": 45, "densenet121": 45}  # the readable spec: blocks and repeats


def model_with_distinct_weights(name: str) -> torch.nn.Module:
    """Weights and statistics drawn away from 0 and 1: an exporter drops a bias of zeros and shares equal tensors,
    which would make the file's weights differ from the module's for reasons of initialisation only."""
    model = getattr(torchvision.models, name)(weights=None).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
    return model


def export(model: torch.nn.Module, path: Path, exporter: str, training: bool = False,
           shape: tuple = (3, 224, 224)) -> str:
    sample = torch.randn(1, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            torch.onnx.export(model, (sample,), str(path), dynamo=True, external_data=False, verbose=False)
        else:
            mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
            torch.onnx.export(model, (sample,), str(path), dynamo=False, training=mode,
                              do_constant_folding=not training)
    return str(path)


def weights_in_file(path: str) -> int:
    """Every floating-point tensor of more than one value the file holds (single values are a scale or a bound)."""
    model = onnx.load(path)
    sizes = [numpy_helper.to_array(t).size for t in model.graph.initializer
             if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)]
    return sum(size for size in sizes if size > 1)


def macs_measured(model: torch.nn.Module) -> int:
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 224, 224))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vit_b_32", "densenet121"])
def test_torchvision_models_exported_to_onnx_import_exactly(tmp_path, name, exporter):
    model = model_with_distinct_weights(name)
    path = export(model, tmp_path / f"{name}.onnx", exporter)
    text = import_onnx(path)
    result = paramcalc.analyze(text)
    expected_macs = REFERENCE[name]["macs"] if name in REFERENCE and "macs" in REFERENCE[name] else \
        REFERENCE[name]["macs_conv_linear"] if name in REFERENCE else macs_measured(model)
    assert result.totals.macs == expected_macs
    assert result.totals.params + result.totals.buffers == weights_in_file(path)  # statistics of unfolded norms
    assert result.totals.output_shape == (1000,)
    assert len(text.splitlines()) <= MAX_LINES[name]
    if name != "vit_b_32":  # a convolutional net: one leaf per node, each with the shape onnx infers
        graph = onnx.shape_inference.infer_shapes(onnx.load(path, load_external_data=False)).graph
        shapes = {info.name: [d.dim_value for d in info.type.tensor_type.shape.dim]
                  for info in [*graph.value_info, *graph.output]}
        inferred = [tuple(shapes[node.output[0]][1:]) for node in graph.node
                    if node.op_type not in ("Constant", "Identity") and node.output[0] in shapes
                    and not (node.op_type == "Concat" and len(node.input) == 1)]  # DenseNet's cat([x]) is x
        assert [leaf.shape for leaf in result.leaves()] == inferred


def test_a_training_mode_export_keeps_the_batch_norms(tmp_path):
    model = torchvision.models.resnet18(weights=None)
    text = import_onnx(export(model, tmp_path / "resnet18.onnx", "torchscript", training=True))
    result = paramcalc.analyze(text)
    reference = REFERENCE["resnet18"]
    assert result.totals.params == reference["params"]
    assert result.totals.buffers == reference["bn_running_stats"]  # running mean and variance; no batch counter
    assert result.totals.macs == reference["macs_conv_linear"]
    assert "{name: bn1, batchnorm}" in text


# What torchvision calls as a function: DenseNet's last F.relu and F.adaptive_avg_pool2d, GoogLeNet's F.relu in
# BasicConv2d (57 of them), MobileNet v2's F.adaptive_avg_pool2d; their other ReLUs and pools are modules
FUNCTIONS = {"densenet121": ({"relu": 1, "global_avgpool": 1}, {"relu": 120, "maxpool": 1, "avgpool": 3}),
             "googlenet": ({"relu": 57}, {"maxpool": 13, "global_avgpool": 1}),
             "mobilenet_v2": ({"global_avgpool": 1}, {})}
KINDS = ("relu", "maxpool", "avgpool", "global_avgpool")


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_what_the_model_calls_as_a_function_is_marked_functional(tmp_path, name, exporter):
    options = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = getattr(torchvision.models, name)(weights=None, **options).eval()
    path = export(model, tmp_path / f"{name}.onnx", exporter)
    functions, modules = FUNCTIONS[name]
    ops = read_onnx(path)[0].ops
    assert Counter(op.kind for op in ops if op.functional) == functions
    assert Counter(op.kind for op in ops if not op.functional and op.kind in KINDS) == modules
    if name != "densenet121":  # and the spec says so (DenseNet's graphs are not yet written as specs that read)
        leaves = [node for node in expand(as_spec(import_onnx(path))).nodes if node.layer is not None]
        assert Counter(node.kind for node in leaves if node.functional) == functions
        assert Counter(node.kind for node in leaves if not node.functional and node.kind in KINDS) == modules


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_x_mean_imports_as_a_mean_from_either_exporter(tmp_path, exporter):
    """x.mean(dims, keepdim) (tests/data/torch_models.py's Means) is a ReduceMean with the code's axes for both
    exporters: a `mean`, as `paramcalc import` reads it from the model itself; while the dynamo exporter's
    F.adaptive_avg_pool2d(x, 1) (mobilenet_v2 above) stays a global average pool."""
    source = importlib.util.spec_from_file_location("torch_models", ROOT / "tests" / "data" / "torch_models.py")
    models = importlib.util.module_from_spec(source)
    source.loader.exec_module(models)
    text = import_onnx(export(models.Means().eval(), tmp_path / "means.onnx", exporter, shape=(3, 10, 6)))
    layers = {layer["name"]: layer for layer in yaml.safe_load(text)["layers"]}
    assert layers["mean"]["mean"] == {"dims": [2, 3], "keepdim": True}
    assert layers["mean_2"]["mean"] == [2, 3] and layers["mean_3"]["mean"] == [1]
    result = paramcalc.analyze(text)
    assert [result[name].shape for name in ("mean", "mean_2", "mean_3")] == [(8, 1, 1), (8,), (10, 6)]
    assert result.totals.macs == 8 * 60 * 27 + 64 + 68 * 4



class _OwnConv(torch.nn.Conv2d):
    """A subclass that runs nn.Conv2d's forward: counters that look their hooks up by type miss it."""


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = _OwnConv(3, 8, 3, padding=1)
        self.plain = torch.nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return self.plain(self.conv(x).relu())


@pytest.mark.skipif(importlib.util.find_spec("onnxscript") is None, reason="the dynamo exporter needs onnxscript")
def test_the_dynamo_exporters_classes_mark_a_subclassed_module(tmp_path):
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Net().eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=True, external_data=False)
    text = import_onnx(str(path))
    assert "{name: conv, conv2d: {out: 8, kernel: 3, padding: 1}, module: _OwnConv}" in text
    assert "{name: plain, conv2d: {out: 8, kernel: 1}}" in text  # torch.nn's own class: no mark
