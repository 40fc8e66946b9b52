"""nn.functional: distance (to be filled)."""
__all__ = []
