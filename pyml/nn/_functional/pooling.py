"""nn.functional: pooling (to be filled)."""
__all__ = []
