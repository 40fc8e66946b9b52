"""engine_threads: run a block with a given number of engine threads, restoring the previous number after.

The chapter-1-3 recipes work on small matrices (a few hundred rows, 100 columns, or two parameters),
where a second thread gains nothing and, on a busy machine, waiting for it costs several times the
work; so their Config has `threads: Optional[int] = 1` (None leaves the setting alone).
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
