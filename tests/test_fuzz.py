"""Hostile and broken specs: whatever the input, a result or one located message, exit 0 or 2, no traceback."""

from __future__ import annotations

import importlib.util
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramcalc

from .fuzzing import (
    BASELINE_KINDS,
    alias_cases,
    cases,
    check_baseline,
    check_case,
    check_file_name,
    check_option,
    hostile_file_name,
    option_arguments,
)

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


# --- one class at a time: aliases, the command line's values, baseline reports, file names ---------------------
def test_aliases_of_numbers_and_expressions(tmp_path):
    # a value evaluates an aliased list once, and values that alias it are held to MAX_EVALUATED_CHARS: each
    # case takes under a second (some took 5 to 10 s, and an exit 0, when each alias was evaluated again)
    failures = [(case.seed_spec, problem) for case in alias_cases(24, seed=2028)
                if (problem := check_case(case, tmp_path, max_seconds=5))]
    assert not failures, failures[:3]


def test_option_values(tmp_path):
    rng = random.Random(2029)
    commands = [option_arguments(rng) for _ in range(300)]
    failures = [(words, problem) for words in commands if (problem := check_option(words, tmp_path))]
    assert not failures, failures[:3]


def test_baseline_reports(tmp_path):
    rng = random.Random(2030)
    failures = [(kind, problem) for kind in BASELINE_KINDS * 3 if (problem := check_baseline(kind, tmp_path, rng))]
    assert not failures, failures[:3]


def test_hostile_file_names(tmp_path):
    rng = random.Random(2031)
    names = [hostile_file_name(rng) for _ in range(150)]
    failures = [(name, problem) for name in names if (problem := check_file_name(name, tmp_path))]
    if EXPORTS:  # export and verify took a name holding a line break for the spec itself
        failures += [(name, problem) for name in names[:8] for command in ("export", "verify")
                     if (problem := check_file_name(name, tmp_path, command))]
    assert not failures, failures[:3]
