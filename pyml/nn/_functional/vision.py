"""nn.functional: vision (to be filled)."""
__all__ = []
