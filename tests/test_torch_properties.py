"""Random networks against PyTorch: paramcalc accepts exactly what PyTorch runs, and then agrees with it on
every layer's shape, the parameters and the MACs.

The PyTorch side is built here directly from the drawn settings (not by paramcalc.torch), so it is an
independent reference.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .conftest import require_torch

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

small = st.integers(min_value=1, max_value=4)
pair_or_int = st.one_of(small, st.tuples(small, small))
padding = st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                    st.sampled_from(["same", "valid"]),
                    st.fixed_dictionaries({side: st.integers(0, 2) for side in ("top", "bottom", "left", "right")}))

conv = st.fixed_dictionaries({
    "out": st.integers(1, 8), "kernel": pair_or_int, "stride": st.one_of(st.integers(1, 3), st.tuples(small, small)),
    "padding": padding, "dilation": st.integers(1, 3), "groups": st.integers(1, 4), "bias": st.booleans()})
maxpool = st.fixed_dictionaries({
    "kernel": pair_or_int, "stride": st.one_of(st.none(), st.integers(1, 3)), "padding": st.integers(0, 2),
    "dilation": st.integers(1, 2), "ceil_mode": st.booleans()})
avgpool = st.fixed_dictionaries({
    "kernel": pair_or_int, "stride": st.one_of(st.none(), st.integers(1, 3)), "padding": st.integers(0, 2),
    "ceil_mode": st.booleans(), "count_include_pad": st.booleans()})
operation = st.one_of(
    st.tuples(st.just("conv2d"), conv),
    st.tuples(st.just("maxpool"), maxpool),
    st.tuples(st.just("avgpool"), avgpool),
    st.tuples(st.just("batchnorm"), st.just({})),
    st.tuples(st.just("adaptive_avgpool"), st.fixed_dictionaries({"out": pair_or_int})),
    st.tuples(st.just("add"), conv),      # x + conv(x): a residual branch
    st.tuples(st.just("concat"), conv),   # cat(x, conv(x)): a dense connection
)
network = st.fixed_dictionaries({
    "input": st.tuples(st.integers(1, 6), st.integers(1, 20), st.integers(1, 20)),
    "batch": st.integers(1, 2),
    "layers": st.lists(operation, min_size=1, max_size=5),
    "head": st.one_of(st.none(), st.integers(1, 10)),
})


def _pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def torch_conv(x, settings: dict) -> Any:
    options = dict(kernel_size=_pair(settings["kernel"]), stride=_pair(settings["stride"]),
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
                x = nn.AdaptiveAvgPool2d(_pair(options["out"]))(x)
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


def spec_of(net: dict) -> dict:
    """The same network as a paramcalc spec (a mapping), with the layer names the shapes are compared by."""
    layers: list[dict] = []
    previous = "input"
    for index, (kind, options) in enumerate(net["layers"]):
        name = f"l{index}"
        fields = {key: (list(value) if isinstance(value, tuple) else value) for key, value in options.items()
                  if value is not None}
        if kind in ("add", "concat"):
            layers.append({"name": f"branch{index}", "from": previous, "conv2d": fields})
            layers.append({"name": name, kind: None, "from": [previous, f"branch{index}"]})
        else:
            layers.append({"name": name, kind: fields or None})
        previous = name
    if net["head"]:
        layers += [{"name": "flatten", "flatten": None}, {"name": "head", "linear": net["head"]}]
    return {"name": "random", "input": list(net["input"]), "batch": net["batch"], "layers": layers}


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
