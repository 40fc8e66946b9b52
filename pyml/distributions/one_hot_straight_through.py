"""OneHotCategoricalStraightThrough(probs=None, logits=None): a OneHotCategorical with the straight-through
gradient estimator (Bengio et al., 2013): rsample returns the one-hot sample in the forward pass, and passes
the gradient of the sample on to probs as if the sample were probs (sample + probs - probs.detach()).
"""
from .._tensor import Size
from .one_hot_categorical import OneHotCategorical

__all__ = ["OneHotCategoricalStraightThrough"]


class OneHotCategoricalStraightThrough(OneHotCategorical):
    has_rsample = True

    def rsample(self, sample_shape=Size()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs  # a lazy_property: computed once, with its graph
        return samples + (probs - probs.detach())

    def __repr__(self):
        return f"OneHotCategoricalStraightThrough({self._categorical!r})"
