"""nn modules: flatten (to be filled)."""
__all__ = []
