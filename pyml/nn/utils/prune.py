"""Pruning with the API of torch.nn.utils.prune, organised around one record per pruned tensor.

A pruned tensor module.<name> is described by three registry entries that _PrunedTensor manages: the
trainable values as parameter <name>_orig, a 0/1 buffer <name>_mask, and the pruning method itself as a
forward pre-hook that writes module.<name> = mask * orig before each call (so gradients reach
<name>_orig through the mask). Pruning the same tensor again stacks methods in a PruningContainer, and
the newest method only ranks what the current mask still keeps (_narrow_mask). remove() bakes the mask
into a plain parameter again.
"""
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import pyml
from ...autograd import grad_mode
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured", "l1_unstructured",
           "random_structured", "ln_structured", "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


# ----------------------------------------------------------------------------------- the per-tensor record
class _PrunedTensor:
    """module.<name> together with the <name>_orig / <name>_mask entries and hook that pruning adds."""

    def __init__(self, module, name):
        self.module, self.name = module, name
        self.orig_key, self.mask_key = name + "_orig", name + "_mask"

    def hooks(self):
        """(hook id, method) of the pruning hooks registered for this tensor."""
        return [(hid, hook) for hid, hook in self.module._forward_pre_hooks.items()
                if isinstance(hook, BasePruningMethod) and hook._tensor_name == self.name]

    def active_method(self):
        found = self.hooks()
        if len(found) > 1:
            raise RuntimeError(f"prune: module.{self.name} has {len(found)} pruning hooks, expected at most one "
                               f"(combine methods in a PruningContainer); module {self.module}")
        return found[0][1] if found else None

    def prune_with(self, method, importance_scores=None):
        """Apply `method` on top of any earlier pruning of this tensor; returns the hook now in charge."""
        previous = self.active_method()
        values = getattr(self.module, self.name)
        scores = values if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(values.shape):
            raise ValueError(f"prune: importance_scores must have the shape of {self.name} {tuple(values.shape)}, "
                             f"got {tuple(scores.shape)}")
        with grad_mode.no_grad():
            if previous is None:
                mask = method.compute_mask(scores.detach(), default_mask=pyml.ones_like(values))
            else:
                current = self.module._buffers[self.mask_key].detach().clone()
                mask = _narrow_mask(method, scores.detach(), current)
        self._install_mask(mask, method, values if previous is None else None)
        hook = _stacked(previous, method)
        for hid, _ in self.hooks():
            del self.module._forward_pre_hooks[hid]
        self.module.register_forward_pre_hook(hook)
        return hook

    def _install_mask(self, mask, method, fresh_values):
        """Store the mask and the masked tensor; on a first pruning (fresh_values given) the values move to
        <name>_orig first and <name> becomes a plain attribute that the hook rewrites."""
        first_time = fresh_values is not None
        if first_time:
            self.module.register_parameter(self.orig_key, fresh_values)
            del self.module._parameters[self.name]
        try:
            self.module.register_buffer(self.mask_key, mask)
            setattr(self.module, self.name, method.apply_mask(self.module))
        except Exception:
            if first_time:
                self.module.register_parameter(self.name, self.module._parameters.pop(self.orig_key))
            raise

    def make_permanent(self, method):
        """<name> becomes a parameter again (the same object as <name>_orig) holding the masked values."""
        masked = method.apply_mask(self.module).data
        self.module.__dict__.pop(self.name, None)
        param = self.module._parameters.pop(self.orig_key)
        del self.module._buffers[self.mask_key]
        param.data = masked
        setattr(self.module, self.name, param)


def _stacked(previous, method):
    """The hook after adding `method`: the method alone, or a container holding the history."""
    if previous is None:
        return method
    chain = previous if isinstance(previous, PruningContainer) else PruningContainer(previous)
    chain.add_pruning_method(method)
    return chain


# ----------------------------------------------------------------------------------- combining masks
def _narrow_mask(method, t, mask):
    """The mask after `method` prunes further, ranking only what `mask` still keeps."""
    narrowers = {"unstructured": _narrow_entries, "structured": _narrow_channels, "global": _narrow_whole}
    kind = method.PRUNING_TYPE
    if kind not in narrowers:
        raise ValueError(f"prune: PRUNING_TYPE must be one of {sorted(narrowers)}, got {kind!r}")
    return narrowers[kind](method, t, mask.to(t.dtype).clone())


def _narrow_entries(method, t, mask):
    alive = mask == 1
    mask[alive] = method.compute_mask(t[alive], default_mask=mask[alive]).to(mask.dtype)
    return mask


def _narrow_channels(method, t, mask):
    if not hasattr(method, "dim"):
        raise AttributeError(f"prune: a structured pruning method needs a `dim` attribute, {type(method).__name__} "
                             "has none")
    dim = method.dim if method.dim >= 0 else method.dim + t.ndim
    if dim < 0:
        raise IndexError(f"prune: dim {method.dim} is out of range for a tensor with {t.ndim} dims")
    live = pyml.nonzero(mask.sum(dim=[d for d in range(t.ndim) if d != dim]) != 0).reshape(-1)
    sub_mask = method.compute_mask(pyml.index_select(t, dim, live), default_mask=pyml.index_select(mask, dim, live))
    return pyml.index_copy(mask, dim, live, sub_mask.to(mask.dtype))


def _narrow_whole(method, t, mask):
    return method.compute_mask(t, default_mask=mask).to(mask.dtype)


# ----------------------------------------------------------------------------------- method base classes
class BasePruningMethod(ABC):
    """A pruning method: compute_mask(t, default_mask) decides; the base class does the module bookkeeping.

    Subclasses set PRUNING_TYPE ("unstructured", "structured" with a `dim`, or "global")."""
    _tensor_name = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new 0/1 mask for t; default_mask holds the entries pruned so far (0) or kept (1)."""

    def apply_mask(self, module):
        """mask * <name>_orig in the values' dtype: what module.<name> holds during forward."""
        values = getattr(module, self._tensor_name + "_orig")
        keep = getattr(module, self._tensor_name + "_mask")
        return keep.to(values.dtype) * values

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        method = cls(*args, **kwargs)
        method._tensor_name = name
        return _PrunedTensor(module, name).prune_with(method, importance_scores)

    def prune(self, t, default_mask=None, importance_scores=None):
        """t times the mask this method computes (no module involved)."""
        ranking = t if importance_scores is None else importance_scores
        start = pyml.ones_like(t) if default_mask is None else default_mask
        with grad_mode.no_grad():
            mask = self.compute_mask(ranking, default_mask=start)
        return t * mask

    def remove(self, module):
        """Make the pruning permanent: <name> becomes a parameter holding orig * mask."""
        _PrunedTensor(module, self._tensor_name).make_permanent(self)


class PruningContainer(BasePruningMethod):
    """Pruning methods applied one after another to the same tensor (the newest sees only survivors)."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and isinstance(args[0], BasePruningMethod):
            self._tensor_name = args[0]._tensor_name  # a lone method names the tensor
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if method is not None:
            if not isinstance(method, BasePruningMethod):
                raise TypeError(f"PruningContainer: methods must be BasePruningMethod instances, got {type(method)}")
            if method._tensor_name != self._tensor_name:
                raise ValueError(f"PruningContainer: every method must prune '{self._tensor_name}', "
                                 f"got one for '{method._tensor_name}'")
        self._pruning_methods = (*self._pruning_methods, method)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        yield from self._pruning_methods

    def compute_mask(self, t, default_mask):
        return _narrow_mask(self._pruning_methods[-1], t, default_mask)


class _ByAmount(BasePruningMethod):
    """Methods that prune `amount` entries or channels: a fraction in [0, 1] or a count."""

    def __init__(self, amount):
        if not isinstance(amount, numbers.Real):
            raise TypeError(f"prune: amount must be an int or a float, got {amount!r} of type {type(amount).__name__}")
        in_range = amount >= 0 if isinstance(amount, numbers.Integral) else 0.0 <= float(amount) <= 1.0
        if not in_range:
            raise ValueError(f"prune: amount={amount} should either be a float in the range [0, 1] (a fraction) "
                             "or a non-negative int (a count)")
        self.amount = amount

    def _how_many(self, total):
        count = self.amount if isinstance(self.amount, numbers.Integral) else round(self.amount * total)
        if count > total:
            raise ValueError(f"prune: amount={count} should be smaller than the number of parameters to prune "
                             f"({total})")
        return count


def _zeros_at(mask, flat_positions):
    """A copy of mask with the given flat positions set to 0."""
    flat = mask.reshape(-1).clone()
    flat[flat_positions] = 0
    return flat.reshape(tuple(mask.shape))


def _keep_channels(t, dim, channels):
    """A mask of t's shape: 1 on the listed channels of dim, 0 on the others."""
    per_channel = pyml.zeros(t.shape[dim], dtype=t.dtype)
    per_channel[channels] = 1
    shape = [t.shape[dim] if d == dim else 1 for d in range(t.ndim)]
    return per_channel.reshape(shape).expand(tuple(t.shape)).contiguous()


class _ByChannel(_ByAmount):
    """Structured pruning: whole slices along `dim` go, those with the lowest _channel_scores first."""
    PRUNING_TYPE = "structured"

    def _channel_scores(self, t, dim):
        raise NotImplementedError

    def compute_mask(self, t, default_mask):
        if t.ndim <= 1:
            raise ValueError("prune: Structured pruning can only be applied to multidimensional tensors, "
                             f"got shape {tuple(t.shape)}")
        if self.dim >= t.ndim:
            raise IndexError(f"prune: dim {self.dim} is out of range for a tensor of shape {tuple(t.shape)}")
        channels = t.shape[self.dim]
        count = self._how_many(channels)
        if count == 0:
            return default_mask
        dim = self.dim % t.ndim
        kept = pyml.topk(self._channel_scores(t, dim), channels - count).indices
        return _keep_channels(t, dim, kept) * default_mask.to(t.dtype)


# ----------------------------------------------------------------------------------- concrete methods
class Identity(BasePruningMethod):
    """Prunes nothing: sets up the <name>_orig / <name>_mask machinery with an all-ones mask."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(_ByAmount):
    """Zeroes `amount` entries chosen uniformly at random."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        count = self._how_many(t.numel())
        if count == 0:
            return default_mask.clone()
        noise = pyml.rand_like(t if t.dtype.is_floating_point else t.to(pyml.float32))
        return _zeros_at(default_mask, pyml.topk(noise.reshape(-1), count).indices)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_ByAmount):
    """Zeroes the `amount` entries of smallest magnitude."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        count = self._how_many(t.numel())
        if count == 0:
            return default_mask.clone()
        return _zeros_at(default_mask, pyml.topk(pyml.abs(t).reshape(-1), count, largest=False).indices)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(_ByChannel):
    """Zeroes `amount` channels along dim, chosen at random."""

    def __init__(self, amount, dim=-1):
        super().__init__(amount)
        self.dim = dim

    def _channel_scores(self, t, dim):
        return pyml.rand(t.shape[dim])

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_ByChannel):
    """Zeroes the `amount` channels along dim with the smallest L_n norm."""

    def __init__(self, amount, n, dim=-1):
        super().__init__(amount)
        self.n, self.dim = n, dim

    def _channel_scores(self, t, dim):
        return pyml.norm(t, self.n, dim=[d for d in range(t.ndim) if d != dim])

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Zeroes the entries where a user-given mask is 0."""
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"prune: the custom mask must have the tensor's shape {tuple(default_mask.shape)}, "
                             f"got {tuple(self.mask.shape)}")
        return default_mask * self.mask.to(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# ----------------------------------------------------------------------------------- functional API
def identity(module, name):
    """Register the pruning machinery on module.<name> without zeroing anything."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Zero `amount` random entries of module.<name>."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Zero the `amount` entries of module.<name> with the smallest |importance_scores| (default: |values|)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Zero `amount` random channels of module.<name> along dim."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Zero the `amount` channels of module.<name> along dim with the smallest L_n norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Zero the entries of module.<name> where mask is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Rank the entries of several (module, name) tensors together with one unstructured method, then give each
    tensor its slice of the joint mask (as a CustomFromMask step)."""
    if not isinstance(parameters, Iterable):
        raise TypeError(f"global_unstructured: parameters must be an iterable of (module, name), got "
                        f"{type(parameters).__name__}")
    targets = list(parameters)
    scores_of = {} if importance_scores is None else importance_scores
    if not isinstance(scores_of, dict):
        raise TypeError(f"global_unstructured: importance_scores must be a dict, got {type(scores_of).__name__}")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured: pruning_method must be unstructured, got {pruning_method} of "
                        f"type {method.PRUNING_TYPE}")
    with grad_mode.no_grad():
        scores = parameters_to_vector([scores_of.get((m, n), getattr(m, n)).detach() for m, n in targets])
        current = parameters_to_vector([getattr(m, n + "_mask", pyml.ones_like(getattr(m, n))) for m, n in targets])
        joint = _narrow_mask(method, scores, current)
    start = 0
    for module, name in targets:
        shape = tuple(getattr(module, name).shape)
        stop = start + getattr(module, name).numel()
        custom_from_mask(module, name, mask=joint[start:stop].reshape(shape))
        start = stop


def remove(module, name):
    """Make the pruning of module.<name> permanent and drop its hook, _orig and _mask."""
    record = _PrunedTensor(module, name)
    found = record.hooks()
    if not found:
        raise ValueError(f"prune.remove: parameter '{name}' of {module} has to be pruned before pruning can be "
                         "removed")
    hid, method = found[0]
    method.remove(module)
    del module._forward_pre_hooks[hid]
    return module


def is_pruned(module):
    """Whether any submodule (module included) carries a pruning hook."""
    return any(isinstance(hook, BasePruningMethod) for sub in module.modules()
               for hook in sub._forward_pre_hooks.values())
