"""pyml.distributions: probability distributions with sample/rsample/log_prob/entropy, like torch.distributions."""
