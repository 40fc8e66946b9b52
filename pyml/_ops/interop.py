"""interop ops (to be filled)."""
