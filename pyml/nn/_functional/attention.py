"""nn.functional: attention (to be filled)."""
__all__ = []
