"""`paramcalc import` keeps every setting: a model written by hand (tests/data/torch_settings.py) with
settings other than PyTorch's defaults is imported, the spec built back into PyTorch modules, and each module
compared with the original's, setting by setting, and on random values."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from .conftest import require_torch

torch = require_torch()

from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

import paramcalc  # noqa: E402
from paramcalc.cli import main  # noqa: E402
from paramcalc.torch.build import build  # noqa: E402
from paramcalc.torch.convert import Unsupported, converter, subclass_name  # noqa: E402
from paramcalc.torch.importer import import_model  # noqa: E402

MODELS = Path(__file__).resolve().parent / "data" / "torch_settings.py"
_spec = importlib.util.spec_from_file_location("torch_settings", MODELS)
torch_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_settings)


def one_size(value):
    """(3, 3) and 3 set a module alike (a kernel, a stride): compare them as 3."""
    return value[0] if isinstance(value, tuple) and value and len(set(value)) == 1 else value


def settings(module) -> tuple[str, dict]:
    """The module's torch.nn class (paramcalc builds some as subclasses) and every setting it keeps as a plain
    value, with its parameters' and buffers' shapes."""
    values = {key: one_size(value) for key, value in vars(module).items()
              if not key.startswith("_") and key != "training"
              and isinstance(value, (bool, int, float, str, tuple, type(None)))}
    if values.get("align_corners") is None and "align_corners" in values:
        values["align_corners"] = False  # F.interpolate reads None as False
    shapes = {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}
    torch_class = next(cls for cls in type(module).__mro__ if cls.__module__.startswith("torch.nn"))
    return torch_class.__name__, {**values, "state": shapes}


def units(model) -> list:
    """The modules that compute something, in order: the leaves, and a MultiheadAttention or recurrent layer
    whole (its output projection is a child it calls as a function)."""
    whole = (torch.nn.MultiheadAttention, torch.nn.RNNBase)
    found, skip = [], set()
    for module in model.modules():
        if id(module) in skip:
            continue
        if isinstance(module, whole):
            found.append(module)
            skip.update(id(child) for child in module.modules())
        elif not list(module.children()):
            found.append(module)
    return found


@pytest.mark.parametrize("which", sorted(torch_settings.CASES))
def test_an_imported_model_builds_back_with_every_setting(which):
    shape, ids, _ = torch_settings.CASES[which]
    text = import_model(f"{MODELS}:model", shape, kwargs={"which": which})
    original = torch_settings.model(which).eval()
    rebuilt = build(text).eval()
    assert [settings(module) for module in units(rebuilt)] == [settings(module) for module in units(original)]
    torch.manual_seed(0)
    with torch.no_grad():
        for ours, theirs in zip(rebuilt.state_dict().values(), original.state_dict().values(), strict=True):
            ours.copy_(theirs.clone().uniform_(0.5, 1.5) if theirs.is_floating_point() else theirs)
            theirs.copy_(ours)
        sample = torch.randint(0, 50, (2, *shape)) if ids else torch.randn(2, *shape)
        assert torch.allclose(rebuilt(sample), original(sample), atol=1e-6)


def test_imported_settings_are_written_as_a_person_would():
    """Sizes equal on every axis as one number, the rest as lists; a depthwise convolution by that word; what is
    PyTorch's default left out."""
    text = import_model(f"{MODELS}:model", (3, 16, 20), kwargs={"which": "conv2d"})
    assert [line.strip() for line in text.splitlines() if line.strip().startswith("- {name:")] == [
        "- {name: 0, conv2d: {out: 8, kernel: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [1, 2], bias: false}}",
        "- {name: 1, conv2d: {out: 8, kernel: 3, padding: [0, 1], groups: depthwise}}",
        "- {name: 2, conv2d: {out: 12, kernel: 1, groups: 2}}",
        "- {name: 3, conv2d: {out: 6, kernel: [3, 4], padding: same, dilation: [2, 1]}}"]
    # one channel to one is not depthwise (groups 1), two channels in two groups are
    text = import_model(f"{MODELS}:model", (1, 6, 6), kwargs={"which": "one_channel"})
    assert [line.strip() for line in text.splitlines() if line.strip().startswith("- {name:")] == [
        "- {name: 0, conv2d: {out: 1, kernel: 3}}", "- {name: 1, conv2d: {out: 2, kernel: 1}}",
        "- {name: 2, conv2d: {out: 2, kernel: 3, groups: depthwise}}"]
    # an adaptive pool to one value per channel is a global pool
    text = import_model(f"{MODELS}:model", (3, 10, 11), kwargs={"which": "adaptive"})
    assert [line.strip() for line in text.splitlines() if line.strip().startswith("- {name:")] == [
        "- {name: 0, adaptive_avgpool: [3, 4]}", "- {name: 1, adaptive_avgpool: 2}",
        "- {name: 2, adaptive_maxpool: [2, 3]}", "- {name: 3, global_avgpool}"]


def test_dropout_called_as_a_function_keeps_its_kind():
    text = import_model(f"{MODELS}:FunctionalDropout", (4, 5, 6))
    layers = [{key: value for key, value in layer.items() if key not in ("name", "from")}
              for layer in yaml.safe_load(text)["layers"]]
    assert [layer for layer in layers if "flatten" not in layer and "add" not in layer] == [
        {"dropout2d": 0.25}, {"dropout1d": 0.125}, {"dropout": None}]


@pytest.mark.parametrize("which", sorted(torch_settings.UNSUPPORTED))
def test_a_setting_no_kind_expresses_stops_the_import(which):
    _, fragment = torch_settings.UNSUPPORTED[which]
    result = CliRunner().invoke(main, ["import", f"{MODELS}:unsupported", "--kwargs", f'{{"which": "{which}"}}',
                                       "--input", "6x16"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "paramcalc has no layer kind for 1 part(s)" in result.output and fragment in result.output


def test_a_cumulative_batch_norm_imports_with_its_figures():
    """momentum None (a cumulative average of the statistics) changes no figure: a batch norm as any other."""
    text = import_model(f"{MODELS}:cumulative_batchnorm", (3, 4, 4))
    assert [{key: value for key, value in layer.items() if key != "name"}
            for layer in yaml.safe_load(text)["layers"]] == [{"conv2d": {"out": 3, "kernel": 1}}, {"batchnorm": None}]
    assert paramcalc.analyze(text).totals.params == 3 * 3 + 3 + 2 * 3


class ShiftedWindowAttention(nn.Module):
    """Stands for torchvision's class of that name, with the attributes the importer reads."""

    def __init__(self, window_size, shift_size):
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, 2
        self.qkv = nn.Linear(8, 24)


@pytest.mark.parametrize("window, shift", [([7, 4], [3, 3]), ([7, 7], [3, 2])])
def test_windows_that_differ_between_axes_are_refused(window, shift):
    module = ShiftedWindowAttention(window, shift)
    with pytest.raises(Unsupported, match="windows or shifts that differ between height and width"):
        converter(module)(module)
    module = ShiftedWindowAttention([7, 7], [3, 3])
    assert converter(module)(module) == ("window_attention", {"heads": 2, "window_size": 7, "shift": 3, "bias": True})


class LayerNorm2d(nn.LayerNorm):
    """Named as torchvision's LayerNorm2d, the standard class of the kind layernorm2d (which torch.nn has not)."""


class Permute(nn.Module):
    """A model's own class that has the name of a kind's class (torchvision's Permute) but is no torch.nn class."""


class OwnPermute(Permute):
    pass


class MyConv(nn.Conv2d):
    pass


def test_which_classes_are_marked_as_subclasses():
    assert subclass_name(nn.Conv2d(1, 1, 1), "conv2d") == ""
    assert subclass_name(MyConv(1, 1, 1), "conv2d") == "MyConv"
    assert subclass_name(LayerNorm2d(4), "layernorm2d") == ""
    assert subclass_name(LayerNorm2d(4), "layernorm") == "LayerNorm2d"
    # a subclass of a class that has a kind's name but is not torch.nn's: nothing to convert it as
    assert converter(OwnPermute()) is None
