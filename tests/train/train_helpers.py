"""Small problems and helper callbacks shared by the pyml.train tests."""
import numpy as np

import pyml
from pyml import nn
from pyml.train import Callback
from pyml.utils.data import DataLoader, TensorDataset


def blobs(n=60, features=5, classes=3, seed=0, dtype=np.float32):
    """A learnable classification set: class-dependent means plus noise, as pyml tensors."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(0, 2, (classes, features))
    x = centers[y] + rng.normal(0, 1, (n, features))
    return pyml.from_numpy(x.astype(dtype)), pyml.from_numpy(y.astype(np.int64))


def mlp(features=5, classes=3, hidden=16, dropout=0.0):
    layers = [nn.Linear(features, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(hidden, classes))


def loaders(x, y, batch_size=8, shuffle=True, val=True, generator=None):
    train = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator)
    if not val:
        return train, None
    return train, DataLoader(TensorDataset(x[:20], y[:20]), batch_size=7)


def params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def same_params(a, b):
    return len(a) == len(b) and all(u.dtype == v.dtype and np.array_equal(u, v) for u, v in zip(a, b))


class Scripted(Callback):
    """Overwrites logs[key] at each epoch end with the next value of a fixed sequence."""

    def __init__(self, key, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, state):
        state.logs[self.key] = self.values[state.epoch]


class Snapshots(Callback):
    """Keeps a copy of the parameters at the end of every epoch."""

    def __init__(self):
        self.by_epoch = []

    def on_epoch_end(self, state):
        self.by_epoch.append(params(state.model))


class SimulatedCrash(Exception):
    pass


class CrashAt(Callback):
    """Raises in the middle of an epoch, like a killed job."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, state):
        if state.epoch == self.epoch and state.batch == self.batch:
            raise SimulatedCrash(f"crash in epoch {state.epoch} at batch {state.batch}")
