"""torch.backends.mps's questions, answered for pyml: it has no Apple Metal backend."""


def is_available():
    return False


def is_built():
    return False
