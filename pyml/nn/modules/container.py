"""nn modules: container (to be filled)."""
__all__ = []
