"""nn modules: transformer (to be filled)."""
__all__ = []
