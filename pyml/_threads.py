"""engine_threads: run a block with a given number of engine threads, restoring the previous number after.

Used by `pyml demo`, `pyml run --threads` and the recipes whose Config has `threads: Optional[int] = 1`:
small models gain nothing from a second thread, and on a busy machine waiting for it costs several
times the work. None leaves the setting alone (it is still restored afterwards).
"""
import contextlib

import pyml


@contextlib.contextmanager
def engine_threads(threads):
    previous = pyml.get_num_threads()
    if threads is not None:
        pyml.set_num_threads(threads)
    try:
        yield
    finally:
        pyml.set_num_threads(previous)
