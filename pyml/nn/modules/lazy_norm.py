"""nn modules: LazyBatchNorm1d/2d/3d, LazyInstanceNorm1d/2d/3d and SyncBatchNorm, as torch.nn.

A lazy norm is built as the plain layer with num_features=0 and UninitializedParameter/UninitializedBuffer
slots; its first forward reads num_features from the input's channel dim, materialises and initialises
weight, bias, running_mean and running_var, then turns into cls_to_become (the LazyConv mechanism).
Loading a state_dict into a lazy norm materialises from the checkpoint's shapes instead.
SyncBatchNorm: pyml has no multi-process groups, so it is BatchNorm over (N, C, *) in the one process,
which is what torch's SyncBatchNorm does when torch.distributed is not initialised.
"""
import pyml
from ..parameter import UninitializedParameter, UninitializedBuffer, is_lazy
from .module import Module
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                            _BatchNorm)

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d", "SyncBatchNorm"]

_LAZY_SLOTS = ("weight", "bias", "running_mean", "running_var")


class _LazyNormMixin:
    """Shared by the lazy batch and instance norms (listed first in their bases)."""
    cls_to_become = None

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)  # nothing to initialise yet
        self._make_lazy(affine, track_running_stats, bias, device, dtype)

    def _make_lazy(self, affine, track_running_stats, bias, device, dtype):
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(pyml.empty(0, device=device, dtype=dtype))
            if bias:
                self.bias = UninitializedParameter(pyml.empty(0, device=device, dtype=dtype))
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = pyml.tensor(0, dtype=pyml.int64, device=device)

    def has_uninitialized_params(self):
        return any(is_lazy(getattr(self, n)) for n in _LAZY_SLOTS)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _channel_dim(self, input):
        return 1

    def _materialize(self, shapes):
        """Give every uninitialised slot its shape (name -> shape), then become the plain layer."""
        for name, shape in shapes.items():
            slot = getattr(self, name)
            if is_lazy(slot):  # in the slot's dtype and device, which follow .to() / .double() calls
                slot.materialize(shape, device=slot.device, dtype=slot.dtype)
        if self.has_uninitialized_params():
            return False
        self.reset_parameters()
        self.__class__ = self.cls_to_become
        return True

    def forward(self, input):
        if self.has_uninitialized_params():
            self._check_input_dim(input)
            self.num_features = int(input.shape[self._channel_dim(input)])
            self._materialize(dict.fromkeys(_LAZY_SLOTS, (self.num_features,)))
        else:  # materialised by load_state_dict
            self._materialize({})
        return self.forward(input)  # the plain layer's forward from here on

    def _load_from_state_dict(self, state_dict, prefix, *args):
        shapes = {n: tuple(state_dict[prefix + n].shape) for n in _LAZY_SLOTS if prefix + n in state_dict}
        if self.has_uninitialized_params() and shapes:
            self.num_features = next(iter(shapes.values()))[0]
            self._materialize(shapes)
        Module._load_from_state_dict(self, state_dict, prefix, *args)


class _LazyBatchNorm(_LazyNormMixin, _BatchNorm):
    pass


class _LazyInstanceNorm(_LazyNormMixin):
    """affine and track_running_stats default to True, as in torch's lazy instance norms (unlike InstanceNorm)."""

    def _channel_dim(self, input):
        # unbatched (C, *) takes C from dim 0 (torch reads dim 1 for every input)
        return 0 if input.dim() == self._no_batch_dim else 1


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """A BatchNorm1d whose num_features is taken from the first input it sees."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """A BatchNorm2d whose num_features is taken from the first input it sees."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """A BatchNorm3d whose num_features is taken from the first input it sees."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """An InstanceNorm1d whose num_features is taken from the first input it sees."""
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """An InstanceNorm2d whose num_features is taken from the first input it sees."""
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """An InstanceNorm3d whose num_features is taken from the first input it sees."""
    cls_to_become = InstanceNorm3d


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) inputs; process_group is kept for torch compatibility (one process here)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.dim()}D input "
                             f"{tuple(input.shape)})")
        if input.size(1) == 0:
            raise ValueError(f"SyncBatchNorm: number of input channels should be non-zero, got input "
                             f"{tuple(input.shape)}")

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """module with every BatchNorm*d (recursively) replaced by a SyncBatchNorm sharing its tensors."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, bias=module.bias is not None)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
