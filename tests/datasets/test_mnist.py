"""MNIST and read_idx on small IDX files written here: round trips of the values written (plain and
gzipped, both directory layouts, other IDX dtypes), the Dataset protocol with transforms and a
DataLoader, and clear errors for missing, truncated and corrupt files."""
import gzip
import os
import struct

import numpy as np
import pytest

import pyml
from pyml import datasets
from pyml.utils.data import DataLoader

IDX_CODE = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr):
    header = struct.pack(">BBBB", 0, 0, IDX_CODE[arr.dtype.type], arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, payload, gz=False):
    path = str(path) + (".gz" if gz else "")
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(payload)
    return path


def write_mnist(folder, rng, n_train=5, n_test=3, gz=False):
    os.makedirs(folder, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write(os.path.join(folder, f"{split}-images-idx3-ubyte"), idx_bytes(images), gz)
        write(os.path.join(folder, f"{split}-labels-idx1-ubyte"), idx_bytes(labels), gz)
        out[split] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_of_train_and_test_files(tmp_path, rng, gz):
    written = write_mnist(tmp_path, rng, gz=gz)
    for train, key in ((True, "train"), (False, "t10k")):
        images, labels = written[key]
        ds = datasets.MNIST(tmp_path, train=train)
        assert len(ds) == len(images) and ds.data.dtype == pyml.uint8 and ds.targets.dtype == pyml.int64
        np.testing.assert_array_equal(ds.data.numpy()[:, 0], images)
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
        for i in range(len(ds)):
            img, label = ds[i]
            assert tuple(img.shape) == (1, 28, 28) and img.dtype == pyml.float32 and type(label) is int
            np.testing.assert_allclose(img.numpy()[0], images[i] / 255.0, rtol=1e-6)
            assert label == labels[i]


def test_torchvision_layout_and_negative_index(tmp_path, rng):
    written = write_mnist(tmp_path / "MNIST" / "raw", rng)
    ds = datasets.MNIST(str(tmp_path))
    np.testing.assert_allclose(ds[-1][0].numpy()[0], written["train"][0][-1] / 255.0, rtol=1e-6)
    assert ds[-1][1] == written["train"][1][-1] and len(ds.classes) == 10


def test_transforms_and_dataloader(tmp_path, rng):
    written = write_mnist(tmp_path, rng, n_train=6)
    ds = datasets.MNIST(tmp_path, transform=lambda x: x * 2 - 1, target_transform=lambda y: y + 100)
    img, label = ds[2]
    np.testing.assert_allclose(img.numpy()[0], written["train"][0][2] / 255.0 * 2 - 1, atol=1e-6)
    assert label == written["train"][1][2] + 100
    xb, yb = next(iter(DataLoader(datasets.MNIST(tmp_path), batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.tolist() == written["train"][1][:4].tolist()


@pytest.mark.parametrize("dtype, shape", [(np.uint8, (4,)), (np.int8, (2, 3)), (np.int16, (3, 2, 2)),
                                          (np.int32, (5,)), (np.float32, (2, 2)), (np.float64, (1, 3, 1))])
def test_read_idx_round_trips_every_type(tmp_path, rng, dtype, shape):
    arr = (rng.standard_normal(shape) * 100).astype(dtype)
    path = write(tmp_path / "a.idx", idx_bytes(arr), gz=dtype is np.int16)
    out = datasets.read_idx(path)
    assert tuple(out.shape) == shape and str(out.dtype) == f"pyml.{np.dtype(dtype).name}"
    np.testing.assert_array_equal(out.numpy(), arr)


def test_missing_directory_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist; expected .*train-images-idx3-ubyte\[\.gz\]"):
        datasets.MNIST(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path, rng):
    write_mnist(tmp_path, rng)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    datasets.MNIST(tmp_path, train=True)
    with pytest.raises(FileNotFoundError, match="no t10k-labels-idx1-ubyte file .* t10k-labels-idx1-ubyte.gz"):
        datasets.MNIST(tmp_path, train=False)


def corrupt(tmp_path, rng, name, mutate):
    write_mnist(tmp_path, rng)
    path = tmp_path / name
    path.write_bytes(mutate(path.read_bytes()))
    return str(path)


@pytest.mark.parametrize("name, mutate, msg", [
    ("train-images-idx3-ubyte", lambda b: b[:-10], "has 3910 bytes of data but its header .* needs 3920"),
    ("train-images-idx3-ubyte", lambda b: b + b"\0", "needs 3920; the file is truncated or corrupt"),
    ("train-images-idx3-ubyte", lambda b: b[:9], "is truncated: its header announces 3 dimensions"),
    ("train-images-idx3-ubyte", lambda b: b"\x01" + b[1:], "is not an IDX file: its magic number"),
    ("train-images-idx3-ubyte", lambda b: b"", "got an empty file"),
    ("train-labels-idx1-ubyte", lambda b: b[:-1] + b"\x0c", "labels .* must be digits 0..9, got 12"),
    ("train-labels-idx1-ubyte", lambda b: idx_bytes(np.zeros(4, np.uint8)), "holds 5 images but .* holds 4 labels"),
    ("train-labels-idx1-ubyte", lambda b: idx_bytes(np.zeros((5, 2), np.uint8)), r"uint8 labels \(N,\)"),
    ("train-images-idx3-ubyte", lambda b: idx_bytes(np.zeros((5, 28, 28), np.int16)), r"uint8 images \(N, H, W\)"),
])
def test_corrupt_files_raise_value_error_naming_them(tmp_path, rng, name, mutate, msg):
    path = corrupt(tmp_path, rng, name, mutate)
    with pytest.raises(ValueError, match=msg) as info:
        datasets.MNIST(tmp_path)
    assert str(info.value).startswith("MNIST: ") and (path in str(info.value) or name in str(info.value))


def test_truncated_gzip_is_a_value_error(tmp_path, rng):
    write_mnist(tmp_path, rng, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz' is not a valid gzip file"):
        datasets.MNIST(tmp_path)


def test_bad_index_and_transform(tmp_path, rng):
    write_mnist(tmp_path, rng)
    ds = datasets.MNIST(tmp_path)
    with pytest.raises(IndexError, match="MNIST: index 5 is out of range for 5 images"):
        ds[5]
    with pytest.raises(TypeError, match="MNIST: index must be an int, got float"):
        ds[1.0]
    with pytest.raises(TypeError, match="MNIST: root must be a directory path, got NoneType"):
        datasets.MNIST(None)
    with pytest.raises(TypeError, match="MNIST: transform must be callable"):
        datasets.MNIST(tmp_path, transform=3)
    with pytest.raises(FileNotFoundError, match="read_idx: no such file"):
        datasets.read_idx(tmp_path / "missing")
