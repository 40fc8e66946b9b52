"""nn modules: vision (to be filled)."""
__all__ = []
