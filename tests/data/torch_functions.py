"""Small PyTorch models written by hand whose forward calls functions, methods and operators rather than
modules (F.max_pool2d, x.chunk, x[:, 0], x.mean, x * parameter ...), each in the forms PyTorch takes them
(positional, keyword, method, function), for tests/test_import_functions.py. The layers each one should import
as are written out there from PyTorch's documentation of each call."""

import torch
from torch import nn
from torch.nn import functional as F


class Calls(nn.Module):
    """forward(x) = self.call(x): one model per call, named in CALLS."""

    def __init__(self, which: str):
        super().__init__()
        self.which = which
        self.scale = nn.Parameter(torch.ones(3, 1, 1))  # one factor per channel of a 3-channel map
        self.position = nn.Parameter(torch.zeros(1, 5, 8))  # one vector per token of 5 tokens of 8
        self.token = nn.Parameter(torch.zeros(1, 2, 8))  # two class tokens
        self.column = nn.Parameter(torch.ones(10))  # one factor per column of a map 10 wide

    def forward(self, x):
        return CALLS[self.which](self, x)


def _thirds(x, chunk):
    first, _, third = chunk(x)
    return torch.cat([third, first], 1)  # two of the three, swapped: each item is a layer of its own


def _swap_rows(x):
    top, bottom = x.chunk(2, 2)
    return torch.cat([bottom, top], 2)


CALLS = {
    # x: 3 x 8 x 10 unless the test says otherwise
    "max_pool_positional": lambda m, x: F.max_pool2d(x, 3, 2, 1, 2, True),  # kernel, stride, padding, dilation, ceil
    "max_pool_keywords": lambda m, x: F.max_pool2d(x, kernel_size=(2, 3)),  # stride: the kernel
    "avg_pool_positional": lambda m, x: F.avg_pool2d(x, (3, 2), (1, 2), 1, False, False),
    "avg_pool_keywords": lambda m, x: F.avg_pool2d(x, 2, stride=1, ceil_mode=True),
    "adaptive_global": lambda m, x: F.adaptive_avg_pool2d(x, (1, 1)),
    "adaptive": lambda m, x: F.adaptive_avg_pool2d(x, output_size=(2, 3)),
    "adaptive_one_number": lambda m, x: F.adaptive_avg_pool2d(x, 4),
    "mean_method": lambda m, x: x.mean([2, 3], keepdim=True),
    "mean_function": lambda m, x: torch.mean(x, 1),
    "mean_negative": lambda m, x: x.mean(dim=(-1,)),
    "interpolate": lambda m, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
    "interpolate_nearest": lambda m, x: F.interpolate(x, size=(5, 7)),
    "flatten": lambda m, x: torch.flatten(x, 1),
    "flatten_method": lambda m, x: x.flatten(2),
    "flatten_end": lambda m, x: x.flatten(start_dim=1, end_dim=2),
    "reshape": lambda m, x: x.reshape(x.shape[0], 24, 10),
    "view": lambda m, x: x.view(-1, 3, 80),
    "permute": lambda m, x: x.permute(0, 2, 3, 1),
    "permute_list": lambda m, x: x.permute([0, 3, 1, 2]),
    "transpose": lambda m, x: x.transpose(1, 3),
    "transpose_function": lambda m, x: torch.transpose(x, 2, 3),
    "chunk_method": lambda m, x: _thirds(x, lambda t: t.chunk(3, 1)),
    "chunk_function": lambda m, x: _thirds(x, lambda t: torch.chunk(t, 3, dim=1)),
    "chunk_keywords": lambda m, x: _thirds(x, lambda t: t.chunk(chunks=3, dim=1)),
    "select_first": lambda m, x: x[:, 0],
    "select_last_row": lambda m, x: x[:, :, -1],
    "scale": lambda m, x: x * m.scale,
    "scale_method": lambda m, x: x.mul(m.scale),
    "sum": lambda m, x: x + F.relu(x),
    "sum_method": lambda m, x: x.add(torch.sigmoid(x)),
    "one_part": lambda m, x: torch.relu(torch.cat([x], 1)),  # DenseNet's first layer: a list of one map
    "concat": lambda m, x: torch.cat((x, torch.tanh(x)), dim=2),
    "flatten_positional_end": lambda m, x: torch.flatten(x, 1, 2),
    "mean_keepdim_positional": lambda m, x: torch.mean(x, (2, 3), True),
    "mean_one_dim": lambda m, x: x.mean(dim=2),
    "dropout_positional": lambda m, x: F.dropout(x, 0.3, m.training),
    "dropout_default": lambda m, x: F.dropout(x, training=m.training),
    "interpolate_bilinear": lambda m, x: F.interpolate(x, scale_factor=2, mode="bilinear"),  # align_corners None
    "concat_keywords": lambda m, x: torch.cat(tensors=(x, torch.tanh(x)), dim=1),
    "sum_in_place": lambda m, x: torch.relu(x).add_(x),
    "double": lambda m, x: x + x,
    "square": lambda m, x: torch.mul(x, x),
    "scale_in_place": lambda m, x: torch.sigmoid(x).mul_(m.scale),
    "scale_reshaped": lambda m, x: x * torch.reshape(m.scale, (3, 1)).unsqueeze(-1),  # a parameter, reshaped
    # on 5 tokens of 8
    "position": lambda m, x: x + m.position,
    "class_token": lambda m, x: torch.cat([m.token.expand(x.shape[0], -1, -1), x], 1),
    "select_token": lambda m, x: x[:, -2],
    # refused
    "max_pool_indices": lambda m, x: F.max_pool2d(x, 2, return_indices=True)[0],
    "flatten_batch": lambda m, x: x.flatten(),
    "mean_everything": lambda m, x: x.mean(),
    "mean_batch": lambda m, x: x.mean(0),
    "mean_batch_from_the_end": lambda m, x: x.mean((-4, 1)),
    "add_constant": lambda m, x: x + 1,
    "mul_constant": lambda m, x: 2 * x,
    "scale_columns": lambda m, x: x * m.column,
    "chunk_rows": lambda m, x: torch.erf(_swap_rows(x)),  # erf: named too
    "chunk_batch": lambda m, x: torch.cat(x.chunk(2), 0),  # dim 0 unless said
    "chunk_default": lambda m, x: torch.erf(x.chunk(2)[0]),  # one item only
    "index_ellipsis": lambda m, x: x[..., 0],
    "index_batch": lambda m, x: x[-1],
    "index_range_then_one": lambda m, x: x[:, 1:, 0],
    "index_range": lambda m, x: x[:, 1:],
    "erf": lambda m, x: torch.erf(x),
    "concat_batch": lambda m, x: torch.cat([x, torch.tanh(x)]),  # dim 0 unless said
    "concat_batch_from_the_end": lambda m, x: torch.cat([x, torch.tanh(x)], -4),
    "add_parameter_per_channel": lambda m, x: x + m.scale,  # a bias per channel: no kind
    "mean_computed_dim": lambda m, x: x.mean(x.dim() - 1),
}


def calls(which: str) -> nn.Module:
    return Calls(which)


class Pair(nn.Module):
    """A module that returns two tensors."""

    def forward(self, x):
        return x, -x


class Bilinear(nn.Module):
    """x -> a refused function, then modules and calls with a kind and without: every part without one is named."""

    def __init__(self):
        super().__init__()
        self.bilinear = nn.Bilinear(10, 10, 4)
        self.conv = nn.Conv2d(3, 3, 1)
        self.scale = nn.Parameter(torch.ones(3, 1, 1))
        self.column = nn.Parameter(torch.ones(10))

    def forward(self, x):
        y = self.conv(torch.erf(x))
        others = (F.max_pool2d(y, 2), y.mean(), y + 1, y[..., 0], y * self.scale, y * self.column, y.flatten())
        return self.bilinear(torch.special.erfinv(torch.tanh(y)), y), others


class Custom(nn.Module):
    """A module of the model's own (named as custom) between two convolutions, and a function named as custom."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.wrap = nn.ModuleDict({"own": Own()})
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(torch.erf(self.wrap["own"](self.conv(x))))


class NoKind(nn.Module):
    """A torch.nn module paramcalc has no kind for, first."""

    def __init__(self):
        super().__init__()
        self.shrink = nn.Hardshrink()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(self.shrink(x))


class Own(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 5))

    def forward(self, x):
        return x[:, :, :4, :] * 2


class CustomPair(nn.Module):
    def __init__(self):
        super().__init__()
        self.pair = Pair()

    def forward(self, x):
        first, second = self.pair(x)
        return first + second


class TwoInputs(nn.Module):
    """A second input, with a default: the model runs on one."""

    def forward(self, x, y=2.0):
        return x * y


class State(nn.Module):
    """An LSTM's final hidden state, not its outputs, into a linear layer."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(10, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(self.lstm(x)[1][0][-1])


class Nested(nn.Module):
    """Modules inside containers, one of the model's own convolution class, a parameter of a submodule read
    directly, and a head (a group) and a layer that run only in training."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Sequential(MyConv(3, 4, 1)), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1)])
        self.gate = nn.Module()
        self.gate.weight = nn.Parameter(torch.ones(4, 1, 1))
        self.aux = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU())
        self.aux2 = nn.Conv2d(4, 3, 1)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x = x * self.gate.weight
        if self.training:
            return x, self.aux(x), self.aux2(x)
        return x


class MyConv(nn.Conv2d):
    pass


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.keys = nn.Linear(8, 8)

    def forward(self, x):
        return self.attention(x, self.keys(x), self.keys(x), need_weights=False)[0]


class Reached(nn.Module):
    """A submodule called through a plain module that is never called itself (as a ModuleList's are): it runs at
    inference. The output is a mapping, as torchvision's segmentation models give."""

    def __init__(self):
        super().__init__()
        self.head = nn.Module()
        self.head.inner = nn.Module()
        self.head.inner.conv = nn.Conv2d(3, 4, 1)
        self.side = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return {"out": self.head.inner.conv(x), "side": self.side(x)}


class Tokens(nn.Module):
    """Token ids into an embedding, then a module of the model's own (named custom when imported)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.mix = Mix()

    def forward(self, ids):
        return self.mix(self.embedding(ids))


class Mix(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 8)

    def forward(self, x):
        return self.linear(x).cumsum(1)


class _Shortcut(nn.Module):
    """relu(branch(x) + x), or + a 1x1 projection of x where the width or the stride changes."""

    def add_shortcut(self, inputs: int, outputs: int, stride: int) -> None:
        self.project = nn.Conv2d(inputs, outputs, 1, stride, bias=False) if stride != 1 or inputs != outputs \
            else None

    def forward(self, x):
        shortcut = x if self.project is None else self.project(x)
        return torch.relu(self.branch(x) + shortcut)


class Residual(_Shortcut):
    """conv-bn-relu-conv-bn plus the shortcut, then relu."""

    def __init__(self, inputs: int, width: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.add_shortcut(inputs, width, stride)

    def branch(self, x):
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))


class Stages(nn.Module):
    """Three alike residual blocks, then three that widen (the first halving the map), then a head."""

    def __init__(self):
        super().__init__()
        self.first = nn.Sequential(*[Residual(8, 8) for _ in range(3)])
        self.second = nn.Sequential(Residual(8, 16, 2), Residual(16, 16), Residual(16, 16))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.second(self.first(x)).mean((2, 3)))


class Bottleneck(_Shortcut):
    """ResNet's bottleneck: 1x1 to `width`, 3x3 (the stride), 1x1 to 4 x width, plus the shortcut, then relu."""

    def __init__(self, inputs: int, width: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.conv3 = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.add_shortcut(inputs, 4 * width, stride)

    def branch(self, x):
        return self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))


class Bottlenecks(nn.Module):
    """Two stages of bottlenecks, 4 then 8 wide: the second stage's widths are twice the first's."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(Bottleneck(16, 4), Bottleneck(16, 4))
        self.layer2 = nn.Sequential(Bottleneck(16, 8, 2), Bottleneck(32, 8))

    def forward(self, x):
        return self.layer2(self.layer1(x))
