"""Backend switches, as in torch.backends: `pyml.backends.cuda.matmul.allow_tf32`,
`pyml.backends.cudnn.allow_tf32` (convolutions)."""
from . import cuda, cudnn  # noqa: F401
