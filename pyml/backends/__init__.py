"""Backend switches, as in torch.backends: `pyml.backends.cuda.matmul.allow_tf32`."""
from . import cuda  # noqa: F401
