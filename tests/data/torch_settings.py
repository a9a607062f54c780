"""Small PyTorch models written by hand, each holding modules of one kind with settings other than PyTorch's
defaults (not square, per-axis, without bias or affine, other eps and momentum), for the test that an
imported spec builds back the same modules (tests/test_import_settings.py)."""

import torch
from torch import nn
from torch.nn import functional as F


class Recurrent(nn.Module):
    """Token ids, an embedding and a recurrent layer; the recurrent layer's outputs, not its states."""

    def __init__(self, recurrent: nn.Module):
        super().__init__()
        self.embedding = nn.Embedding(50, 8)
        self.recurrent = recurrent

    def forward(self, ids):
        return self.recurrent(self.embedding(ids))[0]


class SelfAttention(nn.Module):
    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        self.attention = attention

    def forward(self, tokens):
        return self.attention(tokens, tokens, tokens, need_weights=False)[0]


class FunctionalDropout(nn.Module):
    """Dropout called as functions: a channel dropout of each rank on its own view of the map."""

    def forward(self, x):
        maps = F.dropout2d(x, 0.25, self.training)
        rows = F.dropout1d(x.flatten(2), p=0.125, training=self.training)
        return maps.flatten(2) + rows + F.dropout(x, 0.5, self.training).flatten(2)


# each: (the input's shape without the batch, whether it holds token ids, the modules in order)
CASES = {
    "conv2d": ((3, 16, 20), False, lambda: [
        nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), bias=False),
        nn.Conv2d(8, 8, 3, padding=(0, 1), groups=8), nn.Conv2d(8, 12, 1, groups=2),
        nn.Conv2d(12, 6, (3, 4), padding="same", dilation=(2, 1))]),
    "conv_transpose2d": ((4, 7, 8), False, lambda: [
        nn.ConvTranspose2d(4, 6, (3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)]),
    "conv1d": ((4, 30), False, lambda: [nn.Conv1d(4, 6, 5, stride=2, padding=3, dilation=2),
                                        nn.ConvTranspose1d(6, 3, 4, stride=3, padding=1, bias=False)]),
    "conv3d": ((2, 5, 9, 10), False, lambda: [nn.Conv3d(2, 4, (2, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
                                              nn.ConvTranspose3d(4, 3, (1, 2, 3), stride=(1, 2, 1))]),
    "batchnorm": ((3, 5, 6), False, lambda: [nn.BatchNorm2d(3, eps=1e-3, momentum=0.01),
                                             nn.BatchNorm2d(3, affine=False), nn.BatchNorm2d(3, eps=0.5),
                                             nn.BatchNorm2d(3, track_running_stats=False)]),
    "batchnorm1d": ((3, 10), False, lambda: [nn.BatchNorm1d(3, eps=1e-4, momentum=0.3)]),
    "batchnorm3d": ((2, 3, 4, 5), False, lambda: [nn.BatchNorm3d(2, momentum=0.2, affine=False)]),
    "layernorm": ((5, 12), False, lambda: [nn.LayerNorm(12, eps=1e-6, bias=False), nn.LayerNorm(12, eps=0.25),
                                          nn.LayerNorm(12, elementwise_affine=False)]),
    "groupnorm": ((6, 5, 7), False, lambda: [nn.GroupNorm(2, 6, eps=1e-4, affine=False), nn.GroupNorm(3, 6, eps=0.5)]),
    "lrn": ((6, 5, 7), False, lambda: [nn.LocalResponseNorm(3, alpha=2e-2, beta=0.7, k=1.5)]),
    "activations": ((4, 5, 6), False, lambda: [
        nn.LeakyReLU(0.2), nn.ReLU6(), nn.Hardswish(), nn.Hardsigmoid(), nn.SiLU(), nn.GELU(), nn.Tanh(),
        nn.Sigmoid(), nn.ReLU(), nn.Softmax(dim=1), nn.Identity(), nn.Softmax(dim=-1)]),
    "float_settings": ((4, 5, 6), False, lambda: [nn.LeakyReLU(0.2), nn.Hardsigmoid(), nn.ReLU6(), nn.Softmax(dim=1),
                                                  nn.GELU(), nn.LayerNorm(6, eps=1e-6)]),
    "dropout": ((4, 5, 6), False, lambda: [nn.Dropout(0.3), nn.Dropout2d(0.2), nn.Dropout(0.0)]),
    "flatten": ((3, 4, 5), False, lambda: [nn.Flatten(1, 2), nn.Linear(5, 7, bias=False), nn.Flatten()]),
    "pad": ((2, 5, 6), False, lambda: [nn.ZeroPad2d((1, 2, 3, 4))]),
    "pool2d": ((3, 15, 16), False, lambda: [
        nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), ceil_mode=True),
        nn.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True, count_include_pad=False),
        nn.AvgPool2d(2), nn.MaxPool2d(2, 1)]),
    "pool1d": ((3, 20), False, lambda: [nn.MaxPool1d(3, 2, 1, dilation=2), nn.AvgPool1d(2, ceil_mode=True)]),
    "pool3d": ((2, 4, 6, 7), False, lambda: [nn.AvgPool3d((2, 2, 3), stride=(1, 2, 2), count_include_pad=False,
                                                          padding=(1, 1, 1)), nn.MaxPool3d(2, stride=1)]),
    "adaptive": ((3, 10, 11), False, lambda: [nn.AdaptiveAvgPool2d((3, 4)), nn.AdaptiveAvgPool2d(2),
                                              nn.AdaptiveMaxPool2d((2, 3)), nn.AdaptiveAvgPool2d(1)]),
    "adaptive1d": ((3, 10), False, lambda: [nn.AdaptiveAvgPool1d(4)]),
    "adaptive3d": ((2, 4, 6, 7), False, lambda: [nn.AdaptiveAvgPool3d((1, 2, 3))]),
    "upsample": ((3, 6, 7), False, lambda: [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                                            nn.Upsample(size=(7, 9)), nn.Upsample(scale_factor=(1.5, 1.5),
                                                                                  mode="bicubic")]),
    "shuffle": ((8, 3, 4), False, lambda: [nn.PixelShuffle(2), nn.PixelUnshuffle(2), nn.ChannelShuffle(4)]),
    "one_channel": ((1, 6, 6), False, lambda: [nn.Conv2d(1, 1, 3), nn.Conv2d(1, 2, 1), nn.Conv2d(2, 2, 3, groups=2)]),
    "linear": ((5, 12), False, lambda: [nn.Linear(12, 7, bias=False), nn.Linear(7, 3)]),
    "lstm": ((9,), True, lambda: [Recurrent(nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True,
                                                    dropout=0.1, proj_size=4))]),
    "gru": ((9,), True, lambda: [Recurrent(nn.GRU(8, 6, bias=False, batch_first=True))]),
    "rnn": ((9,), True, lambda: [Recurrent(nn.RNN(8, 5, nonlinearity="relu", batch_first=True, num_layers=2))]),
    "attention": ((6, 16), False, lambda: [SelfAttention(nn.MultiheadAttention(16, 4, batch_first=True, bias=False,
                                                                               dropout=0.1))]),
}


def model(which: str) -> nn.Sequential:
    _, _, modules = CASES[which]
    return nn.Sequential(*modules())


class CrossAttention(nn.Module):
    """Attention whose keys and values come from a map of another width (kdim, vdim)."""

    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(16, 4, kdim=8, vdim=8, batch_first=True)
        self.keys = nn.Linear(16, 8)

    def forward(self, tokens):
        other = self.keys(tokens)
        return self.attention(tokens, other, other, need_weights=False)[0]


# modules with a setting no layer kind expresses: each stops the import, naming it
UNSUPPORTED = {
    "kdim": (CrossAttention, "keys or values of another size"),
    "bias_kv": (lambda: SelfAttention(nn.MultiheadAttention(16, 4, add_bias_kv=True, batch_first=True)),
                "added key/value biases"),
    "sequence_first": (lambda: SelfAttention(nn.MultiheadAttention(16, 4)), "batch_first=False"),
    "divisor_override": (lambda: nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), "divisor_override"),
}


def unsupported(which: str) -> nn.Module:
    return UNSUPPORTED[which][0]()


def cumulative_batchnorm() -> nn.Module:
    """A batch norm whose running statistics are a cumulative average (momentum None)."""
    return nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, momentum=None))


class Moves(nn.Module):
    """A concatenation, a dropout, a resize, a transpose and an index: what ONNX writes as Concat, Dropout, Resize,
    Transpose and Gather."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.drop = nn.Dropout(0.25)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)

    def forward(self, x):
        maps = self.up(self.drop(torch.cat([self.conv(x), x], 1)))
        return maps.flatten(2).transpose(1, 2)[:, 5]
