"""nn modules: activation (to be filled)."""
__all__ = []
