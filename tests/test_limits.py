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


def test_evaluated_text():
    evaluated = f"more than {limits.MAX_EVALUATED_CHARS:,} characters to evaluate"
    heavy = '"2 ** 60 * 3 / 7"'
    anchored = f"  a: &a [{', '.join([heavy] * 1000)}]\n"
    # aliases of one list in many values: each value evaluates it again
    refused(HEAD + "vars:\n" + anchored + "".join(f"  b{i}: *a\n" for i in range(990)) + "layers: [relu]\n",
            evaluated, "vars: b3", "use its name (b: a)")
    # a repeat evaluates its layers' fields once per copy
    refused(HEAD + "layers:\n  - {reshape: [" + "1, " * 3000 + '"index * 0 + 192"], repeat: 10000}\n',
            f"<string>:4:15: layer '0.165': shape: the spec's values come to {evaluated}")  # 3,016 a copy
    # and a long file of expressions is bounded by the same count
    refused(HEAD + "vars:\n" + f"  a: [{', '.join([heavy] * 40_000)}]\n" + "layers: [relu]\n",
            f"<string>:4:6: vars: a: the spec's values come to {evaluated}")
    # a real network's values come to a few thousand characters, even with a long repeat
    paramcalc.analyze(HEAD + "vars:\n" + anchored + "  b: [" + ", ".join(["*a"] * 990) + "]\n"
                      "layers:\n  - {conv2d: {out: \"3 + index % 2\", kernel: 1}, repeat: 10000}\n")


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


def test_symbolic_period():
    # ceil(H/2^17) = floor(H/2^17) only where H is a multiple of 2^17: deciding it takes 131,072 sizes
    refused("name: t\ninput: [1, H, W]\nlayers:\n  - {name: a, conv2d: {out: 1, kernel: 1, stride: 131072}}\n"
            "  - {name: b, from: input, maxpool: {kernel: 131072}}\n  - {name: c, add, from: [a, b]}\n",
            "layer 'c'", f"takes trying 131,072 sizes, more than its limit of {limits.MAX_SYMBOLIC_PERIOD:,}",
            "give concrete sizes")
    # within the limit it is worked out: 99,991 sizes (a prime)
    result = paramcalc.analyze("name: t\ninput: [1, H, W]\nlayers:\n"
                               "  - {name: a, conv2d: {out: 1, kernel: 1, stride: 99991}}\n"
                               "  - {name: b, from: input, maxpool: {kernel: 99991}}\n  - {name: c, add, from: [a, b]}\n")
    assert [str(condition) for condition, _ in result.conditions] == [
        "H >= 99991", "W >= 99991", "H divisible by 99991", "W divisible by 99991"]


def test_a_field_whose_stride_passes_any_size_is_not_followed():
    # 1e9 strides, 480 times: the effective stride would be 10^(9·480); past 2^63 - 1 the field is not followed
    result = paramcalc.analyze("name: t\ninput: [3, 8, 8]\nlayers:\n"
                               "  - {conv2d: {out: 3, kernel: 1, stride: 1000000000}, repeat: 480}\n")
    first, second = result.records[1].rf, result.records[2].rf  # records[0] is the repeat's group
    assert (first.size, first.stride) == ((1, 1), (10**9, 10**9))
    assert (second.size, second.stride) == ((1, 1), (10**18, 10**18))
    assert result.records[3].rf is None and result.totals.rf is None and result.totals.output_shape == (3, 1, 1)


def test_a_field_whose_size_or_padding_passes_any_size_is_not_followed():
    # by hand: two 1e9 strides give 10^18; each 3x3 conv (padding 1) then adds 2·10^18 to the size and 10^18 to
    # the padding, so the size passes 2^63 - 1 (about 9.22·10^18) at the 5th, the padding, alone, with 1x1
    # kernels (padding 1: the map grows by 2 each time, the size stays 1), at the 10th
    head = "name: t\ninput: [1, 1, 1]\nlayers:\n  - {conv2d: {out: 1, kernel: 1, stride: 1000000000}, repeat: 2}\n"
    grown = paramcalc.analyze(head + "  - {conv2d: {out: 1, kernel: 3, padding: 1}, repeat: 5}\n")
    fields = [record.rf for record in grown.records if not record.is_group]
    assert [field.size[0] for field in fields[2:6]] == [1 + 2 * k * 10**18 for k in range(1, 5)]
    assert fields[6] is None
    padded = paramcalc.analyze(head + "  - {conv2d: {out: 1, kernel: 1, padding: 1}, repeat: 10}\n")
    fields = [record.rf for record in padded.records if not record.is_group]
    assert [(field.size[0], field.padding[0]) for field in fields[2:11]] == [(1, k * 10**18) for k in range(1, 10)]
    assert fields[11] is None


def test_a_field_exactly_as_large_as_any_size_is_followed():
    # by hand: n 3x3 convs at stride 2 (padding 1 keeps a 1x1 map) give a field of 2^(n+1) - 1 at a stride of 2^n:
    # at n = 62, 2^63 - 1 exactly, PyTorch's largest size; one more passes it
    spec = "name: t\ninput: [1, 1, 1]\nlayers:\n  - {{conv2d: {{out: 1, kernel: 3, stride: 2, padding: 1}}, repeat: {n}}}\n"
    assert paramcalc.analyze(spec.format(n=62)).totals.rf.size == (2**63 - 1, 2**63 - 1)
    assert paramcalc.analyze(spec.format(n=63)).totals.rf is None


@pytest.mark.parametrize("layer", ["upsample: {scale: 2}", "conv_transpose2d: {out: 3, kernel: 2, stride: 2}"])
def test_tensor_size_with_symbolic_sizes(layer):
    # 10,000 doublings of H: refused at the 63rd, where 2^63·H passes the largest size at H = 1 (the audit's
    # exit 70 after 11 s, and an OverflowError); before it, the largest H that stays within is a condition
    spec = f"name: t\ninput: [3, H, W]\nlayers:\n  - {{{layer}, repeat: {limits.MAX_REPEAT}}}\n"
    refused(spec, "layer '0.62'", f"the output size 9,223,372,036,854,775,808·H is more than PyTorch's largest "
            f"({limits.MAX_TENSOR_SIZE:,}) at every input size: at H = 1 it is 9,223,372,036,854,775,808")
    result = paramcalc.analyze(spec.replace(f"repeat: {limits.MAX_REPEAT}", "repeat: 62"))
    assert [str(condition) for condition, _ in result.conditions] == ["H <= 1", "W <= 1"]
    assert result.at({"H": 1, "W": 1}).totals.output_shape == (3, 2**62, 2**62)


def test_tensor_size_follows_the_limits_module(monkeypatch):
    # the limit is read when a layer is worked out: a test lowers it to make upper bounds small
    monkeypatch.setattr(limits, "MAX_TENSOR_SIZE", 1000)
    refused(HEAD + "layers: [{upsample: {scale: 200}}]\n", "the output size 1,600 is more than PyTorch's largest (1,000)")
    result = paramcalc.analyze("name: t\ninput: [3, H, W]\nlayers: [{upsample: {scale: 200}}]\n")
    assert [str(condition) for condition, _ in result.conditions] == ["H <= 5", "W <= 5"]


def test_a_layer_may_make_as_many_dimensions_as_the_limit():
    # 63 dimensions in, one split in two: 64, the limit, which is allowed; one more is refused
    assert len(paramcalc.analyze({"name": "t", "input": [1] * 63, "layers": [
        {"unflatten": {"dim": 1, "sizes": [1, 1]}}]}).totals.output_shape) == limits.MAX_RANK == 64
    with pytest.raises(paramcalc.SpecError, match="the output has 65 dimensions; paramcalc takes at most 64"):
        paramcalc.analyze({"name": "t", "input": [1] * 63, "layers": [{"unflatten": {"dim": 1, "sizes": [1, 1, 1]}}]})


def test_a_growing_size_in_training_is_judged_under_the_training_conditions(monkeypatch):
    # the train-only head needs H >= 50 (a 50-row kernel), where its transposed convolution makes H - 49 + 1,000
    # = H + 951 rows: 1,001 at H = 50, past a largest size of 1,000 at every size training allows
    monkeypatch.setattr(limits, "MAX_TENSOR_SIZE", 1000)
    refused("name: t\ninput: [1, H, 4]\nlayers:\n  - {name: trunk, conv2d: {out: 1, kernel: 1}}\n"
            "  - {name: head, conv2d: {out: 1, kernel: [50, 1]}, train_only: true}\n"
            "  - {name: up, conv_transpose2d: {out: 1, kernel: [1001, 1]}, train_only: true}\n"
            "  - {name: out, conv2d: {out: 1, kernel: 1}, from: trunk}\n",
            "layer 'up': the output size H + 951 is more than PyTorch's largest (1,000) at every input size: "
            "at H = 50 it is 1,001")


def test_a_growing_size_at_inference_is_not_judged_under_the_training_conditions(monkeypatch):
    # the same head (H >= 50, in training only) beside a transposed convolution that inference runs: H + 951 rows,
    # within a largest size of 1,000 up to H = 49, which inference allows
    monkeypatch.setattr(limits, "MAX_TENSOR_SIZE", 1000)
    result = paramcalc.analyze("name: t\ninput: [1, H, 4]\nlayers:\n"
                               "  - {name: head, conv2d: {out: 1, kernel: [50, 1]}, train_only: true}\n"
                               "  - {name: up, conv_transpose2d: {out: 1, kernel: [952, 1]}, from: input}\n")
    assert [str(condition) for condition, _ in result.conditions] == ["H <= 49"]


def test_a_layer_alike_in_training_and_at_inference_gives_each_its_condition():
    # the train-only head and the trunk are the same convolution on the same input: the trunk's H >= 50 (a 50-row
    # kernel, no padding) is inference's too, not only training's
    result = paramcalc.analyze("name: t\ninput: [1, H, 4]\nlayers:\n"
                               "  - {name: head, conv2d: {out: 1, kernel: [50, 1]}, train_only: true}\n"
                               "  - {name: trunk, conv2d: {out: 1, kernel: [50, 1]}, from: input}\n")
    assert [(str(condition), layer) for condition, layer in result.conditions] == [("H >= 50", "trunk")]


@pytest.mark.parametrize("depth", [0, -1, True, 1.5, "2"])
def test_depth_is_a_whole_number_of_at_least_one(depth):
    with pytest.raises(paramcalc.SpecError, match=f"depth must be a whole number of at least 1, got {depth!r}"):
        paramcalc.analyze(HEAD + "layers: [{conv2d: {out: 2, kernel: 3}}]\n", depth=depth)
    assert [record.name for record in paramcalc.analyze(
        HEAD + "layers: [{name: g, layers: [{name: c, conv2d: {out: 2, kernel: 3}}]}]\n", depth=1).records] == ["g"]
