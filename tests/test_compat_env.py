"""pyml/_ops/compat_env.py and compat_legacy.py against torch: asarray, frombuffer, scalar_tensor, the default
device, the deterministic-algorithms flags, small runtime queries, the legacy tensor types (FloatTensor & co),
Tensor.type / Tensor.new, set_default_tensor_type and pyml.GradScaler."""
import warnings

import numpy as np
import pytest
import torch

import pyml
from compat_helpers import check


# ---------------------------------------------------------------------------- asarray
def test_asarray_shares_or_copies_like_torch():
    a = np.arange(3.0)
    p, t = pyml.asarray(a), torch.asarray(a)
    a[0] = 9.0
    check(p, t)
    assert p.dtype is pyml.float64
    c = pyml.asarray(a, copy=True)
    a[1] = -1.0
    assert c.tolist()[1] == 1.0 and p.tolist()[1] == -1.0
    x = pyml.ones(2)
    assert pyml.asarray(x) is x and pyml.asarray(x, dtype=pyml.float32) is x
    y = pyml.asarray(x, copy=True)
    assert y is not x and not pyml.shares_memory(x, y)
    check(pyml.asarray(a, dtype=pyml.float32), torch.asarray(a, dtype=torch.float32))
    for data in ([1, 2], [1.0, 2.0], 3.5, [[True, False]]):
        check(pyml.asarray(data), torch.asarray(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch warns that bytes are not writable)
        check(pyml.asarray(b"abcd", dtype=pyml.uint8), torch.asarray(b"abcd", dtype=torch.uint8))
    r = pyml.asarray([1.0, 2.0], requires_grad=True)
    assert r.requires_grad and r.is_leaf
    s = pyml.asarray(x, requires_grad=True)
    assert s.requires_grad and not x.requires_grad and pyml.shares_memory(s, x)


def test_asarray_copy_false_errors():
    with pytest.raises(ValueError, match="copy=False"):
        pyml.asarray([1, 2], copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        pyml.asarray(np.arange(3.0), dtype=pyml.float32, copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        pyml.asarray(pyml.ones(2), dtype=pyml.float64, copy=False)
    with pytest.raises(ValueError):
        torch.asarray([1, 2], copy=False)


# ---------------------------------------------------------------------------- frombuffer
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
                                   "bool", "bfloat16"])
def test_frombuffer_matches_torch(dtype):
    raw = bytearray(np.random.default_rng(0).integers(0, 2 if dtype == "bool" else 256, 64, dtype=np.uint8))
    size = getattr(torch, dtype).itemsize
    for count, offset in ((-1, 0), (3, size), (-1, 2 * size)):
        p = pyml.frombuffer(raw, dtype=getattr(pyml, dtype), count=count, offset=offset)
        t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, dtype), count=count, offset=offset)
        check(p, t, 0, 0)


def test_frombuffer_shares_memory_and_errors():
    raw = bytearray(b"abcdefgh")
    p = pyml.frombuffer(raw, dtype=pyml.int16, count=2, offset=2)
    raw[2] = 0
    assert p.tolist()[0] == 25600  # writes to the buffer show through
    p[1] = 0
    assert raw[4:6] == b"\x00\x00"  # and the other way round
    with pytest.warns(UserWarning, match="not writable"):
        pyml.frombuffer(b"abcd", dtype=pyml.uint8)
    assert pyml.frombuffer(bytearray(b"ab"), dtype=pyml.uint8, requires_grad=False).tolist() == [97, 98]
    with pytest.raises(ValueError, match="multiple of element size"):
        pyml.frombuffer(bytearray(b"abc"), dtype=pyml.int16)
    with pytest.raises(ValueError, match="offset"):
        pyml.frombuffer(bytearray(b"abcd"), dtype=pyml.int16, offset=5)
    with pytest.raises(ValueError, match="requested buffer length"):
        pyml.frombuffer(bytearray(b"abcd"), dtype=pyml.int16, count=3)
    with pytest.raises(ValueError, match="must not be 0"):
        pyml.frombuffer(bytearray(b""), dtype=pyml.int16)


# ---------------------------------------------------------------------------- scalar_tensor, default device
def test_scalar_tensor():
    for s, kw, tkw in ((3, {}, {}), (True, {}, {}), (2.5, {}, {}), (3, {"dtype": pyml.int64}, {"dtype": torch.int64})):
        check(pyml.scalar_tensor(s, **kw), torch.scalar_tensor(s, **tkw))
    r = pyml.scalar_tensor(1.5, dtype=pyml.float64, requires_grad=True)
    assert r.requires_grad and r.shape == ()


def test_default_device():
    assert pyml.get_default_device() == pyml.device("cpu") and str(torch.get_default_device()) == "cpu"
    pyml.set_default_device("cpu")
    pyml.set_default_device(None)
    pyml.set_default_device(pyml.device("cpu"))
    with pytest.raises(RuntimeError, match="device="):
        pyml.set_default_device("cuda")
    with pytest.raises(ValueError):
        pyml.set_default_device("foo")
    assert pyml.zeros(1).device == pyml.get_default_device()


# ---------------------------------------------------------------------------- determinism
def test_deterministic_flags():
    try:
        assert pyml.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled() is False
        pyml.use_deterministic_algorithms(True)
        assert pyml.are_deterministic_algorithms_enabled() and not pyml.is_deterministic_algorithms_warn_only_enabled()
        assert pyml.get_deterministic_debug_mode() == 2
        pyml.use_deterministic_algorithms(True, warn_only=True)
        assert pyml.is_deterministic_algorithms_warn_only_enabled() and pyml.get_deterministic_debug_mode() == 1
        pyml.set_deterministic_debug_mode("default")
        assert not pyml.are_deterministic_algorithms_enabled() and pyml.get_deterministic_debug_mode() == 0
        pyml.set_deterministic_debug_mode(2)
        assert pyml.are_deterministic_algorithms_enabled()
        with pytest.raises(TypeError, match="bool"):
            pyml.use_deterministic_algorithms(1)
        with pytest.raises(TypeError):
            torch.use_deterministic_algorithms(1)
        with pytest.raises(ValueError, match="mode"):
            pyml.set_deterministic_debug_mode("loud")
    finally:
        pyml.use_deterministic_algorithms(False)


def test_runtime_queries():
    x = pyml.zeros(2, 3)
    assert pyml.typename(x) == "pyml.FloatTensor" and torch.typename(torch.zeros(1)) == "torch.FloatTensor"
    assert pyml.typename(3) == torch.typename(3) == "int"
    assert pyml.is_complex(x) is False and pyml.is_storage(x) is False
    assert pyml.get_device(x) == torch.get_device(torch.zeros(1)) == -1
    try:
        pyml.set_warn_always(True)
        assert pyml.is_warn_always_enabled()
    finally:
        pyml.set_warn_always(False)
    assert not pyml.is_warn_always_enabled()
    assert pyml.get_num_interop_threads() >= 1 and torch.get_num_interop_threads() >= 1
    try:
        pyml.set_num_interop_threads(3)
        assert pyml.get_num_interop_threads() == 3
    finally:
        pyml.set_num_interop_threads(1)
    with pytest.raises(ValueError, match="positive"):
        pyml.set_num_interop_threads(0)


# ---------------------------------------------------------------------------- legacy tensor types
NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
         "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", NAMES)
def test_legacy_types_match_torch(name):
    P, T = getattr(pyml, name), getattr(torch, name)
    assert str(P.dtype).split(".")[-1] == str(T.dtype).split(".")[-1]
    assert repr(P) == f"<class 'pyml.{name}'>"
    p, t = P(2, 3), T(2, 3)
    assert p.shape == t.shape and p.dtype is P.dtype and not bool(p.any())  # pyml zero-fills
    check(P([1, 0, 1]), T([1, 0, 1]))
    check(P(np.array([1, 2])), T(np.array([1, 2])))
    assert P().shape == T().shape == (0,)
    assert P(pyml.Size([2])).shape == (2,)
    assert isinstance(p, P) and isinstance(t, T)
    assert p.type() == "pyml." + name and t.type() == "torch." + name
    q = pyml.zeros(2, dtype=pyml.float64).type(P)
    assert q.dtype is P.dtype and q.type() == "pyml." + name
    assert pyml.zeros(2).type("torch." + name).dtype is P.dtype
    assert pyml.zeros(2).type("pyml." + name).dtype is P.dtype


def test_legacy_edge_cases_and_errors():
    f = pyml.ones(2)
    assert pyml.FloatTensor(f) is f and torch.FloatTensor(torch.ones(2)).dtype is torch.float32
    assert not isinstance(f, pyml.LongTensor) and not isinstance([1.0], pyml.FloatTensor)
    with pytest.raises(TypeError):
        pyml.FloatTensor(pyml.ones(2, dtype=pyml.int64))
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.ones(2, dtype=torch.int64))
    with pytest.raises(TypeError, match="sequence"):
        pyml.FloatTensor(2.5)
    with pytest.raises(ValueError, match="invalid type"):
        pyml.zeros(2).type("pyml.NopeTensor")
    assert pyml.zeros(2).type(pyml.int8).dtype is pyml.int8
    x = pyml.zeros(2, dtype=pyml.int32)
    assert x.new(3).shape == (3,) and x.new(3).dtype is pyml.int32 and x.new().shape == (0,)
    assert x.new([1, 2]).tolist() == [1, 2] and x.new([1, 2]).dtype is pyml.int32
    assert torch.zeros(2, dtype=torch.int32).new([1, 2]).dtype is torch.int32


def test_set_default_tensor_type():
    before = pyml.get_default_dtype()
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            pyml.set_default_tensor_type(pyml.DoubleTensor)
        assert pyml.get_default_dtype() is pyml.float64 and pyml.zeros(1).dtype is pyml.float64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pyml.set_default_tensor_type("torch.FloatTensor")
            assert pyml.get_default_dtype() is pyml.float32
            with pytest.raises(TypeError, match="floating"):
                pyml.set_default_tensor_type(pyml.LongTensor)
            with pytest.raises(RuntimeError, match="cpu"):
                pyml.set_default_tensor_type("torch.cuda.FloatTensor")
    finally:
        pyml.set_default_dtype(before)


def test_grad_scaler_alias():
    assert pyml.GradScaler is pyml.amp.GradScaler and torch.GradScaler is torch.amp.GradScaler
    s = pyml.GradScaler("cpu", init_scale=4.0)
    assert s.scale(pyml.tensor(2.0)).item() == 8.0
