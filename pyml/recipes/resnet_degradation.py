"""Chapter 4 paper reading (ResNet): the degradation problem and how shortcuts fix it.

He et al. (2015) saw that stacking more layers on a plain CNN made its *training* loss worse, so the
cause is optimisation, not overfitting, and that the same deep net with identity shortcuts trains
better than its plain twin (and, given enough training, than the shallower net). This recipe trains
CIFAR-style plain nets of several depths and the residual version (option-A shortcuts: same layers,
same parameter count) of every deeper one on the 8x8 digits upsampled to image_size x image_size,
all with the same initialisation seed, batch order and optimiser, and reports each net's training
loss in its last epoch. It also builds the ResNet family and lists their parameter counts next to
the published ones.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import pyml
from pyml import nn
from pyml.datasets import load_digits
from pyml.models import PlainNet, resnet18, resnet34, resnet50, resnet20, resnet56, resnet110
from pyml.models.resnet import cifar_resnet
from pyml.nn import functional as F
from pyml.optim.lr_scheduler import CosineAnnealingLR
from pyml.train import Callback, fit
from pyml.utils.data import DataLoader, TensorDataset

from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "resnet-degradation"
CHAPTER = "4"
PURPOSE = "deeper plain CNNs train worse than shallow ones; with shortcuts the deep nets train better"

# Settings a Config field left at None takes. quick: under 30 s on a 2-core CPU.
PRESETS = {
    "quick": {"depths": (8, 20), "image_size": 12, "epochs": 2},
    "full": {"depths": (8, 20, 32, 56), "image_size": 16, "epochs": 10},
}

# (model, builder, layout, shortcut option) and the count TEXTBOOK.md quotes for each
RESNET_FAMILY = [
    ("resnet18", resnet18, "ImageNet", "B", 11_689_512),
    ("resnet34", resnet34, "ImageNet", "B", 21_797_672),
    ("resnet50", resnet50, "ImageNet", "B", 25_557_032),
    ("resnet20", resnet20, "CIFAR", "A", 269_722),
    ("resnet56", resnet56, "CIFAR", "A", 853_018),
    ("resnet110", resnet110, "CIFAR", "A", 1_727_962),
]


@dataclass
class Config(BaseConfig):
    depths: Optional[Tuple[int, ...]] = None   # plain nets of each depth (6n+2), residual nets of all but the first
    image_size: Optional[int] = None           # digits are upsampled (bilinear) to this size
    widths: Tuple[int, ...] = (8, 16, 32)      # channels of the three stages (the paper: 16, 32, 64)
    batch_size: int = 64
    lr: float = 0.1                            # peak of a per-batch cosine decay to 0
    momentum: float = 0.9


def setting(config, name):
    """The config's value, or the quick/full preset's when the field is None."""
    value = getattr(config, name)
    return PRESETS["quick" if config.quick else "full"][name] if value is None else value


def digits_loader(image_size, batch_size, seed):
    """All 1797 digits, upsampled to (1, image_size, image_size); shuffled by a generator seeded with
    `seed`, so every net sees the same batches in the same order."""
    images, labels = load_digits()                                              # (1797, 1, 8, 8)
    images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    generator = pyml.Generator()
    generator.manual_seed(seed)
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True, generator=generator)


def nets_to_train(depths, widths):
    """[(name, depth, shortcut, builder)]: a plain net per depth, then the residual net of each deeper one."""
    plain = [(f"plain-{d}", d, "none", lambda d=d: PlainNet(d, 10, 1, widths)) for d in depths]
    residual = [(f"resnet-{d}", d, "A", lambda d=d: cifar_resnet(d, 10, "A", 1, widths)) for d in depths[1:]]
    return plain + residual


class BatchLosses(Callback):
    """Keeps every batch's training loss, for the curves of the plot."""

    def __init__(self):
        self.losses = []

    def on_batch_end(self, state):
        self.losses.append(state.batch_loss)


def train_one(build, config, loader, epochs):
    """Seed, build, train with SGD + momentum and a per-batch cosine decay of the learning rate (so
    the last epoch's loss is not a spike of a large step); returns (history, per-batch losses,
    parameter count)."""
    seed_everything(config.seed)
    model = build().to(config.device)
    optimizer = pyml.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    batches = BatchLosses()
    history = fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=epochs, scheduler=scheduler,
                  scheduler_step="batch", callbacks=[batches], progress=config.progress)
    return history, batches.losses, sum(p.numel() for p in model.parameters())


def resnet_parameter_counts():
    """[{model, layout, shortcut, parameters, published}] for the ResNet family."""
    rows = []
    for name, build, layout, shortcut, published in RESNET_FAMILY:
        count = sum(p.numel() for p in build().parameters())
        rows.append({"model": name, "layout": layout, "shortcut": shortcut, "parameters": count,
                     "published": published})
    return rows


def run(config):
    depths, epochs = setting(config, "depths"), config.epochs or setting(config, "epochs")
    loader = digits_loader(setting(config, "image_size"), config.batch_size, config.seed)
    rows, curves = [], {}
    for name, depth, shortcut, build in nets_to_train(depths, config.widths):
        history, curves[name], count = train_one(build, config, loader, epochs)
        rows.append({"net": name, "depth": depth, "shortcut": shortcut, "parameters": count,
                     "train_loss": history["loss"][-1], "train_accuracy": history["accuracy"][-1],
                     "epoch_losses": history["loss"]})
    plot = plot_curves(curves, out_path(config, "training_loss.png"))
    return {"epochs": epochs, "image_size": setting(config, "image_size"), "nets": rows,
            "train_loss": {r["net"]: r["train_loss"] for r in rows},
            "resnet_parameters": resnet_parameter_counts(), "plot": plot}


def table(metrics):
    nets = format_table(metrics["nets"], ["net", "depth", "shortcut", "parameters", "train_loss", "train_accuracy"])
    counts = format_table(metrics["resnet_parameters"])
    return (f"training loss in the last of {metrics['epochs']} epochs (digits at {metrics['image_size']}x"
            f"{metrics['image_size']})\n{nets}\n\nResNet parameter counts\n{counts}")


def plot_curves(curves, path):
    """Per-batch training loss of every net (smoothed) into a PNG; returns the path or None."""
    if path is None:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, losses in curves.items():
        ax.plot(moving_average(losses, 10), label=name, linestyle="-" if name.startswith("resnet") else "--")
    ax.set_xlabel("batch")
    ax.set_ylabel("training loss (moving average of 10 batches)")
    ax.set_title("degradation: plain vs residual nets")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def moving_average(values, window):
    """Mean of the last `window` values at every position (fewer at the start)."""
    sums, out = 0.0, []
    for i, v in enumerate(values):
        sums += v - (values[i - window] if i >= window else 0.0)
        out.append(sums / min(i + 1, window))
    return out
