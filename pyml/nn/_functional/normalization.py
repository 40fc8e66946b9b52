"""nn.functional: normalization (to be filled)."""
__all__ = []
