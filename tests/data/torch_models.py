"""Small PyTorch models written by hand, for `paramcalc verify --against` (tests/test_verify_against.py)."""

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class Net(nn.Module):
    """A stem, two residual blocks, global pooling and a classifier."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


def net(**kwargs):
    """A factory, as torchvision's are."""
    return Net(**kwargs)


class Tokens(nn.Module):
    """Patches to tokens, a class token and a position embedding held by the model itself, attention."""

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(3, 32, 8, stride=8)
        self.class_token = nn.Parameter(torch.zeros(1, 1, 32))
        self.position = nn.Parameter(torch.zeros(1, 17, 32))
        self.attention = nn.MultiheadAttention(32, 4, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position
        x = self.attention(x, x, x, need_weights=False)[0]
        return self.head(x[:, 0])


class Reader(nn.Module):
    """Token ids, an embedding and an LSTM (whose CPU kernel FlopCounterMode does not see)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 24, batch_first=True)
        self.head = nn.Linear(24, 3)

    def forward(self, ids):
        return self.head(self.lstm(self.embedding(ids))[0][:, -1])


class WithAuxiliary(nn.Module):
    """A head that runs only in training, as Inception's auxiliary classifier."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.aux = nn.Linear(8, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.pool(self.conv(x)).flatten(1)
        if self.training:
            return self.fc(x), self.aux(x)
        return self.fc(x)


class Means(nn.Module):
    """Heads that average with x.mean, as torchvision's ShuffleNet v2 and MNASNet do, rather than with pooling: over
    the map (dropping it, or keeping it for a squeeze-and-excitation gate), and over the channels."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 + 10 * 6, 4)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = x * torch.sigmoid(self.gate(x.mean([2, 3], keepdim=True)))
        return self.fc(torch.cat([x.mean([2, 3]), torch.mean(x, 1).flatten(1)], dim=1))


class Computed(nn.Module):
    """Works out its width with tensors while it is made (as RegNet does), which the meta device cannot."""

    def __init__(self):
        super().__init__()
        width = int(torch.round(torch.tensor(11.6)).item())  # 12
        self.conv = nn.Conv2d(3, width, 1)

    def forward(self, x):
        return self.conv(x)
