"""The 8x8 handwritten digits (1797 images, 10 classes, pixels 0..16).

This is the test set of the UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin and
C. Kaynak, 1998; licence CC BY 4.0), the same array scikit-learn ships as `load_digits`. It is
stored as uint8 in a compressed .npz (about 45 KB); see data/README.md.
"""
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "data", "digits.npz")


def load_digits(normalize=True, flatten=False):
    """Return (images, targets) as pyml tensors.

    images: float32 (1797, 1, 8, 8), divided by 16 when `normalize` (so in [0, 1]); with
    `flatten`, (1797, 64) like scikit-learn's `data`. targets: int64 (1797,) in 0..9.
    """
    import pyml
    with np.load(_PATH, allow_pickle=False) as z:
        images, target = z["images"], z["target"]
    x = images.astype(np.float32) / (16.0 if normalize else 1.0)
    x = x.reshape(len(x), 64) if flatten else x.reshape(len(x), 1, 8, 8)
    return pyml.from_numpy(np.ascontiguousarray(x)), pyml.from_numpy(target.astype(np.int64))
