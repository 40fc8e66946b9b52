"""index ops (to be filled)."""
