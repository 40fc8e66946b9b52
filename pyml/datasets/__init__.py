"""pyml.datasets: data sets that work offline.

The 8x8 digits ship inside pyml (pyml/datasets/data/digits.npz), so the demo and the course
recipes run on a fresh machine with nothing downloaded.
"""
from ._digits import load_digits

__all__ = ["load_digits"]
