"""A torch.nn ResNet written for the tests only (torch is a test-only dependency): the same layer
names as pyml.models.resnet, so a state_dict copied through NumPy lines up key by key, and the same
shortcut options (A: subsample + zero channels appended at the end; B/C: 1x1 conv + BatchNorm)."""
import numpy as np
import torch
import torch.nn.functional as TF
from torch import nn as tnn

import pyml


class RefBlock(tnn.Module):
    def __init__(self, kind, cin, width, stride, shortcut):
        super().__init__()
        self.kind, self.stride, self.shortcut = kind, stride, shortcut
        cout = width * (4 if kind == "bottleneck" else 1)
        if kind == "basic":
            sizes = [(cin, width, 3, stride), (width, width, 3, 1)]
        else:
            sizes = [(cin, width, 1, 1), (width, width, 3, stride), (width, cout, 1, 1)]
        for i, (a, b, k, s) in enumerate(sizes, 1):
            setattr(self, f"conv{i}", tnn.Conv2d(a, b, k, s, k // 2, bias=False))
            setattr(self, f"bn{i}", tnn.BatchNorm2d(b))
        self.n_convs, self.extra = len(sizes), cout - cin
        reshape = stride != 1 or cin != cout
        self.downsample = None
        if shortcut == "C" or (shortcut == "B" and reshape):
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        y = x
        for i in range(1, self.n_convs + 1):
            y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
            y = TF.relu(y) if i < self.n_convs else y
        if self.shortcut is None:
            return TF.relu(y)
        if self.downsample is not None:
            return TF.relu(y + self.downsample(x))
        skip = x[:, :, ::self.stride, ::self.stride]
        return TF.relu(y + TF.pad(skip, (0, 0, 0, 0, 0, self.extra)))


class RefResNet(tnn.Module):
    def __init__(self, kind, layers, widths, stem, num_classes, in_channels, shortcut):
        super().__init__()
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
            self.pool = tnn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.pool = tnn.Identity()
        self.bn1 = tnn.BatchNorm2d(widths[0])
        channels, expand = widths[0], 4 if kind == "bottleneck" else 1
        for i, (w, n) in enumerate(zip(widths, layers)):
            blocks = []
            for j in range(n):
                blocks.append(RefBlock(kind, channels, w, 2 if (i > 0 and j == 0) else 1, shortcut))
                channels = w * expand
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
        self.n_stages = len(layers)
        self.fc = tnn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.pool(TF.relu(self.bn1(self.conv1(x))))
        for i in range(self.n_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def randomized_state(model, seed=0):
    """model's state_dict as NumPy arrays with every BatchNorm weight, bias and running statistic
    redrawn, so eval-mode comparisons exercise the running statistics and the affine part."""
    rng = np.random.default_rng(seed)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    draws = {"weight": lambda n: rng.uniform(0.5, 1.5, n), "bias": lambda n: rng.normal(0, 0.2, n),
             "running_mean": lambda n: rng.normal(0, 0.2, n), "running_var": lambda n: rng.uniform(0.5, 2.0, n)}
    for key, value in state.items():
        module, name = key.rsplit(".", 1)
        if module + ".running_mean" in state and name in draws:      # a BatchNorm entry
            state[key] = draws[name](value.shape).astype(value.dtype)
    return state


def load_both(pyml_model, torch_model, state):
    pyml_model.load_state_dict({k: pyml.from_numpy(v.copy()) for k, v in state.items()})
    torch_model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
