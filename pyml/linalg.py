"""pyml.linalg: PyTorch's torch.linalg namespace."""
