"""Random small networks as hypothesis strategies, and the same networks as paramcalc specs.

Shared by the PyTorch cross-check (test_torch_properties) and the symbolic-size properties
(test_symbolic); nothing here imports torch.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

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


def pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def spec_fields(options: dict) -> dict:
    """A drawn layer's options as a spec writes them: tuples as lists, unset options left out."""
    return {key: (list(value) if isinstance(value, tuple) else value) for key, value in options.items()
            if value is not None}


def spec_of(net: dict) -> dict:
    """The same network as a paramcalc spec (a mapping), with the layer names the shapes are compared by."""
    layers: list[dict] = []
    previous = "input"
    for index, (kind, options) in enumerate(net["layers"]):
        name = f"l{index}"
        fields = spec_fields(options)
        if kind in ("add", "concat"):
            layers.append({"name": f"branch{index}", "from": previous, "conv2d": fields})
            layers.append({"name": name, kind: None, "from": [previous, f"branch{index}"]})
        else:
            layers.append({"name": name, kind: fields or None})
        previous = name
    if net["head"]:
        layers += [{"name": "flatten", "flatten": None}, {"name": "head", "linear": net["head"]}]
    return {"name": "random", "input": list(net["input"]), "batch": net["batch"], "layers": layers}
