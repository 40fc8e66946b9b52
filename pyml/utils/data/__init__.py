"""pyml.utils.data (to be filled)."""
