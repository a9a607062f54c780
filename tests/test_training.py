"""Training figures against PyTorch's measurements (tests/data/training_step.json) and hand arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paramcalc.engine.symbolic import evaluate
from paramcalc.engine.training import analyze_training
from paramcalc.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "tests" / "data" / "training_step.json").read_text())["models"]


def train(spec, **options):
    return analyze_training(spec if isinstance(spec, dict) else ROOT / spec, **options).training


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_saved_storages_are_pytorchs(name):
    measured = REFERENCE[name]
    training = train(f"specs/{name}.yaml", batch=measured["batch"])
    assert training.saved_bytes == measured["saved_bytes_unique"]
    assert training.not_modelled == ()


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn", "alexnet"])
def test_backward_products_are_flop_counter_modes(name):
    measured = REFERENCE[name]
    training = train(f"specs/{name}.yaml", batch=measured["batch"])
    assert 2 * training.backward_macs == measured["backward_matmul_conv_flops"]


def test_grouped_convolutions_count_their_groups_backward():
    """FlopCounterMode counts mobilenet_v2's depthwise gradients as dense (the file's caveat). Each gradient of a
    convolution is as large as the convolution, so the backward products are twice the forward ones (measured,
    grouped correctly) less the input gradient of the first convolution, whose input needs none: 32 filters of
    3·3·3 weights at 112x112 positions, 2 samples, 2 FLOPs per MAC."""
    measured = REFERENCE["mobilenet_v2"]
    first_conv = 32 * 112 * 112 * 3 * 3 * 3 * 2 * 2
    training = train("specs/mobilenet_v2.yaml", batch=2)
    assert 2 * training.backward_macs == 2 * measured["forward_matmul_conv_flops"] - first_conv
    assert 2 * training.backward_macs < measured["backward_matmul_conv_flops"]


MLP = {"name": "mlp", "input": [784], "layers": [
    {"name": "fc1", "linear": {"out": 100}}, {"name": "relu", "relu": None}, {"name": "fc2", "linear": {"out": 10}}]}


@pytest.mark.parametrize("optimizer, tensors", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_weights_gradients_and_optimizer_state(optimizer, tensors):
    params = 784 * 100 + 100 + 100 * 10 + 10
    training = train(MLP, optimizer=optimizer)
    assert (training.weight_bytes, training.gradient_bytes) == (4 * params, 4 * params)
    assert training.optimizer_bytes == 4 * tensors * params


def test_saved_tensors_of_a_small_network_by_hand():
    """fc1 saves its input (the model's, for its weight gradient; the input needs no gradient, so not fc1's
    weight); the ReLU its output, which fc2 saves too (one storage); fc2 its weight (10 x 100)."""
    training = train(MLP, batch=4)
    activations = 4 * 784 * 4 + 4 * 100 * 4
    assert training.saved_activation_bytes == activations
    assert training.saved_bytes == activations + 100 * 10 * 4
    assert training.peak_bytes == 4 * 79510 * (1 + 1 + 2) + activations
    assert training.layers["fc1"].saved_bytes == 4 * 784 * 4
    assert training.layers["fc2"].saved_bytes == 100 * 10 * 4


def test_backward_flops_by_hand():
    """fc1: the weight gradient only (2·MACs + a bias add per output); the ReLU: its input's gradient (1 per
    element, as its forward); fc2: both gradients."""
    training = train(MLP)
    fc1, fc2 = 784 * 100, 100 * 10
    assert training.backward_macs == fc1 + 2 * fc2
    assert training.backward_flops == (2 * fc1 + 100) + 100 + (2 * fc2) + (2 * fc2 + 10)
    assert training.forward_flops == (2 * fc1 + 100) + 100 + (2 * fc2 + 10)
    assert training.train_flops == training.forward_flops + training.backward_flops


def test_frozen_layers_have_no_gradients_and_save_less():
    spec = {**MLP, "layers": [{**MLP["layers"][0], "frozen": True}, *MLP["layers"][1:]]}
    training = train(spec, optimizer="adam")
    trainable = 100 * 10 + 10
    assert training.gradient_bytes == 4 * trainable
    assert training.optimizer_bytes == 8 * trainable
    # nothing before fc2 needs a gradient: fc2 keeps only its input (the ReLU's output) for its weight gradient
    assert training.saved_bytes == 100 * 4
    assert training.backward_macs == 100 * 10


def test_mixed_precision_halves_the_activations_and_keeps_fp32_weights():
    """Under --amp the saved activations are 2 bytes, and a linear layer's weight is saved as autocast's half
    copy; weights, gradients and optimizer state stay 4 bytes."""
    training = train(MLP, batch=4, amp="bf16")
    params = 79510
    assert (training.weight_bytes, training.gradient_bytes, training.optimizer_bytes) == (4 * params, 4 * params,
                                                                                          8 * params)
    assert training.saved_activation_bytes == 2 * (4 * 784 + 4 * 100) + 2 * 100 * 10
    assert training.amp == "bfloat16"


def test_batch_norm_keeps_float32_statistics_under_mixed_precision():
    spec = {"name": "bn", "input": [8, 4, 4], "layers": [{"conv2d": {"out": 8, "kernel": 1, "bias": False}},
                                                          {"batchnorm": None}]}
    training = train(spec, amp="fp16", batch=2)
    conv_input, copy, bn_input, statistics = 2 * 128 * 2, 64 * 2, 2 * 128 * 2, 2 * 8 * 4
    assert training.saved_activation_bytes == conv_input + copy + bn_input + statistics
    assert training.saved_bytes == training.saved_activation_bytes + (8 + 8 + 8) * 4  # scale, running stats


@pytest.mark.parametrize("layer, statistics, weights", [
    ({"groupnorm": 2}, 2 * 2, 8),        # a mean and an inverse deviation per group (2) and sample; the scale (8)
    ({"layernorm": None}, 2 * 8 * 4, 4 + 4),  # per row (8 channels x 4 rows of 4) and sample; scale and shift (4 each)
])
def test_other_norms_keep_float32_statistics_under_mixed_precision(layer, statistics, weights):
    spec = {"name": "norm", "input": [8, 4, 4], "layers": [{"conv2d": {"out": 8, "kernel": 1, "bias": False}},
                                                            {"name": "n", **layer}]}
    training = train(spec, amp="fp16", batch=2)
    conv_input, copy, norm_input = 2 * 128 * 2, 64 * 2, 2 * 128 * 2
    assert training.saved_activation_bytes == conv_input + copy + norm_input + 2 * statistics * 4
    assert training.saved_bytes == training.saved_activation_bytes + weights * 4


def test_symbolic_sizes_give_formulas_that_agree_with_numbers():
    symbolic = train("specs/resnet18.yaml", input="3xHxW", batch=2)
    concrete = train("specs/resnet18.yaml", batch=2)
    at = {"H": 224, "W": 224}
    for name in ("saved_bytes", "saved_activation_bytes", "forward_flops", "backward_flops", "backward_macs"):
        assert evaluate(getattr(symbolic, name), at) == getattr(concrete, name), name


def test_unknown_optimizer_is_refused():
    with pytest.raises(SpecError, match="unknown optimizer 'lion'"):
        train(MLP, optimizer="lion")


def test_kinds_paramcalc_cannot_model_are_named():
    """What an LSTM saves (oneDNN's workspace) is not modelled, its backward is; a custom layer's saved tensors are
    unknown by definition, and its backward too when it has MACs."""
    spec = {"name": "lstm", "input": [12, 8], "layers": [{"name": "rnn", "lstm": {"hidden": 16}}]}
    training = train(spec)
    assert training.not_modelled == ("rnn (lstm)",)
    assert training.saved_bytes is None and training.peak_bytes is None
    # its weights' gradients (one product per forward one, 12 steps of 4 gates) and, though its input needs none,
    # the hidden state's gradient at each step but the first (11 products of 4·16 x 16)
    assert training.backward_macs == 12 * 4 * 16 * (8 + 16) + 11 * 4 * 16 * 16
    assert training.weight_bytes > 0
    spec = {"name": "custom", "input": [8], "layers": [{"name": "fc", "linear": 8},
                                                       {"name": "mystery", "custom": {"out": [8], "macs": 64}}]}
    training = train(spec)
    assert training.not_modelled == ("mystery (custom)",)
    assert training.saved_bytes is None and training.backward_flops is None and training.backward_macs is None


ATTENTION = {"name": "attention", "input": [5, 8], "layers": [  # L = 5 tokens of E = 8 features, 2 heads of 4
    {"name": "fc", "linear": 8}, {"name": "attention", "attention": 2}]}


def test_attention_saved_tensors_by_hand():
    """nn.MultiheadAttention on the CPU (the flash kernel), per sample: the query/key/value projection's input, a
    copy of the tokens (L·E = 40), and its weight (3·E² = 192, for the input's gradient); Q, K and V in one storage
    (3·L·E = 120); attention's output (L·E = 40, which the output projection keeps too); the logsumexp of each
    query's scores per head in float32 (heads·L = 10); the output projection's weight (E² = 64). fc keeps the
    model's input (L·E = 40) for its weight's gradient, not its weight (the input needs no gradient)."""
    training = train(ATTENTION, batch=2)
    activations = 2 * 4 * (40 + 120 + 40 + 10)
    assert training.layers["attention"].saved_bytes == activations + 4 * (192 + 64)
    assert training.saved_activation_bytes == activations + 2 * 4 * 40
    assert training.saved_bytes == 3024  # measured: tests/test_training_torch.py


def test_attention_with_dropout_keeps_its_weights():
    """Dropout on the attention weights sends PyTorch to the math path, which keeps, instead of the logsumexp and
    the output: the scaled queries and the transposed keys (L·E each), the softmax, the dropout mask and the
    dropped weights (heads·L² = 50 each), and attention's output copied back to rows (L·E)."""
    spec = {**ATTENTION, "layers": [ATTENTION["layers"][0], {"name": "attention", "attention": {"heads": 2,
                                                                                                "dropout": 0.1}}]}
    training = train(spec, batch=2)
    activations = 2 * 4 * (40 + 40 + 40 + 3 * 50 + 120 + 40)
    assert training.layers["attention"].saved_bytes == activations + 4 * (192 + 64)


def test_attention_backward_by_hand():
    """Per sample, MACs: the input's gradient through the query/key/value projection 3·L·E² = 960; the weights'
    gradients 4·L·E² = 1,280; and what either needs: the gradient through the output projection L·E² = 320 and,
    back through the scores, five products of L²·E = 200 (the flash kernel recomputes Q·Kᵀ, then takes four
    gradients). fc takes its weight's gradient only (L·E·E = 320)."""
    training = train(ATTENTION, batch=2)
    assert training.layers["attention"].backward_macs == 2 * (960 + 1280 + 320 + 5 * 200)
    assert training.backward_macs == 2 * (960 + 1280 + 320 + 5 * 200 + 320)
    assert 2 * training.backward_macs == 15520  # FlopCounterMode's figure (tests/test_training_torch.py)
    # FLOPs: 2 per MAC; the biases' gradients an add per output of each projection (4·L·E); the scaling and the
    # softmax as many as forward (L·E + 3·heads·L²)
    assert training.layers["attention"].backward_flops == 2 * (2 * (960 + 1280 + 320 + 1000) + 4 * 40 + 40 + 3 * 50)


def test_attention_as_the_first_layer_still_takes_the_shared_gradient():
    """Its input needs no gradient, but its weights' gradients need the one back through the output projection
    and the scores: only the query/key/value projection's input gradient (3·L·E²) is left out."""
    training = train({"name": "first", "input": [5, 8], "layers": [{"name": "attention", "attention": 2}]}, batch=2)
    assert training.backward_macs == 2 * (1280 + 320 + 1000)


def test_compare_train_sets_the_steps_side_by_side(tmp_path):
    """The MLP above and the same with fc1 frozen: no gradient and no optimizer state for fc1's 78,500
    parameters, and no weight gradient to compute for it (its input needs none either)."""
    import yaml
    from click.testing import CliRunner

    from paramcalc.cli import main

    first, second = tmp_path / "mlp.yaml", tmp_path / "frozen.yaml"
    first.write_text(yaml.safe_dump(MLP))
    frozen = {**MLP, "name": "frozen", "layers": [{**MLP["layers"][0], "frozen": True}, *MLP["layers"][1:]]}
    second.write_text(yaml.safe_dump(frozen))
    result = CliRunner().invoke(main, ["compare", str(first), str(second), "--train", "--optimizer", "sgd",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = {row["figure"]: row["values"] for row in json.loads(result.output)["figures"]}
    params, fc1 = 784 * 100 + 100 + 100 * 10 + 10, 784 * 100 + 100
    # saved: the MLP's fc1 keeps the input (784 values) for its weight gradient, the ReLU its output (100),
    # fc2 its weight; frozen, fc1 keeps nothing and its ReLU needs no gradient: fc2 keeps its input only
    assert figures["train_saved"] == [784 * 4 + 100 * 4, 100 * 4]
    assert figures["train_memory"] == [4 * params * 2 + 784 * 4 + 100 * 4, 4 * params + 4 * (params - fc1) + 100 * 4]
    assert figures["train_flops"] == [(2 * 78_400 + 100) + 100 + 2_010 + (2 * 78_400 + 100) + 100 + 2_000 + 2_010,
                                      (2 * 78_400 + 100) + 100 + 2_010 + 2_010]
    refused = CliRunner().invoke(main, ["compare", str(first), str(second), "--amp", "bf16"])
    assert refused.exit_code == 2 and "--optimizer and --amp go with --train" in refused.output


def test_convolutions_backward_flops_by_hand():
    """A convolution's gradients as docs/conventions.md counts them, on a map that is not square: the first's
    weights only (2·MACs, and an add per output element for the bias), the second's input (2·MACs) and weights
    (2·MACs, no bias here), the third's input and weights and bias, per sample and at a batch of 3."""
    spec = {"name": "convs", "input": [3, 10, 7], "layers": [
        {"name": "c1", "conv2d": {"out": 4, "kernel": [3, 2], "padding": 1}},          # 4 x 10 x 8
        {"name": "c2", "conv2d": {"out": 5, "kernel": 3, "bias": False}},              # 5 x 8 x 6
        {"name": "c3", "conv2d": {"out": 2, "kernel": [1, 3], "stride": [2, 1]}},      # 2 x 4 x 4
    ]}
    m1, m2, m3 = 4 * 10 * 8 * 3 * 3 * 2, 5 * 8 * 6 * 4 * 3 * 3, 2 * 4 * 4 * 5 * 1 * 3
    for batch in (1, 3):
        layers = train(spec, batch=batch).layers
        assert [layers[name].backward_macs for name in ("c1", "c2", "c3")] == [batch * m1, 2 * batch * m2,
                                                                                2 * batch * m3]
        assert layers["c1"].backward_flops == batch * (2 * m1 + 4 * 10 * 8)
        assert layers["c2"].backward_flops == batch * (2 * m2 + 2 * m2)
        assert layers["c3"].backward_flops == batch * (2 * m3 + 2 * m3 + 2 * 4 * 4)


def test_storages_shared_by_views_are_counted_once_and_copies_apart():
    """The input is saved by the convolution and, through a flatten (a view of it), by the first linear layer:
    one storage, 2·18 values at a batch of 2. A flatten of a permuted input copies it (a permute is not
    contiguous), so the second linear layer saves a storage of its own, 2·18 more. The product saves both
    operands (2·9 each); the add nothing. Besides, the convolution saves its weight (2 values): 8 bytes that
    are parameters. (PyTorch's saved_tensors_hooks on the same network: 440 bytes.)"""
    spec = {"name": "shared", "input": [2, 3, 3], "layers": [
        {"name": "c", "conv2d": {"out": 1, "kernel": 1}, "from": "input"},
        {"name": "f", "flatten": None, "from": "input"},
        {"name": "l", "linear": 9, "from": "f"},
        {"name": "cf", "flatten": None, "from": "c"},
        {"name": "m", "mul": None, "from": ["cf", "l"]},
        {"name": "p", "permute": [0, 2, 3, 1], "from": "input"},
        {"name": "pf", "flatten": None, "from": "p"},
        {"name": "l2", "linear": 9, "from": "pf"},
        {"name": "sum", "add": None, "from": ["m", "l2"]},
    ]}
    training = train(spec, batch=2)
    activations = 4 * (2 * 18 + 2 * 18 + 2 * 9 + 2 * 9)
    assert (training.saved_activation_bytes, training.saved_bytes) == (activations, activations + 8) == (432, 440)
    assert training.optimizer == "adam"


def test_a_group_sums_its_layers_training_figures_and_weights_count_statistics():
    spec = {"name": "grouped", "input": [3, 4, 4], "layers": [
        {"name": "stem", "layers": [{"name": "conv", "conv2d": {"out": 2, "kernel": 3, "padding": 1}},
                                    {"name": "bn", "batchnorm": None}, {"name": "relu", "relu": None}]},
        {"name": "fc", "linear": 5, "from": "stem"},
    ]}
    training = train(spec)
    stem, parts = training.layers["stem"], [training.layers[f"stem.{name}"] for name in ("conv", "bn", "relu")]
    for figure in ("saved_bytes", "forward_flops", "backward_flops", "backward_macs"):
        assert getattr(stem, figure) == sum(getattr(part, figure) for part in parts), figure
    assert stem.forward_flops == (2 * 2 * 16 * 27 + 32) + 2 * 32 + 32  # conv with bias, bn 2 per value, relu
    params = (2 * 27 + 2) + 2 * 2 + (4 * 5 + 5)
    assert training.weight_bytes == 4 * (params + 2 * 2)  # + bn's running mean and variance
    assert training.gradient_bytes == 4 * params


def test_another_input_size_and_dtype_are_the_step_s():
    """The options reach the step: at an input of 3x2x2 the conv saves its input (12 values) and the ReLU its
    output (2x2x2); in float16 every saved activation takes 2 bytes."""
    spec = {"name": "small", "input": [3, 4, 4], "layers": [
        {"name": "conv", "conv2d": {"out": 2, "kernel": 1}}, {"name": "relu", "relu": None}]}
    training = train(spec, input="3x2x2")
    assert training.saved_activation_bytes == 4 * (12 + 8)  # the conv's input, the ReLU's output
    assert train(spec, input="3x2x2", dtype="float16").saved_activation_bytes == 2 * (12 + 8)


def test_which_views_share_a_storage_and_which_copy():
    """The input, saved by the convolution, is also what the first linear layer saves, through a flatten (a
    view): one storage. The convolution's output, kept by the GELU, is also what the third saves through a
    flatten: one storage. The permuted map is not contiguous, so its flatten copies it: the second linear layer
    saves a storage of its own. 3·18 values per sample, at a batch of 2 and 4 bytes; besides, the weights the
    linear layers after the convolution keep for its gradient (2·18·18) and the convolution's own (2·2).
    (PyTorch's saved_tensors_hooks on the same network: 3,040 bytes.)"""
    spec = {"name": "views", "input": [2, 3, 3], "layers": [
        {"name": "c", "conv2d": {"out": 2, "kernel": 1}},
        {"name": "g", "gelu": None}, {"name": "gf", "flatten": None},
        {"name": "cf", "flatten": None, "from": "c"}, {"name": "l3", "linear": 18},
        {"name": "f", "flatten": None, "from": "input"}, {"name": "l", "linear": 18},
        {"name": "p", "permute": [0, 2, 3, 1], "from": "c"}, {"name": "pf", "flatten": None},
        {"name": "l2", "linear": 18},
        {"name": "sum", "add": None, "from": ["l", "l2", "l3", "gf"]},
    ]}
    training = train(spec, batch=2)
    activations = 4 * 2 * 3 * 18
    assert training.saved_activation_bytes == activations == 432
    assert training.saved_bytes == activations + 4 * (2 * 18 * 18 + 2 * 2) == 3_040


def test_a_train_only_head_that_cannot_run_at_this_size_is_no_part_of_the_step():
    """At 4x4 the auxiliary head's 5x5 convolution has no room: it and its group count nothing. The step is the
    main path's: the 3x3 convolution (4 outputs of 4·9 MACs at each of 16 positions, a bias add each) and the
    linear layer (64 -> 3)."""
    spec = {"name": "aux", "input": [4, 8, 8], "layers": [
        {"name": "c", "conv2d": {"out": 4, "kernel": 3, "padding": 1}},
        {"name": "aux", "train_only": True, "from": "c", "layers": [
            {"name": "conv", "conv2d": {"out": 2, "kernel": 5}}, {"name": "flat", "flatten": None},
            {"name": "fc", "linear": 3}]},
        {"name": "f", "flatten": None, "from": "c"}, {"name": "fc", "linear": 3}]}
    training = train(spec, input="4x4x4")
    for name in ("aux", "aux.conv", "aux.flat", "aux.fc"):
        assert tuple(training.layers[name]) == (0, 0, 0, 0), name
    conv_macs, fc_macs = 64 * 36, 64 * 3
    assert training.forward_flops == (2 * conv_macs + 64) + (2 * fc_macs + 3)
    # the input needs no gradient: the convolution's weight gradient only; the linear layer's both
    assert training.backward_macs == conv_macs + 2 * fc_macs


def test_a_layer_that_needs_no_gradient_saves_nothing_and_has_no_backward():
    """A ReLU on the input (which needs no gradient, and the ReLU has no weights): autograd does not record it."""
    spec = {"name": "relu_first", "input": [8], "layers": [{"name": "relu", "relu": None}, {"name": "fc", "linear": 2}]}
    training = train(spec)
    assert tuple(training.layers["relu"]) == (0, 8, 0, 0)  # one comparison per value forward
    assert training.layers["fc"].saved_bytes == 8 * 4  # its input, for the weight gradient


def test_a_group_holding_a_layer_whose_saved_tensors_are_unknown_has_none():
    spec = {"name": "custom", "input": [8], "layers": [{"name": "g", "layers": [
        {"name": "fc", "linear": 8}, {"name": "mystery", "custom": {"out": [8], "macs": 64}}]}]}
    training = train(spec)
    assert training.layers["g"].saved_bytes is None and training.layers["g.mystery"].saved_bytes is None
    assert training.layers["g.fc"].saved_bytes == 8 * 4
    assert training.layers["g"].forward_flops == (2 * 64 + 8) + 2 * 64  # a custom layer's FLOPs: 2 per MAC


def test_a_flatten_of_a_view_of_a_contiguous_tensor_is_a_view_too():
    """The identity returns its input, which the flatten then views: the linear layer saves the input the
    convolution saves already, one storage of 2·18 values at a batch of 2; besides, the convolution's weight
    (2 values). (PyTorch's saved_tensors_hooks on the same network: 144 and 152 bytes.)"""
    spec = {"name": "view", "input": [2, 3, 3], "layers": [
        {"name": "c", "conv2d": {"out": 1, "kernel": 1}},
        {"name": "i", "identity": None, "from": "input"}, {"name": "f", "flatten": None}, {"name": "l", "linear": 4}]}
    training = train(spec, batch=2)
    assert (training.saved_activation_bytes, training.saved_bytes) == (4 * 2 * 18, 4 * 2 * 18 + 4 * 2) == (144, 152)


@pytest.mark.parametrize("p, saved, activations", [(0.0, 448, 192), (1.0, 548, 292), (0.5, 640, 384)])
def test_what_dropout_keeps(p, saved, activations):
    """fc's input and output (3·8 values each at a batch of 3), which fc3 and, through the dropout, fc2 save, and
    fc2's and fc3's weights (2·32). Dropping nothing returns the input itself; p = 1 multiplies by a zero scalar
    it keeps (one value) into a new tensor; otherwise the mask (3·8) is kept and the output is new. (PyTorch's
    saved_tensors_hooks on the same network: the same bytes.)"""
    spec = {"name": "dropout", "input": [8], "layers": [{"name": "fc", "linear": 8}, {"name": "d", "dropout": p},
            {"name": "fc2", "linear": 4}, {"name": "fc3", "linear": 4, "from": "fc"}]}
    training = train(spec, batch=3)
    weights = 4 * 2 * 32
    new = {0.0: 0, 1.0: 1 + 24, 0.5: 24 + 24}[p]
    assert training.saved_activation_bytes == 4 * (24 + 24 + new) == activations
    assert training.saved_bytes == activations + weights == saved


@pytest.mark.parametrize("p, mode, saved", [(0.0, "row", 448), (0.5, "row", 556), (0.5, "batch", 548)])
def test_what_stochastic_depth_keeps(p, mode, saved):
    """As dropout above: dropping nothing returns the input itself; otherwise x · noise keeps the noise, one value
    per sample (3) or one for the batch, and the output is new (3·8). (torchvision's StochasticDepth under
    PyTorch's saved_tensors_hooks: the same bytes.)"""
    spec = {"name": "sd", "input": [8], "layers": [{"name": "fc", "linear": 8},
            {"name": "d", "stochastic_depth": {"p": p, "mode": mode}},
            {"name": "fc2", "linear": 4}, {"name": "fc3", "linear": 4, "from": "fc"}]}
    new = 0 if p == 0 else (3 if mode == "row" else 1) + 24
    assert train(spec, batch=3).saved_bytes == 4 * (24 + 24 + new + 2 * 32) == saved


@pytest.mark.parametrize("layer, forward, weights", [
    # per value of the 2 x 3 x 5 map (30): the input's gradient costs the forward FLOPs; the weights' 3 per value
    # (a multiply and an add for the scale's, an add for the shift's), 2 without a shift, none without weights
    ({"batchnorm": None}, 2, 3), ({"batchnorm": {"affine": False}}, 2, 0),
    ({"layernorm": None}, 7, 3), ({"layernorm": {"bias": False}}, 7, 2), ({"layernorm": {"affine": False}}, 5, 0),
    ({"groupnorm": 1}, 7, 3), ({"groupnorm": {"groups": 2, "affine": False}}, 5, 0),
    ({"scale": None}, 1, 2), ({"lrn": 3}, 2 * 3 + 3, 0),
])
def test_normalisations_backward_by_hand(layer, forward, weights):
    spec = {"name": "norm", "input": [2, 3, 5], "layers": [{"name": "c", "conv2d": {"out": 2, "kernel": 1}},
                                                            {"name": "n", **layer}]}
    figures = train(spec).layers["n"]
    assert (figures.forward_flops, figures.backward_flops, figures.backward_macs) == (
        forward * 30, (forward + weights) * 30, 0)


def test_a_linear_layer_without_bias_has_no_bias_gradient():
    """fc2 (8 -> 4, no bias) after fc1: the input's gradient and the weight's, each 2·MACs, and no add."""
    spec = {"name": "nb", "input": [8], "layers": [{"name": "fc1", "linear": 8},
                                                   {"name": "fc2", "linear": {"out": 4, "bias": False}}]}
    assert train(spec).layers["fc2"].backward_flops == 2 * (2 * 8 * 4)


@pytest.mark.parametrize("bias", [True, False])
def test_a_transposed_convolution_s_backward_and_saved_tensors(bias):
    """nn.ConvTranspose2d(4, 2, 3, stride=2) on 4 x 3 x 3 (after a 1x1 convolution, so its input needs a gradient):
    7 x 7 outputs; each of the 9·4 input values meets 2·9 weights, 648 MACs. Backward: the input's gradient and the
    weight's, a product each, and the bias's one add per output. It keeps its input (36 values) and its weight
    (4·2·9, without the bias)."""
    spec = {"name": "t", "input": [4, 3, 3], "layers": [{"name": "c", "conv2d": {"out": 4, "kernel": 1}},
            {"name": "t", "conv_transpose2d": {"out": 2, "kernel": 3, "stride": 2, "bias": bias}}]}
    training = train(spec)
    macs, outputs = 9 * 4 * 2 * 9, 2 * 7 * 7
    figures = training.layers["t"]
    assert (figures.backward_macs, figures.backward_flops) == (2 * macs, 4 * macs + (outputs if bias else 0))
    assert figures.saved_bytes == 4 * (4 * 9 + 4 * 2 * 9)


def test_a_class_token_and_a_position_embedding_backward_by_hand():
    """After a linear layer (so the tokens need a gradient): the class token's gradient is its slice of the
    output's, summed over the samples (one add per weight and sample), and its input's a copy (0 FLOPs forward,
    so 0); the position embedding's weights' gradient likewise, its input's the add's one per element."""
    spec = {"name": "tokens", "input": [4, 6], "layers": [{"name": "fc", "linear": 6}, {"name": "cls", "class_token": None},
            {"name": "pos", "position_embedding": None}]}
    layers = train(spec, batch=2).layers
    assert (layers["cls"].forward_flops, layers["cls"].backward_flops) == (0, 2 * 6)
    assert (layers["pos"].forward_flops, layers["pos"].backward_flops) == (2 * 5 * 6, 2 * (5 * 6 + 5 * 6))


def test_a_scale_of_one_channel_has_its_weight_s_gradient():
    # one factor: its gradient is a multiply and an add per value of the 1 x 3 x 5 map
    spec = {"name": "one", "input": [2, 3, 5], "layers": [{"name": "c", "conv2d": {"out": 1, "kernel": 1}},
                                                           {"name": "s", "scale": None}]}
    assert train(spec).layers["s"].backward_flops == 15 + 2 * 15


def test_attention_without_biases_backward_by_hand():
    """As above, without the projections' biases: no add per output for their gradients."""
    spec = {**ATTENTION, "layers": [ATTENTION["layers"][0], {"name": "attention", "attention": {"heads": 2,
                                                                                                 "bias": False}}]}
    assert train(spec, batch=2).layers["attention"].backward_flops == 2 * (2 * (960 + 1280 + 320 + 1000) + 40 + 3 * 50)


@pytest.mark.parametrize("shift, bias, flops", [
    (1, True, 9216 + 13248 + 10368), (0, True, 9216 + 13248 + 10176), (0, False, 9216 + 12480 + 10176)])
def test_window_attention_backward_by_hand(shift, bias, flops):
    """A 4 x 6 map of 8 features in windows of 2 x 2, 2 heads, after a linear layer: L = 24 tokens, 4 per window,
    192 scores. With P = L·E² = 1,536: the input's gradient 3·P MACs (9,216 FLOPs); the weights' 4·P (8·P FLOPs,
    an add per projection output for the biases, 4·L·E = 768, and one per score for the bias table, 192); what
    either needs: the output projection's P and four products of L·4·E back through the scores (4,608 MACs), the
    scaling (L·E) and, per score, the softmax (3), the position bias (1) and the shift's mask (1)."""
    spec = {"name": "w", "input": [4, 6, 8], "layers": [{"name": "fc", "linear": 8}, {"name": "w", "window_attention": {
        "heads": 2, "window_size": 2, "shift": shift, "bias": bias}}]}
    figures = train(spec).layers["w"]
    assert (figures.backward_macs, figures.backward_flops) == (4608 + 6144 + 4608, flops)


@pytest.mark.parametrize("bias", [True, False])
def test_a_patch_embedding_s_backward_by_hand(bias):
    """After a 1x1 convolution (so the image needs a gradient): the input's and the weight's gradients, a product
    as large as the forward one each (4 tokens·8·3·16 = 1,536 MACs), and the bias's an add per output."""
    spec = {"name": "p", "input": [3, 8, 8], "layers": [{"name": "c", "conv2d": {"out": 3, "kernel": 1}},
            {"name": "p", "patch_embed": {"patch": 4, "out": 8, "bias": bias}}]}
    figures = train(spec).layers["p"]
    assert (figures.backward_macs, figures.backward_flops) == (2 * 1536, 4 * 1536 + (32 if bias else 0))


@pytest.mark.parametrize("bias, flops", [(True, 240 + 440 + 168), (False, 240 + 400 + 168)])
def test_a_recurrent_layer_s_backward_by_hand(bias, flops):
    """nn.RNN(6, 4) over 5 steps after a linear layer: the input sequence's gradient 5·4·6 = 120 MACs; the weights'
    one product per forward one, 5·4·(6 + 4) = 200, and 2 adds per step and unit for the two biases (40); the
    hidden state's at every step but the first, 4·4·4 = 64 MACs, and the cells' tanh and add, 2 per step and
    unit (40)."""
    spec = {"name": "r", "input": [5, 6], "layers": [{"name": "fc", "linear": 6},
                                                     {"name": "r", "rnn": {"hidden": 4, "bias": bias}}]}
    figures = train(spec).layers["r"]
    assert (figures.backward_macs, figures.backward_flops) == (120 + 200 + 64, flops)


def test_an_embedding_s_backward_by_hand():
    """The token ids need no gradient; the table's gradient adds each of the 7 rows read into its row: 7·6 adds."""
    spec = {"name": "e", "input": [7], "layers": [{"name": "e", "embedding": {"num": 20, "dim": 6}}]}
    assert train(spec).layers["e"].backward_flops == 7 * 6
