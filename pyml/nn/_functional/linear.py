"""nn.functional: linear (to be filled)."""
__all__ = []
