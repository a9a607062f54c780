"""paramcalc's defaults are PyTorch's: each spec below leaves its optional fields unset, and its reference is
written here by hand from the spec's text with torch.nn's own defaults (never built by paramcalc.torch), so a
default that paramcalc reads differently from PyTorch (ceil_mode, stride = kernel, bias, affine,
track_running_stats, batch_first, the interpolation mode...) changes a shape, a parameter or a buffer count.
The inputs are not square and their sizes odd, so a rounding mode or a height/width mix-up shows."""

from __future__ import annotations

import math

import pytest

from .conftest import require_torch
from .helpers import last

torch = require_torch()
nn = torch.nn
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

# (input shape of one sample, the spec's layer, the same layer in torch.nn with its defaults)
CASES = [
    ([3, 7, 9], "- avgpool: 2", lambda: nn.AvgPool2d(2)),
    ([3, 7, 9], "- avgpool: {kernel: 3, padding: 1}", lambda: nn.AvgPool2d(3, padding=1)),
    ([3, 8, 11], "- avgpool: {kernel: 3, stride: 2}", lambda: nn.AvgPool2d(3, stride=2)),
    ([3, 7, 9], "- maxpool: 2", lambda: nn.MaxPool2d(2)),
    ([3, 8, 11], "- maxpool: {kernel: 3, stride: 2}", lambda: nn.MaxPool2d(3, stride=2)),
    ([3, 8, 11], "- maxpool: {kernel: 3, padding: 1}", lambda: nn.MaxPool2d(3, padding=1)),
    ([4, 9], "- avgpool1d: 2", lambda: nn.AvgPool1d(2)),
    ([4, 9], "- maxpool1d: 2", lambda: nn.MaxPool1d(2)),
    ([2, 5, 7, 9], "- avgpool3d: 2", lambda: nn.AvgPool3d(2)),
    ([2, 5, 7, 9], "- maxpool3d: 2", lambda: nn.MaxPool3d(2)),
    ([3, 7, 9], "- adaptive_avgpool: 3", lambda: nn.AdaptiveAvgPool2d(3)),
    ([3, 7, 9], "- adaptive_maxpool: 3", lambda: nn.AdaptiveMaxPool2d(3)),
    ([3, 7, 9], "- conv2d: {out: 5, kernel: 3}", lambda: nn.Conv2d(3, 5, 3)),
    ([3, 7, 9], "- conv2d: {out: 4, kernel: [3, 2], stride: 2}", lambda: nn.Conv2d(3, 4, (3, 2), stride=2)),
    ([3, 11], "- conv1d: {out: 5, kernel: 3}", lambda: nn.Conv1d(3, 5, 3)),
    ([2, 5, 7, 9], "- conv3d: {out: 4, kernel: 3}", lambda: nn.Conv3d(2, 4, 3)),
    ([3, 7, 9], "- conv_transpose2d: {out: 4, kernel: 3}", lambda: nn.ConvTranspose2d(3, 4, 3)),
    ([3, 11], "- conv_transpose1d: {out: 4, kernel: 3}", lambda: nn.ConvTranspose1d(3, 4, 3)),
    ([6, 5, 7], "- batchnorm", lambda: nn.BatchNorm2d(6)),
    ([5, 6], "- linear: 7", lambda: nn.Linear(6, 7)),
    ([6], "- linear: 7", lambda: nn.Linear(6, 7)),
    ([5, 6], "- layernorm", lambda: nn.LayerNorm(6)),
    ([6, 5, 7], "- groupnorm: 2", lambda: nn.GroupNorm(2, 6)),
    ([3, 5, 7], "- upsample: {scale: 2}", lambda: nn.Upsample(scale_factor=2)),
    ([3, 5, 7], "- upsample: {size: [8, 11]}", lambda: nn.Upsample(size=(8, 11))),
    ([3, 5, 7], "- flatten", lambda: nn.Flatten()),
    ([8, 3, 5], "- pixel_shuffle: 2", lambda: nn.PixelShuffle(2)),
    ([3, 6, 8], "- pixel_unshuffle: 2", lambda: nn.PixelUnshuffle(2)),
    ([6, 5, 7], "- lrn: 3", lambda: nn.LocalResponseNorm(3)),
    ([3, 5, 7], "- dropout", lambda: nn.Dropout()),
    ([5, 6], "- lstm: 8", lambda: nn.LSTM(6, 8)),
    ([5, 6], "- gru: 8", lambda: nn.GRU(6, 8)),
    ([5, 6], "- rnn: 8", lambda: nn.RNN(6, 8)),
]
RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)


def run(module, sample_shape):
    """Output shape of one sample (the batch dimension dropped) and the MACs FlopCounterMode sees (half its
    FLOPs); torch's recurrent layers default to batch_first=False, so their input is L x 1 x in."""
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        if isinstance(module, RECURRENT):
            out = module(torch.randn(sample_shape[0], 1, *sample_shape[1:]))[0]
            shape = (out.shape[0], *out.shape[2:])
        else:
            shape = tuple(module(torch.randn(1, *sample_shape)).shape[1:])
    return tuple(shape), counter.get_total_flops() // 2


@pytest.mark.parametrize("sample, layer, reference", CASES, ids=[layer[2:] for _, layer, _ in CASES])
def test_unset_fields_take_pytorch_s_defaults(sample, layer, reference):
    module = reference()
    shape, macs = run(module, sample)
    params = sum(p.numel() for p in module.parameters())
    # num_batches_tracked is bookkeeping, not statistics: paramcalc does not count it (docs/conventions.md)
    buffers = sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
    record = last(str(sample), layer)
    assert tuple(record.shape) == shape, layer
    assert record.params == params, layer
    assert record.trainable == params, layer
    assert record.buffers == buffers, layer
    if not isinstance(module, RECURRENT):  # the CPU's fused recurrent kernels are not seen by the counter
        assert record.macs == macs, layer


def test_the_pools_round_down_unless_asked():
    # 7x9 under a 2x2 window of stride 2: floor((7 - 2)/2) + 1 = 3, floor((9 - 2)/2) + 1 = 4; ceil_mode, which
    # PyTorch leaves off, would give 4 x 5
    assert last("[3, 7, 9]", "- avgpool: 2").shape == (3, 3, 4)
    assert last("[3, 7, 9]", "- maxpool: 2").shape == (3, 3, 4)
    assert last("[3, 7, 9]", "- avgpool: {kernel: 2, ceil_mode: true}").shape == (3, 4, 5)
    # FLOPs: 2·2 per output element of an average pool, 2·2 - 1 of a max pool (docs/conventions.md)
    assert last("[3, 7, 9]", "- avgpool: 2").flops == 4 * 3 * 3 * 4
    assert last("[3, 7, 9]", "- maxpool: 2").flops == 3 * 3 * 3 * 4
    assert math.prod(last("[3, 7, 9]", "- avgpool: {kernel: 2, ceil_mode: true}").shape) == 3 * 4 * 5


def test_the_built_average_pool_counts_the_padding_as_pytorch_does():
    """count_include_pad changes no figure, only what the pooling computes: the module paramcalc builds with the
    field unset averages as nn.AvgPool2d does with its default (the zeros of the padding counted)."""
    from paramcalc.torch import build

    model = build("name: a\ninput: [2, 5, 7]\nlayers: [{avgpool: {kernel: 3, padding: 1}}]\n")
    x = torch.randn(1, 2, 5, 7)
    assert torch.equal(model(x), nn.AvgPool2d(3, padding=1)(x))
