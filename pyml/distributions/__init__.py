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
from . import transforms
from .transforms import (AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform,
                         CumulativeDistributionTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform,
                         PositiveDefiniteTransform, PowerTransform, ReshapeTransform, SigmoidTransform,
                         SoftmaxTransform, SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform,
                         Transform, identity_transform)
from .constraint_registry import biject_to, transform_to
from .transformed_distribution import TransformedDistribution
from .log_normal import LogNormal
from .half_normal import HalfNormal
from .half_cauchy import HalfCauchy
from .gumbel import Gumbel
from .weibull import Weibull
from .pareto import Pareto
from .kumaraswamy import Kumaraswamy
from .logistic_normal import LogisticNormal
from .inverse_gamma import InverseGamma
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from . import kl_transformed  # importing it registers the kl_divergence pairs of the distributions above
from .cauchy import Cauchy
from .studentT import StudentT
from .fishersnedecor import FisherSnedecor
from .generalized_pareto import GeneralizedPareto
from .exp_family import ExponentialFamily
from .continuous_bernoulli import ContinuousBernoulli
from .von_mises import VonMises
from .wishart import Wishart
from .lkj_cholesky import LKJCholesky
from .mixture_same_family import MixtureSameFamily
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .one_hot_straight_through import OneHotCategoricalStraightThrough
from . import kl_more  # importing it registers the kl_divergence pairs of the families above

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "Independent", "Laplace", "MultivariateNormal",
           "Normal", "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
__all__ += ["Beta", "Binomial", "Chi2", "Dirichlet", "Gamma", "Geometric", "Multinomial", "NegativeBinomial",
            "Poisson"]
__all__ += ["Cauchy", "ContinuousBernoulli", "ExponentialFamily", "FisherSnedecor", "GeneralizedPareto", "LKJCholesky",
            "LowRankMultivariateNormal", "MixtureSameFamily", "OneHotCategoricalStraightThrough", "StudentT",
            "VonMises", "Wishart"]
__all__ += ["Gumbel", "HalfCauchy", "HalfNormal", "InverseGamma", "Kumaraswamy", "LogNormal", "LogisticNormal",
            "Pareto", "RelaxedBernoulli", "RelaxedOneHotCategorical", "TransformedDistribution", "Weibull",
            "biject_to", "transform_to", "transforms"]
__all__ += ["AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
            "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
            "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
            "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform", "Transform",
            "identity_transform"]
del kl_families
del kl_more
del kl_transformed


def _module_paths():
    """torch's one-module-per-family paths for the families pyml keeps two to a file
    (`from pyml.distributions.beta import Beta` works as with torch)."""
    import sys
    import types
    for name, cls in (("beta", Beta), ("dirichlet", Dirichlet), ("gamma", Gamma), ("chi2", Chi2),
                      ("poisson", Poisson), ("binomial", Binomial), ("multinomial", Multinomial),
                      ("geometric", Geometric), ("negative_binomial", NegativeBinomial)):
        mod = types.ModuleType(f"{__name__}.{name}", f"torch.distributions.{name}'s path to pyml's {cls.__name__}")
        setattr(mod, cls.__name__, cls)
        mod.__all__ = [cls.__name__]
        sys.modules[mod.__name__] = mod
        globals()[name] = mod


_module_paths()
del _module_paths
