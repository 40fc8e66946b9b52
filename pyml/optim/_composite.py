"""Schedulers made of other schedulers: SequentialLR (one after another) and ChainedScheduler (all at once).

SequentialLR hands the optimizer to schedulers[i] from milestones[i-1] on, restarting it at epoch 0
there. ChainedScheduler steps every member each epoch, passing the rate along the chain: each member's
`_chained` says how it transforms the rate it receives (most scale it by their own change, the cyclic
and lambda schedules replace it), which reproduces torch's recursive chaining with closed forms.
"""
import bisect

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _groups


def _check_members(who, schedulers, optimizer):
    if len(schedulers) < 1:
        raise ValueError(f"{who}: expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{who}: scheduler at index {i} must have an `optimizer` attribute, "
                            f"got {type(s).__name__}")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{who}: ReduceLROnPlateau (index {i}) cannot be combined: its step needs a metric")
        if s.optimizer is not optimizer:
            raise ValueError(f"{who}: all schedulers must drive the same optimizer, got {type(s).__name__} at "
                             f"index {i} with a different {type(s.optimizer).__name__}")


def _rewind(s):
    """Undo the initial step each (nested) scheduler took when it was built."""
    if hasattr(s, "_schedulers"):
        for inner in s._schedulers:
            _rewind(inner)
    elif hasattr(s, "last_epoch"):
        s.last_epoch -= 1


class _Composite(LRScheduler):
    """state_dict holds every member's state_dict under '_schedulers'."""

    def _chained(self, incoming):
        # nested in a chain, a composite's own step already wrote its rates
        return list(self._last_lr)

    def state_dict(self):
        d = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        d["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return d

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        members = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, saved in zip(self._schedulers, members):
            s.load_state_dict(saved)


class SequentialLR(_Composite):
    """schedulers[i] runs from milestones[i-1] (restarted at its epoch 0) until milestones[i]."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        who = "SequentialLR"
        schedulers, milestones = list(schedulers), list(milestones)
        _check_members(who, schedulers, optimizer)
        self._check_milestones(schedulers, milestones)
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in _groups(optimizer, who):
            g["lr"] = g["initial_lr"]
        _rewind(self)
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _check_milestones(schedulers, milestones):
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: needs one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones")
        if not all(isinstance(m, int) and m >= 0 for m in milestones) or milestones != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must be non-negative ints in increasing order, "
                             f"got {milestones}")
        for i, s in enumerate(schedulers[1:], start=1):
            if hasattr(s, "_schedulers"):
                raise ValueError(f"SequentialLR: the scheduler at index {i} is a {type(s).__name__}, which cannot "
                                 f"restart at a milestone; only the first scheduler may be composite")

    def step(self):
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            s.step(0)  # a scheduler starts its own schedule at its milestone
        else:
            s.step()
        self._last_lr = s.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps all schedulers every epoch; each acts on the rate the previous one produced."""

    def __init__(self, schedulers, optimizer=None):
        who = "ChainedScheduler"
        schedulers = list(schedulers)
        if optimizer is None and schedulers:
            optimizer = getattr(schedulers[0], "optimizer", None)
        _check_members(who, schedulers, optimizer)
        self._schedulers, self.optimizer = schedulers, optimizer
        groups = _groups(optimizer, who)
        # the members were built one by one, each writing its own rate: combine their epoch-0 rates
        self._pass_along([g.get("initial_lr", g["lr"]) for g in groups], advance=False)

    def _pass_along(self, rates, advance):
        groups = self.optimizer.param_groups
        for s in self._schedulers:
            for g, lr in zip(groups, rates):
                g["lr"] = lr
            if advance:
                s.step()
            # a member without _chained (e.g. a nested chain) acts through the param groups like torch's
            rates = s._chained(rates) if hasattr(s, "_chained") else [g["lr"] for g in groups]
        for g, lr in zip(groups, rates):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in groups]

    def step(self):
        self._pass_along([g["lr"] for g in self.optimizer.param_groups], advance=True)
