"""Cyclic learning-rate schedules: SGDR warm restarts, CyclicLR (CLR) and the 1cycle policy.

Each is a closed form of the step count: the position inside the current cycle (or phase) gives the
rate, and for CyclicLR / OneCycleLR also the momentum, which moves opposite to the rate and is
written into each group's 'momentum' (SGD) or betas[0] (Adam, AdamW). All three set the rate
outright, so in a ChainedScheduler they replace what earlier schedules produced (like torch).
"""
import math

from .lr_scheduler import LRScheduler, _groups, _per_group, _is_function


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine from base_lr down to eta_min over T_i epochs, then restart; T_i grows by T_mult per cycle.
    `step(epoch)` accepts fractional epochs (e.g. epoch + batch / batches_per_epoch)."""
    _sets_rate_outright = True

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        who = "CosineAnnealingWarmRestarts"
        if not _is_int(T_0) or T_0 <= 0:
            raise ValueError(f"{who}: T_0 must be a positive int, got {T_0!r}")
        if not _is_int(T_mult) or T_mult < 1:
            raise ValueError(f"{who}: T_mult must be an int >= 1, got {T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)):
            raise TypeError(f"{who}: eta_min must be a float or int, got {type(eta_min).__name__}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _cycle_start(self, n):
        """Epoch at which cycle n (0-based) begins, for T_mult > 1: T_0 * (1 + T_mult + ... + T_mult**(n-1))."""
        return self.T_0 * (self.T_mult ** n - 1) // (self.T_mult - 1)

    def _position(self, epoch):
        """(T_cur, T_i) at a non-negative, possibly fractional epoch."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        # the log gives the cycle up to rounding; exact integer comparisons settle the boundaries
        n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
        while n > 0 and self._cycle_start(n) > epoch:
            n -= 1
        while self._cycle_start(n + 1) <= epoch:
            n += 1
        return epoch - self._cycle_start(n), self.T_0 * self.T_mult ** n

    def _rates(self, t_cur, t_i):
        c = (1 + math.cos(math.pi * t_cur / t_i)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]

    def lr_at(self, epoch):
        return self._rates(*self._position(epoch))

    def get_lr(self):
        return self._rates(self.T_cur, self.T_i)

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:  # one more epoch from wherever T_cur is (it may be fractional)
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be non-negative, got {epoch}")
        else:
            self.T_cur, self.T_i = self._position(epoch)
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


def _momentum_key(optimizer, who):
    """'betas' (Adam family: beta1 is cycled) or 'momentum' (SGD, RMSprop), like torch."""
    known = getattr(optimizer, "defaults", None)
    if not isinstance(known, dict):
        known = optimizer.param_groups[0]
    for key in ("betas", "momentum"):
        if key in known:
            return key
    raise ValueError(f"{who}: cycle_momentum=True needs an optimizer with 'momentum' or 'betas' (beta1), "
                     f"got {type(optimizer).__name__} without either")


def _write_momentum(group, key, value):
    if key == "betas":
        group["betas"] = (value,) + tuple(group["betas"][1:])
    else:
        group["momentum"] = value


class _MomentumCycler(LRScheduler):
    """Shared set-up of the momentum that cycles opposite to the rate."""
    _sets_rate_outright = True

    def _setup_momentum(self, groups, cycle_momentum, base_momentum, max_momentum, last_epoch):
        who = type(self).__name__
        self.cycle_momentum = cycle_momentum
        if not cycle_momentum:
            return
        self._momentum_key = _momentum_key(self.optimizer, who)
        self.use_beta1 = self._momentum_key == "betas"
        self.base_momentums = _per_group(base_momentum, len(groups), who, "base_momentum values")
        self.max_momentums = _per_group(max_momentum, len(groups), who, "max_momentum values")
        if last_epoch == -1:
            for g, lo, hi in zip(groups, self.base_momentums, self.max_momentums):
                _write_momentum(g, self._momentum_key, hi)
                g["max_momentum"], g["base_momentum"] = hi, lo

    def get_lr(self):
        if self.cycle_momentum:
            for g, m in zip(self.optimizer.param_groups, self.momentum_at(self.last_epoch)):
                _write_momentum(g, self._momentum_key, m)
        return self.lr_at(self.last_epoch)


def _step_sizes(up, down):
    if isinstance(up, bool) or not isinstance(up, (int, float)) or up <= 0:
        raise ValueError(f"CyclicLR: step_size_up must be a positive number, got {up!r}")
    if down is None:
        down = up
    if isinstance(down, bool) or not isinstance(down, (int, float)) or down < 0:
        raise ValueError(f"CyclicLR: step_size_down must be None or a non-negative number, got {down!r}")
    return float(up), float(down)


class CyclicLR(_MomentumCycler):
    """Triangular cycles between base_lr and max_lr (step_size_up iterations up, step_size_down down);
    the amplitude is scaled by 1 (triangular), 1/2**(cycle-1) (triangular2), gamma**iteration
    (exp_range) or a user scale_fn of the cycle number or of the iteration (scale_mode)."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        who = "CyclicLR"
        groups = _groups(optimizer, who)
        self.optimizer = optimizer
        base_lrs = _per_group(base_lr, len(groups), who, "base_lr values")
        self.max_lrs = _per_group(max_lr, len(groups), who, "max_lr values")
        up, down = _step_sizes(step_size_up, step_size_down)
        self.total_size, self.step_ratio = up + down, up / (up + down)
        self._check_scaling(mode, scale_fn, scale_mode)
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        # the built-in modes fix what their scaling is a function of, as in the CLR paper
        builtin = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}
        self.scale_mode = scale_mode if scale_fn is not None else builtin[mode]
        if last_epoch == -1:
            for g, lr in zip(groups, base_lrs):
                g["lr"] = lr
        self._setup_momentum(groups, cycle_momentum, base_momentum, max_momentum, last_epoch)
        self._cyclic_base_lrs = base_lrs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _check_scaling(mode, scale_fn, scale_mode):
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' when scale_fn "
                             f"is None, got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")

    def _start_lrs(self, groups):
        return list(self._cyclic_base_lrs)

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / 2.0 ** (x - 1)
        return self.gamma ** x

    def _height(self, t):
        """Fraction of the amplitude reached at iteration t: triangle wave times the scale function."""
        cycles = t / self.total_size
        pos = cycles - math.floor(cycles)  # position inside the current cycle, in [0, 1)
        tri = pos / self.step_ratio if pos <= self.step_ratio else (1 - pos) / (1 - self.step_ratio)
        return tri * self.scale_fn(math.floor(cycles) + 1 if self.scale_mode == "cycle" else t)

    def lr_at(self, t):
        h = self._height(t)
        return [b + (m - b) * h for b, m in zip(self.base_lrs, self.max_lrs)]

    def momentum_at(self, t):
        h = self._height(t)
        return [hi - (hi - lo) * h for lo, hi in zip(self.base_momentums, self.max_momentums)]

    def state_dict(self):
        # plain functions and lambdas are not saved, callable objects keep their state
        d = super().state_dict()
        fn = d.pop("_scale_fn_custom")
        d["_scale_fn_custom"] = None if fn is None or _is_function(fn) else dict(fn.__dict__)
        return d

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)


def _total_steps(total_steps, epochs, steps_per_epoch):
    if total_steps is not None:
        if not _is_int(total_steps) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError(f"OneCycleLR: give total_steps, or both epochs and steps_per_epoch, got "
                         f"total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
    for name, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not _is_int(v) or v <= 0:
            raise ValueError(f"OneCycleLR: {name} must be a positive int, got {v!r}")
    return epochs * steps_per_epoch


def _phases(total, pct_start, three_phase):
    """(last step, lr from, lr to, momentum from, momentum to) of each phase; names are group keys."""
    peak = float(pct_start * total) - 1
    if three_phase:
        return [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
    return [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]


class OneCycleLR(_MomentumCycler):
    """1cycle: the rate rises from max_lr/div_factor to max_lr over pct_start of total_steps, then anneals
    to initial_lr/final_div_factor (three_phase: back down to initial_lr first, then to the minimum).
    Bounds live in each param group (initial_lr, max_lr, min_lr, base_momentum, max_momentum)."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        who = "OneCycleLR"
        groups = _groups(optimizer, who)
        self.optimizer = optimizer
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        self._check(pct_start, anneal_strategy, div_factor, final_div_factor)
        self._schedule_phases = _phases(self.total_steps, pct_start, three_phase)
        self.anneal_strategy = anneal_strategy
        if last_epoch == -1:
            for g, top in zip(groups, _per_group(max_lr, len(groups), who, "max_lr values")):
                g["initial_lr"] = top / div_factor
                g["max_lr"] = top
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self._setup_momentum(groups, cycle_momentum, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _check(pct_start, anneal_strategy, div_factor, final_div_factor):
        if isinstance(pct_start, bool) or not isinstance(pct_start, (int, float)) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float between 0 and 1, got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not div_factor > 0 or not final_div_factor > 0:
            raise ValueError(f"OneCycleLR: div_factor and final_div_factor must be positive, got "
                             f"div_factor={div_factor!r}, final_div_factor={final_div_factor!r}")

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2
        return start + (end - start) * pct

    def _phase_at(self, t):
        """The phase holding step t and how far through it t is (the last phase extends past its end)."""
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}")
        start = 0.0
        for i, phase in enumerate(self._schedule_phases):
            end = phase[0]
            if t <= end or i == len(self._schedule_phases) - 1:
                return phase, (t - start) / (end - start) if end != start else 1.0
            start = end

    def lr_at(self, t):
        (_, lo, hi, _, _), pct = self._phase_at(t)
        return [self._anneal(g[lo], g[hi], pct) for g in self.optimizer.param_groups]

    def momentum_at(self, t):
        (_, _, _, lo, hi), pct = self._phase_at(t)
        return [self._anneal(g[lo], g[hi], pct) for g in self.optimizer.param_groups]
