"""Weight averaging, as torch.optim.swa_utils: AveragedModel keeps a running average of a model's weights,
either the equal-weight mean of stochastic weight averaging (SWA) or an exponential moving average (EMA,
the weights diffusion models sample with); SWALR anneals each group's rate to a constant SWA rate; update_bn
recomputes BatchNorm statistics for the averaged weights with one pass over the data.

The average lives in a deep copy of the model (its parameters are the averages). Averaging runs under
no_grad in place, one lerp per tensor: avg += w * (current - avg), with w = 1/(n+1) for SWA and 1 - decay
for EMA. Unless use_buffers=True the copy's buffers simply follow the source model's.
"""
import copy
import itertools
import math
import numbers

import pyml
from ..autograd import no_grad
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]


def _lerp_(avg, current, weight):
    """avg <- avg + weight * (current - avg), in place: Tensor.lerp_ (torch's foreach lerp) for floating
    tensors; integer buffers take torch's weighted-sum fallback."""
    if avg.dtype.is_floating_point:
        avg.lerp_(current.to(avg.dtype), weight)
    else:
        avg.copy_(avg * (1 - weight) + current * weight)


def get_ema_multi_avg_fn(decay=0.999):
    """EMA over lists of tensors: avg <- decay * avg + (1 - decay) * current."""
    def ema_update(averaged, current, num_averaged):
        for a, c in zip(averaged, current):
            _lerp_(a, c, 1 - decay)
    return ema_update


def get_swa_multi_avg_fn():
    """Equal-weight running mean over lists of tensors: avg <- avg + (current - avg) / (n + 1)."""
    def swa_update(averaged, current, num_averaged):
        w = 1.0 / (int(num_averaged) + 1)
        for a, c in zip(averaged, current):
            _lerp_(a, c, w)
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA of one tensor (returns the new average)."""
    def ema_update(averaged, current, num_averaged):
        return decay * averaged + (1 - decay) * current
    return ema_update


def get_swa_avg_fn():
    """Equal-weight running mean of one tensor (returns the new average)."""
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` whose weights are the running average of the weights `model` has had at each
    update_parameters(model) call. avg_fn(avg, current, n) returns one tensor's new average;
    multi_avg_fn(avg_list, current_list, n) updates lists in place; neither given: SWA's equal-weight mean.
    use_buffers=True averages buffers too (otherwise they are copied from `model` at each update)."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", pyml.tensor(0, dtype=pyml.long, device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        return list(itertools.chain(model.parameters(), model.buffers()) if self.use_buffers else model.parameters())

    def update_parameters(self, model):
        mine, theirs = self._tensors(self.module), self._tensors(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} tensors to average, "
                             f"the averaged copy {len(mine)}")
        n = int(self.n_averaged)
        with no_grad():
            current = [t.detach().to(a.device) for a, t in zip(mine, theirs)]
            if n == 0:
                for a, c in zip(mine, current):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(mine, current):
                    a.copy_(self.avg_fn(a.detach(), c, self.n_averaged.to(a.device)))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(mine, current, self.n_averaged)
            if not self.use_buffers:  # buffers follow the source model
                for b, src in zip(self.module.buffers(), model.buffers()):
                    b.copy_(src.detach().to(b.device))
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running statistics as the plain mean over one pass of `loader` (batches
    are tensors, or lists/tuples whose first item is the input), with the model in train mode."""
    momenta = {m: m.momentum for m in model.modules() if isinstance(m, _BatchNorm)}
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
    with no_grad():
        for batch in loader:
            x = batch[0] if isinstance(batch, (list, tuple)) else batch
            model(x if device is None else x.to(device))
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


def _anneal(strategy):
    if strategy == "cos":
        return lambda t: (1 - math.cos(math.pi * t)) / 2
    if strategy == "linear":
        return lambda t: t
    raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {strategy!r}")


class SWALR(LRScheduler):
    """Anneal each group's rate from its current value to swa_lr over anneal_epochs steps (cosine or linear),
    then hold it. swa_lr: one rate or one per param group."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        groups = optimizer.param_groups
        rates = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(rates) != len(groups):
            raise ValueError(f"SWALR: swa_lr must have one rate per param group ({len(groups)}), got {len(rates)}")
        for g, r in zip(groups, rates):
            g["swa_lr"] = r
        self.anneal_func = _anneal(anneal_strategy)
        if not isinstance(anneal_epochs, numbers.Integral) or isinstance(anneal_epochs, bool) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be a non-negative integer, got {anneal_epochs!r}")
        self.anneal_epochs = int(anneal_epochs)
        super().__init__(optimizer, last_epoch)

    def _fraction(self, step):
        return max(0.0, min(1.0, step / max(1, self.anneal_epochs)))

    def get_lr(self):
        # Each step moves from the previous step's rate: recover the rate annealing started from (the group's
        # rate may have been changed outside the scheduler), then take this step's mix of it and swa_lr.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev = self.anneal_func(self._fraction(step - 1))
        alpha = self.anneal_func(self._fraction(step))
        out = []
        for g in self.optimizer.param_groups:
            start = g["swa_lr"] if prev == 1 else (g["lr"] - prev * g["swa_lr"]) / (1 - prev)
            out.append(g["swa_lr"] * alpha + start * (1 - alpha))
        return out
