"""pyml.models.LeNet and AlphaGoPolicyNet: layouts, shapes and parameter counts by hand, the forward
pass against torch with the same weights, gradients reaching every parameter, and input checks."""
import numpy as np
import pytest

import pyml
from pyml.models import AlphaGoPolicyNet, LeNet


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _conv(c_in, c_out, k, bias=True):
    return c_out * c_in * k * k + (c_out if bias else 0)


@pytest.mark.parametrize("in_channels,image_size,width,hidden,classes", [(1, 8, 32, 128, 10), (1, 28, 8, 32, 10),
                                                                          (3, 12, 4, 16, 7)])
def test_lenet_shapes_and_parameter_count(in_channels, image_size, width, hidden, classes):
    model = LeNet(in_channels, classes, image_size, width=width, hidden=hidden).eval()
    flat = 2 * width * (image_size // 4) ** 2
    expect = (_conv(in_channels, width, 3) + _conv(width, width, 3) + _conv(width, 2 * width, 3)
              + flat * hidden + hidden + hidden * classes + classes)
    assert _count(model) == expect
    with pyml.no_grad():
        assert tuple(model(pyml.randn(3, in_channels, image_size, image_size)).shape) == (3, classes)


def test_lenet_matches_torch_with_the_same_weights(rng):
    torch = pytest.importorskip("torch")
    ours = LeNet(1, 10, 8, width=4, hidden=16).eval()
    tn = torch.nn
    theirs = tn.Sequential(tn.Conv2d(1, 4, 3, padding=1), tn.ReLU(), tn.Conv2d(4, 4, 3, padding=1), tn.ReLU(),
                           tn.MaxPool2d(2), tn.Conv2d(4, 8, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                           tn.Flatten(), tn.Linear(32, 16), tn.ReLU(), tn.Dropout(0.25), tn.Linear(16, 10)).eval()
    for p_ours, p_theirs in zip(ours.parameters(), theirs.parameters()):
        assert tuple(p_ours.shape) == tuple(p_theirs.shape)
        with torch.no_grad():
            p_theirs.copy_(torch.from_numpy(p_ours.detach().numpy()))
    x = rng.normal(size=(5, 1, 8, 8)).astype(np.float32)
    with pyml.no_grad():
        got = ours(pyml.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lenet_gradients_reach_every_parameter():
    model = LeNet(1, 10, 8, width=4, hidden=8)
    loss = pyml.nn.functional.cross_entropy(model(pyml.randn(4, 1, 8, 8)), pyml.tensor([0, 1, 2, 3]))
    loss.backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.parameters())


@pytest.mark.parametrize("kwargs,message", [(dict(image_size=10), "divisible by 4"), (dict(width=0), "width"),
                                            (dict(in_channels=1.5), "in_channels")])
def test_lenet_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LeNet(**kwargs)


def test_lenet_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"LeNet: input must be \(N, 1, 8, 8\), got \(2, 1, 28, 28\)"):
        LeNet()(pyml.randn(2, 1, 28, 28))


def test_alphago_policy_net_parameter_count():
    net = AlphaGoPolicyNet()
    # 5x5x48 -> 192, eleven 3x3x192 -> 192 (all with bias), 1x1x192 -> 1 and one bias per board point
    expect = _conv(48, 192, 5) + 11 * _conv(192, 192, 3) + _conv(192, 1, 1, bias=False) + 361
    assert _count(net) == expect == 3_882_793
    convs = [m for m in net.modules() if isinstance(m, pyml.nn.Conv2d)]
    assert [m.kernel_size for m in convs] == [(5, 5)] + [(3, 3)] * 11 + [(1, 1)]
    assert not any(isinstance(m, (pyml.nn.MaxPool2d, pyml.nn.AvgPool2d)) for m in net.modules())


def test_alphago_policy_net_on_random_boards():
    gen = pyml.Generator().manual_seed(0)
    net = AlphaGoPolicyNet(in_planes=48, filters=16, hidden_layers=2).eval()  # narrow: the layout, quickly
    boards = (pyml.rand(3, 48, 19, 19, generator=gen) < 0.3).to(pyml.float32)
    with pyml.no_grad():
        logits, probs = net(boards), net.probabilities(boards)
    assert tuple(logits.shape) == tuple(probs.shape) == (3, 361)
    np.testing.assert_allclose(probs.sum(dim=1).numpy(), 1.0, atol=1e-5)
    ref = np.exp(logits.numpy().astype(np.float64))
    np.testing.assert_allclose(probs.numpy(), ref / ref.sum(axis=1, keepdims=True), atol=1e-6)


def test_alphago_position_bias_shifts_each_point():
    net = AlphaGoPolicyNet(filters=8, hidden_layers=1, board_size=9, in_planes=2).eval()
    boards = pyml.randn(1, 2, 9, 9)
    with pyml.no_grad():
        before = net(boards)
        net.position_bias.copy_(pyml.arange(81, dtype=pyml.float32))
        after = net(boards)
    np.testing.assert_allclose((after - before).numpy()[0], np.arange(81), atol=1e-4)


def test_alphago_rejects_wrong_board():
    with pytest.raises(ValueError, match=r"AlphaGoPolicyNet: input must be \(N, 48, 19, 19\)"):
        AlphaGoPolicyNet(filters=4, hidden_layers=0)(pyml.randn(1, 48, 9, 9))
    with pytest.raises(ValueError, match="hidden_layers"):
        AlphaGoPolicyNet(hidden_layers=-1)
