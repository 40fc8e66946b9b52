"""Where the time goes, as torch.profiler: `with pyml.profiler.profile() as prof: ...` then
`print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))` or `prof.export_chrome_trace(path)`.

Recorded events, nested by time: every engine call (pyml._C.*, named like `binary:mul` or `conv_forward`),
every autograd node's backward (`autograd::MulBackward`), every module call (`nn.Module: Linear`) and
every `record_function` range. While a profile records, those entry points are swapped for timing
wrappers, and they are swapped back when it stops, so pyml runs at full speed when no profile is
active. An event's self time is its time minus its children's: for a module or a backward node
that is the Python around the kernels. With ProfilerActivity.CUDA each engine call synchronises the
device when it returns, so kernel time lands on the op that launched it. Python's garbage collector
can pause any call; each pause is its own `python::gc` event, a child of the call it interrupted, so it
does not count as that call's self time. Only the thread that started the profile is recorded.
"""
import enum
import functools
import gc
import json
import os
import socket
import threading
import time

from . import _C

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule", "tensorboard_trace_handler",
           "EventList", "FunctionEvent", "FunctionEventAvg"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0):
    """Step -> action: skip_first steps, then cycles of wait, warmup and active steps (repeat cycles, 0:
    forever); the last active step of a cycle hands the trace to on_trace_ready."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError(f"schedule: wait, warmup, repeat and skip_first must be >= 0 and active > 0, got "
                         f"wait={wait}, warmup={warmup}, active={active}, repeat={repeat}, skip_first={skip_first}")
    cycle = wait + warmup + active

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD_AND_SAVE if k == cycle - 1 else ProfilerAction.RECORD
    return action


# ----------------------------------------------------------------------------------------- events
class FunctionEvent:
    """One timed call; times in microseconds from the profile's start."""

    def __init__(self, name, start, parent, input_shapes=None):
        self.name, self.start, self.end, self.parent = name, start, start, parent
        self.children, self.input_shapes = [], input_shapes or []

    key = property(lambda self: self.name)
    cpu_time_total = property(lambda self: self.end - self.start)
    self_cpu_time_total = property(lambda self: self.cpu_time_total - sum(c.cpu_time_total for c in self.children))
    count = property(lambda self: 1)

    def __repr__(self):
        return f"<FunctionEvent {self.name} {self.cpu_time_total:.1f}us>"


class FunctionEventAvg:
    """Events of one name (and input shapes, when grouped by them) summed."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0

    def add(self, ev):
        self.count += ev.count
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        return self

    cpu_time = property(lambda self: self.cpu_time_total / max(self.count, 1))
    self_cpu_time = property(lambda self: self.self_cpu_time_total / max(self.count, 1))

    def __repr__(self):
        return f"<FunctionEventAvg {self.key} count={self.count} cpu_time_total={self.cpu_time_total:.1f}us>"


# CUDA time is part of the CPU time here (the op synchronises), so torch's device sort keys map to it
_SORT_KEYS = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "self_cpu_time_total",
              "cpu_time": "cpu_time", "count": "count", "cuda_time_total": "cpu_time_total",
              "self_cuda_time_total": "self_cpu_time_total", "device_time_total": "cpu_time_total",
              "self_device_time_total": "self_cpu_time_total"}


class EventList(list):
    def key_averages(self, group_by_input_shape=False):
        groups = {}
        for ev in self:
            shapes = str(ev.input_shapes) if group_by_input_shape else None
            k = (ev.key, shapes)
            if k not in groups:
                groups[k] = FunctionEventAvg(ev.key, shapes)
            groups[k].add(ev)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for ev in self:
            total.add(ev)
        return total

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55, header=None, top_level_events_only=False):
        rows = list(self)
        if top_level_events_only:
            rows = [r for r in rows if getattr(r, "parent", None) is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"table: sort_by must be one of {sorted(_SORT_KEYS)}, got {sort_by!r}")
            attr = _SORT_KEYS[sort_by]
            rows.sort(key=lambda r: getattr(r, attr) if attr != "cpu_time" else r.cpu_time_total / r.count,
                      reverse=True)
        return _format(rows[:row_limit] if row_limit and row_limit > 0 else rows, self, max_name_column_width,
                       header)


def _us(t):
    return f"{t / 1e3:.3f}ms" if t >= 1000 else f"{t:.3f}us"


def _format(rows, everything, width, header):
    total_self = sum(r.self_cpu_time_total for r in everything) or 1.0
    shapes = any(getattr(r, "input_shapes", None) for r in rows if isinstance(r, FunctionEventAvg))
    cols = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
    cols += ["Input Shapes"] if shapes else []
    lines = []
    for r in rows:
        cells = [r.key[:width], f"{100 * r.self_cpu_time_total / total_self:.2f}%", _us(r.self_cpu_time_total),
                 f"{100 * r.cpu_time_total / total_self:.2f}%", _us(r.cpu_time_total),
                 _us(r.cpu_time_total / max(r.count, 1)), str(r.count)]
        lines.append(cells + ([str(r.input_shapes or "")] if shapes else []))
    widths = [max(len(c), *(len(line[i]) for line in lines)) if lines else len(c) for i, c in enumerate(cols)]
    rule = "-" * (sum(widths) + 2 * (len(cols) - 1))
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = ([header] if header else []) + [rule, fmt(cols), rule] + [fmt(line) for line in lines] + [rule]
    out.append(f"Self CPU time total: {_us(total_self)}")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------- recording
_active = None  # the profile now recording


def _shapes(args):
    def shape(a):
        impl = getattr(a, "_impl", a)  # a pyml Tensor or an engine TensorImpl
        return list(impl.shape) if isinstance(impl, _C.TensorImpl) else []
    return [shape(a) for a in args]


class _Recorder:
    """The open-event stack of one recording, and the wrappers that feed it."""

    def __init__(self, record_shapes, sync_cuda):
        self.t0 = time.perf_counter()
        self.events, self.stack = [], []
        self.thread = threading.get_ident()
        self.record_shapes, self.sync_cuda = record_shapes, sync_cuda

    def now(self):
        return (time.perf_counter() - self.t0) * 1e6

    def open(self, name, args=()):
        parent = self.stack[-1] if self.stack else None
        ev = FunctionEvent(name, 0.0, parent, _shapes(args) if self.record_shapes else None)
        if parent is not None:
            parent.children.append(ev)
        self.events.append(ev)
        self.stack.append(ev)
        ev.start = self.now()  # after the allocations above, where a garbage collection may have run
        return ev

    def gc_event(self, phase, info):
        """gc.callbacks hook: a collection becomes a python::gc event where it happened."""
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._gc = self.open("python::gc")
        elif getattr(self, "_gc", None) is not None:
            self.close(self._gc)
            self._gc = None

    def close(self, ev, sync=False):
        if sync and self.sync_cuda:
            _C.cuda_synchronize()
        ev.end = self.now()
        if self.stack and self.stack[-1] is ev:
            self.stack.pop()


def _timed(fn, name_of, sync=False):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        rec = _active._rec if _active is not None else None
        if rec is None or threading.get_ident() != rec.thread:
            return fn(*args, **kwargs)
        ev = rec.open(name_of(args), args)
        try:
            return fn(*args, **kwargs)
        finally:
            rec.close(ev, sync)
    wrapper._pyml_profiled = fn
    return wrapper


def _engine_names():
    from ._ops.elementwise import B, U
    binary = {v: k for k, v in B.items()}
    unary = {v: k for k, v in U.items()}
    by_code = {"binary": binary, "binary_": binary, "binary_scalar": binary, "binary_scalar_": binary,
               "unary": unary, "unary_": unary}
    return by_code


_SKIP = ("cuda_", "cpu_", "get_num_threads", "set_num_threads", "default_dtype", "set_default_dtype", "compiler",
         "unary_names", "promote_types", "result_type", "can_cast", "dlpack_", "philox", "_")


def _patches():
    """(owner, attribute, wrapper) for every entry point a profile times."""
    from .nn.modules.module import Module
    from .autograd import engine_api
    codes = _engine_names()
    out = []
    for name in dir(_C):
        fn = getattr(_C, name)
        if name.startswith(_SKIP) or isinstance(fn, type) or not callable(fn):
            continue
        table = codes.get(name)
        name_of = ((lambda args, n=name, t=table: f"{n.rstrip('_').replace('_scalar', '')}:{t.get(args[0], args[0])}"
                    + ("_" if n.endswith("_") else "")) if table else (lambda args, n=name: n))
        out.append((_C, name, _timed(fn, name_of, sync=True)))
    out.append((Module, "__call__", _timed(Module.__call__, lambda args: f"nn.Module: {type(args[0]).__name__}")))
    out.append((engine_api, "_apply", _timed(engine_api._apply, lambda args: f"autograd::{args[0].name}")))
    return out


class profile:
    """Record pyml's engine calls, autograd nodes, module calls and record_function ranges (see the module
    docstring); torch.profiler.profile's arguments. schedule/on_trace_ready: record only on the schedule's
    RECORD steps (advanced by step()) and hand each finished cycle to on_trace_ready(prof)."""

    def __init__(self, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, acc_events=False, use_cuda=None):
        acts = set(activities) if activities is not None else {ProfilerActivity.CPU, ProfilerActivity.CUDA}
        bad = [a for a in acts if not isinstance(a, ProfilerActivity)]
        if bad:
            raise TypeError(f"profile: activities must be ProfilerActivity values, got {bad}")
        self.sync_cuda = (ProfilerActivity.CUDA in acts or bool(use_cuda)) and bool(_C.cuda_compiled()) and \
            _C.cuda_device_count() > 0
        self.schedule, self.on_trace_ready, self.record_shapes = schedule, on_trace_ready, record_shapes
        self.step_num, self._rec, self._events, self._saved = 0, None, EventList(), []

    def _action(self):
        return self.schedule(self.step_num) if self.schedule else ProfilerAction.RECORD

    def start(self):
        global _active
        if _active is not None and _active is not self:
            raise RuntimeError("profile: another profile is already recording")
        patches = _patches()
        self._saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
        for owner, attr, wrapper in patches:
            setattr(owner, attr, wrapper)
        _active = self
        self._events = EventList()
        self._enter(self._action())

    def _enter(self, action):
        self._rec = _Recorder(self.record_shapes, self.sync_cuda) if action in (
            ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE) else None
        if self._rec is not None:
            gc.callbacks.append(self._rec.gc_event)

    def _harvest(self, ready):
        if self._rec is not None:
            if self._rec.gc_event in gc.callbacks:
                gc.callbacks.remove(self._rec.gc_event)
            self._events = EventList(self._rec.events)
            self._rec = None
            if ready and self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def step(self):
        """Advance the schedule by one step (call once per training step)."""
        before = self._action()
        self.step_num += 1
        after = self._action()
        if before == ProfilerAction.RECORD_AND_SAVE or (before == ProfilerAction.RECORD and
                                                         after not in (ProfilerAction.RECORD,
                                                                       ProfilerAction.RECORD_AND_SAVE)):
            self._harvest(True)
            self._enter(after)
        elif self._rec is None:
            self._enter(after)

    def stop(self):
        global _active
        if _active is not self:
            return
        self._harvest(self.schedule is None or self._action() == ProfilerAction.RECORD_AND_SAVE)
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        _active = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def events(self):
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._events.key_averages(group_by_input_shape)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (chrome://tracing, Perfetto): complete events in microseconds."""
        trace = [{"name": e.name, "ph": "X", "ts": e.start, "dur": e.cpu_time_total, "pid": 0, "tid": 0,
                  "cat": "cpu_op", "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
                 for e in self._events]
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)
        os.replace(tmp, path)


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """on_trace_ready handler writing each finished cycle's Chrome trace into dir_name."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{name}.{time.time_ns()}.pt.trace.json"))
    return handler


class record_function:
    """A named range in the profile (a context manager or a decorator); nothing when no profile records."""

    def __init__(self, name, args=None):
        self.name, self._ev = name, None

    def __enter__(self):
        rec = _active._rec if _active is not None else None
        if rec is not None and threading.get_ident() == rec.thread:
            self._ev = (rec, rec.open(self.name))
        return self

    def __exit__(self, *exc):
        if self._ev is not None:
            rec, ev = self._ev
            rec.close(ev)
            self._ev = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped
