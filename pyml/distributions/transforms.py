"""pyml.distributions.transforms: invertible maps with log|det J|, like torch.distributions.transforms.

A Transform t maps x in t.domain to y = t(x) in t.codomain; t.inv maps back and t.log_abs_det_jacobian(x, y)
gives log|dy/dx| per event. TransformedDistribution pushes a base distribution through a list of them, and
constraint_registry's biject_to/transform_to pick one per constraint. The code lives in three modules:
transforms_base (Transform, inverse, ComposeTransform, IndependentTransform, ReshapeTransform),
transforms_elementwise (exp, power, sigmoid, tanh, softplus, abs, affine, cdf) and transforms_structured
(softmax, stick-breaking, Cholesky factors, positive definite, cat, stack); this module is their public face.
"""
from .transforms_base import (ComposeTransform, IndependentTransform, ReshapeTransform, Transform,
                              identity_transform)
from .transforms_elementwise import (AbsTransform, AffineTransform, CumulativeDistributionTransform, ExpTransform,
                                     PowerTransform, SigmoidTransform, SoftplusTransform, TanhTransform)
from .transforms_structured import (CatTransform, CorrCholeskyTransform, LowerCholeskyTransform,
                                    PositiveDefiniteTransform, SoftmaxTransform, StackTransform,
                                    StickBreakingTransform)

__all__ = ["AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform",
           "SoftplusTransform", "TanhTransform", "SoftmaxTransform", "StackTransform", "StickBreakingTransform",
           "Transform", "identity_transform"]
