"""MNIST from its original IDX files in a local directory (nothing is downloaded).

IDX layout (big-endian): two zero bytes, a type byte (0x08 = uint8 ... 0x0E = float64), a byte
with the number of dimensions d, then d uint32 sizes, then the values in row-major order. MNIST
uses uint8 images (N, 28, 28) in *-images-idx3-ubyte and uint8 labels (N,) in *-labels-idx1-ubyte,
plain or gzipped. read_idx checks the header against the file size so truncated or padded files
fail with a ValueError naming the file.
"""
import os
import struct

import numpy as np

import pyml
from ._images import ImageFileDataset, read_bytes, require_dir

# IDX type byte -> big-endian NumPy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_SPLITS = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _idx_header(name, path, raw):
    """(dtype, dims, header length) of an IDX file, checking the magic number."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{name}: {path!r} is not an IDX file: its magic number must be 00 00 <type> <ndim> with "
                         f"type one of {sorted(hex(t) for t in _IDX_TYPES)}, got {raw[:4].hex(' ') or 'an empty file'}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{name}: {path!r} is truncated: its header announces {ndim} dimensions "
                         f"({4 + 4 * ndim} header bytes) but the file has {len(raw)} bytes")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.dtype(_IDX_TYPES[raw[2]]), dims, 4 + 4 * ndim


def _idx_array(name, path):
    """The array stored in an IDX file (plain or .gz), in native byte order."""
    raw = read_bytes(name, path)
    dtype, dims, start = _idx_header(name, path, raw)
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise ValueError(f"{name}: {path!r} has {len(raw) - start} bytes of data but its header (shape "
                         f"{tuple(dims)}, {dtype.name}) needs {expected}; the file is truncated or corrupt")
    arr = np.frombuffer(raw, dtype=dtype, offset=start).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file (plain or gzipped) into a pyml tensor with the file's shape and dtype."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_idx: no such file {path!r}")
    return pyml.from_numpy(np.ascontiguousarray(_idx_array("read_idx", path)))


def _find(root, base):
    """The path of `base` or `base`.gz, directly in root or in torchvision's root/MNIST/raw."""
    for folder in (root, os.path.join(root, "MNIST", "raw")):
        for candidate in (base, base + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"MNIST: no {base} file in {root!r}; expected {base} or {base}.gz there "
                            f"(or in {os.path.join(root, 'MNIST', 'raw')!r})")


def _check_mnist(image_path, images, label_path, labels):
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"MNIST: {image_path!r} must hold uint8 images (N, H, W), got {images.dtype.name} "
                         f"of shape {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"MNIST: {label_path!r} must hold uint8 labels (N,), got {labels.dtype.name} "
                         f"of shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"MNIST: {image_path!r} holds {len(images)} images but {label_path!r} holds "
                         f"{len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"MNIST: labels in {label_path!r} must be digits 0..9, got {int(labels.max())}")


class MNIST(ImageFileDataset):
    """The MNIST digits read from `root` (the four IDX files, plain or .gz, directly in root or in
    root/MNIST/raw). train=True reads the 60000 training images, False the 10000 test images.
    dataset[i] == (image float32 (1, 28, 28) in [0, 1], label int); `data` is uint8 (N, 1, 28, 28)."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None):
        super().__init__(root, train, transform, target_transform)
        image_base, label_base = _SPLITS[self.train]
        require_dir("MNIST", self.root, [f"{b}[.gz]" for b in _SPLITS[self.train]])
        image_path, label_path = _find(self.root, image_base), _find(self.root, label_base)
        images, labels = _idx_array("MNIST", image_path), _idx_array("MNIST", label_path)
        _check_mnist(image_path, images, label_path, labels)
        self._set_arrays(images[:, None], labels)                         # (N, 1, H, W)
