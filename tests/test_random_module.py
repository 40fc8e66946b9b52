"""pyml.random (torch.random's functions): seeding, the CPU state round trip, and fork_rng restoring
the CPU generator (and the CUDA ones where a GPU exists)."""
import warnings

import pytest
import torch

import pyml
import pyml.random as prandom


def test_exports_match_torch_random():
    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng",
                 "default_generator"):
        assert hasattr(torch.random, name) and hasattr(prandom, name), name
    assert pyml.random is prandom


def test_manual_seed_and_initial_seed():
    g = prandom.manual_seed(1234)
    assert isinstance(g, pyml.Generator)
    assert prandom.initial_seed() == 1234 == pyml.initial_seed()
    a = pyml.rand(5).tolist()
    prandom.manual_seed(1234)
    assert pyml.rand(5).tolist() == a
    prandom.manual_seed(-1)  # negative seeds wrap like torch's
    assert prandom.initial_seed() == torch.random.manual_seed(-1).initial_seed()


def test_seed_is_fresh_and_recorded():
    s = prandom.seed()
    assert isinstance(s, int) and prandom.initial_seed() == s
    assert prandom.seed() != s


def test_get_set_rng_state_round_trip():
    prandom.manual_seed(5)
    pyml.randn(3)
    state = prandom.get_rng_state()
    assert state.dtype == pyml.uint8 and state.device.type == "cpu"
    a = pyml.randn(7).tolist()
    prandom.set_rng_state(state)
    assert pyml.randn(7).tolist() == a
    with pytest.raises(TypeError, match="uint8"):
        prandom.set_rng_state(pyml.zeros(16))


def test_fork_rng_restores_cpu_state():
    prandom.manual_seed(11)
    before = prandom.get_rng_state().tolist()
    with prandom.fork_rng():
        pyml.rand(100)
        prandom.manual_seed(99)
        pyml.randn(3)
    assert prandom.get_rng_state().tolist() == before
    after_fork = pyml.rand(4).tolist()
    prandom.manual_seed(11)
    assert pyml.rand(4).tolist() == after_fork


def test_fork_rng_restores_on_exception_and_devices_argument():
    prandom.manual_seed(3)
    before = prandom.get_rng_state().tolist()
    with pytest.raises(KeyError):
        with prandom.fork_rng(devices=[], device_type="cuda"):
            pyml.rand(10)
            raise KeyError("boom")
    assert prandom.get_rng_state().tolist() == before
    with prandom.fork_rng(devices=iter([])):  # an iterator is read once
        pyml.rand(2)
    assert prandom.get_rng_state().tolist() == before


def test_fork_rng_disabled_does_not_restore():
    prandom.manual_seed(8)
    before = prandom.get_rng_state().tolist()
    with prandom.fork_rng(enabled=False):
        pyml.rand(3)
    assert prandom.get_rng_state().tolist() != before


def test_fork_rng_is_a_decorator_friendly_context_manager():
    prandom.manual_seed(21)
    before = prandom.get_rng_state().tolist()

    @prandom.fork_rng()
    def draw():
        return pyml.rand(3).tolist()
    first = draw()
    assert draw() == first  # each call starts from the same, restored state
    assert prandom.get_rng_state().tolist() == before


def test_fork_rng_bad_device_type():
    with pytest.raises(ValueError, match="device_type must be 'cuda'"):
        with prandom.fork_rng(device_type="xpu"):
            pass


def test_fork_rng_cuda_states():
    """All devices by default: with a GPU its generator comes back too; without one only the CPU's."""
    n = pyml.cuda.device_count()
    cpu_before = prandom.get_rng_state().tolist()
    cuda_before = pyml.cuda.get_rng_state(0).tolist() if n else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # more than one GPU: torch's warning about forking every device
        with prandom.fork_rng():
            pyml.rand(5)
            if n:
                pyml.rand(5, device="cuda")
                assert pyml.cuda.get_rng_state(0).tolist() != cuda_before
    assert prandom.get_rng_state().tolist() == cpu_before
    if n:
        assert pyml.cuda.get_rng_state(0).tolist() == cuda_before
