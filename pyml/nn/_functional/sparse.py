"""nn.functional: sparse (to be filled)."""
__all__ = []
