"""pyml.cuda extras (is_bf16_supported, mem_get_info, nvtx, device_of, ...): the no-GPU answers against torch's
on this machine, and the GPU answers in tests marked cuda."""
import warnings

import pytest
import torch

import pyml

no_gpu = pytest.mark.skipif(pyml.cuda.is_available(), reason="checks the answers without a GPU")


@no_gpu
@pytest.mark.parametrize("name,args", [("is_bf16_supported", ()), ("is_bf16_supported", (False,)),
                                       ("is_tf32_supported", ()), ("is_initialized", ()), ("get_arch_list", ())])
def test_no_gpu_queries_answer_like_torch(name, args):
    assert not torch.cuda.is_available()
    assert getattr(pyml.cuda, name)(*args) == getattr(torch.cuda, name)(*args)


@no_gpu
@pytest.mark.parametrize("call", [
    lambda: pyml.cuda.mem_get_info(), lambda: pyml.cuda.memory_summary(), lambda: pyml.cuda.memory_cached(),
    lambda: pyml.cuda.max_memory_cached(), lambda: pyml.cuda.memory_stats_as_nested_dict(),
    lambda: pyml.cuda.reset_max_memory_allocated(), lambda: pyml.cuda.reset_accumulated_memory_stats(),
    lambda: pyml.cuda.set_per_process_memory_fraction(0.5), lambda: pyml.cuda.get_per_process_memory_fraction(),
])
def test_no_gpu_device_calls_raise_runtime_error(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
            call()


@no_gpu
def test_mem_get_info_raises_in_torch_too():
    with pytest.raises((RuntimeError, AssertionError)):
        torch.cuda.mem_get_info()


def test_device_of_and_stream_context_are_no_ops_for_cpu():
    with pyml.cuda.device_of(pyml.zeros(2)):
        y = pyml.ones(2) + 1
    with torch.cuda.device_of(torch.zeros(2)):
        ty = torch.ones(2) + 1
    assert y.tolist() == ty.tolist()
    with pyml.cuda.StreamContext(None) as s:
        assert s is None


def test_nvtx_keeps_nesting_and_ipc_collect_is_a_no_op():
    nvtx = pyml.cuda.nvtx
    assert [nvtx.range_push("a"), nvtx.range_push("b")] == [0, 1]
    assert nvtx.range_pop() == 1 and nvtx.range_pop() == 0 and nvtx.range_pop() == -1
    assert nvtx.mark("m") is None
    with nvtx.range("step {}", 3):
        assert nvtx.depth == 1
    assert nvtx.depth == 0
    assert pyml.cuda.ipc_collect() is None


def test_check_error():
    pyml.cuda.check_error(0)
    with pytest.raises(RuntimeError, match="check_error: CUDA call failed, got error code 2"):
        pyml.cuda.check_error(2)


def test_names_exported():
    for n in ("is_bf16_supported", "mem_get_info", "nvtx", "device_of", "StreamContext", "memory_summary"):
        assert n in pyml.cuda.__all__ and hasattr(torch.cuda, n)


@pytest.mark.cuda
def test_gpu_answers():
    major = pyml.cuda.get_device_capability()[0]
    assert pyml.cuda.is_bf16_supported() == (major >= 8) == pyml.cuda.is_tf32_supported()
    assert pyml.cuda.is_initialized() and pyml.cuda.get_arch_list()
    free, total = pyml.cuda.mem_get_info()
    assert 0 < free <= total == pyml.cuda.get_device_properties().total_memory
    x = pyml.zeros(1 << 20, device="cuda")
    nested = pyml.cuda.memory_stats_as_nested_dict()
    assert nested["allocated_bytes"] >= x.numel() * 4
    assert "Allocated memory" in pyml.cuda.memory_summary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert pyml.cuda.memory_cached() == pyml.cuda.memory_reserved()
        assert pyml.cuda.max_memory_cached() == pyml.cuda.max_memory_reserved()
        pyml.cuda.reset_max_memory_allocated()
    pyml.cuda.reset_accumulated_memory_stats()
    pyml.cuda.set_per_process_memory_fraction(0.25)
    assert pyml.cuda.get_per_process_memory_fraction() == 0.25
    with pytest.raises(ValueError, match="fraction must be in \\[0, 1\\], got 1.5"):
        pyml.cuda.set_per_process_memory_fraction(1.5)
    with pyml.cuda.device_of(x):
        assert pyml.cuda.current_device() == 0
    s = pyml.cuda.Stream()
    with pyml.cuda.StreamContext(s):
        assert pyml.cuda.current_stream() == s
