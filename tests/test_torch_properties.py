"""Random networks against PyTorch: paramcalc accepts exactly what PyTorch runs, and then agrees with it on
every layer's shape, the parameters and the MACs.

The PyTorch side is built here directly from the drawn settings (not by paramcalc.torch), so it is an
independent reference.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

import paramcalc

from .conftest import require_torch
from .networks import network, pair, spec_of

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def torch_conv(x, settings: dict) -> Any:
    options = dict(kernel_size=pair(settings["kernel"]), stride=pair(settings["stride"]),
                   dilation=settings["dilation"], groups=settings["groups"], bias=settings["bias"])
    pad = settings["padding"]
    if isinstance(pad, dict):
        x = F.pad(x, (pad["left"], pad["right"], pad["top"], pad["bottom"]))
        pad = 0
    return nn.Conv2d(x.shape[1], settings["out"], padding=pad, **options), x


def run_torch(net: dict) -> tuple[list[tuple], Any, int] | None:
    """Each layer's output shape, the output, and the parameter count; None when PyTorch refuses the network."""
    shapes, params = [], 0
    x = torch.zeros(net["batch"], *net["input"])
    try:
        for kind, options in net["layers"]:
            if kind in ("conv2d", "add", "concat"):
                module, padded = torch_conv(x, options)
                params += sum(p.numel() for p in module.parameters())
                branch = module(padded)
                x = branch if kind == "conv2d" else x + branch if kind == "add" else torch.cat([x, branch], 1)
                if kind != "conv2d":
                    shapes.append(tuple(branch.shape))
            elif kind == "maxpool":
                x = nn.MaxPool2d(options["kernel"], options["stride"], options["padding"], options["dilation"],
                                 ceil_mode=options["ceil_mode"])(x)
            elif kind == "avgpool":
                x = nn.AvgPool2d(options["kernel"], options["stride"], options["padding"], options["ceil_mode"],
                                 options["count_include_pad"])(x)
            elif kind == "batchnorm":
                module = nn.BatchNorm2d(x.shape[1]).eval()
                params += sum(p.numel() for p in module.parameters())
                x = module(x)
            elif kind == "adaptive_avgpool":
                x = nn.AdaptiveAvgPool2d(pair(options["out"]))(x)
            shapes.append(tuple(x.shape))
        if net["head"]:
            x = torch.flatten(x, 1)
            shapes.append(tuple(x.shape))
            module = nn.Linear(x.shape[1], net["head"])
            params += sum(p.numel() for p in module.parameters())
            x = module(x)
            shapes.append(tuple(x.shape))
    except (RuntimeError, ValueError):
        return None
    return shapes, x, params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network)
def test_random_networks_agree_with_pytorch(net):
    with torch.no_grad():
        reference = run_torch(net)
    try:
        result = paramcalc.analyze(spec_of(net))
    except paramcalc.SpecError as err:
        assert reference is None, f"paramcalc refused what PyTorch runs: {err}"
        return
    assert reference is not None, "paramcalc accepted what PyTorch refuses"
    shapes, output, params = reference
    ours = [(result.batch, *r.shape) for r in result.records]
    assert ours == shapes
    assert result.totals.params == params
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run_torch(net)
    assert result.totals.macs == counter.get_total_flops() // 2
