"""torch.backends.openmp: pyml's CPU kernels always run on OpenMP threads."""


def is_available():
    return True
