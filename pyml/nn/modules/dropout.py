"""nn modules: dropout (to be filled)."""
__all__ = []
