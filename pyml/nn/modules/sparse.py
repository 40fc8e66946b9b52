"""nn modules: sparse (to be filled)."""
__all__ = []
