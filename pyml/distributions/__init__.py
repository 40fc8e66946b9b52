"""pyml.distributions: probability distributions with sample/rsample/log_prob/entropy, like torch.distributions.

Every distribution is a composite of pyml ops (autograd and CUDA come with them) and samples from
pyml's generators (pyml.manual_seed makes runs repeatable). Parameters and log_prob values are
validated by default (Distribution.set_default_validate_args(False) turns that off).
"""
from . import constraints
from .distribution import Distribution
from .normal import Normal
from .uniform import Uniform
from .exponential import Exponential
from .laplace import Laplace
from .bernoulli import Bernoulli
from .categorical import Categorical
from .one_hot_categorical import OneHotCategorical
from .independent import Independent
from .multivariate_normal import MultivariateNormal
from .kl import kl_divergence, register_kl
from .gamma_family import Gamma, Chi2
from .beta_dirichlet import Beta, Dirichlet
from .discrete_counts import Poisson, Binomial, Multinomial
from .waiting_times import Geometric, NegativeBinomial
from . import kl_families  # importing it registers the kl_divergence pairs of the families above

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "Independent", "Laplace", "MultivariateNormal",
           "Normal", "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
__all__ += ["Beta", "Binomial", "Chi2", "Dirichlet", "Gamma", "Geometric", "Multinomial", "NegativeBinomial",
            "Poisson"]
del kl_families
