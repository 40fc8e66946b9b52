"""Streams and events. Kernels and device-side copies launch asynchronously on the current stream
of their device (per host thread); copies to the host wait for it. The null stream is the device's
default stream."""
import contextlib

from .. import _C


def _idx(device, op):
    from . import _index, _require
    _require(op)
    return _index(device, op)


class Stream:
    """A CUDA stream on `device`; priority: lower numbers run first (0 is the default)."""

    def __init__(self, device=None, priority=0, _handle=None):
        self.device_index = _idx(device, "Stream")
        self._owned = _handle is None
        self.cuda_stream = _C.cuda_stream_create(self.device_index, priority) if _handle is None else _handle

    def __del__(self):
        if getattr(self, "_owned", False) and self.cuda_stream:
            try:
                _C.cuda_stream_destroy(self.cuda_stream, self.device_index)
            except Exception:
                pass

    def synchronize(self):
        _C.cuda_stream_synchronize(self.cuda_stream, self.device_index)

    def query(self):
        return _C.cuda_stream_query(self.cuda_stream, self.device_index)

    def wait_event(self, event):
        _C.cuda_stream_wait_event(self.cuda_stream, event._handle(self.device_index), self.device_index)

    def wait_stream(self, other):
        self.wait_event(other.record_event())

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and (self.cuda_stream, self.device_index) == (other.cuda_stream, other.device_index)

    def __hash__(self):
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self):
        return f"<pyml.cuda.Stream device=cuda:{self.device_index} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A marker in a stream's work; with enable_timing, elapsed_time between two gives milliseconds."""

    def __init__(self, enable_timing=False):
        self.enable_timing = enable_timing
        self._event, self._device = None, None

    def _handle(self, device_index):
        if self._event is None:
            self._device = device_index
            self._event = _C.cuda_event_create(device_index, self.enable_timing)
        return self._event

    def __del__(self):
        if getattr(self, "_event", None):
            try:
                _C.cuda_event_destroy(self._event, self._device)
            except Exception:
                pass

    def record(self, stream=None):
        stream = current_stream() if stream is None else stream
        _C.cuda_event_record(self._handle(stream.device_index), stream.cuda_stream, stream.device_index)

    def wait(self, stream=None):
        (current_stream() if stream is None else stream).wait_event(self)

    def query(self):
        return True if self._event is None else _C.cuda_event_query(self._event)

    def synchronize(self):
        if self._event is not None:
            _C.cuda_event_synchronize(self._event)

    def elapsed_time(self, end_event):
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Event.elapsed_time: both events must be created with enable_timing=True")
        if self._event is None or end_event._event is None:
            raise RuntimeError("Event.elapsed_time: both events must be recorded first")
        return _C.cuda_event_elapsed_ms(self._event, end_event._event)


def current_stream(device=None):
    i = _idx(device, "current_stream")
    return Stream(i, _handle=_C.cuda_current_stream(i))


def default_stream(device=None):
    return Stream(_idx(device, "default_stream"), _handle=0)


def set_stream(stream):
    _C.cuda_set_current_stream(stream.device_index, stream.cuda_stream)


@contextlib.contextmanager
def stream(s):
    """Makes `s` the current stream of its device for the body (None: no change)."""
    if s is None:
        yield
        return
    prev = _C.cuda_current_stream(s.device_index)
    set_stream(s)
    try:
        yield s
    finally:
        _C.cuda_set_current_stream(s.device_index, prev)
