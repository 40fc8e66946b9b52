"""nn modules: normalization (to be filled)."""
__all__ = []
