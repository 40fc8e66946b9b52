"""CIFAR10 on small pickle batches written here: round trips (pickle protocols 2, 4 and 5, bytes or
str keys, both directory layouts, batches.meta), the restricted unpickler refusing code-running
pickles without running them, and clear errors for missing, truncated and malformed batches."""
import os
import pickle

import numpy as np
import pytest

import pyml
from pyml import datasets

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def write_batch(path, data, labels, protocol=2, bytes_keys=True):
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    batch = {key("batch_label"): "fake", key("data"): data, key("labels"): labels,
             key("filenames"): ["x.png"] * len(data)}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=protocol)


def write_cifar(folder, rng, protocol=2, bytes_keys=True, meta=None):
    os.makedirs(folder, exist_ok=True)
    out = {}
    for name, n in [(f, 2 + i % 2) for i, f in enumerate(TRAIN)] + [("test_batch", 3)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        write_batch(os.path.join(folder, name), data, labels, protocol, bytes_keys)
        out[name] = (data, labels)
    if meta is not None:
        with open(os.path.join(folder, "batches.meta"), "wb") as f:
            pickle.dump({b"label_names": meta, b"num_vis": 3072}, f, protocol=protocol)
    return out


@pytest.mark.parametrize("protocol, bytes_keys", [(2, True), (4, False), (5, True)])
def test_round_trip_of_train_and_test_batches(tmp_path, rng, protocol, bytes_keys):
    written = write_cifar(tmp_path / "cifar-10-batches-py", rng, protocol, bytes_keys)
    for train, names in ((True, TRAIN), (False, ["test_batch"])):
        ds = datasets.CIFAR10(tmp_path, train=train)
        data = np.concatenate([written[n][0] for n in names])
        labels = sum((written[n][1] for n in names), [])
        assert len(ds) == len(data) and ds.data.dtype == pyml.uint8 and ds.targets.dtype == pyml.int64
        np.testing.assert_array_equal(ds.data.numpy(), data.reshape(-1, 3, 32, 32))
        assert ds.targets.tolist() == labels
        img, label = ds[len(ds) - 1]
        assert tuple(img.shape) == (3, 32, 32) and img.dtype == pyml.float32 and label == labels[-1]
        red = data[-1, :1024].reshape(32, 32)                                         # first plane is red
        np.testing.assert_allclose(img.numpy()[0], red / 255.0, rtol=1e-6)


def test_flat_layout_meta_names_and_transforms(tmp_path, rng):
    names = [f"class{i}".encode() for i in range(10)]
    written = write_cifar(tmp_path, rng, meta=names)
    ds = datasets.CIFAR10(str(tmp_path), train=False, transform=lambda x: 1 - x, target_transform=str)
    assert ds.classes == [f"class{i}" for i in range(10)]
    img, label = ds[0]
    np.testing.assert_allclose(img.numpy().reshape(-1), 1 - written["test_batch"][0][0] / 255.0, atol=1e-6)
    assert label == str(written["test_batch"][1][0])


def test_default_class_names_without_meta(tmp_path, rng):
    write_cifar(tmp_path, rng)
    assert datasets.CIFAR10(tmp_path).classes[:3] == ["airplane", "automobile", "bird"]


class RunsCode:
    """A pickle payload that would create a file when loaded with plain pickle.load."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("protocol", [2, 5])
def test_code_running_pickle_is_refused_and_not_run(tmp_path, rng, protocol):
    write_cifar(tmp_path, rng)
    marker = str(tmp_path / "pwned")
    with open(tmp_path / "data_batch_3", "wb") as f:
        pickle.dump({b"data": RunsCode(marker), b"labels": [1]}, f, protocol=protocol)
    refused = r"CIFAR10: refusing to load global io\.open from .*data_batch_3"
    with pytest.raises(datasets.UnsafePickleError, match=refused):
        datasets.CIFAR10(tmp_path)
    assert not os.path.exists(marker)


def test_refusal_is_also_a_value_error_and_an_unpickling_error(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps(os.getcwd, protocol=2))
    with pytest.raises(ValueError, match=r"test: refusing to load global \w+\.getcwd"):
        datasets.load_numpy_pickle("test", str(path))
    with pytest.raises(pickle.UnpicklingError):
        datasets.load_numpy_pickle("test", str(path))


def test_unpickler_rebuilds_numpy_values(tmp_path):
    obj = {"a": np.arange(6, dtype=np.float64).reshape(2, 3), "s": np.int32(7), "t": ("x", 1.5, [b"y"])}
    for protocol in (2, 3, 4, 5):
        path = tmp_path / f"ok{protocol}"
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
        back = datasets.load_numpy_pickle("test", str(path))
        np.testing.assert_array_equal(back["a"], obj["a"])
        assert back["s"] == 7 and back["t"] == obj["t"]


def test_missing_directory_and_batches_are_named(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="does not exist; expected it to hold data_batch_1, .*data_batch_5"):
        datasets.CIFAR10(tmp_path / "nowhere")
    write_cifar(tmp_path, rng)
    os.remove(tmp_path / "data_batch_4")
    datasets.CIFAR10(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="missing data_batch_4 in .*the train split needs data_batch_1"):
        datasets.CIFAR10(tmp_path)


def replace_batch(tmp_path, rng, payload):
    write_cifar(tmp_path, rng)
    path = tmp_path / "test_batch"
    path.write_bytes(payload(path.read_bytes()))
    return str(path)


GOOD = np.zeros((2, 3072), np.uint8)


@pytest.mark.parametrize("payload, msg", [
    (lambda b: b[: len(b) // 2], "is not a valid pickle file \\(truncated or corrupt"),
    (lambda b: b"garbage" * 3, "is not a valid pickle file"),
    (lambda b: pickle.dumps([1, 2]), "must hold a dict, got list"),
    (lambda b: pickle.dumps({b"data": GOOD}), r"lacks the key\(s\) \['labels'\]"),
    (lambda b: pickle.dumps({b"data": GOOD[:, :100], b"labels": [0, 1]}),
     r"uint8 array \(n, 3072\), got uint8 of shape \(2, 100\)"),
    (lambda b: pickle.dumps({b"data": GOOD.astype(np.float32), b"labels": [0, 1]}), "got float32"),
    (lambda b: pickle.dumps({b"data": GOOD, b"labels": [0]}), "must be 2 ints"),
    (lambda b: pickle.dumps({b"data": GOOD, b"labels": [0, 10]}), r"must be in 0..9, got range \[0, 10\]"),
])
def test_malformed_batches_raise_value_error_naming_the_file(tmp_path, rng, payload, msg):
    path = replace_batch(tmp_path, rng, payload)
    with pytest.raises(ValueError, match=msg) as info:
        datasets.CIFAR10(tmp_path, train=False)
    assert str(info.value).startswith("CIFAR10: ") and path in str(info.value)


def test_bad_meta_is_named(tmp_path, rng):
    write_cifar(tmp_path, rng, meta=[b"only", b"two"])
    with pytest.raises(ValueError, match="'label_names' in .*batches.meta' must list 10 class names"):
        datasets.CIFAR10(tmp_path, train=False)
