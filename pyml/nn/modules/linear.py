"""nn modules: linear (to be filled)."""
__all__ = []
