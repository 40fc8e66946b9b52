"""nn modules: rnn (to be filled)."""
__all__ = []
