"""Models built from pyml.nn have the published parameter counts (TEXTBOOK.md) and run forward."""
import pytest

import pyml
import pyml.nn as nn


def count(m):
    return sum(p.numel() for p in m.parameters())


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1, shortcut="B"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut_a = None
        self.downsample = None
        if stride != 1 or cin != cout:
            if shortcut == "A":  # zero-padded identity: no parameters
                self.shortcut_a = (stride, cout - cin)
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = pyml.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            x = self.downsample(x)
        elif self.shortcut_a is not None:
            s, extra = self.shortcut_a
            x = pyml.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, extra // 2, extra - extra // 2))
        return pyml.relu(out + x)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride=1, shortcut="B"):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = pyml.relu(self.bn1(self.conv1(x)))
        out = pyml.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return pyml.relu(out + (x if self.downsample is None else self.downsample(x)))


def imagenet_resnet(block, layers, classes=1000):
    mods = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, n in enumerate(layers):
        width = 64 * 2 ** i
        for j in range(n):
            mods.append(block(cin, width, 2 if (j == 0 and i > 0) else 1))
            cin = width * block.expansion
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*mods)


def cifar_resnet(depth, classes=10):
    n = (depth - 2) // 6
    mods = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for i, width in enumerate((16, 32, 64)):
        for j in range(n):
            mods.append(BasicBlock(cin, width, 2 if (j == 0 and i > 0) else 1, shortcut="A"))
            cin = width
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*mods)


@pytest.mark.parametrize("name,block,layers,want", [
    ("resnet18", BasicBlock, [2, 2, 2, 2], 11_689_512),
    ("resnet34", BasicBlock, [3, 4, 6, 3], 21_797_672),
    ("resnet50", Bottleneck, [3, 4, 6, 3], 25_557_032)])
def test_imagenet_resnets(name, block, layers, want):
    m = imagenet_resnet(block, layers)
    assert count(m) == want
    if name == "resnet18":
        m.eval()
        with pyml.no_grad():
            assert m(pyml.randn(1, 3, 64, 64)).shape == (1, 1000)


@pytest.mark.parametrize("depth,want", [(20, 269_722), (56, 853_018), (110, 1_727_962)])
def test_cifar_resnets_option_a(depth, want):
    m = cifar_resnet(depth)
    assert count(m) == want
    if depth == 20:
        out = m(pyml.randn(2, 3, 32, 32))
        assert out.shape == (2, 10)
        out.sum().backward()
        assert all(p.grad is not None for p in m.parameters())


class Bert(nn.Module):
    """BERT-base: token + segment + learned position embeddings, 12 post-norm encoder layers, pooler."""

    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, ffn=3072, max_pos=512, types=2):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_pos, hidden)
        self.segment = nn.Embedding(types, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, ids, segments):
        pos = pyml.arange(ids.shape[1]).unsqueeze(0)
        h = self.norm(self.word(ids) + self.position(pos) + self.segment(segments))  # (B, T, H)
        h = self.encoder(h)
        return h, pyml.tanh(self.pooler(h[:, 0]))


def test_bert_base_parameter_count_and_forward():
    m = Bert()
    assert count(m) == 109_482_240
    small = Bert(vocab=100, hidden=32, layers=2, heads=4, ffn=64, max_pos=16)
    ids = pyml.randint(0, 100, (2, 7))
    h, pooled = small(ids, pyml.zeros(2, 7, dtype=pyml.int64))
    assert h.shape == (2, 7, 32) and pooled.shape == (2, 32)


def test_depthwise_separable_counts():
    """TEXTBOOK.md: a 3x3 conv 2 -> 4 channels has 72 weights; depthwise (18) + pointwise (8) has 26."""
    full = nn.Conv2d(2, 4, 3, bias=False)
    depthwise = nn.Conv2d(2, 2, 3, groups=2, bias=False)
    pointwise = nn.Conv2d(2, 4, 1, bias=False)
    assert count(full) == 72
    assert count(depthwise) == 18 and count(pointwise) == 8
    x = pyml.randn(1, 2, 6, 6)
    assert pointwise(depthwise(x)).shape == full(x).shape == (1, 4, 4, 4)
    # ratio of parameters = 1/O + 1/k^2 (O = 4 outputs, k = 3)
    assert abs((18 + 8) / 72 - (1 / 4 + 1 / 9)) < 1e-12


def test_course_cnn_counts():
    assert count(nn.Conv2d(3, 64, 3)) == 1792
    assert nn.Linear(100 * 100 * 3, 1000, bias=False).weight.numel() == 30_000_000
