"""torch.accelerator, torch.cpu, torch.jit and nn.DataParallel as a script written for torch meets them in
pyml: answers compared with torch's on this machine, DataParallel's state_dict keys and forward against
torch's, and clear errors where pyml has nothing to offer (TorchScript archives, several GPUs)."""
import io

import numpy as np
import pytest
import torch

import pyml


def test_accelerator_without_a_gpu_answers_like_torch():
    if pyml.cuda.is_available():
        pytest.skip("this machine has a GPU: see test_accelerator_is_cuda")
    a = pyml.accelerator
    assert a.is_available() is torch.accelerator.is_available() is False
    assert a.current_accelerator() is None and torch.accelerator.current_accelerator() is None
    assert a.device_count() == torch.accelerator.device_count() == 0
    for fn in (a.current_device_index, a.synchronize, a.memory_allocated):
        with pytest.raises(RuntimeError, match="no accelerator is available"):
            fn()
    a.empty_cache()  # nothing to free, nothing raised


@pytest.mark.cuda
def test_accelerator_is_cuda():
    a = pyml.accelerator
    assert a.is_available() and a.current_accelerator() == pyml.device("cuda")
    assert a.device_count() == pyml.cuda.device_count() and a.current_device_index() == pyml.cuda.current_device()
    x = pyml.ones(1000, device="cuda")
    assert a.memory_allocated() >= 4000 and a.get_device_capability()["major"] >= 8
    a.synchronize()
    del x


def test_cpu_module_answers_like_torch():
    c = pyml.cpu
    assert c.is_available() is torch.cpu.is_available() is True
    assert c.device_count() == torch.cpu.device_count() == 1
    assert c.current_device() == torch.cpu.current_device() == "cpu"
    c.synchronize()
    with c.stream(c.current_stream()):
        y = pyml.ones(3) * 2
    assert y.tolist() == [2.0, 2.0, 2.0] and c.current_stream().query() and c.Event().query()
    with pytest.raises(ValueError, match="the only CPU device is 'cpu', got 'cuda'"):
        c.set_device("cuda")


def test_device_generic_lookup():
    # scripts do getattr(torch, device.type).synchronize()
    for name in ("cpu", "cuda"):
        assert callable(getattr(pyml, name).synchronize) and callable(getattr(torch, name).synchronize)


def test_jit_passes_models_and_functions_through():
    m = pyml.nn.Linear(2, 2)
    f = lambda x: x * 2  # noqa: E731
    j = pyml.jit
    assert j.script(m) is m and j.trace(f, (pyml.ones(2),)) is f and j.trace_module(m, {}) is m
    assert j.freeze(m) is m and j.optimize_for_inference(m) is m
    assert j.ignore(f) is f and j.ignore(drop=True)(f) is f and j.unused(f) is f and j.export(f) is f
    assert j.is_scripting() is False and j.is_tracing() is False and j.annotate(int, 3) == 3
    assert j.Final[int] is int
    with pytest.raises(NotImplementedError, match="jit.save: pyml has no TorchScript archives"):
        j.save(m, io.BytesIO())
    with pytest.raises(NotImplementedError, match="jit.load: pyml cannot read TorchScript archives"):
        j.load(io.BytesIO())


def test_data_parallel_matches_torch_keys_and_forward():
    torch.manual_seed(0)
    ref = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()))
    ours = pyml.nn.DataParallel(pyml.nn.Sequential(pyml.nn.Linear(3, 4), pyml.nn.Tanh()))
    sd = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    assert list(ours.state_dict().keys()) == list(sd.keys()) == ["module.0.weight", "module.0.bias"]
    ours.load_state_dict({k: pyml.tensor(v) for k, v in sd.items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(pyml.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    assert isinstance(ours.module, pyml.nn.Sequential)
    ours.module.load_state_dict(ours.module.state_dict())  # the unwrapped model, as scripts save it
    with pytest.raises(NotImplementedError, match=r"DataParallel: pyml runs a model on one device; got device_ids \[0, 1\]"):
        pyml.nn.DataParallel(pyml.nn.Linear(1, 1), device_ids=[0, 1])
