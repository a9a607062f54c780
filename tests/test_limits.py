"""Each documented limit (paramcalc/limits.py) gives a clear error instead of a hang or exhausted memory."""

from __future__ import annotations

import time

import pytest

import paramcalc
from paramcalc import limits

HEAD = "name: t\ninput: [3, 8, 8]\n"


def refused(text: str, *fragments: str) -> str:
    started = time.perf_counter()
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(text)
    assert time.perf_counter() - started < 10  # bounded: refused early, not after the work was done
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    return message


def test_file_size():
    padding = "# " + "x" * 998 + "\n"
    refused(HEAD + padding * (limits.MAX_FILE_BYTES // 1000 + 1) + "layers: [relu]\n",
            f"larger than {limits.MAX_FILE_BYTES:,} bytes")


def test_billion_laughs():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    refused("\n".join(lines) + "\n", f"expands to more than {limits.MAX_YAML_NODES:,} values", "repeat")


def test_alias_count():
    lines = ["a: &a [1]", "b: [" + ", ".join(["*a"] * (limits.MAX_YAML_ALIASES + 1)) + "]"]
    refused("\n".join(lines) + "\n", f"more than {limits.MAX_YAML_ALIASES} YAML aliases", "repeat")


def test_yaml_nesting():
    depth = limits.MAX_YAML_NESTING + 5
    refused(HEAD + "vars: {a: " + "[" * depth + "]" * depth + "}\nlayers: [relu]\n", "nest more than")


def test_expression_length_and_size():
    refused(HEAD + f"layers: [{{linear: \"{'1 + ' * 300}1\"}}]\n",
            f"expression longer than {limits.MAX_EXPRESSION_CHARS} characters")
    refused(HEAD + "layers: [{linear: \"2 ** 1000\"}]\n", f"up to {limits.MAX_POWER_EXPONENT}")
    refused(HEAD + "layers: [{linear: \"2 ** 64 * 2 ** 64\"}]\n", "exceeds 10^30")


def test_sizes():
    refused(HEAD + "layers: [{conv2d: {out: 2000000000, kernel: 1}}]\n", f"at most {limits.MAX_SIZE:,}")
    refused("name: t\ninput: [3, 1e10, 8]\nlayers: [relu]\n", "each input size must be between 1 and")
    refused(HEAD + "batch: 1e10\nlayers: [relu]\n", "batch must be between 1 and")


def test_rank():
    many = limits.MAX_RANK + 1
    refused(f"name: t\ninput: [{', '.join(['1'] * 50_000)}]\nlayers: [relu]\n",
            f"50,000 dimensions; paramcalc takes at most {limits.MAX_RANK}")
    refused(f"name: t\ninput: [64]\nlayers: [{{reshape: [{', '.join(['1'] * many)}, 64]}}]\n",
            f"the output has {many + 1} dimensions")
    refused("name: t\ninput: [64]\nlayers: [{lstm: {hidden: 8, layers: 1000000000}}]\n",
            "sequence (steps x features)")  # a huge layer count is worked out in closed form, then refused here
    big = paramcalc.analyze("name: t\ninput: [10, 8]\nlayers: [{lstm: {hidden: 8, layers: 1000000000}}]\n")
    assert big.totals.params == 4 * 8 * (8 + 8) + (10**9 - 1) * 4 * 8 * (8 + 8) + 10**9 * 2 * 4 * 8


def test_repeat():
    refused(HEAD + f"layers: [{{relu: null, repeat: {limits.MAX_REPEAT + 1}}}]\n",
            f"repeat must be between 1 and {limits.MAX_REPEAT:,}")


def test_block_nesting():
    depth = limits.MAX_NESTING + 2
    blocks = "".join(f"  b{i}: {{layers: [b{i + 1}]}}\n" for i in range(depth)) + f"  b{depth}: {{layers: [relu]}}\n"
    refused(HEAD + "blocks:\n" + blocks + "layers: [b0]\n", f"nest more than {limits.MAX_NESTING} deep")


def test_expanded_layer_count():
    spec = HEAD + "blocks:\n  unit: {layers: [relu, relu, relu, relu]}\n" \
        + f"layers: [{{unit: null, repeat: {limits.MAX_REPEAT}}}, {{unit: null, repeat: {limits.MAX_REPEAT}}}]\n"
    refused(spec, f"expands to more than {limits.MAX_LAYERS:,} layers", "repeat")


def test_exact_integers_at_any_size():
    # 100,000 inputs to 1,000,000 outputs: 10^11 weights + 10^6 biases, exactly
    result = paramcalc.analyze("name: huge\ninput: [100000]\nlayers: [{linear: 1e6}]\n")
    assert result.totals.params == 100_000 * 1_000_000 + 1_000_000 == 100_001_000_000
    assert result.totals.macs == 10**11 and result.totals.flops == 2 * 10**11 + 10**6
    assert result.totals.param_bytes == 4 * 100_001_000_000
