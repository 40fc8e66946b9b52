import glob
import os
import sys

import numpy as np
import pytest

# Tests import the installed pyml; a checkout holding a dev build (tools/dev-build.sh) is preferred.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if glob.glob(os.path.join(_ROOT, "pyml", "_C*.so")):
    sys.path.insert(0, _ROOT)


def pytest_configure(config):
    # tests/test_isa_variants.py reruns the kernel tests in a subprocess with this set, so the AVX2 and
    # generic copies of the kernels are checked on an AVX-512 machine too (read by the tests only)
    isa = os.environ.get("PYML_TEST_CPU_ISA")
    if isa:
        import pyml
        pyml._C._set_cpu_isa(isa)
        assert pyml.info()["simd"] == isa


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


@pytest.fixture
def stream_bytes():
    """set(n): outputs of at least n bytes go out by streaming stores (csrc/cpu/prefetch.h); the
    default threshold is back after the test."""
    import pyml
    yield pyml._C._set_stream_bytes
    pyml._C._set_stream_bytes(-1)


@pytest.fixture(autouse=True)
def _restore_engine_threads():
    """A test that changes the engine's thread count must not change it for the tests after it."""
    import pyml
    before = pyml.get_num_threads()
    yield
    if pyml.get_num_threads() != before:
        pyml.set_num_threads(before)
