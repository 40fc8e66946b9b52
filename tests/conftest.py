import glob
import os
import sys

import numpy as np
import pytest

# Tests import the installed pyml; a checkout holding a dev build (tools/dev-build.sh) is preferred.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if glob.glob(os.path.join(_ROOT, "pyml", "_C*.so")):
    sys.path.insert(0, _ROOT)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    import pyml
    if pyml.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_engine_threads():
    """A test that changes the engine's thread count must not change it for the tests after it."""
    import pyml
    before = pyml.get_num_threads()
    yield
    if pyml.get_num_threads() != before:
        pyml.set_num_threads(before)
