"""Matrix decompositions and their users (det, inv, solve, cholesky, qr, eigh, svd, ...): the engine ops
behind pyml.linalg, with top-level and Tensor-method aliases (pyml.det, Tensor.inverse, ...)."""
__all__ = []
