"""Residual networks (He, Zhang, Ren and Sun, 2015) and the plain nets of their degradation experiment.

A block computes a residual branch F(x) and adds its input back through a shortcut: option "A" keeps
the identity and, where the shape changes, subsamples it and appends zero channels (no parameters);
"B" projects with a 1x1 conv + BatchNorm only where the shape changes; "C" always projects; None
drops the shortcut (a plain block). The ImageNet layout (resnet18/34/50) uses torchvision's layer and
state_dict names, so its parameter counts are the published ones; the CIFAR layout (resnet20/56/110,
16-32-64 channels, option A) is the paper's section 4.2, and PlainNet is that net without shortcuts.
"""
import pyml
from pyml import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "PlainNet", "resnet18", "resnet34", "resnet50",
           "cifar_resnet", "resnet20", "resnet56", "resnet110"]

SHORTCUT_OPTIONS = ("A", "B", "C", None)


def _check_shortcut(shortcut, where):
    if shortcut not in SHORTCUT_OPTIONS:
        raise ValueError(f"{where}: shortcut must be 'A', 'B', 'C' or None, got {shortcut!r}")


def _check_positive(value, name, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")


class ZeroPadShortcut(nn.Module):
    """Option A: the identity, subsampled by `stride` and padded with zero channels up to
    `out_channels`. It has no parameters, so an option-A net has as many weights as a plain one."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ZeroPadShortcut: out_channels ({out_channels}) must be at least in_channels "
                             f"({in_channels}); zero padding cannot drop channels")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]                 # (N, C, ceil(H/s), ceil(W/s))
        extra = self.out_channels - self.in_channels
        return pyml.pad(x, (0, 0, 0, 0, 0, extra)) if extra else x    # (N, K, P, Q)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def make_shortcut(in_channels, out_channels, stride, shortcut):
    """The module a block applies to its input before the addition; None means the bare identity
    (or, for shortcut=None, no addition at all: the caller checks that)."""
    same_shape = stride == 1 and in_channels == out_channels
    if shortcut == "C" or (shortcut == "B" and not same_shape):
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                             nn.BatchNorm2d(out_channels))
    if shortcut == "A" and not same_shape:
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return None


class _Block(nn.Module):
    """What both block kinds share: the shortcut and the final addition + ReLU."""

    expansion = 1

    def _set_shortcut(self, in_channels, out_channels, stride, shortcut):
        _check_shortcut(shortcut, type(self).__name__)
        self.residual = shortcut is not None
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut)

    def _merge(self, branch, x):
        if self.residual:
            branch = branch + (x if self.downsample is None else self.downsample(x))
        return pyml.relu(branch)


class BasicBlock(_Block):
    """Two 3x3 convolutions with BatchNorm (ResNet-18/34, the CIFAR nets): (N, in_channels, H, W) ->
    (N, channels, H/stride, W/stride). shortcut: "A", "B", "C" or None (see the module docstring)."""

    expansion = 1

    def __init__(self, in_channels, channels, stride=1, shortcut="B"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self._set_shortcut(in_channels, channels, stride, shortcut)

    def forward(self, x):
        branch = pyml.relu(self.bn1(self.conv1(x)))
        branch = self.bn2(self.conv2(branch))
        return self._merge(branch, x)


class Bottleneck(_Block):
    """1x1 conv down to `channels`, 3x3 conv (carrying the stride, as torchvision does), 1x1 conv up
    to 4*channels, each with BatchNorm (ResNet-50 and deeper): (N, in_channels, H, W) ->
    (N, 4*channels, H/stride, W/stride)."""

    expansion = 4

    def __init__(self, in_channels, channels, stride=1, shortcut="B"):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self._set_shortcut(in_channels, out_channels, stride, shortcut)

    def forward(self, x):
        branch = pyml.relu(self.bn1(self.conv1(x)))
        branch = pyml.relu(self.bn2(self.conv2(branch)))
        branch = self.bn3(self.conv3(branch))
        return self._merge(branch, x)


class ResNet(nn.Module):
    """A stem, one stage of `layers[i]` blocks of width `widths[i]` per entry (every stage after the
    first halves the resolution in its first block), global average pooling and a linear classifier.

    stem="imagenet": 7x7 stride-2 conv, BatchNorm, ReLU, 3x3 stride-2 max-pool (224x224 inputs);
    stem="cifar": one 3x3 conv, BatchNorm, ReLU (32x32 or smaller inputs). Input (N, in_channels, H, W),
    output logits (N, num_classes). Convolutions start from He (fan-out) initialisation.
    """

    def __init__(self, block, layers, num_classes=1000, shortcut="B", widths=(64, 128, 256, 512),
                 in_channels=3, stem="imagenet"):
        super().__init__()
        self._check_args(block, layers, widths, stem, shortcut, num_classes, in_channels)
        self.conv1, self.bn1, self.maxpool = self._stem(stem, in_channels, widths[0])
        channels = widths[0]
        for i, (width, count) in enumerate(zip(widths, layers)):
            stage, channels = self._stage(block, channels, width, count, 1 if i == 0 else 2, shortcut)
            setattr(self, f"layer{i + 1}", stage)
        self.num_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        self._init_weights()

    @staticmethod
    def _check_args(block, layers, widths, stem, shortcut, num_classes, in_channels):
        if not (isinstance(block, type) and issubclass(block, _Block)):
            raise TypeError(f"ResNet: block must be BasicBlock or Bottleneck, got {block!r}")
        if len(layers) != len(widths) or not layers:
            raise ValueError(f"ResNet: layers and widths need one entry per stage, got layers={list(layers)}, "
                             f"widths={list(widths)}")
        for count in layers:
            _check_positive(count, "every entry of layers", "ResNet")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        _check_shortcut(shortcut, "ResNet")
        _check_positive(num_classes, "num_classes", "ResNet")
        _check_positive(in_channels, "in_channels", "ResNet")

    @staticmethod
    def _stem(stem, in_channels, width):
        if stem == "imagenet":
            return (nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                    nn.MaxPool2d(3, 2, 1))
        return nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), None

    @staticmethod
    def _stage(block, in_channels, width, count, stride, shortcut):
        """count blocks, the first one strided; returns (stage, its output channels)."""
        blocks = []
        for j in range(count):
            blocks.append(block(in_channels, width, stride if j == 0 else 1, shortcut))
            in_channels = width * block.expansion
        return nn.Sequential(*blocks), in_channels

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x):
        """(N, in_channels, H, W) -> pooled features (N, channels of the last stage)."""
        x = pyml.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return pyml.flatten(self.avgpool(x), 1)                        # (N, C)

    def forward(self, x):
        return self.fc(self.features(x))


class PlainNet(ResNet):
    """The CIFAR ResNet of the same depth with every shortcut removed: 3x3 stem, three stages of
    (depth - 2) / 6 two-conv blocks (widths 16-32-64 by default), pooling and a linear classifier.
    Same layers, same parameter count as the option-A ResNet; the degradation experiment's baseline."""

    def __init__(self, depth, num_classes=10, in_channels=3, widths=(16, 32, 64)):
        blocks = _blocks_per_stage(depth, len(widths), "PlainNet")
        super().__init__(BasicBlock, [blocks] * len(widths), num_classes, None, widths, in_channels, "cifar")
        self.depth = depth


def _blocks_per_stage(depth, stages, where):
    """depth = 2 * blocks * stages + 2 (the stem conv and the classifier count as layers)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2 * stages + 2 \
            or (depth - 2) % (2 * stages):
        raise ValueError(f"{where}: depth must be {2 * stages}*n + 2 with n >= 1 (e.g. 8, 20, 56), got {depth!r}")
    return (depth - 2) // (2 * stages)


def resnet18(num_classes=1000, shortcut="B", in_channels=3):
    """ResNet-18, ImageNet layout (11,689,512 parameters with option B and 1000 classes)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, shortcut, in_channels=in_channels)


def resnet34(num_classes=1000, shortcut="B", in_channels=3):
    """ResNet-34, ImageNet layout (21,797,672 parameters with option B and 1000 classes)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, shortcut, in_channels=in_channels)


def resnet50(num_classes=1000, shortcut="B", in_channels=3):
    """ResNet-50, ImageNet layout with bottleneck blocks (25,557,032 parameters with option B)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, shortcut, in_channels=in_channels)


def cifar_resnet(depth, num_classes=10, shortcut="A", in_channels=3, widths=(16, 32, 64)):
    """The paper's CIFAR-10 ResNet of `depth` = 6n + 2 layers: 3x3 stem, three stages of n basic
    blocks (16, 32 and 64 channels), pooling and a linear classifier."""
    blocks = _blocks_per_stage(depth, len(widths), "cifar_resnet")
    return ResNet(BasicBlock, [blocks] * len(widths), num_classes, shortcut, widths, in_channels, "cifar")


def resnet20(num_classes=10, shortcut="A", in_channels=3):
    """CIFAR ResNet-20 (269,722 parameters with option A)."""
    return cifar_resnet(20, num_classes, shortcut, in_channels)


def resnet56(num_classes=10, shortcut="A", in_channels=3):
    """CIFAR ResNet-56 (853,018 parameters with option A)."""
    return cifar_resnet(56, num_classes, shortcut, in_channels)


def resnet110(num_classes=10, shortcut="A", in_channels=3):
    """CIFAR ResNet-110 (1,727,962 parameters with option A)."""
    return cifar_resnet(110, num_classes, shortcut, in_channels)
