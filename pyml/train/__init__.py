"""pyml.train: a readable training loop for the course and the demo.

fit() trains a model with optional validation, scheduler, gradient clipping and accumulation, and
returns a per-epoch history; evaluate() measures a model on a loader. Callbacks (EarlyStopping,
ModelCheckpoint, ProgressBar, or your own Callback) hook into the loop; ModelCheckpoint files let
fit(resume=path) continue an interrupted run exactly. plot_history draws the curves (matplotlib).
"""
from .callbacks import FitState, Callback, EarlyStopping
from .checkpoint import ModelCheckpoint
from .loop import fit, evaluate
from .metrics import accuracy, top_k_accuracy
from .plot import plot_history
from .progress import ProgressBar

__all__ = ["fit", "evaluate", "accuracy", "top_k_accuracy", "FitState", "Callback", "EarlyStopping",
           "ModelCheckpoint", "ProgressBar", "plot_history"]
