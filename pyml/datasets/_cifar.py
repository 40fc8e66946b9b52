"""CIFAR-10 from the "python version" batches in a local directory (nothing is downloaded).

Each batch file (data_batch_1 .. data_batch_5, test_batch) is a pickled dict with 'data', a uint8
array (n, 3072) holding each 32x32 image as its red, green then blue planes row by row, and
'labels', n ints in 0..9; batches.meta, when present, names the classes ('label_names'). The
files are loaded with the restricted unpickler of _safe_pickle, never with plain pickle.load.
"""
import os

import numpy as np

from ._images import ImageFileDataset, require_dir
from ._safe_pickle import load_numpy_pickle

_TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
_TEST_FILES = ["test_batch"]
_FOLDER = "cifar-10-batches-py"
_DEFAULT_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _batch_dir(root, files):
    """root/cifar-10-batches-py when it exists (torchvision's layout), else root itself."""
    require_dir("CIFAR10", root, files)
    nested = os.path.join(root, _FOLDER)
    return nested if os.path.isdir(nested) else root


def _str_keys(name, path, obj):
    """The batch dict with str keys (Python 2 pickles give str, Python 3 ones often bytes)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{name}: {path!r} must hold a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _batch_arrays(path):
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)) of one batch file, validated."""
    batch = _str_keys("CIFAR10", path, load_numpy_pickle("CIFAR10", path))
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise ValueError(f"CIFAR10: {path!r} lacks the key(s) {missing}; found {sorted(map(str, batch))}")
    data, labels = batch["data"], np.asarray(batch["labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"CIFAR10: 'data' in {path!r} must be a uint8 array (n, 3072), got "
                         f"{getattr(data, 'dtype', type(data).__name__)} of shape {getattr(data, 'shape', None)}")
    if labels.ndim != 1 or len(labels) != len(data) or labels.dtype.kind not in "iu":
        raise ValueError(f"CIFAR10: 'labels' in {path!r} must be {len(data)} ints (one per image), got "
                         f"{labels.dtype.name} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"CIFAR10: labels in {path!r} must be in 0..9, got range "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _class_names(folder):
    """Class names from batches.meta when it is there, else CIFAR-10's standard ten."""
    path = os.path.join(folder, "batches.meta")
    if not os.path.isfile(path):
        return list(_DEFAULT_CLASSES)
    names = _str_keys("CIFAR10", path, load_numpy_pickle("CIFAR10", path)).get("label_names")
    if not isinstance(names, (list, tuple)) or len(names) != 10:
        raise ValueError(f"CIFAR10: 'label_names' in {path!r} must list 10 class names, got {names!r}")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


class CIFAR10(ImageFileDataset):
    """CIFAR-10 read from `root` (holding cifar-10-batches-py/, or the batch files themselves).
    train=True reads data_batch_1..5 (50000 images), False reads test_batch (10000).
    dataset[i] == (image float32 (3, 32, 32) in [0, 1], label int); `data` is uint8 (N, 3, 32, 32)."""

    def __init__(self, root, train=True, transform=None, target_transform=None):
        super().__init__(root, train, transform, target_transform)
        files = _TRAIN_FILES if self.train else _TEST_FILES
        folder = _batch_dir(self.root, files)
        missing = [f for f in files if not os.path.isfile(os.path.join(folder, f))]
        if missing:
            raise FileNotFoundError(f"CIFAR10: missing {', '.join(missing)} in {folder!r}; the "
                                    f"{'train' if self.train else 'test'} split needs {', '.join(files)}")
        batches = [_batch_arrays(os.path.join(folder, f)) for f in files]
        self._set_arrays(np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
        self.classes = _class_names(folder)
