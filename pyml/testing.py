"""pyml.testing: assert_close, like torch.testing."""
