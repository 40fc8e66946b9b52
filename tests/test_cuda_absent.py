"""Without a GPU (or a CUDA build) pyml works on the CPU and every CUDA entry point says why it can't run."""
import pytest

import pyml

pytestmark = pytest.mark.skipif(pyml.cuda.is_available(), reason="a GPU is present: tests/test_cuda.py runs instead")


def test_queries_report_no_gpu():
    assert pyml.cuda.is_available() is False and pyml.cuda.device_count() == 0
    pyml.cuda.empty_cache()  # a no-op, never an error


@pytest.mark.parametrize("call", [
    lambda: pyml.cuda.synchronize(), lambda: pyml.cuda.get_device_name(0), lambda: pyml.cuda.memory_allocated(),
    lambda: pyml.cuda.get_device_properties(), lambda: pyml.cuda.Stream(), lambda: pyml.cuda.current_stream(),
    lambda: pyml.cuda.set_device(0), lambda: pyml.cuda.reset_peak_memory_stats(),
])
def test_device_calls_raise_a_clear_error(call):
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        call()


def test_creating_a_cuda_tensor_raises():
    with pytest.raises(RuntimeError, match="device: (CUDA device index must be in \\[0, 0\\)|pyml was built without CUDA)"):
        pyml.zeros(3, device="cuda")
    with pytest.raises(RuntimeError, match="device: "):
        pyml.ones(2).cuda()
    assert issubclass(pyml.cuda.OutOfMemoryError, RuntimeError)
