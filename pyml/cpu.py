"""torch.cpu for pyml: the host as a device, for device-generic scripts (`getattr(torch, device_type)`).
CPU work runs synchronously, so synchronize and the stream context have nothing to wait for."""
import contextlib

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize", "current_stream",
           "stream", "Stream", "Event", "is_initialized"]


def is_available():
    return True


def is_initialized():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def set_device(device):
    """Accepted for 'cpu' (and index 0), as in torch; there is only one CPU device."""
    if str(device) not in ("cpu", "0", "cpu:0"):
        raise ValueError(f"cpu.set_device: the only CPU device is 'cpu', got {device!r}")


def synchronize(device=None):
    return None


class Stream:
    """The CPU's one stream: work is already finished when the call that launched it returns."""

    def __init__(self, priority=-1):
        self.priority = priority

    def wait_stream(self, stream):
        return None

    def synchronize(self):
        return None

    def query(self):
        return True


class Event:
    def __init__(self, enable_timing=False):
        self.enable_timing = enable_timing

    def record(self, stream=None):
        return None

    def synchronize(self):
        return None

    def query(self):
        return True

    def wait(self, stream=None):
        return None


_STREAM = Stream()


def current_stream(device=None):
    return _STREAM


@contextlib.contextmanager
def stream(stream):
    yield
