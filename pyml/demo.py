"""`pyml demo`: train a small LeNet-style CNN on the bundled 8x8 digits, end to end and offline.

The 1797 images are split 80/20 per class (stratified), the training images are randomly shifted by
up to one pixel each batch (augmentation), and pyml.train.fit runs Adam with a cosine learning-rate
schedule, a progress bar and a checkpoint per epoch. The functions below are what `pyml demo` calls,
so tests and notebooks can run the same pieces: digit_loaders, build_lenet, train_digits, run_demo.
"""
import os
import time

import pyml
from pyml import nn
from pyml._threads import engine_threads
from pyml.datasets import load_digits
from pyml.models import LeNet
from pyml.optim.lr_scheduler import CosineAnnealingLR
from pyml.train import ModelCheckpoint, evaluate, fit, plot_history
from pyml.train.progress import overall_rate
from pyml.utils.data import DataLoader, TensorDataset, default_collate, stratified_split

__all__ = ["PRESETS", "RandomShift", "digit_loaders", "build_lenet", "train_digits", "run_demo"]

# quick: a few seconds for a smoke test; full: about a minute on a 2-core CPU for >= 97% test accuracy
PRESETS = {
    "quick": {"epochs": 4, "width": 16, "hidden": 64, "batch_size": 32, "lr": 4e-3, "augment": False},
    "full": {"epochs": 40, "width": 32, "hidden": 128, "batch_size": 32, "lr": 3e-3, "augment": True},
}


class RandomShift:
    """A collate_fn: stacks the samples, then moves each image by up to `max_shift` pixels in x and y
    (zeros enter at the edges), drawing the shifts from pyml's default generator."""

    def __init__(self, max_shift=1):
        self.max_shift = max_shift

    def __call__(self, samples):
        images, labels = default_collate(samples)
        return shift_images(images, self.max_shift), labels


def shift_images(images, max_shift):
    """images (N, C, H, W) -> the same shape, image i shifted by its own random (dy, dx)."""
    n, c, h, w = images.shape
    s = max_shift
    padded = pyml.pad(images, (s, s, s, s))                                 # (N, C, H+2s, W+2s)
    dy = pyml.randint(0, 2 * s + 1, (n, 1, 1, 1))
    dx = pyml.randint(0, 2 * s + 1, (n, 1, 1, 1))
    rows = dy + pyml.arange(h).reshape(1, 1, h, 1)                          # (N, 1, H, 1)
    cols = dx + pyml.arange(w).reshape(1, 1, 1, w)                          # (N, 1, 1, W)
    batch = pyml.arange(n).reshape(n, 1, 1, 1)
    channel = pyml.arange(c).reshape(1, c, 1, 1)
    return padded[batch, channel, rows, cols]                               # (N, C, H, W)


def digit_loaders(batch_size=32, augment=False, test_fraction=0.2):
    """(train_loader, test_loader) over a stratified split of the digits; the split and the shuffles
    draw from pyml's default generator, so seed it first with pyml.manual_seed."""
    images, labels = load_digits()
    train_idx, test_idx = stratified_split(labels, test_fraction)
    train_idx, test_idx = pyml.tensor(train_idx), pyml.tensor(test_idx)
    train = TensorDataset(images[train_idx], labels[train_idx])
    test = TensorDataset(images[test_idx], labels[test_idx])
    collate = RandomShift(1) if augment else None
    return (DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=collate),
            DataLoader(test, batch_size=512))


def build_lenet(width=32, hidden=128, dropout=0.25):
    """The course's LeNet-style CNN (pyml.models.LeNet) sized for (N, 1, 8, 8) digits."""
    return LeNet(in_channels=1, num_classes=10, image_size=8, width=width, hidden=hidden, dropout=dropout)


def train_digits(preset="full", epochs=None, seed=0, checkpoint=None, progress=True, device="cpu"):
    """Seed, build the data and model on `device`, fit; returns (model, history, test metrics)."""
    cfg = dict(PRESETS[preset])
    epochs = cfg["epochs"] if epochs is None else epochs
    pyml.manual_seed(seed)
    train_loader, test_loader = digit_loaders(cfg["batch_size"], cfg["augment"])
    model = build_lenet(cfg["width"], cfg["hidden"]).to(device)  # fit moves each batch to the model's device
    optimizer = pyml.optim.Adam(model.parameters(), lr=cfg["lr"])
    scheduler = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    callbacks = [ModelCheckpoint(checkpoint)] if checkpoint else []
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, test_loader, epochs=epochs,
                  scheduler=scheduler, callbacks=callbacks, progress=progress)
    return model, history, evaluate(model, test_loader, nn.CrossEntropyLoss())


def run_demo(quick=False, epochs=None, seed=0, out="pyml-demo", threads=1, progress=True, device="cpu"):
    """What `pyml demo` does: train, print the test accuracy and speed, write the checkpoint and the
    loss-curve PNG into `out`; returns a dict of the results. threads: engine threads while it runs
    (None: leave the current setting); one is as fast as two for this model on a 2-core CPU and much
    faster when other processes keep the cores busy."""
    with engine_threads(threads):
        return _run(quick, epochs, seed, out, progress, pyml.device(device))


def _run(quick, epochs, seed, out, progress, device):
    preset = "quick" if quick else "full"
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, "digits_lenet.pyml")
    print(f"pyml demo ({preset}): LeNet-style CNN on the 8x8 digits, seed {seed}, "
          f"{device if device.type == 'cuda' else str(pyml.get_num_threads()) + ' threads'}; "
          f"val_* is the held-out 20% test split")
    start = time.perf_counter()
    model, history, test = train_digits(preset, epochs, seed, ckpt, progress, device)
    seconds = time.perf_counter() - start
    speed = overall_rate(history["samples_per_s"])
    print(f"test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f})")
    print(f"training speed: {speed:.0f} samples/s; total {seconds:.1f}s")
    print(f"checkpoint: {ckpt}")
    plot = _plot(history, os.path.join(out, "loss_curve.png"))
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "samples_per_s": speed,
            "seconds": seconds, "checkpoint": ckpt, "plot": plot}


def _plot(history, path):
    try:
        plot_history(history, path, title="LeNet on 8x8 digits")
    except ImportError as e:
        print(f"note: no loss-curve plot ({e})")
        return None
    print(f"loss curve: {path}")
    return path
