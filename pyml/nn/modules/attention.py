"""nn modules: attention (to be filled)."""
__all__ = []
