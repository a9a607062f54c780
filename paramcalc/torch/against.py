"""A spec against the PyTorch model it describes: `paramcalc verify SPEC --against MODEL`.

The model is made on the meta device (no weights are allocated, so a large model costs nothing) and run
once on a meta tensor of the spec's input size in evaluation mode, with hooks on every module. Its layers
with parameters, in the order they run, are compared with the spec's layers with parameters, in spec
order: the parameter count and the output shape of each, then the totals. A module counts as one layer
when none of its children runs by itself (nn.MultiheadAttention calls its output projection as a function:
the projection's parameters are the attention's). Parameters held directly by a module whose children run
(a class token, a position embedding, ConvNeXt's layer scale) are compared, in total, with the spec's
`class_token`, `position_embedding` and `scale` layers; those of modules that never run at inference (an
auxiliary classifier) with the spec's `train_only` layers.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..engine.analysis import analyze
from ..engine.cache import Cache
from ..engine.graph import expand
from ..engine.records import Analysis
from ..engine.specs import as_spec
from ..errors import SpecError
from ..spec.format import Spec
from .build import input_dtype
from .verify import buffer_count, recurrent_counters

LOOSE_KINDS = frozenset({"class_token", "position_embedding", "scale"})  # parameters a module holds itself
MODEL_HINT = ("a dotted path to a module class or a function that returns a model: torchvision.models.resnet50, "
              "package.module:Name, or path/to/file.py:Name")


@dataclass(frozen=True)
class Layer:
    name: str
    params: int
    shape: tuple | None


@dataclass
class Comparison:
    file: str
    model: str  # as given: torchvision.models.resnet50
    layers: int = 0  # layers with parameters that agree
    totals: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # figure -> (spec, model)
    divergence: str | None = None  # the first layer that differs, both paths named

    @property
    def ok(self) -> bool:
        return self.divergence is None and all(ours == theirs for ours, theirs in self.totals.values())


# --- the model ----------------------------------------------------------------------------------------------
def resolve(path: str) -> Callable[..., Any]:
    """The class or function a model path names: package.module.name, package.module:name or file.py:name."""
    location, colon, name = path.rpartition(":") if ":" in path else ("", "", path)
    try:
        if location.endswith(".py"):
            file = Path(location)
            if not file.is_file():
                raise SpecError(f"no such file: {location}", hint=MODEL_HINT)
            loader = importlib.util.spec_from_file_location(f"paramcalc_model_{file.stem}", file)
            assert loader is not None and loader.loader is not None
            module: Any = importlib.util.module_from_spec(loader)
            sys.modules[loader.name] = module  # dataclasses and pickling look the module up by name
            loader.loader.exec_module(module)
        else:
            if not colon:
                location, _, name = path.rpartition(".")
            if not location or not name:
                raise SpecError(f"'{path}' names no model", hint=MODEL_HINT)
            module = importlib.import_module(location)
        target: Any = module
        for part in name.split("."):
            target = getattr(target, part)
    except SpecError:
        raise
    except (ImportError, AttributeError) as err:
        raise SpecError(f"cannot find the model '{path}': {err}", hint=MODEL_HINT) from None
    except Exception as err:  # the user's own code failed while it was imported
        raise SpecError(f"importing '{path}' failed: {type(err).__name__}: {err}") from None
    if not callable(target):
        raise SpecError(f"'{path}' is not a class or a function", hint=MODEL_HINT)
    return target


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"--kwargs is not JSON: {err}", hint='--kwargs \'{"num_classes": 10}\'') from None
    if not isinstance(kwargs, dict):
        raise SpecError("--kwargs must be a JSON object", hint='--kwargs \'{"num_classes": 10}\'')
    return kwargs


def build_on_meta(path: str, kwargs: dict[str, Any] | None = None) -> nn.Module:
    """The model a path names, its parameters and buffers on the meta device: shapes without storage.

    It is made under torch.device("meta"); a model whose constructor computes with tensors (RegNet works out
    its widths with torch.round) is made again with each parameter and buffer moved to the meta device as
    soon as it is registered, so that at most one of them is in memory at a time."""
    factory = resolve(path)
    try:
        try:
            with torch.device("meta"):
                model = factory(**(kwargs or {}))
        except Exception:  # a tensor on the meta device was asked for a value (or the arguments are wrong)
            with _registered_on_meta():
                model = factory(**(kwargs or {}))
    except Exception as err:  # the user's constructor: any failure is bad input
        download = "urlopen" in str(err) or type(err).__name__ in ("URLError", "HTTPError")
        hint = ("the model downloads pretrained weights: pass none, e.g. --kwargs "
                "'{\"weights\": null, \"weights_backbone\": null}'" if download else
                "check --kwargs against the model's arguments")
        raise SpecError(f"making '{path}' failed: {type(err).__name__}: {err}", hint=hint) from None
    if not isinstance(model, nn.Module):
        raise SpecError(f"'{path}' made a {type(model).__name__}, not a torch.nn.Module", hint=MODEL_HINT)
    return model.eval()


class _registered_on_meta:
    """While active, every parameter and buffer a module registers is replaced by a meta tensor."""

    def __enter__(self) -> None:
        self.parameter, self.buffer = nn.Module.register_parameter, nn.Module.register_buffer
        parameter, buffer = self.parameter, self.buffer

        def register_parameter(module: nn.Module, name: str, param: Any) -> None:
            parameter(module, name, param)
            if param is not None and param.device.type != "meta":
                moved = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
                module._parameters[name] = moved

        def register_buffer(module: nn.Module, name: str, tensor: Any, persistent: bool = True) -> None:
            buffer(module, name, tensor.to("meta") if tensor is not None else None, persistent)

        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign, assignment]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign, assignment]

    def __exit__(self, *_: object) -> None:
        nn.Module.register_parameter = self.parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = self.buffer  # type: ignore[method-assign]


def _first_tensor(output: Any) -> torch.Tensor | None:
    """The output tensor of a module that returns more (attention's weights, an LSTM's state, a segmentation
    model's {'out': ...})."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict) and output:
        return _first_tensor(next(iter(output.values())))
    if isinstance(output, (tuple, list)) and output:
        return _first_tensor(output[0])
    return None


@dataclass
class Run:
    layers: list[Layer]  # the layers with parameters, in the order they ran
    loose: list[Layer]  # parameters held by modules whose children run
    not_run: list[Layer]  # modules that hold parameters and did not run
    macs: int
    output: tuple


def run_on_meta(model: nn.Module, shape: tuple, dtype: torch.dtype) -> Run:
    names = {module: name for name, module in model.named_modules()}
    finished: list[tuple[nn.Module, tuple | None]] = []
    called: set[nn.Module] = set()

    def record(module: nn.Module, _inputs: Any, output: Any) -> None:
        called.add(module)
        tensor = _first_tensor(output)
        finished.append((module, tuple(tensor.shape) if tensor is not None else None))

    counter = FlopCounterMode(display=False)
    hidden = [0]
    hooks = [module.register_forward_hook(record) for module in model.modules()]
    hooks += recurrent_counters(model, counter, hidden)
    try:
        with torch.no_grad(), counter:
            output = model(torch.zeros(shape, dtype=dtype, device="meta"))
    except Exception as err:  # the model's forward refused this input
        raise SpecError(f"the model does not run on an input of shape {'x'.join(map(str, shape))}: "
                        f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
                        hint="give the spec's input size, or --input for both") from None
    finally:
        for hook in hooks:
            hook.remove()
    units = {module for module in called if not any(child in called for child in module.children())}
    layers, seen = [], set()
    for module, out in finished:
        if module in units and module not in seen:
            seen.add(module)
            count = sum(p.numel() for p in module.parameters())
            if count:
                layers.append(Layer(names[module], count, out))
    covered = {id(p) for module in units for p in module.parameters()}
    loose = []
    for module in called - units:
        direct = [p for p in module.parameters(recurse=False) if id(p) not in covered]
        covered.update(id(p) for p in direct)
        if direct:
            loose.append(Layer(names[module], sum(p.numel() for p in direct), None))
    not_run = [Layer(name, sum(p.numel() for p in module.parameters(recurse=False)), None)
               for name, module in model.named_modules()
               if module not in called and any(id(p) not in covered for p in module.parameters(recurse=False))]
    result = _first_tensor(output)
    return Run(layers, sorted(loose, key=lambda layer: layer.name), not_run,
               counter.get_total_flops() // 2 + hidden[0], tuple(result.shape) if result is not None else ())


# --- the comparison -----------------------------------------------------------------------------------------
def verify_against(source: str | os.PathLike | dict | Spec, model_path: str, *, kwargs: dict | None = None,
                   input_shape: tuple | None = None) -> Comparison:
    spec, cache = as_spec(source), Cache()  # the analysis and the graph it walked: one expansion
    analysis = analyze(spec, input_shape=input_shape, cache=cache)
    if analysis.symbols:
        raise SpecError("verify --against needs concrete input sizes", file=spec.file,
                        hint="give them with --input, e.g. --input 3x224x224")
    graph = expand(spec, analysis.input_shape, analysis.batch, cache=cache)
    model = build_on_meta(model_path, kwargs)
    run = run_on_meta(model, (analysis.batch, *analysis.input_shape), input_dtype(graph))
    return compare(analysis, run, spec.file, model_path, model)


def _spec_layers(analysis: Analysis) -> tuple[list[Layer], list[Layer], list[Layer]]:
    batch = analysis.batch
    units, loose, not_run = [], [], []
    for record in analysis.leaves():
        if record.params == 0:
            continue
        layer = Layer(record.name, record.params, None if record.shape is None else (batch, *record.shape))
        if record.train_only:
            not_run.append(layer)
        elif record.kind in LOOSE_KINDS:
            loose.append(layer)
        else:
            units.append(layer)
    return units, loose, not_run


def _shape(shape: tuple | None) -> str:
    return "x".join(map(str, shape)) if shape is not None else "no output"


def compare(analysis: Analysis, run: Run, file: str, model_path: str, model: nn.Module) -> Comparison:
    result = Comparison(file=file, model=model_path)
    units, loose, not_run = _spec_layers(analysis)
    for index, (ours, theirs) in enumerate(zip(units, run.layers)):
        if ours.params != theirs.params:
            result.divergence = (f"spec {ours.name} has {ours.params:,} params; {model_path} {theirs.name} has "
                                 f"{theirs.params:,} (layer {index + 1} with parameters, in the order they run)")
            break
        if ours.shape is not None and ours.shape != theirs.shape:
            result.divergence = (f"spec {ours.name} outputs {_shape(ours.shape)}; {model_path} {theirs.name} "
                                 f"outputs {_shape(theirs.shape)} (layer {index + 1} with parameters)")
            break
        result.layers += 1
    else:
        if len(units) != len(run.layers):
            extra = units[len(run.layers)] if len(units) > len(run.layers) else run.layers[len(units)]
            side = "the spec" if len(units) > len(run.layers) else model_path
            result.divergence = (f"{side} has {max(len(units), len(run.layers))} layers with parameters, the other "
                                 f"{min(len(units), len(run.layers))}: the first without a partner is "
                                 f"{extra.name} ({extra.params:,} params)")
    spec_buffers = analysis.totals.buffers
    result.totals = {
        "params": (analysis.totals.params, sum(p.numel() for p in model.parameters())),
        "params held by modules themselves": (sum(layer.params for layer in loose),
                                              sum(layer.params for layer in run.loose)),
        "params of layers that do not run": (sum(layer.params for layer in not_run),
                                             sum(layer.params for layer in run.not_run)),
        "buffers": (spec_buffers, buffer_count(model)),
        "MACs": (analysis.totals.macs, run.macs),
        "output": ((analysis.batch, *analysis.totals.output_shape), run.output),
    }
    return result
