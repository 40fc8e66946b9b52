"""pyml.recipes: the course's experiments (../TEXTBOOK chapters), one module per recipe.

A recipe module defines NAME, CHAPTER, PURPOSE, a `Config` dataclass (with at least the fields of
`BaseConfig`) and `run(config) -> dict` of metrics, readable top to bottom. `pyml recipes` lists them
and `pyml run NAME` runs one through `pyml.recipes.runner` (seed, run folder, table, metrics JSON).
"""
import importlib

# name -> module (pyml.recipes.<module>); the order is the course's order
_MODULES = {
    "views-regression": "views_regression",
    "critical-points": "critical_points",
    "optimizers": "optimizers",
    "batch-size": "batch_size",
    "classification-loss": "classification_loss",
    "batchnorm": "batchnorm",
    "cnn-digits": "cnn_digits",
    "resnet-degradation": "resnet_degradation",
    "rnn": "rnn",
    "self-attention": "self_attention",
    "transformer": "transformer",
    "vit-digits": "vit_digits",
}


def names():
    """Recipe names in course order (only those whose module exists in this build)."""
    return [n for n in _MODULES if importlib.util.find_spec(f"{__name__}.{_MODULES[n]}") is not None]


def get(name):
    """The recipe module for `name`; ValueError listing the known names otherwise."""
    if name not in _MODULES or name not in names():
        raise ValueError(f"pyml run: unknown recipe {name!r}; known recipes: {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")
