"""Op families. Each module defines functions (re-exported at pyml.*) and attaches Tensor methods."""
