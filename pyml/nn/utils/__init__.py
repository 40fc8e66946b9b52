"""nn.utils (to be filled)."""
