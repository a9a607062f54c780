"""The few PyTorch modules that torch.nn lacks: merges, a channel split, a learned scale, channel-wise
layer norm, and a convolution with uneven padding. `paramcalc export` copies this file's classes into
the models it writes, so an exported model needs nothing but torch."""

import torch
from torch import nn
from torch.nn import functional as F


class Concat(nn.Module):
    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs):
        return torch.cat(inputs, dim=self.dim)


class Add(nn.Module):
    def forward(self, first, *others):
        for other in others:
            first = first + other
        return first


class Multiply(nn.Module):
    def forward(self, first, *others):
        for other in others:
            first = first * other
        return first


class ChannelSplit(nn.Module):
    """torch.chunk(x, parts, dim=1)[take]"""

    def __init__(self, parts, take):
        super().__init__()
        self.parts, self.take = parts, take

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=1)[self.take]


class Scale(nn.Module):
    """A learned factor per channel (ConvNeXt's layer scale)."""

    def __init__(self, channels, rank=3, init=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels, *([1] * (rank - 1))), float(init)))

    def forward(self, x):
        return x * self.weight


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training, zero the input (a residual branch) with probability p, per
    sample (mode 'row') or for the whole batch (mode 'batch'), and scale the rest by 1/(1-p); at inference,
    nothing."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * noise / survival if survival > 0.0 else x * noise


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of an N x C x H x W map (ConvNeXt's LayerNorm2d)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class PaddedConv2d(nn.Conv2d):
    """A Conv2d after uneven zero padding, given as (left, right, top, bottom) like F.pad."""

    def __init__(self, in_channels, out_channels, padding=(0, 0, 0, 0), **options):
        super().__init__(in_channels, out_channels, padding=0, **options)
        self.uneven_padding = tuple(padding)

    def forward(self, x):
        return super().forward(F.pad(x, self.uneven_padding))
