"""pyml.optim: optimizers (one module per family) and lr_scheduler."""
from .optimizer import *  # noqa: F401,F403
from . import lr_scheduler  # noqa: F401
