"""pyml.models.resnet: published parameter counts, shapes of every shortcut option, and forward /
backward equal to a torch.nn reference (resnet_reference.py) loaded with the same weights."""
import numpy as np
import pytest
import torch

import pyml
from pyml.models import (BasicBlock, Bottleneck, ResNet, PlainNet, resnet18, resnet34, resnet50, resnet20,
                         resnet56, resnet110)
from pyml.models.resnet import ZeroPadShortcut, cifar_resnet
from pyml._threads import engine_threads
from .resnet_reference import RefResNet, load_both, randomized_state


@pytest.fixture(autouse=True)
def one_thread():
    with engine_threads(1):
        yield


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("build, expected", [
    (resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032),
    (resnet20, 269_722), (resnet56, 853_018), (resnet110, 1_727_962)])
def test_published_parameter_counts(build, expected):
    assert count(build()) == expected


def test_plain_net_has_the_option_a_resnet_count():
    assert count(PlainNet(20)) == 269_722
    assert count(PlainNet(56, num_classes=10)) == 853_018


def test_shortcut_options_change_resnet18_count_by_the_projections():
    # B projects at the 3 stage changes: 1x1 conv + BN for 64->128, 128->256, 256->512
    b_proj = sum(c * 2 * c + 2 * 2 * c for c in (64, 128, 256))
    # C projects in all 8 blocks: the stage-changing ones as in B, plus same-shape 1x1 convs
    same = [64, 64, 128, 256, 512]
    c_proj = b_proj + sum(c * c + 2 * c for c in same)
    assert b_proj == 173_824 and c_proj == 528_128
    assert count(resnet18(shortcut="A")) == 11_689_512 - b_proj
    assert count(resnet18(shortcut="C")) == 11_689_512 - b_proj + c_proj


@pytest.mark.parametrize("option", ["A", "B", "C", None])
def test_basic_block_shapes_and_shortcut_modules(option):
    block = BasicBlock(16, 32, stride=2, shortcut=option)
    assert tuple(block(pyml.randn(2, 16, 9, 9)).shape) == (2, 32, 5, 5)
    same = BasicBlock(32, 32, stride=1, shortcut=option)
    assert tuple(same(pyml.randn(2, 32, 6, 6)).shape) == (2, 32, 6, 6)
    kinds = {"A": (ZeroPadShortcut, type(None)), "B": (pyml.nn.Sequential, type(None)),
             "C": (pyml.nn.Sequential, pyml.nn.Sequential), None: (type(None), type(None))}[option]
    assert (type(block.downsample), type(same.downsample)) == kinds


@pytest.mark.parametrize("option", ["A", "B", "C"])
def test_bottleneck_shapes(option):
    block = Bottleneck(64, 32, stride=2, shortcut=option)
    assert tuple(block(pyml.randn(2, 64, 7, 7)).shape) == (2, 128, 4, 4)
    first = Bottleneck(64, 64, stride=1, shortcut=option)       # 64 -> 256 channels at the same size
    assert tuple(first(pyml.randn(1, 64, 5, 5)).shape) == (1, 256, 5, 5)


def test_zero_pad_shortcut_subsamples_and_appends_zero_channels(rng):
    x = rng.normal(size=(2, 3, 7, 7)).astype(np.float32)
    out = ZeroPadShortcut(3, 8, stride=2)(pyml.tensor(x)).numpy()
    expected = np.zeros((2, 8, 4, 4), np.float32)
    expected[:, :3] = x[:, :, ::2, ::2]
    np.testing.assert_array_equal(out, expected)


def test_model_output_shapes():
    assert tuple(resnet18()(pyml.randn(2, 3, 64, 64)).shape) == (2, 1000)
    assert tuple(resnet50(num_classes=7).eval()(pyml.randn(1, 3, 32, 32)).shape) == (1, 7)
    assert tuple(resnet20()(pyml.randn(3, 3, 32, 32)).shape) == (3, 10)
    assert tuple(PlainNet(8, num_classes=4, in_channels=1)(pyml.randn(2, 1, 12, 12)).shape) == (2, 4)
    assert tuple(resnet20().features(pyml.randn(2, 3, 16, 16)).shape) == (2, 64)


def _compare(model, ref, x, train):
    """float64 on both sides: with batch statistics over 2 samples of a 1x1 map, float32 rounding
    is amplified past any useful tolerance, while float64 agrees to ~1e-12."""
    model.double().train(train)
    ref.double().train(train)
    out = model(pyml.tensor(x)).detach().numpy()
    expected = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("train", [False, True])
def test_resnet18_forward_equals_torch(train, rng):
    model = resnet18(num_classes=16)
    ref = RefResNet("basic", [2, 2, 2, 2], (64, 128, 256, 512), "imagenet", 16, 3, "B")
    load_both(model, ref, randomized_state(model))
    _compare(model, ref, rng.normal(size=(2, 3, 32, 32)), train)


@pytest.mark.parametrize("option", ["A", "C"])
def test_bottleneck_resnet_forward_equals_torch(option, rng):
    model = ResNet(Bottleneck, [1, 2], num_classes=5, shortcut=option, widths=(8, 16), in_channels=2)
    ref = RefResNet("bottleneck", [1, 2], (8, 16), "imagenet", 5, 2, option)
    load_both(model, ref, randomized_state(model, seed=1))
    _compare(model, ref, rng.normal(size=(2, 2, 23, 23)), False)


@pytest.mark.parametrize("plain", [False, True])
def test_cifar_net_gradients_equal_torch(plain, rng):
    model = PlainNet(14, 3, 1, (4, 8, 16)) if plain else cifar_resnet(14, 3, "A", 1, (4, 8, 16))
    ref = RefResNet("basic", [2, 2, 2], (4, 8, 16), "cifar", 3, 1, None if plain else "A")
    load_both(model, ref, randomized_state(model, seed=2))
    model.double()
    ref.double()
    x = rng.normal(size=(4, 1, 10, 10))
    target = rng.integers(0, 3, size=4)
    pyml.nn.functional.cross_entropy(model(pyml.tensor(x)), pyml.tensor(target)).backward()
    torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(target)).backward()
    grads = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="shortcut must be 'A', 'B', 'C' or None, got 'D'"):
        BasicBlock(8, 8, shortcut="D")
    with pytest.raises(ValueError, match=r"PlainNet: depth must be 6\*n \+ 2"):
        PlainNet(9)
    with pytest.raises(ValueError, match="cifar_resnet: depth"):
        cifar_resnet(2)
    with pytest.raises(ValueError, match="one entry per stage"):
        ResNet(BasicBlock, [2, 2], widths=(8, 16, 32))
    with pytest.raises(TypeError, match="block must be BasicBlock or Bottleneck"):
        ResNet(pyml.nn.Linear, [1])
    with pytest.raises(ValueError, match="stem must be 'imagenet' or 'cifar'"):
        ResNet(BasicBlock, [1], widths=(8,), stem="tiny")
    with pytest.raises(ValueError, match=r"out_channels \(2\) must be at least in_channels \(4\)"):
        ZeroPadShortcut(4, 2)
