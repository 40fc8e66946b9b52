"""The demo's pieces: the random-shift augmentation, the data split and the LeNet's shapes."""
import numpy as np

import pyml
from pyml.demo import RandomShift, build_lenet, digit_loaders, shift_images, PRESETS


def test_shift_images_matches_numpy(rng):
    images = pyml.from_numpy(rng.normal(size=(9, 2, 5, 6)).astype(np.float32))
    pyml.manual_seed(11)
    shifted = shift_images(images, 2).numpy()
    pyml.manual_seed(11)  # the same draws: dy then dx, each in [0, 2s]
    dy = pyml.randint(0, 5, (9, 1, 1, 1)).numpy().ravel()
    dx = pyml.randint(0, 5, (9, 1, 1, 1)).numpy().ravel()
    padded = np.pad(images.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(9):
        np.testing.assert_array_equal(shifted[i], padded[i, :, dy[i]:dy[i] + 5, dx[i]:dx[i] + 6])
    assert len({(a, b) for a, b in zip(dy, dx)}) > 1


def test_random_shift_collate_keeps_labels(rng):
    samples = [(pyml.from_numpy(rng.normal(size=(1, 8, 8)).astype(np.float32)), pyml.tensor(i)) for i in range(4)]
    x, y = RandomShift(1)(samples)
    assert tuple(x.shape) == (4, 1, 8, 8) and y.tolist() == [0, 1, 2, 3]


def test_split_is_stratified_and_seeded():
    pyml.manual_seed(3)
    train, test = digit_loaders(batch_size=64)
    pyml.manual_seed(3)
    _, test_again = digit_loaders(batch_size=64)
    ytr = np.bincount(train.dataset.tensors[1].numpy(), minlength=10)
    yte = np.bincount(test.dataset.tensors[1].numpy(), minlength=10)
    assert ytr.sum() + yte.sum() == 1797 and yte.sum() == round(0.2 * 1797)
    assert np.all(np.abs(yte - 0.2 * (ytr + yte)) <= 1)
    assert np.array_equal(test.dataset.tensors[0].numpy(), test_again.dataset.tensors[0].numpy())


def test_lenet_shapes():
    for cfg in PRESETS.values():
        model = build_lenet(cfg["width"], cfg["hidden"]).eval()
        with pyml.no_grad():
            assert tuple(model(pyml.randn(3, 1, 8, 8)).shape) == (3, 10)
        assert any(isinstance(m, pyml.nn.Conv2d) for m in model.modules())
        assert any(isinstance(m, pyml.nn.MaxPool2d) for m in model.modules())
