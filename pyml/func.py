"""pyml.func: functional_call (to be filled)."""
