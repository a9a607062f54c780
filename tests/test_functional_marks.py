"""The `functional: true` marks of the zoo specs against torchvision's own code.

ptflops, thop and torchinfo hook modules, so `--convention` counts a layer differently when the model calls it
as a function (`F.relu(x)`) than when it runs a module (`nn.ReLU`); the spec says which with `functional: true`.
Here each torchvision model is traced with torch.fx (torchvision's modules are traced through, torch.nn's are
leaves) and its calls of the kinds where the mark matters are counted, split into module calls and function
calls; the spec's layers of those kinds, split by their mark, must be as many. The model is traced in training
mode, so that an auxiliary head (the spec's `train_only` layers) is counted too.

The `module:` marks alike: ptflops and thop look their hooks up by the module's exact type, so a layer run by a
subclass of a torch.nn class (torchvision's Conv3DSimple, an nn.Conv3d) counts nothing there. Each model's calls of
such subclasses (traced as leaves) must be the spec's layers marked with that class, or of the kind that stands for it
(`layernorm2d` is torchvision's LayerNorm2d, an nn.LayerNorm).
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest
import yaml

from .conftest import require_torch

torch = require_torch()
torchvision = pytest.importorskip("torchvision", reason="needs torchvision (pip install torchvision==0.29.1)")

from torch import fx  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from paramcalc.engine import peers  # noqa: E402
from paramcalc.engine.graph import expand  # noqa: E402
from paramcalc.engine.specs import as_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MORE = ROOT / "tests" / "data" / "more_models"

# spec -> (torchvision factory under torchvision.models, its arguments, the spec's vars to set)
MODELS: dict[str, tuple[str, dict, dict]] = {
    **{path.stem: (path.stem, {}, {}) for path in (ROOT / "specs").glob("*.yaml")},
    "fcn_resnet101": ("segmentation.fcn_resnet101", {"weights_backbone": None}, {}),
    "deeplabv3_mobilenet_v3_large": ("segmentation.deeplabv3_mobilenet_v3_large", {"weights_backbone": None}, {}),
    "mc3_18": ("video.mc3_18", {}, {}),
    "googlenet": ("googlenet", {"aux_logits": False}, {}),  # as the spec and the published weights
    "googlenet+aux": ("googlenet", {"aux_logits": True}, {"aux_logits": True}),  # the spec's train-only heads
    **{f"more_models/{path.stem}": (path.stem, {}, {}) for path in MORE.glob("*.yaml")},
}


def spec_file(name: str) -> Path:
    name = name.split("+")[0]
    return MORE / f"{name.split('/')[1]}.yaml" if name.startswith("more_models/") else ROOT / "specs" / f"{name}.yaml"


# --- torchvision's side: what a function or a module of torch is, as a paramcalc kind --------------------------
def _adaptive(kind: str, size: object, rank: int) -> str:
    sizes = list(size) if isinstance(size, (tuple, list)) else [size] * rank
    if rank == 2:
        return f"global_{kind}" if set(sizes) == {1} else f"adaptive_{kind}"
    return f"adaptive_{kind}{rank}d"


FUNCTIONS = {
    **dict.fromkeys([F.relu, F.relu_, torch.relu, torch.relu_, "relu", "relu_"], "relu"),
    **dict.fromkeys([F.gelu], "gelu"),
    **dict.fromkeys([F.leaky_relu, F.leaky_relu_], "leaky_relu"),
    **dict.fromkeys([F.softmax, torch.softmax, "softmax"], "softmax"),
    F.max_pool1d: "maxpool1d", F.max_pool2d: "maxpool", F.max_pool3d: "maxpool3d",
    torch.max_pool1d: "maxpool1d", torch.max_pool2d: "maxpool", torch.max_pool3d: "maxpool3d",
    F.avg_pool1d: "avgpool1d", F.avg_pool2d: "avgpool", F.avg_pool3d: "avgpool3d",
    **dict.fromkeys([F.interpolate, F.upsample, F.upsample_bilinear, F.upsample_nearest], "upsample"),
}
ADAPTIVE_FUNCTIONS = {F.adaptive_avg_pool1d: ("avgpool", 1), F.adaptive_avg_pool2d: ("avgpool", 2),
                      F.adaptive_avg_pool3d: ("avgpool", 3), F.adaptive_max_pool2d: ("maxpool", 2)}
MODULES = {"ReLU": "relu", "GELU": "gelu", "LeakyReLU": "leaky_relu", "Softmax": "softmax",
           "MaxPool1d": "maxpool1d", "MaxPool2d": "maxpool", "MaxPool3d": "maxpool3d",
           "AvgPool1d": "avgpool1d", "AvgPool2d": "avgpool", "AvgPool3d": "avgpool3d",
           "Upsample": "upsample", "UpsamplingBilinear2d": "upsample", "UpsamplingNearest2d": "upsample"}
ADAPTIVE_MODULES = {"AdaptiveAvgPool1d": ("avgpool", 1), "AdaptiveAvgPool2d": ("avgpool", 2),
                    "AdaptiveAvgPool3d": ("avgpool", 3), "AdaptiveMaxPool2d": ("maxpool", 2)}
KINDS = {*FUNCTIONS.values(), *MODULES.values(), "global_avgpool", "adaptive_avgpool", "adaptive_avgpool1d",
         "adaptive_avgpool3d", "global_maxpool", "adaptive_maxpool"}


def _function_kind(node: fx.Node) -> str | None:
    target = node.target
    try:
        if target in FUNCTIONS:
            return FUNCTIONS[target]
        if target in ADAPTIVE_FUNCTIONS:
            kind, rank = ADAPTIVE_FUNCTIONS[target]
            size = node.args[1] if len(node.args) > 1 else node.kwargs["output_size"]
            return _adaptive(kind, size, rank)
    except TypeError:  # an unhashable target
        pass
    return None


def torchvision_calls(name: str) -> Counter:
    """(kind, called as a function) -> how many calls the torchvision model makes, in training mode."""
    factory_path, kwargs, _ = MODELS[name]
    factory = torchvision.models
    for part in factory_path.split("."):
        factory = getattr(factory, part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # GoogLeNet's and Inception's weight initialisation
        try:
            with torch.device("meta"):
                model = factory(weights=None, **kwargs)
        except NotImplementedError:  # RegNet works its widths out with tensors: made on the CPU
            model = factory(weights=None, **kwargs)
    graph_module = fx.symbolic_trace(model.train())
    modules = dict(graph_module.named_modules())
    calls: Counter = Counter()
    for node in graph_module.graph.nodes:
        if node.op == "call_module":
            module = modules[str(node.target)]
            class_name = type(module).__name__
            if class_name in MODULES:
                calls[MODULES[class_name], False] += 1
            elif class_name in ADAPTIVE_MODULES:
                kind, rank = ADAPTIVE_MODULES[class_name]
                calls[_adaptive(kind, module.output_size, rank), False] += 1
        elif node.op in ("call_function", "call_method"):
            kind = _function_kind(node)
            if kind is not None:
                calls[kind, True] += 1
            elif node.target in ("mean", torch.mean):  # x.mean([2, 3]), ShuffleNet v2's: the spec's `mean`, which
                calls["mean", False] += 1  # is never a module and needs no mark (no counter counts it either way)
    return calls


# --- the spec's side ---------------------------------------------------------------------------------------
def spec_layers(name: str) -> Counter:
    """(kind, marked functional) -> how many layers of the spec, train-only ones included."""
    overrides = MODELS[name][2]
    spec = as_spec(spec_file(name))
    if overrides:
        raw = yaml.safe_load(spec_file(name).read_text())
        spec = as_spec({**raw, "vars": {**raw.get("vars", {}), **overrides}})
    return Counter((node.kind, bool(node.functional)) for node in expand(spec).nodes
                   if node.layer is not None and (node.kind in KINDS or node.kind == "mean"))


def test_every_kind_whose_count_depends_on_the_mark_is_counted_here():
    assert peers.FUNCTIONAL_KINDS == KINDS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_functional_marks_follow_torchvision(name):
    expected, marked = torchvision_calls(name), spec_layers(name)
    assert expected, "the model calls none of the kinds: is the factory right?"
    assert marked == expected, "\n".join(
        f"{kind} ({'function' if functional else 'module'}): spec {marked[kind, functional]}, torchvision "
        f"{expected[kind, functional]}" for kind, functional in sorted(set(marked) | set(expected))
        if marked[kind, functional] != expected[kind, functional])


# --- `module:` marks: layers run by a subclass of a torch.nn layer class ----------------------------------------
CONTAINERS = (torch.nn.Module, torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
KIND_CLASSES = {"layernorm2d": "LayerNorm2d"}  # a kind that stands for a subclass: its layers need no mark


def _public_layer_class(cls: type) -> bool:
    return getattr(torch.nn, cls.__name__, None) is cls and cls not in CONTAINERS


def subclassed(cls: type) -> bool:
    """A subclass of one of torch.nn's layer classes that is not itself one (Conv3DSimple, LayerNorm2d)."""
    return not _public_layer_class(cls) and any(_public_layer_class(base) for base in cls.__mro__[1:])


class _SubclassLeaves(fx.Tracer):
    def is_leaf_module(self, module: torch.nn.Module, name: str) -> bool:
        return subclassed(type(module)) or super().is_leaf_module(module, name)


def torchvision_subclass_calls(name: str) -> Counter:
    factory_path, kwargs, _ = MODELS[name]
    factory = torchvision.models
    for part in factory_path.split("."):
        factory = getattr(factory, part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            with torch.device("meta"):
                model = factory(weights=None, **kwargs)
        except NotImplementedError:
            model = factory(weights=None, **kwargs)
    model.train()
    graph = _SubclassLeaves().trace(model)
    modules = dict(model.named_modules())
    return Counter(type(modules[str(node.target)]).__name__ for node in graph.nodes
                   if node.op == "call_module" and subclassed(type(modules[str(node.target)])))


def spec_subclasses(name: str) -> Counter:
    overrides = MODELS[name][2]
    spec = as_spec(spec_file(name))
    if overrides:
        raw = yaml.safe_load(spec_file(name).read_text())
        spec = as_spec({**raw, "vars": {**raw.get("vars", {}), **overrides}})
    return Counter(node.module or KIND_CLASSES[node.kind] for node in expand(spec).nodes
                   if node.layer is not None and (node.module or node.kind in KIND_CLASSES))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_module_marks_follow_torchvision(name):
    assert spec_subclasses(name) == torchvision_subclass_calls(name)


def test_mc3_18_marks_its_sixteen_block_convolutions():
    assert spec_subclasses("mc3_18") == {"Conv3DSimple": 4, "Conv3DNoTemporal": 12}
