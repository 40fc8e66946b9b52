"""The shared shape of pyml's image-file datasets (MNIST, CIFAR10): uint8 images held in memory,
handed out one at a time as float32 tensors in [0, 1], with torchvision's transform hooks.

`data` is a uint8 pyml tensor (N, C, H, W) and `targets` an int64 tensor (N,). dataset[i] returns
(image float32 (C, H, W), label int), after `transform(image)` and `target_transform(label)` when
given. Loading validates the files and raises FileNotFoundError / ValueError naming them.
"""
import gzip
import os
import zlib

import numpy as np

import pyml
from ..utils.data import Dataset


class ImageFileDataset(Dataset):
    """Base class: subclasses fill `data`, `targets` and `classes` in __init__."""

    def __init__(self, root, train, transform, target_transform):
        if transform is not None and not callable(transform):
            raise TypeError(f"{type(self).__name__}: transform must be callable, got {type(transform).__name__}")
        if target_transform is not None and not callable(target_transform):
            raise TypeError(f"{type(self).__name__}: target_transform must be callable, "
                            f"got {type(target_transform).__name__}")
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"{type(self).__name__}: root must be a directory path, got {type(root).__name__}")
        self.root, self.train = os.fspath(root), bool(train)
        self.transform, self.target_transform = transform, target_transform

    def _set_arrays(self, images, labels):
        """images uint8 numpy (N, C, H, W), labels integer numpy (N,)."""
        self.data = pyml.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = pyml.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} images")
        image = self.data[int(index)].to(pyml.float32) / 255.0
        label = int(self.targets[int(index)].item())
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(root={self.root!r}, split={split}, {len(self)} images)"


def require_dir(name, root, expected):
    """`root` must be an existing directory; the error lists the files that should be in it."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{name}: directory {root!r} does not exist; expected it to hold "
                                f"{', '.join(expected)}")


def read_bytes(name, path):
    """The whole file, gunzipped when it ends in .gz; a corrupt gzip stream is a ValueError."""
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return f.read()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"{name}: {path!r} is not a valid gzip file ({e})") from None
