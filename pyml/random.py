"""pyml.random: torch.random's seeding and RNG-state functions."""
