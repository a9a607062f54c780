"""Hostile and broken specs: whatever the input, a result or one located message, exit 0 or 2, no traceback."""

from __future__ import annotations

import importlib.util

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .fuzzing import cases, check_case

EXPORTS = importlib.util.find_spec("torch") is not None  # hostile names go through `export`, which needs torch
CORPUS = cases(400, seed=2026, exports=EXPORTS) + cases(150, seed=2027, long=True, exports=EXPORTS)


def test_mutated_specs(tmp_path):
    failures = []
    for index, case in enumerate(CORPUS):
        # most cases skip rich; every tenth goes through the table too
        arguments = () if index % 10 == 0 else ("--format", "json")
        problem = check_case(case, tmp_path, arguments, max_seconds=20)  # a hang guard; bench/fuzz.py times them
        if problem:
            failures.append((case.seed_spec, case.mutation, problem))
    assert not failures, failures[:5]


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["same", "valid", "depthwise", "input", "1e6", "25M",
                                                           "index", "planes * 4", "2 ** 64", "[", "'"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
kinds = st.sampled_from(["conv2d", "maxpool", "avgpool", "linear", "batchnorm", "flatten", "concat", "add",
                         "adaptive_avgpool", "channel_split", "relu", "dropout", "pad", "softmax", "nonsense"])
layer = st.one_of(kinds, st.dictionaries(st.one_of(kinds, st.sampled_from(["name", "from", "repeat", "if", "layers"])),
                                         values, max_size=4))
specs = st.fixed_dictionaries(
    {"name": st.one_of(st.just("t"), scalars), "input": st.one_of(st.just([3, 16, 16]), values),
     "layers": st.one_of(st.lists(layer, min_size=1, max_size=5), values)},
    optional={"batch": values, "vars": values, "blocks": values, "output": values, "budget": values})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_random_structures_give_a_result_or_a_spec_error(spec):
    try:
        paramcalc.analyze(spec)
    except paramcalc.SpecError as err:
        assert str(err)
