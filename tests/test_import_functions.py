"""`paramcalc import` of what a forward calls besides modules: functions, methods and operators, each in the
forms PyTorch takes (positional, keyword, method, function). The models are in tests/data/torch_functions.py;
the layers each imports as are written out here from PyTorch's documentation of the call, and each imported
spec, built back, computes what the model computes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

import paramcalc

from .conftest import require_torch

torch = require_torch()

from paramcalc.errors import SpecError  # noqa: E402
from paramcalc.torch.build import build  # noqa: E402
from paramcalc.torch.importer import import_model  # noqa: E402

MODELS = Path(__file__).resolve().parent / "data" / "torch_functions.py"
_spec = importlib.util.spec_from_file_location("torch_functions", MODELS)
torch_functions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_functions)
TOKENS = (5, 8)  # 5 tokens of 8; the rest run on a 3 x 8 x 10 map

# the call -> the layers (name left out), from PyTorch's signatures: F.max_pool2d(input, kernel_size, stride,
# padding, dilation, ceil_mode), F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad),
# a pool's stride defaulting to its kernel, x.chunk(chunks, dim), x[:, i] one index of dimension 1 ...
IMPORTED = {
    "max_pool_positional": [{"maxpool": {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
                             "functional": True}],
    "max_pool_keywords": [{"maxpool": [2, 3], "functional": True}],
    "avg_pool_positional": [{"avgpool": {"kernel": [3, 2], "stride": [1, 2], "padding": 1,
                                         "count_include_pad": False}, "functional": True}],
    "avg_pool_keywords": [{"avgpool": {"kernel": 2, "stride": 1, "ceil_mode": True}, "functional": True}],
    "adaptive_global": [{"global_avgpool": None, "functional": True}],
    "adaptive": [{"adaptive_avgpool": [2, 3], "functional": True}],
    "adaptive_one_number": [{"adaptive_avgpool": [4, 4], "functional": True}],
    "mean_method": [{"mean": {"dims": [2, 3], "keepdim": True}}],
    "mean_function": [{"mean": 1}],
    "mean_negative": [{"mean": [-1]}],
    "interpolate": [{"upsample": {"size": [16, 20], "mode": "bilinear", "align_corners": True}, "functional": True}],
    "interpolate_nearest": [{"upsample": {"size": [5, 7]}, "functional": True}],
    "flatten": [{"flatten": None}],
    "flatten_method": [{"flatten": {"start_dim": 2}}],
    "flatten_end": [{"flatten": {"end_dim": 2}}],
    "reshape": [{"reshape": [24, 10]}],
    "view": [{"reshape": [3, 80]}],
    "permute": [{"permute": [0, 2, 3, 1]}],
    "permute_list": [{"permute": [0, 3, 1, 2]}],
    "transpose": [{"transpose": {"dim0": 1, "dim1": 3}}],
    "transpose_function": [{"transpose": {"dim0": 2, "dim1": 3}}],
    **{f"chunk_{form}": [{"channel_split": {"take": 0, "parts": 3}},
                         {"channel_split": {"take": 1, "parts": 3}, "from": "input"},
                         {"channel_split": {"take": 2, "parts": 3}, "from": "input"},
                         {"concat": None, "from": ["split_3", "split"]}]  # the third, then the first
       for form in ("method", "function", "keywords")},
    "select_first": [{"select": None}],  # dim 1, index 0: select's defaults
    "select_last_row": [{"select": {"dim": 2, "index": 7}}],  # -1 of 8 rows
    "scale": [{"scale": None}],
    "scale_method": [{"scale": None}],
    "sum": [{"relu": None, "functional": True}, {"add": None, "from": ["input", "relu"]}],
    "sum_method": [{"sigmoid": None}, {"add": None, "from": ["input", "sigmoid"]}],
    "one_part": [{"relu": None, "functional": True}],  # the concatenation of one map is that map
    "concat": [{"tanh": None}, {"concat": {"dim": 2}, "from": ["input", "tanh"]}],
    "flatten_positional_end": [{"flatten": {"end_dim": 2}}],
    "mean_keepdim_positional": [{"mean": {"dims": [2, 3], "keepdim": True}}],
    "mean_one_dim": [{"mean": 2}],
    "dropout_positional": [{"dropout": 0.3}],  # counters see no difference between F.dropout and nn.Dropout
    "dropout_default": [{"dropout": None}],  # F.dropout's p: 0.5
    "interpolate_bilinear": [{"upsample": {"size": [16, 20], "mode": "bilinear"}, "functional": True}],
    "concat_keywords": [{"tanh": None}, {"concat": None, "from": ["input", "tanh"]}],
    "sum_in_place": [{"relu": None, "functional": True}, {"add": None, "from": ["relu", "input"]}],
    "scale_in_place": [{"sigmoid": None}, {"scale": None}],
    "scale_reshaped": [{"scale": None}],
    "double": [{"add": None, "from": ["input", "input"]}],
    "square": [{"mul": None, "from": ["input", "input"]}],
    "position": [{"position_embedding": 5}],
    "class_token": [{"class_token": 2}],
    "select_token": [{"select": {"index": 3}}],  # -2 of 5 tokens
}


def shape_of(which: str) -> tuple:
    return TOKENS if which in ("position", "class_token", "select_token") else (3, 8, 10)


@pytest.mark.parametrize("which", sorted(IMPORTED))
def test_a_call_imports_as_its_layer_and_computes_the_same(which):
    text = import_model(f"{MODELS}:calls", shape_of(which), kwargs={"which": which})
    assert [{key: value for key, value in layer.items() if key != "name"}
            for layer in yaml.safe_load(text)["layers"]] == IMPORTED[which]
    if any("functional" in layer or "channel_split" in layer for layer in IMPORTED[which]):
        torch.manual_seed(0)
        sample = torch.randn(2, *shape_of(which))
        model = torch_functions.calls(which).eval()
        with torch.no_grad():
            assert torch.allclose(build(text).eval()(sample), model(sample), atol=1e-6)


# the call -> why it is refused (each once, at the line that calls it)
REFUSED = {
    "max_pool_indices": "max_pool2d_with_indices: no layer kind",  # F.max_pool2d(return_indices=True)
    "flatten_batch": "flatten: flattening the batch into a sample",
    "mean_everything": "mean: a mean over every dimension, the batch's too (paramcalc counts one sample)",
    "mean_batch": "mean: mean over dimensions 0, the batch (dimension 0) among them",
    "mean_batch_from_the_end": "mean: mean over dimensions (-4, 1), the batch (dimension 0) among them",
    "add_constant": "add: add with a constant (paramcalc's add takes tensors)",
    "mul_constant": "mul: mul with a constant (paramcalc's mul takes tensors)",
    "scale_columns": "mul: mul with a parameter of shape [10]",  # one factor per column, not per channel
    "chunk_batch": "cat: a concatenation of a tuple the model computes (write its items out)",
    "index_ellipsis": "getitem: indexing with (Ellipsis, 0)",
    "index_batch": "getitem: indexing with -1",
    "index_range_then_one": "getitem: indexing with (slice(None, None, None), slice(1, None, None), 0)",
    "index_range": "getitem: indexing with (slice(None, None, None), slice(1, None, None))",
    "erf": "erf: no layer kind",
    "concat_batch": "cat: a concatenation along the batch (dimension 0): paramcalc counts one sample",
    "concat_batch_from_the_end": "cat: a concatenation along the batch (dimension 0): paramcalc counts one sample",
    "add_parameter_per_channel": "add: add with a parameter of shape [3, 1, 1]",
    "mean_computed_dim": "mean: mean over dimensions sub that are not numbers written in the code",
}


def refusals(which: str) -> list[str]:
    """The lines of the message that lists the parts of `calls` that paramcalc has no kind for."""
    with pytest.raises(SpecError) as caught:
        import_model(f"{MODELS}:calls", shape_of(which), kwargs={"which": which})
    return str(caught.value).splitlines()[1:-1]


@pytest.mark.parametrize("which", sorted(REFUSED))
def test_a_call_without_a_kind_is_named_once_with_its_line(which):
    line = line_of(f'"{which}"')
    assert refusals(which) == [f"  - torch_functions.py:{line}: {REFUSED[which]}"]


def line_of(text: str) -> int:
    return next(number for number, line in enumerate(MODELS.read_text().splitlines(), 1) if text in line)


def test_a_chunk_along_the_batch_is_named_when_an_item_is_used():
    """x.chunk(2) (dim 0 unless said), item 0 into erf: both named."""
    line = line_of('"chunk_default"')
    assert refusals("chunk_default") == [
        f"  - torch_functions.py:{line}: chunk along dimension 0 (paramcalc splits the channels)",
        f"  - torch_functions.py:{line}: erf: no layer kind"]


def test_a_chunk_of_other_dimensions_is_named_once():
    """x.chunk(2, 2), its two items swapped along the rows, then erf: the chunk is named once (not for each
    item), and erf, which has no kind either."""
    chunk, erf = line_of("x.chunk(2, 2)"), line_of('"chunk_rows"')
    assert refusals("chunk_rows") == [
        f"  - torch_functions.py:{chunk}: chunk along dimension 2 (paramcalc splits the channels)",
        f"  - torch_functions.py:{erf}: erf: no layer kind"]


def parts(model: str, custom: tuple[str, ...] = (), shape: tuple = (3, 8, 10)) -> list[str]:
    with pytest.raises(SpecError) as caught:
        import_model(f"{MODELS}:{model}", shape, custom=custom)
    return [line.split(": ", 1)[1] for line in str(caught.value).splitlines() if line.startswith("  - ")]


def test_every_part_without_a_kind_is_named_even_after_a_refused_one():
    """After erf (refused), each call is judged by its kind alone: a convolution, a max pool and a per-channel
    scale have one (not named); the rest are named as they would be on their own; named as custom, none is."""
    calls = ["mean: a mean over every dimension, the batch's too (paramcalc counts one sample)",
             "add: add with a constant (paramcalc's add takes tensors)", "getitem: indexing with (Ellipsis, 0)",
             "mul: mul with a parameter of shape [10]", "flatten: flattening the batch into a sample",
             "special_erfinv: no layer kind"]
    assert parts("Bilinear") == ["erf: no layer kind", *calls, "bilinear (Bilinear)"]
    assert parts("Bilinear", ("erf",)) == [*calls, "bilinear (Bilinear)"]
    assert parts("Bilinear", ("Bilinear", "erf")) == calls
    assert parts("Bilinear", ("special_erfinv",)) == ["erf: no layer kind", *calls[:-1], "bilinear (Bilinear)"]


def test_a_module_without_a_kind_is_named_by_its_path_and_class():
    assert parts("NoKind") == ["shrink (Hardshrink)"]


def test_a_module_or_function_named_custom_is_a_custom_layer_with_its_parameters():
    """Own holds a 4 x 5 parameter and gives 4 x 4 x 10 (the first 4 rows, doubled); erf keeps the shape."""
    # unnamed, Own's own operations are traced and refused
    rows = "(slice(None, None, None), slice(None, None, None), slice(None, 4, None), slice(None, None, None))"
    assert parts("Custom") == [f"getitem: indexing with {rows}",
                               "mul: mul with a constant (paramcalc's mul takes tensors)", "erf: no layer kind"]
    expected = [{"name": "conv", "conv2d": {"out": 4, "kernel": 1}},
                {"name": "wrap", "layers": [{"name": "own", "custom": {"out": [4, 4, 10], "params": 20, "macs": 0}}]},
                {"name": "erf", "custom": {"out": [4, 4, 10], "macs": 0}},
                {"name": "head", "conv2d": {"out": 2, "kernel": 1}}]
    for custom in (("Own", "erf"), ("wrap.own", "erf")):  # by class, or by the module's path
        assert yaml.safe_load(import_model(f"{MODELS}:Custom", (3, 8, 10), custom=custom))["layers"] == expected


def test_a_custom_module_must_give_a_tensor():
    assert parts("CustomPair") == ["neg: no layer kind"]  # traced through: -x
    assert parts("CustomPair", ("Pair",)) == ["pair: a custom layer needs a tensor output"]


def test_a_model_of_two_inputs_is_refused():
    """forward(x, y=2.0): it runs on one input, but paramcalc's models take one; said without a line (the
    input is no call)."""
    with pytest.raises(SpecError) as caught:
        import_model(f"{MODELS}:TwoInputs", (3, 8, 10))
    assert str(caught.value).splitlines()[1:-1] == ["  - a second input (paramcalc models take one)"]


def test_modules_in_containers_keep_their_paths_and_a_training_head_is_marked():
    """Nested (tests/data/torch_functions.py): groups follow the containers, a subclass of nn.Conv2d is a
    convolution run by its own class, a parameter of a submodule multiplied per channel is a scale, and the head
    the forward calls only in training is train_only (a group once, a layer by itself)."""
    text = import_model(f"{MODELS}:Nested", (3, 8, 10))
    assert yaml.safe_load(text)["layers"] == [
        {"name": "stem", "layers": [{"name": 0, "layers": [{"name": 0, "conv2d": {"out": 4, "kernel": 1},
                                                            "module": "MyConv"}]},
                                    {"name": 1, "relu": None}]},
        {"name": "blocks", "layers": [{"name": 0, "conv2d": {"out": 4, "kernel": 3, "padding": 1}},
                                      {"name": 1, "conv2d": {"out": 4, "kernel": 1}}]},
        {"name": "scale", "scale": None},
        {"name": "aux", "train_only": True, "layers": [{"name": 0, "conv2d": {"out": 2, "kernel": 1}},
                                                       {"name": 1, "relu": None}]},
        {"name": "aux2", "conv2d": {"out": 3, "kernel": 1}, "from": "scale", "train_only": True}]
    assert yaml.safe_load(text)["output"] == "scale"  # the first of (x, aux(x)): what inference gives


def test_a_recurrent_layer_s_state_and_attention_over_other_inputs_are_refused():
    """fc(lstm(x)[1][0][-1]) reads the final state, which no layer gives (its output's last step would);
    attention whose keys come from another layer is not self-attention."""
    state = ("lstm's item 1 (paramcalc's layer gives item 0, the output; an LSTM's h_n[-1] is its output[:, -1] "
             "when it runs one way)")
    assert parts("State", shape=(5, 10)) == [state, "getitem: indexing with -1"]
    assert parts("CrossAttention", shape=(5, 8)) == ["attention: attention whose query, key and value differ"]


def test_a_module_reached_through_one_never_called_runs_at_inference():
    """head.inner.conv is called directly; head and head.inner never are, yet the convolution runs at inference
    (not train_only). The output is the mapping's first value, not the layer written last."""
    spec = yaml.safe_load(import_model(f"{MODELS}:Reached", (3, 8, 10)))
    inner = {"name": "inner", "layers": [{"name": "conv", "conv2d": {"out": 4, "kernel": 1}}]}
    assert spec["layers"] == [{"name": "head", "layers": [inner]},
                              {"name": "side", "conv2d": {"out": 2, "kernel": 1}, "from": "input"}]
    assert spec["output"] == "head.inner"
    assert paramcalc.analyze(spec).totals.macs == (4 + 2) * 3 * 8 * 10  # both 1x1 convolutions run at inference


def test_a_model_of_token_ids_takes_custom_names_too():
    """Traced on whole numbers after floats fail (an embedding reads ids): Mix, named custom, is one layer with
    its linear layer's 8 x 8 + 8 parameters."""
    spec = yaml.safe_load(import_model(f"{MODELS}:Tokens", (5,), custom=("Mix",)))
    assert spec["layers"] == [{"name": "embedding", "embedding": {"num": 20, "dim": 8}},
                              {"name": "mix", "custom": {"out": [5, 8], "params": 8 * 8 + 8, "macs": 0}}]


def test_the_spec_is_named_after_the_model_and_says_where_it_came_from():
    text = import_model(f"{MODELS}:calls", (3, 8, 10), kwargs={"which": "flatten"})
    assert text.splitlines()[0] == (f'# Imported by paramcalc from {MODELS}:calls with {{"which": "flatten"}}, '
                                    "traced at input 3x8x10.")
    assert yaml.safe_load(text)["name"] == "calls"
    text = import_model(f"{MODELS}:Nested", (3, 8, 10))  # no arguments: none said
    assert text.splitlines()[0] == f"# Imported by paramcalc from {MODELS}:Nested, traced at input 3x8x10."
    assert yaml.safe_load(import_model(f"{MODELS}:Nested", (3, 8, 10), name="mine"))["name"] == "mine"


def test_alike_modules_become_one_block_repeated_with_what_differs_as_arguments():
    """Stages: six residual blocks of one class, the fourth widening and halving the map with a projection.
    One block, each Sequential a repeat; what differs between the copies is an argument, an expression of
    `index` where it changes within a repeat; the parameters and batch-norm statistics are the model's."""
    model = torch_functions.Stages()
    spec = yaml.safe_load(import_model(f"{MODELS}:Stages", (8, 16, 16)))
    assert list(spec["blocks"]) == ["residual"]
    assert [(layer["name"], layer.get("repeat")) for layer in spec["layers"]] == [
        ("first", 3), ("second", 3), ("mean", None), ("head", None)]
    assert spec["layers"][1]["residual"] == {"with_project": "index == 0", "conv1_out": 16,
                                             "conv1_stride": "2 if index == 0 else 1"}
    result = paramcalc.analyze(spec)
    assert result.totals.params == sum(p.numel() for p in model.parameters())
    statistics = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    assert result.totals.buffers == statistics and result.totals.output_shape == (10,)


def test_a_size_that_is_a_multiple_of_another_argument_is_written_as_one():
    """Bottlenecks: conv3 gives 4 x conv1's width in every use (16 then 32): one argument and `4 * conv1_out`; the
    projection, in one use only, keeps that use's settings. Parameters and output are the model's."""
    model = torch_functions.Bottlenecks()
    spec = yaml.safe_load(import_model(f"{MODELS}:Bottlenecks", (16, 8, 8)))
    block = spec["blocks"]["bottleneck"]
    assert block["args"] == {"with_project": None, "conv1_out": None, "conv2_stride": None}
    convolutions = {layer["name"]: layer["conv2d"] for layer in block["layers"] if "conv2d" in layer}
    assert convolutions["conv3"]["out"] == "4 * conv1_out" and convolutions["project"]["out"] == 32
    assert [layer["bottleneck"]["conv1_out"] for layer in spec["layers"]] == [4, 8]
    result = paramcalc.analyze(spec)
    assert result.totals.params == sum(p.numel() for p in model.parameters())
    assert result.totals.output_shape == tuple(model(torch.zeros(1, 16, 8, 8)).shape[1:])
