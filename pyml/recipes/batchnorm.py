"""Chapter 3: batch normalisation makes a deep sigmoid network trainable, even at large learning rates.

A plain stack of sigmoid layers on the 8x8 digits hardly trains: the signal and the gradient shrink
through every saturating layer and the loss stays at chance (ln 10 = 2.30). Normalising each layer's
pre-activations over the batch (then scaling and shifting them with learned gamma and beta) keeps
them where the sigmoid has slope, and the same network learns at the base learning rate and at 5x
and 30x it, like the BN-x5 / BN-x30 runs of Ioffe and Szegedy. The recipe trains the network with
and without BatchNorm1d at the three learning rates for the same epochs and tabulates the accuracies.
It also checks BatchNorm1d's two modes against a NumPy float64 reference: in training the batch's
own mean and biased variance normalise it and the running estimates move by `momentum` (the
unbiased variance); in evaluation the running estimates are used, so a sample's output no longer
depends on the rest of its batch.
"""
from dataclasses import dataclass

import numpy as np

import pyml
from pyml import nn
from pyml.demo import digit_loaders
from pyml.train import fit
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "batchnorm"
CHAPTER = "3"
PURPOSE = "a deep sigmoid MLP trains with BatchNorm at lr x1/x5/x30 and stalls without it"


@dataclass
class Config(BaseConfig):
    depth: int = 8                       # hidden sigmoid layers
    width: int = 64
    lr: float = 0.01                     # the x1 learning rate (plain SGD)
    lr_multipliers: tuple = (1, 5, 30)
    batch_size: int = 32


def deep_sigmoid_mlp(depth=8, width=64, batch_norm=False, in_features=64, num_classes=10):
    """Flatten, then `depth` x (Linear -> [BatchNorm1d] -> Sigmoid), then a Linear to the logits.
    With batch norm the Linear has no bias: BN's beta takes its place (a bias would be subtracted
    away with the batch mean)."""
    layers = [nn.Flatten()]
    for i in range(depth):
        layers.append(nn.Linear(in_features if i == 0 else width, width, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.Sigmoid())
    layers.append(nn.Linear(width if depth else in_features, num_classes))
    return nn.Sequential(*layers)


def train_one(config, batch_norm, multiplier, epochs):
    """One run from the same seed (same split, shuffles and starting weights for all six runs)."""
    seed_everything(config.seed)
    train_loader, test_loader = digit_loaders(batch_size=config.batch_size)
    model = deep_sigmoid_mlp(config.depth, config.width, batch_norm).to(config.device)
    optimizer = pyml.optim.SGD(model.parameters(), lr=config.lr * multiplier)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, test_loader, epochs=epochs,
                  progress=config.progress)
    return {"batch_norm": batch_norm, "lr_multiplier": multiplier, "lr": config.lr * multiplier,
            "train_loss": history["loss"][-1], "train_accuracy": history["accuracy"][-1],
            "test_accuracy": history["val_accuracy"][-1], "test_accuracy_per_epoch": history["val_accuracy"]}


# ---------------------------------------------------------------------------- BN's two modes
def _normalise(x, mean, var, eps, gamma, beta):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def check_batchnorm_modes(features=5, batch=16, momentum=0.1, eps=1e-5, seed=0):
    """Two training-mode batches then an evaluation-mode batch through BatchNorm1d, each compared
    with NumPy float64; returns the largest absolute error of each quantity."""
    gen = pyml.Generator().manual_seed(seed)
    bn = nn.BatchNorm1d(features, eps=eps, momentum=momentum)
    with pyml.no_grad():  # a non-trivial affine part, so gamma and beta are checked too
        bn.weight.copy_(1 + pyml.rand(features, generator=gen))
        bn.bias.copy_(pyml.randn(features, generator=gen))
    gamma, beta = bn.weight.detach().numpy().astype(np.float64), bn.bias.detach().numpy().astype(np.float64)
    run_mean, run_var = np.zeros(features), np.ones(features)
    errors = {"train_output": 0.0, "running_mean": 0.0, "running_var": 0.0}
    for _ in range(2):
        x = 3 + 2 * pyml.randn(batch, features, generator=gen)
        out = bn.train()(x).detach().numpy()
        xd = x.numpy().astype(np.float64)
        expect = _normalise(xd, xd.mean(0), xd.var(0), eps, gamma, beta)           # biased variance
        run_mean = (1 - momentum) * run_mean + momentum * xd.mean(0)
        run_var = (1 - momentum) * run_var + momentum * xd.var(0, ddof=1)        # unbiased variance
        errors["train_output"] = max(errors["train_output"], float(np.abs(out - expect).max()))
    errors["running_mean"] = float(np.abs(bn.running_mean.numpy() - run_mean).max())
    errors["running_var"] = float(np.abs(bn.running_var.numpy() - run_var).max())
    errors["batches_tracked"] = int(bn.num_batches_tracked.item())
    errors.update(_check_eval_mode(bn, gen, run_mean, run_var, eps, gamma, beta))
    return errors


def _check_eval_mode(bn, gen, run_mean, run_var, eps, gamma, beta):
    """Evaluation mode: running statistics, unchanged buffers, and each row independent of its batch."""
    x = pyml.randn(8, bn.num_features, generator=gen)
    bn.eval()
    before = bn.running_mean.numpy().copy()
    out = bn(x).detach().numpy()
    alone = bn(x[:1]).detach().numpy()
    expect = _normalise(x.numpy().astype(np.float64), run_mean, run_var, eps, gamma, beta)
    return {"eval_output": float(np.abs(out - expect).max()),
            "eval_row_vs_alone": float(np.abs(out[:1] - alone).max()),
            "eval_buffers_moved": float(np.abs(bn.running_mean.numpy() - before).max())}


# ---------------------------------------------------------------------------- the recipe
def run(config):
    epochs = config.epochs or (5 if config.quick else 30)
    runs = [train_one(config, bn, m, epochs) for bn in (False, True) for m in config.lr_multipliers]
    metrics = {"epochs": epochs, "depth": config.depth, "width": config.width, "runs": runs,
               "batchnorm_check": check_batchnorm_modes(seed=config.seed)}
    path = out_path(config, "batchnorm.png")
    if path:
        metrics["plot"] = plot(runs, path)
    return metrics


def table(metrics):
    columns = ["batch_norm", "lr_multiplier", "lr", "train_loss", "train_accuracy", "test_accuracy"]
    check = ", ".join(f"{k} {v:.2g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in metrics["batchnorm_check"].items())
    return (f"{metrics['depth']} sigmoid layers of {metrics['width']} on the digits, {metrics['epochs']} epochs "
            f"of plain SGD\n{format_table(metrics['runs'], columns)}\n"
            f"BatchNorm1d against NumPy float64 (largest errors): {check}")


def plot(runs, path):
    """Test accuracy against the epoch for every run: solid with BN, dashed without."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.5, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for r in runs:
        acc = r["test_accuracy_per_epoch"]
        label = f"{'BN' if r['batch_norm'] else 'no BN'}, lr x{r['lr_multiplier']}"
        ax.plot(range(1, len(acc) + 1), acc, linestyle="-" if r["batch_norm"] else "--", marker=".", label=label)
    ax.set(xlabel="epoch", ylabel="test accuracy", title="deep sigmoid MLP on the digits")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
