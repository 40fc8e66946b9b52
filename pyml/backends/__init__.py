"""Backend switches and questions, as in torch.backends: `pyml.backends.cuda.matmul.allow_tf32`,
`pyml.backends.cudnn.allow_tf32` (convolutions), and the availability answers scripts ask
(mps, mkldnn, openmp, cpu.get_cpu_capability)."""
from . import cuda, cudnn, mps, cpu, openmp, mkldnn  # noqa: F401
