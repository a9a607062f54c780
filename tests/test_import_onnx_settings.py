"""`paramcalc import model.onnx` keeps every setting: the models written by hand in tests/data/torch_settings.py
(settings other than PyTorch's defaults), exported to ONNX by torch.onnx.export and imported from the file, give
the layers (kind and settings) that importing the PyTorch model gives, which tests/test_import_settings.py checks
setting by setting against the modules themselves.

Exported in training mode, which keeps each batch norm a node of its own (at inference an exporter folds it into
the convolution before it). Not here: what the TorchScript exporter cannot export (channel shuffle, adaptive pools
whose output does not divide the input, LSTMs with projections, channel dropout in training) or writes as nodes
of other kinds (a group norm as an instance norm, a batch norm without running statistics as means, SiLU as a
sigmoid and a product, 'same' padding as auto_pad)."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import yaml

import paramcalc

from .conftest import require_torch

torch = require_torch()
pytest.importorskip("onnx")

from paramcalc.importing.onnx_graph import import_onnx  # noqa: E402
from paramcalc.torch.importer import import_model  # noqa: E402

MODELS = Path(__file__).resolve().parent / "data" / "torch_settings.py"
_spec = importlib.util.spec_from_file_location("torch_settings", MODELS)
torch_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_settings)

EXPORTED = ["conv_transpose2d", "conv1d", "conv3d", "batchnorm1d", "pad", "pool2d", "pool1d", "pool3d", "one_channel",
            "linear", "float_settings"]


def layers(text: str) -> list[dict]:
    return [{key: value for key, value in layer.items() if key != "name"} for layer in yaml.safe_load(text)["layers"]]


@pytest.mark.parametrize("which", EXPORTED)
def test_an_exported_model_imports_with_every_setting(tmp_path, which):
    shape, _, _ = torch_settings.CASES[which]
    path = str(tmp_path / f"{which}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torch_settings.model(which).eval(), (torch.randn(1, *shape),), path, dynamo=False,
                          training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    assert layers(import_onnx(path)) == layers(import_model(f"{MODELS}:model", shape, kwargs={"which": which}))


@pytest.mark.parametrize("training", [True, False])
def test_concat_dropout_resize_transpose_and_an_index(tmp_path, training):
    """The model `Moves`, by hand: 4 + 3 channels, a dropout (kept in a training export only), a bilinear
    resize to 10x12 (5·2, 6·2), flattened to 7 x 120, transposed to 120 x 7, and its sixth token."""
    path = str(tmp_path / "moves.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torch_settings.Moves().eval(), (torch.randn(1, 3, 5, 6),), path, dynamo=False,
                          training=torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL,
                          do_constant_folding=not training)
    text = import_onnx(path)
    dropout = [{"name": "drop", "dropout": 0.25}] if training else []
    assert yaml.safe_load(text)["layers"] == [
        {"name": "conv", "conv2d": {"out": 4, "kernel": 1}},
        {"name": "concat", "concat": None, "from": ["conv", "input"]}, *dropout, {"name": "up", "upsample": {"size": [10, 12], "mode": "bilinear", "align_corners": True}},
        {"name": "reshape", "reshape": [7, 120]}, {"name": "permute", "permute": [0, 2, 1]},
        {"name": "select", "select": {"index": 5}}]
    assert paramcalc.analyze(text).totals.output_shape == (7,)
