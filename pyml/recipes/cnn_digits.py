"""Chapter 4: convolutional networks, from the course's worked example to a trained digits classifier.

1. The 6x6 black-and-white image and the 3x3 diagonal filter of the course: sliding the filter with
   stride 1 gives the 4x4 feature map [[3,-1,-3,-1],[-3,1,0,-3],[-3,-3,0,1],[3,-2,-2,-1]] and 2x2
   max-pooling keeps [[3,0],[3,1]].
2. Why images need convolutions: a fully connected layer from a 100x100x3 image to 1000 neurons
   has 3x10^7 weights (plus 1000 biases), while 64 filters of 3x3x3 have 1792 parameters (1728
   weights plus 64 biases), shared across every position.
3. An AlphaGo-style policy network (a board is a 19x19 image of 48 feature planes; no pooling) is
   built and run on random boards: 361 move probabilities per board.
4. A LeNet-style CNN (pyml.models.LeNet) trained on the 8x8 digits reaches >= 97% test accuracy.
"""
from dataclasses import dataclass

import pyml
import pyml.nn.functional as F
from pyml import nn
from pyml.demo import PRESETS, digit_loaders
from pyml.models import AlphaGoPolicyNet, LeNet
from pyml.optim.lr_scheduler import CosineAnnealingLR
from pyml.train import evaluate, fit, plot_history
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "cnn-digits"
CHAPTER = "4"
PURPOSE = "the 6x6 convolution example, parameter counts, an AlphaGo-style policy net, LeNet on digits >= 97%"

COURSE_IMAGE = [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]]
COURSE_FILTER = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]

# the demo's full preset (40 epochs with shifts: 98.9-99.7% over seeds 0-4); quick: 12 epochs, no shifts
TRAINING = {"full": dict(PRESETS["full"]), "quick": dict(PRESETS["full"], epochs=12, augment=False)}


@dataclass
class Config(BaseConfig):
    boards: int = 2               # random boards through the policy network
    dropout: float = 0.25


# ---------------------------------------------------------------------------- 1. the worked example
def course_convolution():
    """The course's feature map (4x4) and its 2x2 max-pool (2x2), as nested lists."""
    image = pyml.tensor(COURSE_IMAGE, dtype=pyml.float32).reshape(1, 1, 6, 6)      # (N, C, H, W)
    kernel = pyml.tensor(COURSE_FILTER, dtype=pyml.float32).reshape(1, 1, 3, 3)    # (K, C, R, S)
    feature_map = F.conv2d(image, kernel, stride=1)                               # (1, 1, 4, 4)
    pooled = F.max_pool2d(feature_map, 2)                                         # (1, 1, 2, 2)
    return feature_map[0, 0].tolist(), pooled[0, 0].tolist()


# ---------------------------------------------------------------------------- 2. parameter counts
def parameter_counts():
    """Weights and biases of the two layers the course compares (the big one is really built)."""
    fully_connected = nn.Linear(100 * 100 * 3, 1000)
    conv = nn.Conv2d(3, 64, 3)
    counts = {"fc_weights": fully_connected.weight.numel(), "fc_biases": fully_connected.bias.numel(),
              "conv_weights": conv.weight.numel(), "conv_biases": conv.bias.numel()}
    counts["fc_total"] = counts["fc_weights"] + counts["fc_biases"]
    counts["conv_total"] = counts["conv_weights"] + counts["conv_biases"]
    return counts


# ---------------------------------------------------------------------------- 3. a policy network
def random_boards(n, generator, planes=48, size=19):
    """(n, planes, size, size) binary feature planes, each point on with probability 0.3."""
    return (pyml.rand(n, planes, size, size, generator=generator) < 0.3).to(pyml.float32)


def policy_network_check(boards, device, seed):
    """Build the policy network, run it on random boards, return its shapes and parameter count."""
    gen = pyml.Generator().manual_seed(seed)
    net = AlphaGoPolicyNet().to(device).eval()
    with pyml.no_grad():
        probs = net.probabilities(random_boards(boards, gen).to(device))          # (N, 361)
    sums = probs.sum(dim=1)
    return {"output_shape": list(probs.shape), "parameters": sum(p.numel() for p in net.parameters()),
            "probability_sum_error": (sums - 1).abs().max().item(), "min_probability": probs.min().item(),
            "best_moves": probs.argmax(dim=1).tolist()}


# ---------------------------------------------------------------------------- 4. LeNet on the digits
def train_lenet(config, settings, epochs):
    """The demo's recipe (Adam, cosine decay, optional one-pixel shifts) on pyml.models.LeNet, on
    config.device; returns (model, history, test metrics)."""
    seed_everything(config.seed)
    train_loader, test_loader = digit_loaders(settings["batch_size"], settings["augment"])
    model = LeNet(1, 10, 8, settings["width"], settings["hidden"], config.dropout).to(config.device)
    optimizer = pyml.optim.Adam(model.parameters(), lr=settings["lr"])
    scheduler = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, test_loader, epochs=epochs,
                  scheduler=scheduler, progress=config.progress)
    return model, history, evaluate(model, test_loader, nn.CrossEntropyLoss())


# ---------------------------------------------------------------------------- the recipe
def run(config):
    settings = TRAINING["quick" if config.quick else "full"]
    epochs = config.epochs or settings["epochs"]
    feature_map, pooled = course_convolution()
    metrics = {"feature_map": feature_map, "max_pooled": pooled, "parameter_counts": parameter_counts(),
               "policy_network": policy_network_check(config.boards, config.device, config.seed)}
    model, history, test = train_lenet(config, settings, epochs)
    metrics.update({"epochs": epochs, "augment": settings["augment"], "test_accuracy": test["accuracy"],
                    "test_loss": test["loss"], "train_accuracy": history["accuracy"][-1],
                    "lenet_parameters": sum(p.numel() for p in model.parameters())})
    _save(config, model, history, metrics)
    return metrics


def _save(config, model, history, metrics):
    """The trained weights and the loss/accuracy curves, when the run has a folder."""
    checkpoint = out_path(config, "lenet_digits.pyml")
    if checkpoint is None:
        return
    pyml.save(model.state_dict(), checkpoint)
    metrics["checkpoint"] = checkpoint
    metrics["plot"] = plot_history(history, out_path(config, "lenet_curves.png"), title="LeNet on 8x8 digits")


def table(metrics):
    counts, policy = metrics["parameter_counts"], metrics["policy_network"]
    rows = [{"layer": "Linear(100*100*3 -> 1000)", "weights": counts["fc_weights"], "biases": counts["fc_biases"],
             "total": counts["fc_total"]},
            {"layer": "Conv2d(3 -> 64, 3x3)", "weights": counts["conv_weights"], "biases": counts["conv_biases"],
             "total": counts["conv_total"]}]
    return (f"6x6 image * 3x3 filter -> {_int_rows(metrics['feature_map'])}\n"
            f"2x2 max-pool -> {_int_rows(metrics['max_pooled'])}\n\n"
            f"{format_table(rows)}\n\n"
            f"AlphaGo-style policy net: output {policy['output_shape']}, {policy['parameters']:,} parameters, "
            f"probabilities sum to 1 within {policy['probability_sum_error']:.1g}\n"
            f"LeNet ({metrics['lenet_parameters']:,} parameters) on the digits, {metrics['epochs']} epochs"
            f"{' with shifts' if metrics['augment'] else ''}: test accuracy {100 * metrics['test_accuracy']:.2f}% "
            f"(train {100 * metrics['train_accuracy']:.2f}%, test loss {metrics['test_loss']:.4f})")


def _int_rows(rows):
    return [[int(v) for v in row] for row in rows]
