"""nn modules: module (to be filled)."""
__all__ = []
