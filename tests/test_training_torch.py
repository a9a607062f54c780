"""Training figures against PyTorch, measured here: the storages autograd saves (saved_tensors_hooks) and the
backward products (FlopCounterMode), on modules built from specs by paramcalc.torch.build and on modules
written in the tests.

Attention is measured as nn.MultiheadAttention runs it (torchvision's ViT: need_weights=False), through
scaled_dot_product_attention, whose CPU flash kernel FlopCounterMode has no formula for: `measure` gives it the
one FlopCounterMode uses for the CUDA kernels (five products, the scores recomputed, as the CPU kernel does). An
LSTM runs oneDNN's fused kernel on the CPU, which FlopCounterMode does not see: its backward is measured with
oneDNN off, as autograd's cells compute it."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest

from paramcalc.engine.training import analyze_training

from .conftest import require_torch

torch = require_torch()

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count  # noqa: E402

from paramcalc.torch import build  # noqa: E402
from paramcalc.torch.modules import SelfAttention  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def cpu_flash_attention_backward(grad_out_shape, query_shape, key_shape, value_shape, *args, **kwargs):
    """FlopCounterMode's formula for the fused attention kernels' backward (Q·Kᵀ recomputed, then the four gradient
    products), for the CPU flash kernel it has none for."""
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


FLOP_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: cpu_flash_attention_backward}


def as_multihead_attention(model):
    """paramcalc.torch's SelfAttention writes attention's products out (so that FlopCounterMode sees them
    forward); run nn.MultiheadAttention's own forward instead, with the same weights, as torchvision's ViT calls
    it, so that autograd saves what it saves in training."""
    for module in model.modules():
        if isinstance(module, SelfAttention):
            module.forward = lambda x, module=module: nn.MultiheadAttention.forward(
                module, x, x, x, need_weights=False)[0]
    return model


@contextmanager
def onednn(enabled):
    """torch.backends.mkldnn.flags(enabled=...), without the warning the flags give on this CPU build."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=enabled):
            yield


@contextmanager
def saving():
    """The distinct storages autograd saves for backward while the block runs: data pointer -> bytes, each storage
    at its full size."""
    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield storages


def measure(model, x, heads=(), fused=True):
    """(bytes of the distinct storages saved for backward, each at its full size; FlopCounterMode's backward
    FLOPs), for one training step in train mode with loss = output.sum() + the sum of each auxiliary head's
    output (the submodules named in `heads`), as Inception v3 trains. `fused=False` turns oneDNN off, so that
    an LSTM runs as autograd's cells."""
    as_multihead_attention(model).train()
    extra: list = []
    for name in heads:
        model.get_submodule(name).register_forward_hook(lambda module, args, output: extra.append(output))

    with onednn(fused):
        with saving() as storages:
            output = model(x)
        counter = FlopCounterMode(display=False, custom_mapping=FLOP_FORMULAS)
        with counter:
            sum((head.sum() for head in extra), output.sum()).backward()
    return sum(storages.values()), counter.get_total_flops()


AUXILIARY_HEADS = {"specs/inception_v3.yaml": ["AuxLogits.fc"]}


def spec_case(path, size, batch=2, fused=True):
    """paramcalc's figures and PyTorch's for a spec at a given input size (small: the CPU runs them)."""
    torch.manual_seed(0)
    result = analyze_training(ROOT / path, input=size, batch=batch)
    model = build(ROOT / path, input_shape=result.input_shape if size else None, batch=batch)
    return result.training, measure(model, model.example_input(), AUXILIARY_HEADS.get(path, ()), fused)


# specs without grouped convolutions, whose backward FlopCounterMode counts right, at a small input size
DENSE = [("specs/resnet50.yaml", "3x64x64"), ("specs/densenet121.yaml", "3x64x64"),
         ("specs/googlenet.yaml", "3x64x64"), ("specs/inception_v3.yaml", "3x299x299"),
         ("specs/vgg11.yaml", "3x32x32"), ("specs/mc3_18.yaml", "3x4x32x32"),
         ("specs/examples/unet_small.yaml", None), ("specs/examples/conv_2plus1d.yaml", None),
         ("specs/examples/two_paths_downsample.yaml", None), ("specs/examples/inception_reduced.yaml", None),
         ("specs/examples/dense_block.yaml", None), ("specs/vit_b_32.yaml", None),
         ("specs/examples/tiny_vit.yaml", None), ("specs/swin_s.yaml", None)]
GROUPED = [("specs/mobilenet_v2.yaml", "3x64x64"), ("specs/efficientnet_b3.yaml", "3x64x64"),
           ("specs/regnet_y_800mf.yaml", "3x64x64"), ("specs/convnext_small.yaml", "3x64x64"),
           ("specs/deeplabv3_mobilenet_v3_large.yaml", "3x64x64")]


@pytest.mark.parametrize("path, size", DENSE + GROUPED)
def test_saved_storages_of_built_specs(path, size):
    training, (saved, _) = spec_case(path, size)
    assert training.not_modelled == ()
    assert training.saved_bytes == saved


@pytest.mark.parametrize("path, size", DENSE)
def test_backward_products_of_built_specs(path, size):
    training, (_, backward) = spec_case(path, size)
    assert 2 * training.backward_macs == backward


def test_backward_products_of_a_built_lstm_spec():
    """What an LSTM saves is not modelled (see test_lstm_workspace_is_not_proportional_to_the_batch); its backward
    is, as autograd's cells compute it (oneDNN off: FlopCounterMode sees nothing in the fused kernel)."""
    training, (_, backward) = spec_case("specs/examples/lstm_classifier.yaml", None, fused=False)
    assert training.not_modelled == ("lstm (lstm)",) and training.saved_bytes is None
    assert 2 * training.backward_macs == backward


def test_lstm_workspace_is_not_proportional_to_the_batch():
    """Why paramcalc does not model what an LSTM saves: on the CPU it runs oneDNN's fused kernel, which keeps,
    besides the input, weights, states and output, a workspace (uint8) laid out by oneDNN: padded rows, each part
    rounded up to 4 KiB pages, so its size is no number of values per sample."""
    lstm = nn.LSTM(5, 7, batch_first=True).train()

    def workspace(batch):
        sizes = []

        def pack(tensor):
            if tensor.dtype == torch.uint8:
                sizes.append(tensor.untyped_storage().nbytes())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            lstm(torch.randn(batch, 6, 5, requires_grad=True))
        return sizes

    one, two, four = workspace(1), workspace(2), workspace(4)
    assert len(one) == 1 and one[0] % 4096 == 0
    assert one == two == four  # the same pages for 1, 2 and 4 samples


class PerGroup(nn.Module):
    """A grouped convolution written as one dense convolution per group, whose backward FlopCounterMode counts
    right: an independent count of what the grouped one does."""

    def __init__(self, channels, out, groups, kernel, stride):
        super().__init__()
        self.groups = groups
        self.convs = nn.ModuleList(nn.Conv2d(channels // groups, out // groups, kernel, stride, kernel // 2,
                                             bias=False) for _ in range(groups))

    def forward(self, x):
        parts = x.chunk(self.groups, dim=1)
        return torch.cat([conv(part) for conv, part in zip(self.convs, parts)], dim=1)


@pytest.mark.parametrize("channels, out, groups, stride", [(8, 8, 8, 1), (8, 16, 4, 2), (12, 12, 3, 1)])
def test_grouped_convolution_backward_against_one_convolution_per_group(channels, out, groups, stride):
    spec = {"name": "grouped", "input": [channels, 10, 10], "layers": [
        {"name": "before", "conv2d": {"out": channels, "kernel": 1}},
        {"name": "grouped", "conv2d": {"out": out, "kernel": 3, "stride": stride, "padding": 1, "groups": groups,
                                       "bias": False}}]}
    training = analyze_training(spec, batch=2).training
    model = nn.Sequential(nn.Conv2d(channels, channels, 1), PerGroup(channels, out, groups, 3, stride))
    _, backward = measure(model, torch.randn(2, channels, 10, 10))
    assert 2 * training.backward_macs == backward


def layer_spec(kind, settings=None, shape=(4, 6, 6), extra=None):
    """One layer after a 1x1 convolution (so its input needs a gradient), as a spec."""
    layer = {"name": "layer", kind: settings}
    if extra:
        layer.update(extra)
    first = {"name": "conv", "conv2d": {"out": shape[0], "kernel": 1}} if len(shape) == 3 else \
        {"name": "conv", "linear": {"out": shape[-1]}}
    return {"name": kind, "input": list(shape), "layers": [first, layer]}


KINDS = [("relu", None), ("relu6", None), ("leaky_relu", None), ("sigmoid", None), ("tanh", None), ("silu", None),
         ("hardsigmoid", None), ("hardswish", None), ("gelu", None), ("softmax", None), ("dropout", 0.5),
         ("dropout", 0.0), ("dropout", 1.0), ("dropout2d", 0.5), ("dropout2d", 0.0), ("dropout2d", 1.0),
         ("identity", None), ("stochastic_depth", {"p": 0.5, "mode": "batch"}),
         ("maxpool", {"kernel": 3, "stride": 2, "padding": 1}), ("avgpool", 2), ("adaptive_avgpool", 3),
         ("adaptive_avgpool", 1), ("global_avgpool", None), ("adaptive_maxpool", 3), ("global_maxpool", None),
         ("batchnorm", None), ("batchnorm", {"affine": False}), ("batchnorm", {"track_running_stats": False}),
         ("groupnorm", 2), ("layernorm", None), ("layernorm", {"bias": False}), ("layernorm", {"affine": False}),
         ("layernorm2d", None), ("scale", None), ("flatten", None), ("pad", 1), ("channel_split", 1),
         ("channel_shuffle", 2), ("permute", [0, 2, 3, 1]), ("linear", 5), ("conv2d", {"out": 3, "kernel": 3}),
         ("conv2d", {"out": 4, "kernel": 3, "groups": "depthwise"}), ("conv_transpose2d", {"out": 3, "kernel": 2}),
         ("upsample", {"scale": 2}), ("upsample", {"scale": 2, "mode": "bilinear"}), ("pixel_shuffle", 2),
         ("mean", [2, 3]), ("mean", {"dims": [2, 3], "keepdim": True}), ("mean", 1), ("mean", {"dims": [1, -1]})]


# kinds on tokens (length x features), channels-last maps (height x width x channels) and sequences (steps x
# features), with the shape of their input
SHAPED_KINDS = [
    ("attention", {"heads": 2}, (5, 8)), ("attention", {"heads": 4}, (65, 64)),
    ("attention", {"heads": 2, "bias": False}, (5, 8)), ("attention", {"heads": 2, "dropout": 0.1}, (5, 8)),
    ("window_attention", {"heads": 3, "window_size": 7}, (14, 14, 12)),
    ("window_attention", {"heads": 3, "window_size": 7, "shift": 3}, (14, 14, 12)),
    ("window_attention", {"heads": 3, "window_size": 7}, (7, 7, 12)),
    ("window_attention", {"heads": 2, "window_size": 4}, (8, 4, 8)),
    ("window_attention", {"heads": 2, "window_size": 4, "shift": 2}, (8, 4, 8)),
    ("window_attention", {"heads": 2, "window_size": 4, "shift": 2, "bias": False}, (8, 12, 8)),
    ("patch_merging", None, (4, 6, 3)), ("patch_merging", None, (5, 7, 3)),
    ("lrn", 3, (4, 5, 5)), ("lrn", 2, (4, 5, 5)), ("lrn", 5, (6, 3, 3)),
    ("gru", 7, (6, 5)), ("gru", 7, (1, 5)), ("gru", {"hidden": 7, "bias": False}, (6, 5)),
    ("gru", {"hidden": 7, "layers": 2, "bidirectional": True}, (6, 5)),
    ("gru", {"hidden": 7, "layers": 3, "dropout": 0.2}, (4, 5)), ("gru", {"hidden": 7, "batch_first": False}, (6, 5)),
    ("rnn", 7, (6, 5)), ("rnn", {"hidden": 7, "layers": 2, "bidirectional": True, "nonlinearity": "relu"}, (6, 5)),
    ("rnn", {"hidden": 7, "layers": 2, "bidirectional": True, "dropout": 0.3}, (6, 5)),
    ("dropout1d", 0.3, (4, 6)), ("dropout3d", 0.3, (4, 3, 5, 6)),
    ("class_token", None, (5, 8)), ("class_token", 2, (5, 8)), ("position_embedding", None, (5, 8))]


@pytest.mark.parametrize("kind, settings, shape", [(kind, settings, (4, 6, 6)) for kind, settings in KINDS]
                         + SHAPED_KINDS, ids=lambda value: str(value))
@pytest.mark.parametrize("batch", [2, 3])
def test_what_each_kind_saves(kind, settings, shape, batch):
    spec = layer_spec(kind, settings, shape)
    torch.manual_seed(0)
    training = analyze_training(spec, batch=batch).training
    model = build(spec, batch=batch)
    saved, _ = measure(model, model.example_input())
    assert training.not_modelled == ()
    assert training.saved_bytes == saved


@pytest.mark.parametrize("kind, dropout, shape", [("dropout1d", nn.Dropout1d, (4, 6)),
                                                   ("dropout2d", nn.Dropout2d, (4, 6, 6)),
                                                   ("dropout3d", nn.Dropout3d, (4, 3, 5, 6))])
def test_channel_dropout_against_torch_s_own_module(kind, dropout, shape):
    """Written by hand, not built from the spec: Dropout2d keeps a mask of one value per channel (2 x 4 x 1 x 1),
    not one per value as Dropout does."""
    spec = layer_spec(kind, 0.3, shape)
    first = nn.Conv2d(4, 4, 1) if len(shape) == 3 else nn.Linear(shape[-1], shape[-1])
    saved, _ = measure(nn.Sequential(first, dropout(0.3)), torch.randn(2, *shape))
    assert analyze_training(spec, batch=2).training.saved_bytes == saved


# the kinds whose gradients share work (attention's scores, a recurrent layer's steps): each as the first layer
# (its input needs no gradient), after a layer (both gradients) and frozen after a layer (the input's only)
SHARED = [("attention", {"heads": 2}, (5, 8)), ("attention", {"heads": 2, "dropout": 0.1}, (5, 8)),
          ("window_attention", {"heads": 3, "window_size": 7, "shift": 3}, (14, 14, 12)),
          ("window_attention", {"heads": 2, "window_size": 4, "shift": 2}, (8, 8, 8)),
          ("gru", {"hidden": 7, "layers": 2, "bidirectional": True}, (6, 5)),
          ("rnn", {"hidden": 7, "layers": 3}, (6, 5)),
          ("lstm", {"hidden": 7, "layers": 2, "bidirectional": True}, (6, 5)),
          ("lstm", {"hidden": 7, "layers": 2, "proj_size": 3, "bidirectional": True}, (6, 5))]


@pytest.mark.parametrize("kind, settings, shape", SHARED, ids=lambda value: str(value))
@pytest.mark.parametrize("place", ["first", "after", "frozen"])
def test_attention_and_recurrent_backward_and_saved(kind, settings, shape, place):
    if place == "first":
        spec = {"name": "first", "input": list(shape), "layers": [{"name": "layer", kind: settings}]}
    else:
        spec = layer_spec(kind, settings, shape, extra={"frozen": True} if place == "frozen" else None)
    torch.manual_seed(0)
    training = analyze_training(spec, batch=2).training
    model = build(spec, batch=2)
    if kind != "lstm":
        saved, _ = measure(model, model.example_input())
        assert training.saved_bytes == saved
    _, backward = measure(model, model.example_input(), fused=False)
    assert 2 * training.backward_macs == backward


def saved_under_bf16(spec):
    """(paramcalc's training figures, the bytes of the distinct storages PyTorch saves) for one forward pass of
    the built model under the CPU's autocast (bf16), at a batch of 2."""
    torch.manual_seed(0)
    training = analyze_training(spec, batch=2, amp="bf16").training
    model = as_multihead_attention(build(spec, batch=2)).train()
    with torch.autocast("cpu", dtype=torch.bfloat16), saving() as storages:
        model(model.example_input())
    return training, sum(storages.values())


@pytest.mark.parametrize("spec", [
    layer_spec("attention", {"heads": 2}, (5, 8)),
    {"name": "first", "input": [5, 8], "layers": [{"name": "layer", "attention": 2}]},
    layer_spec("window_attention", {"heads": 3, "window_size": 7, "shift": 3}, (14, 14, 12)),
    layer_spec("window_attention", {"heads": 3, "window_size": 7}, (7, 7, 12)),
    {"name": "first", "input": [6, 5], "layers": [{"name": "layer", "gru": {"hidden": 7, "layers": 2,
                                                                              "bidirectional": True}}]},
    {"name": "first", "input": [6, 5], "layers": [{"name": "layer", "rnn": {"hidden": 7, "layers": 2,
                                                                              "bidirectional": True}}]},
    layer_spec("rnn", {"hidden": 7, "layers": 2, "bidirectional": True, "dropout": 0.2}, (6, 5)),
    {"name": "emb", "input": [7], "layers": [{"name": "e", "embedding": {"num": 20, "dim": 6}},
                                             {"name": "g", "gru": {"hidden": 5, "layers": 3, "dropout": 0.2}}]},
], ids=lambda spec: str(spec["layers"][-1]))
def test_what_attention_and_recurrent_kinds_save_under_mixed_precision(spec):
    """Under autocast (bf16, the CPU's): the flash kernel's tensors at 2 bytes but its float32 logsumexp; window
    attention's softmax in float32 (the float32 position bias promotes the scores) and A·V's half copy of it; a
    GRU's state in float32 (its input's type) and the half copies autocast makes of it."""
    training, saved = saved_under_bf16(spec)
    assert training.saved_bytes == saved


def test_window_attention_of_one_window_at_batch_one_keeps_views():
    """The exception docs/conventions.md states: when the batch holds a single window (one sample, a map of one
    window), the keys and values Q·Kᵀ and A·V keep are views of the projection's output, not copies: PyTorch keeps
    that output's 3·L·C values where paramcalc counts the copies' 2·L·C (Swin's last stage at batch 1)."""
    spec = layer_spec("window_attention", {"heads": 3, "window_size": 7}, (7, 7, 12))
    torch.manual_seed(0)
    training = analyze_training(spec, batch=1).training
    model = build(spec, batch=1)
    saved, _ = measure(model, model.example_input())
    assert saved == training.saved_bytes + 7 * 7 * 12 * 4


@pytest.mark.parametrize("layers", [
    [{"name": "a", "conv2d": {"out": 4, "kernel": 1}}, {"name": "b", "conv2d": {"out": 4, "kernel": 1}},
     {"name": "m", "mul": None, "from": ["a", "b"]}],
    [{"name": "a", "conv2d": {"out": 4, "kernel": 1}}, {"name": "b", "conv2d": {"out": 4, "kernel": 1}},
     {"name": "c", "global_avgpool": None, "from": "b"}, {"name": "m", "mul": None, "from": ["a", "c", "b"]}],
    [{"name": "a", "conv2d": {"out": 4, "kernel": 1}, "frozen": True}, {"name": "r", "relu": None},
     {"name": "b", "conv2d": {"out": 4, "kernel": 3, "padding": 1}}, {"name": "s", "add": None, "from": ["b", "r"]}],
    [{"name": "p", "permute": [0, 2, 3, 1]}, {"name": "f", "flatten": None}, {"name": "fc", "linear": 3}],
    # x.mean([2, 3]) keeps nothing for backward (its gradient needs the input's size only), the linear layer its input
    [{"name": "a", "conv2d": {"out": 4, "kernel": 3}}, {"name": "m", "mean": [2, 3]}, {"name": "fc", "linear": 3}],
    [{"name": "fc", "flatten": None}, {"name": "d", "dropout": 0.3}, {"name": "l", "linear": 3},
     {"name": "r", "relu": None}, {"name": "l2", "linear": 2}],
    # a reshape of a permuted map copies it (not contiguous), which the linear layer keeps; the unflatten of the
    # linear layer's output is a view, permuted back (a strided view) for a convolution, whose output the GELU
    # keeps; the last linear layer keeps the GELU's output through a flatten and a transpose (views)
    [{"name": "a", "conv2d": {"out": 4, "kernel": 3}}, {"name": "p", "permute": [0, 2, 3, 1]},
     {"name": "v", "reshape": [9, 4]}, {"name": "l", "linear": 4},
     {"name": "u", "unflatten": {"dim": 1, "sizes": [3, 3]}}, {"name": "q", "permute": [0, 3, 1, 2]},
     {"name": "c", "conv2d": {"out": 2, "kernel": 1}}, {"name": "g", "gelu": None},
     {"name": "f", "flatten": {"start_dim": 2}}, {"name": "t", "transpose": {"dim0": 1, "dim1": 2}},
     {"name": "l2", "linear": 2}],
    # a transposed convolution keeps its input and weight; its gradients are products as large as its own
    [{"name": "a", "conv2d": {"out": 4, "kernel": 1}},
     {"name": "t", "conv_transpose2d": {"out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1}},
     {"name": "t2", "conv_transpose2d": {"out": 3, "kernel": [2, 3], "bias": False}}],
])
def test_small_graphs(layers):
    spec = {"name": "graph", "input": [4, 5, 5], "layers": layers}
    torch.manual_seed(0)
    training = analyze_training(spec, batch=3).training
    model = build(spec, batch=3)
    saved, backward = measure(model, model.example_input())
    assert training.saved_bytes == saved
    assert 2 * training.backward_macs == backward


@pytest.mark.parametrize("layers", [
    # token ids: the embedding keeps them (int64) for its table's gradient
    [{"name": "e", "embedding": {"num": 20, "dim": 6}}, {"name": "g", "gru": {"hidden": 5, "layers": 2}},
     {"name": "last", "select": {"dim": 1, "index": 6}}, {"name": "fc", "linear": 3}],
    [{"name": "e", "embedding": {"num": 20, "dim": 8}}, {"name": "cls", "class_token": None},
     {"name": "pos", "position_embedding": None}, {"name": "ln", "layernorm": None},
     {"name": "a", "attention": 2}, {"name": "add", "add": None, "from": ["a", "pos"]}],
    [{"name": "e", "embedding": {"num": 20, "dim": 6}}, {"name": "g", "gru": {"hidden": 5, "layers": 2,
                                                                              "bidirectional": True}}],
    [{"name": "e", "embedding": {"num": 20, "dim": 6}}, {"name": "r", "rnn": {"hidden": 4, "bidirectional": True}},
     {"name": "t", "transpose": {"dim0": 1, "dim1": 2}}, {"name": "pool", "adaptive_avgpool1d": 1}],
])
def test_small_sequence_graphs(layers):
    spec = {"name": "graph", "input": [7], "layers": layers}
    torch.manual_seed(0)
    training = analyze_training(spec, batch=3).training
    model = build(spec, batch=3)
    saved, backward = measure(model, model.example_input())
    assert training.saved_bytes == saved
    assert 2 * training.backward_macs == backward


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layer, module", [
    ({"batchnorm": None}, lambda: nn.BatchNorm2d(2)), ({"groupnorm": 1}, lambda: nn.GroupNorm(1, 2)),
    ({"layernorm": None}, lambda: nn.LayerNorm(5)), ({"layernorm": {"bias": False}}, lambda: nn.LayerNorm(5, bias=False)),
    ({"groupnorm": {"groups": 2, "affine": False}}, lambda: nn.GroupNorm(2, 2, affine=False)),
    ({"layernorm": {"affine": False}}, lambda: nn.LayerNorm(5, elementwise_affine=False)),
    ({"batchnorm": {"affine": False, "track_running_stats": False}},
     lambda: nn.BatchNorm2d(2, affine=False, track_running_stats=False)),
])
def test_normalisation_statistics_are_kept_in_the_accumulation_type(layer, module, dtype):
    """Each norm keeps its weight (and bias), and per channel, group or row a mean and an inverse standard
    deviation, in float32 for a float32 model and in float64 for a float64 one (PyTorch's accumulation type)."""
    spec = {"name": "norm", "input": [2, 3, 5], "layers": [{"name": "c", "conv2d": {"out": 2, "kernel": 1}},
                                                            {"name": "n", **layer}]}
    training = analyze_training(spec, batch=3, dtype=dtype).training
    kind = getattr(torch, dtype)
    model = nn.Sequential(nn.Conv2d(2, 2, 1), module()).to(kind)
    saved, _ = measure(model, torch.randn(3, 2, 3, 5, dtype=kind))
    assert training.saved_bytes == saved


def test_attention_keeps_its_statistics_in_float64_in_a_float64_model():
    spec = {"name": "a", "input": [5, 8], "layers": [{"name": "fc", "linear": 8}, {"name": "attention", "attention": 2}]}
    training = analyze_training(spec, batch=3, dtype="float64").training
    model = build(spec, batch=3).to(torch.float64)
    saved, _ = measure(model, model.example_input().to(torch.float64))
    assert training.saved_bytes == saved


@pytest.mark.parametrize("shape, window, shift, batch", [
    ((4, 4, 8), 2, 0, 2), ((4, 4, 8), 2, 1, 2), ((4, 6, 8), 2, 1, 3), ((2, 2, 8), 2, 0, 2), ((2, 2, 8), 2, 1, 2),
    ((4, 2, 8), 2, 0, 2), ((4, 2, 8), 2, 1, 2), ((2, 4, 8), 2, 1, 1), ((6, 6, 8), 3, 1, 2),
])
def test_what_window_attention_keeps(shape, window, shift, batch):
    """Maps of one window and of several, with and without the shift (rolled: the tokens are copied), one sample
    and several: the storages paramcalc counts against PyTorch's (torchvision's shifted window attention, as
    paramcalc.torch's WindowAttention runs it), after a linear layer so that the tokens need a gradient and a ReLU,
    which keeps its output: a view of the tokens shares that storage, a copy of them does not."""
    spec = {"name": "w", "input": list(shape), "layers": [
        {"name": "fc", "linear": 8}, {"name": "act", "relu": None},
        {"name": "w", "window_attention": {"heads": 2, "window_size": window, "shift": shift}}]}
    torch.manual_seed(0)
    training = analyze_training(spec, batch=batch).training
    model = build(spec, batch=batch)
    saved, _ = measure(model, model.example_input())
    one_window_one_sample = batch == 1 and shape[0] <= window and shape[1] <= window
    assert training.saved_bytes == saved - (shape[0] * shape[1] * 8 * 4 if one_window_one_sample else 0)


def test_attention_s_math_path_under_mixed_precision():
    """With dropout attention takes the math path, whose scaled queries, keys, softmax, mask and dropped weights
    stay float32 under autocast. The exception docs/conventions.md states: it keeps a float32 copy of V (L·E at 4
    bytes) where paramcalc counts the projection's bf16 output (3·L·E at 2 bytes), per sample."""
    spec = layer_spec("attention", {"heads": 2, "dropout": 0.1}, (5, 8))
    training, saved = saved_under_bf16(spec)
    assert saved == training.saved_bytes - 2 * (3 * 5 * 8 * 2 - 5 * 8 * 4)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_short_sequences_through_a_gru(steps):
    """At each step but the first a GRU's cell keeps the hidden state it reads: sequences of one, two and three."""
    spec = {"name": "short", "input": [steps], "layers": [{"name": "e", "embedding": {"num": 20, "dim": 6}},
                                                          {"name": "g", "gru": {"hidden": 5, "layers": 2}}]}
    torch.manual_seed(0)
    training = analyze_training(spec, batch=3).training
    model = build(spec, batch=3)
    saved, backward = measure(model, model.example_input())
    assert training.saved_bytes == saved and 2 * training.backward_macs == backward
