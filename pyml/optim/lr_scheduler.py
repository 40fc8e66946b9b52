"""Learning-rate schedulers with PyTorch's names and arguments.

Each scheduler computes the rate of epoch t from a closed form f(base_lr, t) (multiplicative and
plateau schedules update the current rate instead). `step()` advances t and writes the rates into
the optimizer's param_groups; any object with a `param_groups` list of dicts works.
The cyclic schedules live in _cyclic.py and the composites (SequentialLR, ChainedScheduler) in
_composite.py; `_chained` tells a ChainedScheduler how each schedule acts on the rate it receives.
"""
import bisect
import math

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
           "MultiplicativeLR", "LinearLR", "ConstantLR", "PolynomialLR", "TransformerWarmupLR",
           "ReduceLROnPlateau", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
           "ChainedScheduler"]


def _groups(optimizer, who):
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise TypeError(f"{who}: {type(optimizer).__name__} is not an Optimizer (needs a param_groups list of dicts)")
    return groups


class LRScheduler:
    def __init__(self, optimizer, last_epoch=-1):
        who = type(self).__name__
        groups = _groups(optimizer, who)
        if last_epoch == -1:
            for g in groups:
                g.setdefault("initial_lr", g["lr"])
        elif any("initial_lr" not in g for g in groups):
            raise KeyError(f"{who}: param 'initial_lr' is not specified in param_groups when resuming "
                           f"with last_epoch={last_epoch}")
        self.optimizer = optimizer
        self.base_lrs = self._start_lrs(groups)
        self.last_epoch = last_epoch
        self._initial_step()

    def _start_lrs(self, groups):
        """The base rates the schedule scales (CyclicLR uses its own base_lr instead)."""
        return [g["initial_lr"] for g in groups]

    def _initial_step(self):
        self._step_count = 0
        self.step()

    def lr_at(self, epoch):
        """Rates of every param group at `epoch` (closed-form schedules override this)."""
        raise NotImplementedError

    def get_lr(self):
        return self.lr_at(self.last_epoch)

    def step(self, epoch=None):
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return self._last_lr

    # A schedule that sets the rate outright ignores the rate a ChainedScheduler hands it.
    _sets_rate_outright = False

    def _chained(self, incoming):
        """Rates after this (already stepped) schedule acts on the `incoming` rates in a chain: the
        incoming rate is scaled by how much this schedule's own rate changed since the last epoch."""
        if self._sets_rate_outright:
            return list(self._last_lr)
        t = self.last_epoch
        before = self.base_lrs if t <= 0 else self.lr_at(t - 1)
        return [x * now / was if was else now for x, was, now in zip(incoming, before, self.lr_at(t))]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """base_lr * gamma ** (epoch // step_size)"""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        return [b * self.gamma ** (t // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """base_lr * gamma ** (number of milestones reached)"""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        return [b * self.gamma ** bisect.bisect_right(self.milestones, t) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        return [b * self.gamma ** t for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2"""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _shape(self, t):
        """The cosine's height at epoch t: 1 at the start, 0 at T_max (and at every odd multiple)."""
        return (1 + math.cos(math.pi * t / self.T_max)) / 2

    def lr_at(self, t):
        c = self._shape(t)
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]

    def _chained(self, incoming):
        # in a chain the distance to eta_min is scaled; from the trough (height 0) the rise is added
        t, floor = self.last_epoch, self.eta_min
        if t <= 0:
            return list(incoming)
        if (t - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [x + (b - floor) * self._shape(t) for x, b in zip(incoming, self.base_lrs)]
        ratio = self._shape(t) / self._shape(t - 1)
        return [floor + (x - floor) * ratio for x in incoming]


def _per_group(value, n, who, what):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{who}: expected {n} {what}, got {len(value)}")
        return list(value)
    return [value] * n


class LambdaLR(LRScheduler):
    """base_lr * lr_lambda(epoch), one lambda for all groups or one per group"""
    _sets_rate_outright = True

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _per_group(lr_lambda, len(_groups(optimizer, "LambdaLR")), "LambdaLR", "lr_lambdas")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        return [b * f(t) for b, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        # plain functions and lambdas are not saved, callable objects keep their state
        d = super().state_dict()
        d["lr_lambdas"] = [None if _is_function(f) else dict(f.__dict__) for f in self.lr_lambdas]
        return d

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("lr_lambdas")
        super().load_state_dict(state_dict)
        for f, s in zip(self.lr_lambdas, saved):
            if s is not None:
                f.__dict__.update(s)


def _is_function(f):
    return type(f).__name__ in ("function", "builtin_function_or_method", "method")


class MultiplicativeLR(LambdaLR):
    """lr(t) = lr(t - 1) * lr_lambda(t) for t > 0"""

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch <= 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * f(self.last_epoch) for g, f in zip(groups, self.lr_lambdas)]

    def _chained(self, incoming):
        # step() already multiplied the incoming rate it found in the param groups
        return list(incoming) if self.last_epoch <= 0 else list(self._last_lr)


class LinearLR(LRScheduler):
    """factor moves linearly from start_factor to end_factor over total_iters epochs"""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: factors must be in (0, 1] and [0, 1], got start_factor={start_factor}, "
                             f"end_factor={end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        f = self.start_factor + (self.end_factor - self.start_factor) * min(t, self.total_iters) / self.total_iters
        return [b * f for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """base_lr * factor until total_iters, then base_lr"""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be between 0 and 1, got factor={factor}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        return [b * (self.factor if t < self.total_iters else 1.0) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """base_lr * (1 - min(t, total_iters) / total_iters) ** power"""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        f = (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power
        return [b * f for b in self.base_lrs]


class TransformerWarmupLR(LRScheduler):
    """The Transformer paper's schedule (TEXTBOOK.md): factor * d_model^-0.5 * min(s^-0.5, s * warmup^-1.5)
    with s = epoch + 1. It sets the rate outright (the groups' own lr is ignored)."""
    _sets_rate_outright = True

    def __init__(self, optimizer, d_model, warmup_steps=4000, factor=1.0, last_epoch=-1):
        if d_model <= 0 or warmup_steps <= 0:
            raise ValueError(f"TransformerWarmupLR: d_model and warmup_steps must be positive, got d_model={d_model}, "
                             f"warmup_steps={warmup_steps}")
        self.d_model, self.warmup_steps = d_model, warmup_steps
        self.factors = _per_group(factor, len(_groups(optimizer, "TransformerWarmupLR")), "TransformerWarmupLR",
                                  "factors")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t):
        s = t + 1
        rate = self.d_model ** -0.5 * min(s ** -0.5, s * self.warmup_steps ** -1.5)
        return [f * rate for f in self.factors]


class ReduceLROnPlateau:
    """Multiply the rate by `factor` once the metric has not improved for more than `patience` epochs."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        who = "ReduceLROnPlateau"
        groups = _groups(optimizer, who)
        if factor >= 1.0:
            raise ValueError(f"{who}: factor should be < 1.0, got factor={factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode {mode!r} is unknown; use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{who}: threshold mode {threshold_mode!r} is unknown; use 'rel' or 'abs'")
        self.optimizer = optimizer
        self.min_lrs = _per_group(min_lr, len(groups), who, "min_lrs")
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in groups]

    def _better(self, a, best):
        if self.threshold_mode == "rel":
            edge = best * (1 - self.threshold) if self.mode == "min" else best * (1 + self.threshold)
        else:
            edge = best - self.threshold if self.mode == "min" else best + self.threshold
        return a < edge if self.mode == "min" else a > edge

    def step(self, metrics, epoch=None):
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, floor)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return self._last_lr

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


from ._cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR  # noqa: E402  (they subclass LRScheduler)
from ._composite import SequentialLR, ChainedScheduler  # noqa: E402
