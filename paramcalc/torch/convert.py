"""PyTorch modules and functions as paramcalc layer kinds: what `paramcalc import` writes for each.

A converter takes the module (or the call's arguments) and the output shape PyTorch worked out, and gives
(kind, settings) as a spec writes them, or raises Unsupported with what is missing. Settings equal to the
kind's default are left out, as a person would write the spec.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..importing.layers import KIND_CLASSES

Settings = dict[str, Any]


class Unsupported(Exception):
    """A module or call paramcalc has no kind for, or a setting a kind cannot express."""


def _size(value: Any) -> Any:
    """One number for equal sizes, a list otherwise: 3, [1, 3, 3]."""
    if isinstance(value, (tuple, list)):
        values = [int(v) for v in value]
        return values[0] if len(set(values)) == 1 else values
    return int(value)


def _torch_class(module: Any) -> str:
    """The name of the torch.nn class the module is, or subclasses (MaxPool2d for a subclass of it)."""
    return next((cls.__name__ for cls in type(module).__mro__ if getattr(nn, cls.__name__, None) is cls),
                type(module).__name__)


def _conv(module: Any) -> tuple[str, Settings]:
    if module.padding_mode != "zeros":
        raise Unsupported(f"padding_mode '{module.padding_mode}' (paramcalc pads with zeros)")
    spatial = len(module.kernel_size)
    padding = module.padding if isinstance(module.padding, str) else _size(module.padding)
    settings = {"out": module.out_channels, "kernel": _size(module.kernel_size), "stride": _size(module.stride),
                "padding": padding, "dilation": _size(module.dilation), "groups": module.groups,
                "bias": module.bias is not None}
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        settings["output_padding"] = _size(module.output_padding)
        return f"conv_transpose{spatial}d", settings
    if module.groups == module.in_channels and module.groups > 1 and module.out_channels == module.in_channels:
        settings["groups"] = "depthwise"
    return f"conv{spatial}d", settings


def _batchnorm(module: Any) -> tuple[str, Settings]:
    return "batchnorm", {"eps": module.eps, "momentum": module.momentum if module.momentum is not None else 0.1,
                         "affine": module.affine, "track_running_stats": module.track_running_stats}


def _layernorm(module: Any) -> tuple[str, Settings]:
    if len(module.normalized_shape) != 1:
        raise Unsupported(f"LayerNorm over {len(module.normalized_shape)} dimensions (paramcalc: the last one)")
    settings = {"eps": module.eps, "affine": module.elementwise_affine,
                "bias": module.elementwise_affine and module.bias is not None}
    kind = "layernorm2d" if type(module).__name__ == "LayerNorm2d" else "layernorm"
    return kind, settings


def _pool(kind: str) -> Callable[[Any], tuple[str, Settings]]:
    def convert(module: Any) -> tuple[str, Settings]:
        spatial = {"1d": 1, "2d": 2, "3d": 3}[_torch_class(module)[-2:]]
        name = f"{kind}{'' if spatial == 2 else f'{spatial}d'}"
        settings = {"kernel": _size(module.kernel_size), "stride": _size(module.stride),
                    "padding": _size(module.padding), "ceil_mode": module.ceil_mode}
        if kind == "maxpool":
            settings["dilation"] = _size(module.dilation)
            if module.return_indices:
                raise Unsupported("return_indices")
        else:
            if getattr(module, "divisor_override", None):
                raise Unsupported("divisor_override")
            settings["count_include_pad"] = module.count_include_pad
        return name, settings
    return convert


def _adaptive(kind: str) -> Callable[[Any], tuple[str, Settings]]:
    def convert(module: Any) -> tuple[str, Settings]:
        spatial = {"1d": 1, "2d": 2, "3d": 3}[_torch_class(module)[-2:]]
        size = module.output_size
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * spatial
        if any(s is None for s in sizes):
            raise Unsupported("an output size of None (keep the input's)")
        if spatial == 2 and set(sizes) == {1}:
            return f"global_{kind}", {}
        return f"adaptive_{kind}{'' if spatial == 2 else f'{spatial}d'}", {"out": _size(sizes)}
    return convert


def _recurrent(module: Any) -> tuple[str, Settings]:
    settings = {"hidden": module.hidden_size, "layers": module.num_layers, "bidirectional": module.bidirectional,
                "bias": module.bias, "dropout": module.dropout, "batch_first": module.batch_first}
    if isinstance(module, nn.LSTM) and module.proj_size:
        settings["proj_size"] = module.proj_size
    if _torch_class(module) == "RNN":
        settings["nonlinearity"] = module.nonlinearity
    return _torch_class(module).lower(), settings


def _attention(module: Any) -> tuple[str, Settings]:
    if not module.batch_first:
        raise Unsupported("batch_first=False (paramcalc counts tokens of a sample as length x features)")
    if not module._qkv_same_embed_dim or module.bias_k is not None:
        raise Unsupported("keys or values of another size, or added key/value biases")
    return "attention", {"heads": module.num_heads, "bias": module.in_proj_bias is not None,
                         "dropout": module.dropout}


def _window_attention(module: Any) -> tuple[str, Settings]:
    window, shift = list(module.window_size), list(module.shift_size)
    if len(set(window)) != 1 or len(set(shift)) != 1:
        raise Unsupported("windows or shifts that differ between height and width")
    return "window_attention", {"heads": module.num_heads, "window_size": window[0], "shift": shift[0],
                                "bias": module.qkv.bias is not None}


def _upsample(module: Any) -> tuple[str, Settings]:
    settings: Settings = {"mode": module.mode}
    if module.size is not None:
        settings["size"] = _size(module.size)
    else:
        scale = module.scale_factor
        if isinstance(scale, tuple):
            if len(set(scale)) != 1:
                raise Unsupported("scale factors that differ between axes")
            scale = scale[0]
        settings["scale"] = float(scale)
    if module.mode != "nearest":
        settings["align_corners"] = bool(module.align_corners)
    return "upsample", settings


def _gelu(module: Any) -> tuple[str, Settings]:
    if module.approximate != "none":
        raise Unsupported(f"GELU with approximate='{module.approximate}'")
    return "gelu", {}


def _plain(kind: str, **fields: str) -> Callable[[Any], tuple[str, Settings]]:
    """A kind whose settings are attributes of the module under other names: {spec field: attribute}."""
    return lambda module: (kind, {field: getattr(module, attribute) for field, attribute in fields.items()})


MODULES: dict[str, Callable[[Any], tuple[str, Settings]]] = {
    **dict.fromkeys(["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                     "Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"], _conv),
    **dict.fromkeys(["Linear", "NonDynamicallyQuantizableLinear"],
                    lambda m: ("linear", {"out": m.out_features, "bias": m.bias is not None})),
    **dict.fromkeys(["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"], _batchnorm),
    **dict.fromkeys(["LayerNorm", "LayerNorm2d"], _layernorm),
    "GroupNorm": _plain("groupnorm", groups="num_groups", eps="eps", affine="affine"),
    "LocalResponseNorm": _plain("lrn", size="size", alpha="alpha", beta="beta", k="k"),
    **{name: (lambda kind: lambda m: (kind, {}))(kind) for name, kind in [
        ("ReLU", "relu"), ("ReLU6", "relu6"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"), ("SiLU", "silu"),
        ("Hardsigmoid", "hardsigmoid"), ("Hardswish", "hardswish"), ("Identity", "identity")]},
    "GELU": _gelu,
    "LeakyReLU": _plain("leaky_relu", negative_slope="negative_slope"),
    "Softmax": _plain("softmax", dim="dim"),
    **dict.fromkeys(["Dropout", "AlphaDropout"], _plain("dropout", p="p")),
    **{f"Dropout{n}d": _plain(f"dropout{n}d", p="p") for n in (1, 2, 3)},
    "StochasticDepth": _plain("stochastic_depth", p="p", mode="mode"),
    "Flatten": _plain("flatten", start_dim="start_dim", end_dim="end_dim"),
    "Permute": lambda m: ("permute", {"dims": list(m.dims)}),
    "ZeroPad2d": lambda m: ("pad", {"padding": dict(zip(("left", "right", "top", "bottom"), m.padding))}),
    **dict.fromkeys(["MaxPool1d", "MaxPool2d", "MaxPool3d"], _pool("maxpool")),
    **dict.fromkeys(["AvgPool1d", "AvgPool2d", "AvgPool3d"], _pool("avgpool")),
    **dict.fromkeys(["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"], _adaptive("avgpool")),
    "AdaptiveMaxPool2d": _adaptive("maxpool"),
    "Upsample": _upsample,
    "PixelShuffle": _plain("pixel_shuffle", factor="upscale_factor"),
    "PixelUnshuffle": _plain("pixel_unshuffle", factor="downscale_factor"),
    "ChannelShuffle": _plain("channel_shuffle", groups="groups"),
    "Embedding": _plain("embedding", num="num_embeddings", dim="embedding_dim"),
    **dict.fromkeys(["LSTM", "GRU", "RNN"], _recurrent),
    "MultiheadAttention": _attention,
    "ShiftedWindowAttention": _window_attention,
}



def converter(module: Any) -> Callable[[Any], tuple[str, Settings]] | None:
    """The converter of the module's class; for a class paramcalc does not know, that of the torch.nn class it
    subclasses without changing what it runs (its forward is the base's: `class MyConv(nn.Conv2d)` with new
    methods or defaults converts as nn.Conv2d, and is marked with its `module`); None otherwise."""
    cls = type(module)
    if cls.__name__ in MODULES:
        return MODULES[cls.__name__]
    for base in cls.__mro__[1:]:
        if base.__name__ in MODULES and getattr(nn, base.__name__, None) is base:
            return MODULES[base.__name__] if cls.forward is base.forward else None
    return None


def subclass_name(module: Any, kind: str) -> str:
    """The module's class when it is not the standard class of the kind it converts to, but a subclass of it
    (torchvision's Conv3DSimple of nn.Conv3d): what a spec's `module` says, since counters that look their hooks
    up by exact type miss it; '' for torch.nn's own class (or the class the kind stands for)."""
    cls = type(module)
    if getattr(nn, cls.__name__, None) is cls or KIND_CLASSES.get(kind) == cls.__name__:
        return ""
    return cls.__name__


# modules converted whole, although they have children (their children are called as functions, or not at all)
WHOLE_MODULES = frozenset({"MultiheadAttention", "ShiftedWindowAttention", "LayerNorm2d", "Conv3DSimple",
                           "Conv3DNoTemporal", "StochasticDepth", "Permute"})

ELEMENTWISE = {F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", torch.sigmoid: "sigmoid",
               F.sigmoid: "sigmoid", torch.tanh: "tanh", F.silu: "silu", F.hardsigmoid: "hardsigmoid",
               F.hardswish: "hardswish", F.gelu: "gelu"}
METHODS_ELEMENTWISE = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "relu_": "relu",
                       "sigmoid_": "sigmoid", "contiguous": "identity"}
DROPOUTS = {F.dropout: "dropout", "dropout": "dropout", F.dropout1d: "dropout1d", F.dropout2d: "dropout2d",
            F.dropout3d: "dropout3d"}
ARITHMETIC = {operator.add: "add", operator.iadd: "add", torch.add: "add", operator.mul: "mul",
              operator.imul: "mul", torch.mul: "mul"}
