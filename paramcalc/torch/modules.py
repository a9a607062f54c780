"""The PyTorch modules that torch.nn lacks: merges, a channel split, a learned scale, channel-wise
layer norm, a convolution with uneven padding, reshaping, a mean over dimensions, the tokens and attention of transformers,
resizing to another input's size and recurrent layers that return their output sequence. `paramcalc export` copies this file's classes into
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


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return x.permute(self.dims)


class Reshape(nn.Module):
    """x.reshape(batch, *shape)"""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Select(nn.Module):
    """x.select(dim, index): ViT's x[:, 0]"""

    def __init__(self, dim, index):
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x):
        return x.select(self.dim, self.index)


class Mean(nn.Module):
    """x.mean(dims, keepdim): the mean over dimensions numbered with the batch as 0 (ShuffleNet v2's x.mean([2, 3]))"""

    def __init__(self, dims, keepdim=False):
        super().__init__()
        self.dims, self.keepdim = list(dims) if isinstance(dims, (tuple, list)) else dims, keepdim

    def forward(self, x):
        return x.mean(self.dims, keepdim=self.keepdim)


class PatchEmbed(nn.Conv2d):
    """Patches of patch x patch pixels projected to tokens: a strided convolution, flattened and transposed."""

    def __init__(self, in_channels, out_channels, patch, bias=True):
        super().__init__(in_channels, out_channels, kernel_size=patch, stride=patch, bias=bias)

    def forward(self, x):
        return super().forward(x).flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    """Learned tokens put before the sequence (ViT's class_token)."""

    def __init__(self, features, count=1):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, count, features))

    def forward(self, x):
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], dim=1)


class PositionEmbedding(nn.Module):
    """A learned vector added to each token (ViT's pos_embedding)."""

    def __init__(self, length, features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, length, features).normal_(std=0.02))

    def forward(self, x):
        return x + self.weight


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention used for self-attention on batch-first tokens; returns the output only. The products
    are written out (as nn.MultiheadAttention computes them) so that FlopCounterMode sees Q·Kᵀ and A·V, which
    the fused inference path hides."""

    def __init__(self, features, heads, bias=True, dropout=0.0):
        super().__init__(features, heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x):
        n, length, features = x.shape
        heads = self.num_heads
        q, k, v = (part.reshape(n, length, heads, features // heads).transpose(1, 2)
                   for part in F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1))
        scores = (q * (features // heads) ** -0.5) @ k.transpose(-2, -1)
        weights = F.dropout(scores.softmax(dim=-1), self.dropout, self.training)
        return self.out_proj((weights @ v).transpose(1, 2).reshape(n, length, features))


class WindowAttention(nn.Module):
    """Self-attention within windows of a channels-last N x H x W x C map, with a relative position bias, the
    windows shifted by `shift` (torchvision's ShiftedWindowAttention, for maps the window divides)."""

    def __init__(self, features, heads, window, shift=0, bias=True):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = nn.Linear(features, 3 * features, bias=bias)
        self.proj = nn.Linear(features, features, bias=bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        grid = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        offsets = (grid[:, :, None] - grid[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", (offsets[..., 0] * (2 * window - 1) + offsets[..., 1]).flatten())

    def forward(self, x):
        n, h, w, c = x.shape
        s, area = self.window, self.window * self.window
        # torchvision does not shift along a side that one window covers
        shift = (self.shift if h > s else 0, self.shift if w > s else 0)
        if any(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = x.view(n, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, area, c)
        q, k, v = self.qkv(windows).reshape(-1, area, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index].view(area, area, -1)
        scores = scores + bias.permute(2, 0, 1)
        if any(shift):
            regions = x.new_zeros(h, w)
            count = 0
            for rows in ((0, -s), (-s, -shift[0]), (-shift[0], None)):
                for cols in ((0, -s), (-s, -shift[1]), (-shift[1], None)):
                    regions[rows[0]:rows[1], cols[0]:cols[1]] = count
                    count += 1
            regions = regions.view(h // s, s, w // s, s).permute(0, 2, 1, 3).reshape(-1, area)
            mask = regions.unsqueeze(1) - regions.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0)
            scores = (scores.view(n, -1, self.heads, area, area) + mask[None, :, None]).view(-1, self.heads, area, area)
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(-1, area, c)
        out = self.proj(out).view(n, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
        return torch.roll(out, shifts=shift, dims=(1, 2)) if any(shift) else out


class PatchMerging(nn.Module):
    """Each 2x2 patch of a channels-last map gathered into one token of 4C features (torchvision's PatchMerging
    before its norm and reduction; an odd side is padded)."""

    def forward(self, x):
        h, w = x.shape[-3:-1]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)


class UpsampleLike(nn.Module):
    """F.interpolate to the height and width of a second input (FCN's and DeepLab's final resize)."""

    def __init__(self, mode="nearest", align_corners=None):
        super().__init__()
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x, like):
        return F.interpolate(x, size=like.shape[2:], mode=self.mode, align_corners=self.align_corners)


class Recurrent(nn.Module):
    """nn.LSTM, nn.GRU or nn.RNN on batch-first sequences, returning the output sequence only."""

    def __init__(self, kind, input_size, hidden_size, batch_first=True, **options):
        super().__init__()
        self.batch_first = batch_first
        self.rnn = getattr(nn, kind)(input_size, hidden_size, batch_first=batch_first, **options)

    def forward(self, x):
        if not self.batch_first:
            return self.rnn(x.transpose(0, 1))[0].transpose(0, 1)
        return self.rnn(x)[0]


class AssertShape(nn.Module):
    """Refuses any other per-sample shape, as torchvision's ViT checks its image size."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        torch._assert(tuple(x.shape[1:]) == self.shape, f"expected inputs of shape {self.shape}")
        return x
