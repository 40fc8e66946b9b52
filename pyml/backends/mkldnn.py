"""torch.backends.mkldnn: pyml has no oneDNN; its CPU kernels are its own."""
enabled = False


def is_available():
    return False
