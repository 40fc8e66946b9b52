"""LR schedulers (to be filled)."""
