"""Convolutional classifiers of the CNN chapter: a LeNet-style digits network and an AlphaGo-style
move-policy network.

LeNet is the model `pyml demo` and the cnn-digits recipe train: two 3x3 convolutions, a 2x2
max-pool, a third convolution and pool, then two linear layers; padding keeps the image size until
each pool halves it, so it fits any square image whose side divides by 4 (8x8 digits, 28x28 MNIST).
AlphaGoPolicyNet follows the supervised policy network of Silver et al. (2016): the board is an
image of feature planes, and since one stone's position matters no layer pools.
"""
import pyml
from pyml import nn

__all__ = ["LeNet", "AlphaGoPolicyNet"]


def _check_input(name, x, channels, size):
    """x must be (N, channels, size, size)."""
    shape = tuple(x.shape)
    if len(shape) != 4 or shape[1] != channels or shape[2] != size or shape[3] != size:
        raise ValueError(f"{name}: input must be (N, {channels}, {size}, {size}), got {shape}")


def _positive(name, arg, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")


class LeNet(nn.Module):
    """A LeNet-style CNN for (N, in_channels, image_size, image_size) images; returns (N, num_classes)
    logits. `features` is conv-relu-conv-relu-pool-conv-relu-pool with `width`, `width` and
    2*`width` channels of 3x3 filters; `classifier` flattens, then Linear(hidden)-ReLU-Dropout-Linear."""

    def __init__(self, in_channels=1, num_classes=10, image_size=8, width=32, hidden=128, dropout=0.25):
        super().__init__()
        for arg, value in (("in_channels", in_channels), ("num_classes", num_classes), ("image_size", image_size),
                           ("width", width), ("hidden", hidden)):
            _positive("LeNet", arg, value)
        if image_size % 4:
            raise ValueError(f"LeNet: image_size must be divisible by 4 (two 2x2 poolings), got {image_size}")
        self.in_channels, self.image_size = in_channels, image_size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),                                           # (N, width, S/2, S/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))                                           # (N, 2*width, S/4, S/4)
        flat = 2 * width * (image_size // 4) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        _check_input("LeNet", x, self.in_channels, self.image_size)
        return self.classifier(self.features(x))


class AlphaGoPolicyNet(nn.Module):
    """Move probabilities from a Go position, as logits over the board points.

    Input (N, in_planes, board_size, board_size): 48 feature planes of a 19x19 board by default.
    A 5x5 convolution with `filters` channels, then `hidden_layers` 3x3 convolutions with `filters`
    channels (each followed by ReLU and zero-padded so the board keeps its size; no pooling), then a
    1x1 convolution to one plane plus a learned bias per board point. forward returns (N, 361) logits;
    `probabilities` applies the 361-way softmax. The defaults hold 3,882,793 parameters.
    """

    def __init__(self, in_planes=48, filters=192, board_size=19, hidden_layers=11):
        super().__init__()
        for arg, value in (("in_planes", in_planes), ("filters", filters), ("board_size", board_size)):
            _positive("AlphaGoPolicyNet", arg, value)
        if isinstance(hidden_layers, bool) or not isinstance(hidden_layers, int) or hidden_layers < 0:
            raise ValueError(f"AlphaGoPolicyNet: hidden_layers must be a non-negative int, got {hidden_layers!r}")
        self.in_planes, self.board_size = in_planes, board_size
        layers = [nn.Conv2d(in_planes, filters, 5, padding=2), nn.ReLU()]
        for _ in range(hidden_layers):
            layers += [nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(filters, 1, 1, bias=False)
        self.position_bias = nn.Parameter(pyml.zeros(board_size * board_size))

    def forward(self, boards):
        _check_input("AlphaGoPolicyNet", boards, self.in_planes, self.board_size)
        planes = self.head(self.body(boards))                          # (N, 1, 19, 19)
        return planes.flatten(1) + self.position_bias                  # (N, 361)

    def probabilities(self, boards):
        """(N, board_size**2) move probabilities: the softmax of forward's logits."""
        return pyml.softmax(self(boards), dim=1)
