"""nn.functional: activation (to be filled)."""
__all__ = []
