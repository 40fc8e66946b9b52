"""Top-level aliases of nn.functional ops (pyml.conv2d, pyml.dropout, ...), as torch has them."""
__all__ = []
