"""Tensor functions PyTorch users expect beyond the engine's core ops (allclose, meshgrid, nan_to_num, ...),
written as composites of engine ops."""
__all__ = []
