"""NumPy and DLPack interop: zero-copy sharing both ways (writes visible on each side, strides and
offsets preserved), lifetimes (the producer's memory outlives every consumer view; a DLPack deleter
runs exactly once, checked with a ctypes-built producer), copy semantics and bad inputs."""
import ctypes
import gc
import weakref

import numpy as np
import pytest
import torch
import torch.utils.dlpack

import pyml

NP_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]
ALL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def sample(np_dtype, shape=(3, 4)):
    a = np.arange(int(np.prod(shape))).reshape(shape)
    return (a % 2 == 0) if np_dtype is np.bool_ else a.astype(np_dtype)


def one(x):
    """A value of x's dtype different from sample()'s first element."""
    return True if x.dtype in (np.bool_, torch.bool) or x.dtype is pyml.bool else 7


# ---------------------------------------------------------------------------- NumPy: from_numpy / numpy()
@pytest.mark.parametrize("np_dtype", NP_DTYPES)
def test_from_numpy_shares_memory_both_ways(np_dtype):
    a = sample(np_dtype)
    t = pyml.from_numpy(a)
    assert t.dtype.name == np.dtype(np_dtype).name.replace("bool", "bool") and t.shape == (3, 4)
    np.testing.assert_array_equal(t.numpy(), a)
    a[0, 0] = 1
    assert t.numpy()[0, 0] == 1
    t.fill_(0)
    assert not a.any()


def test_from_numpy_views_keep_strides_and_offsets():
    base = np.arange(60.0).reshape(6, 10)
    v = base[1:5:2, 3::3]  # offset and steps in both dims
    t = pyml.from_numpy(v)
    assert t.shape == (2, 3) and t.stride() == (20, 3)
    np.testing.assert_array_equal(t.numpy(), v)
    t.fill_(-1)
    assert (base[1:5:2, 3::3] == -1).all() and base[0, 0] == 0 and (base == -1).sum() == 6
    tt = pyml.from_numpy(base.T)
    assert tt.stride() == (1, 10)
    np.testing.assert_array_equal(tt.numpy(), base.T)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (2, 0, 3), (1, 1)])
def test_from_numpy_small_shapes(shape):
    a = np.ones(shape, dtype=np.float32)
    t = pyml.from_numpy(a)
    assert tuple(t.shape) == shape
    np.testing.assert_array_equal(t.numpy(), a)


def test_from_numpy_keeps_the_array_alive():
    a = np.arange(1000.0)
    ref = weakref.ref(a)
    t = pyml.from_numpy(a)
    del a
    gc.collect()
    assert ref() is not None
    assert t.numpy()[999] == 999.0
    v = t.reshape(10, 100).t()  # views share the storage, so they keep it alive too
    del t
    gc.collect()
    assert ref() is not None and v.numpy()[99, 9] == 999.0
    del v
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("tdtype", ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"])
def test_numpy_is_zero_copy_including_views(tdtype):
    d = getattr(pyml, tdtype)
    t = pyml.zeros(4, 6, dtype=d)
    a = t.numpy()
    a[1, 2] = one(a)
    assert t.tolist()[1][2] == one(a)
    v = pyml.as_strided(t, (2, 3), (12, 2), 1)  # offset 1, strides (12, 2)
    av = v.numpy()
    assert av.strides == (12 * d.itemsize, 2 * d.itemsize)
    assert np.shares_memory(av, a) and av.__array_interface__["data"][0] == a.__array_interface__["data"][0] + d.itemsize
    av[...] = one(a)
    assert a[0, 1] == one(a) and a[2, 5] == one(a) and a[0, 0] == 0
    at = t.t().numpy()
    assert at.shape == (6, 4) and np.shares_memory(at, a)


def test_numpy_array_outlives_the_tensor():
    t = pyml.arange(10)
    a = t.numpy()
    del t
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(10))  # the array holds the storage


def test_array_protocol_copy_semantics():
    t = pyml.zeros(3)
    shared = np.asarray(t)
    shared[0] = 5
    assert t.tolist()[0] == 5  # asarray: zero-copy
    copied = np.array(t)
    copied[1] = 6
    assert t.tolist()[1] == 0  # np.array copies by default
    conv = np.asarray(t, dtype=np.float64)
    conv[2] = 7
    assert conv.dtype == np.float64 and t.tolist()[2] == 0
    assert np.shares_memory(np.array(t, copy=False), shared)
    with pytest.raises(ValueError, match="__array__: converting a pyml.float32 tensor on cpu to NumPy float64 needs a"):
        np.array(t, dtype=np.float64, copy=False)
    b = pyml.tensor([1.5, -2.0], dtype=pyml.bfloat16)
    assert np.asarray(b).dtype == np.float32 and np.asarray(b).tolist() == [1.5, -2.0]
    with pytest.raises(ValueError, match="__array__: converting a pyml.bfloat16 tensor"):
        np.array(b, copy=False)
    g = pyml.ones(2, requires_grad=True)
    assert np.asarray(g).tolist() == [1, 1]


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: pyml.from_numpy(np.arange(5)[::-1]), ValueError, "from_numpy: at least one stride .* is negative"),
    (lambda: pyml.from_numpy(np.zeros(2, dtype=np.uint16)), TypeError, "from_numpy: can't convert NumPy array of type"),
    (lambda: pyml.from_numpy(np.zeros(2, dtype=np.clongdouble)), TypeError, "from_numpy: can't convert"),
    (lambda: pyml.from_numpy(np.array(["a"])), TypeError, "from_numpy: can't convert"),
    (lambda: pyml.from_numpy(np.array([None])), TypeError, "from_numpy: can't convert"),
    (lambda: pyml.from_numpy(np.zeros(2, dtype=">f4")), ValueError, "from_numpy: .* byte order"),
    (lambda: pyml.from_numpy(np.frombuffer(bytearray(13), dtype=np.float32, offset=1, count=3)), ValueError,
     "from_numpy: .* not aligned"),
    (lambda: pyml.from_numpy([1.0, 2.0]), TypeError, "from_numpy: expected np.ndarray"),
    (lambda: pyml.tensor([1.0], dtype=pyml.bfloat16).numpy(), TypeError, "numpy: dtype bfloat16 has no NumPy"),
    (lambda: pyml.ones(2, requires_grad=True).numpy(), RuntimeError, "numpy: can't call numpy\\(\\) on a tensor that"),
])
def test_numpy_bad_inputs(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_from_numpy_read_only_warns_and_shares():
    a = np.arange(4.0)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="from_numpy: the given NumPy array is not writable"):
        t = pyml.from_numpy(a)
    assert t.data_ptr() == a.__array_interface__["data"][0]


# ---------------------------------------------------------------------------- DLPack with NumPy
@pytest.mark.parametrize("np_dtype", NP_DTYPES)
def test_dlpack_numpy_both_ways(np_dtype):
    a = sample(np_dtype)
    t = pyml.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.data_ptr() == a.__array_interface__["data"][0]
    t.fill_(0)
    assert not a.any()
    b = np.from_dlpack(t)
    assert b.dtype == a.dtype and np.shares_memory(b, a)
    b[2, 3] = one(b)
    assert t.numpy()[2, 3] == one(b)


def test_dlpack_numpy_views():
    base = np.arange(60.0).reshape(6, 10)
    v = base[1::2, 8:1:-3][:, ::-1]  # positive strides after the double flip, with an offset
    t = pyml.from_dlpack(v)
    assert t.stride() == tuple(s // 8 for s in v.strides)
    np.testing.assert_array_equal(t.numpy(), v)
    t.fill_(-1)
    assert (v == -1).all() and (base == -1).sum() == v.size
    pbase = pyml.arange(30.0, dtype=pyml.float64)
    pv = pyml.as_strided(pbase, (3, 4), (8, 2), 3)
    n = np.from_dlpack(pv)
    assert n.strides == (64, 16) and n[0, 0] == 3.0 and n[2, 3] == 3 + 16 + 6
    n[1, 1] = -5
    assert pbase.tolist()[13] == -5 and pbase.tolist()[12] == 12 and pv.tolist()[1][1] == -5


def test_dlpack_numpy_read_only_and_copy():
    a = np.arange(4.0)
    a.flags.writeable = False
    t = pyml.from_dlpack(a)  # versioned capsule flags it read-only: pyml copies
    t.fill_(9)
    assert a.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="from_dlpack: the producer exported read-only memory"):
        pyml.from_dlpack(a, copy=False)
    w = np.arange(3.0)
    c = pyml.from_dlpack(w, copy=True)
    c.fill_(1)
    assert w.tolist() == [0, 1, 2]
    src = pyml.arange(3.0)
    n = np.from_dlpack(src, copy=True)
    n[0] = 10
    assert src.tolist()[0] == 0
    assert np.shares_memory(np.from_dlpack(src, copy=False), np.from_dlpack(src))


def test_dlpack_numpy_bad_inputs():
    with pytest.raises(ValueError, match="from_dlpack: negative strides are not supported"):
        pyml.from_dlpack(np.arange(5.0)[::-1])
    z = np.array([1 + 2j, -3j], dtype=np.complex128)  # complex: kDLComplex, zero-copy
    t = pyml.from_dlpack(z)
    assert t.dtype is pyml.complex128 and t.tolist() == z.tolist() and np.shares_memory(np.from_dlpack(t), z)
    with pytest.raises(TypeError, match="from_dlpack: unsupported DLPack dtype.*code 1, bits 16"):
        pyml.from_dlpack(np.zeros(3, dtype=np.uint16))
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__ or a DLPack capsule"):
        pyml.from_dlpack([1, 2, 3])


def test_numpy_array_outlives_pyml_producer():
    a = np.arange(100.0)
    ref = weakref.ref(a)
    t = pyml.from_numpy(a)  # storage owned by the array
    del a
    n = np.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None and n[99] == 99.0
    del n
    gc.collect()
    assert ref() is None


def test_pyml_tensor_outlives_numpy_producer():
    a = np.arange(50.0)
    ref = weakref.ref(a)
    t = pyml.from_dlpack(a)
    del a
    gc.collect()
    assert ref() is not None and t.tolist()[49] == 49.0  # numpy's DLPack context holds the array
    del t
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------- DLPack with torch
def torch_sample(name, shape=(3, 4)):
    n = int(np.prod(shape))
    if name == "bool":
        return (torch.arange(n) % 3 == 0).reshape(shape)
    return torch.arange(n).reshape(shape).to(getattr(torch, name))


@pytest.mark.parametrize("name", ALL)
def test_dlpack_torch_both_ways(name):
    src = torch_sample(name)
    t = pyml.from_dlpack(src)
    assert t.dtype.name == name and t.shape == (3, 4) and t.data_ptr() == src.data_ptr()
    assert t.tolist() == src.tolist()
    t.fill_(1)
    assert src.tolist() == torch.ones(3, 4, dtype=src.dtype).tolist()
    back = torch.from_dlpack(t)
    assert back.dtype == src.dtype and back.data_ptr() == src.data_ptr()
    back[0, 0] = 0
    assert t.tolist()[0][0] == 0


@pytest.mark.parametrize("name", ["bool", "bfloat16", "int16", "float32"])
def test_dlpack_torch_capsules(name):
    src = torch_sample(name, (5,))
    cap = torch.utils.dlpack.to_dlpack(src)
    t = pyml.from_dlpack(cap)
    assert t.tolist() == src.tolist()
    p = pyml.from_dlpack(src.clone())
    back = torch.utils.dlpack.from_dlpack(pyml.to_dlpack(p))
    assert back.dtype == src.dtype and back.data_ptr() == p.data_ptr()
    back2 = torch.from_dlpack(p.__dlpack__(max_version=(1, 0)))
    assert back2.data_ptr() == p.data_ptr()


@pytest.mark.parametrize("view", [
    lambda x: x.t(), lambda x: x[1:, ::2], lambda x: x[::2, 1:3], lambda x: x[2], lambda x: x[:, 1],
    lambda x: x.unsqueeze(1).expand(4, 3, 6), lambda x: x[1:1],
])
def test_dlpack_torch_views_keep_geometry(view):
    base = torch.arange(24.0).reshape(4, 6)
    v = view(base)
    t = pyml.from_dlpack(v)
    assert tuple(t.shape) == tuple(v.shape) and t.stride() == v.stride()
    assert t.tolist() == v.tolist()
    if v.numel():
        assert t.data_ptr() == v.data_ptr()
    back = torch.from_dlpack(t)
    assert back.stride() == v.stride() and torch.equal(back, v)


def test_dlpack_torch_writes_through_strided_views():
    base = torch.zeros(4, 6)
    t = pyml.from_dlpack(base[1:, ::2])
    t.fill_(3)
    assert base.sum().item() == 3 * 9 and base[0].sum().item() == 0 and base[1, 1].item() == 0
    p = pyml.zeros(5, 4)
    v = torch.from_dlpack(pyml.as_strided(p, (2, 2), (8, 1), 2))
    v.fill_(1)
    assert p.numpy()[0, 2:].tolist() == [1, 1] and p.numpy()[2, 2:].tolist() == [1, 1] and p.numpy().sum() == 4


def test_dlpack_torch_lifetime():
    a = np.arange(64.0)
    ref = weakref.ref(a)
    t = pyml.from_numpy(a)
    del a
    tt = torch.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None and tt[63].item() == 63.0
    del tt
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------- capsule protocol
def test_capsule_names_follow_max_version():
    t = pyml.arange(3)
    assert '"dltensor"' in repr(t.__dlpack__())
    assert '"dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 3)))
    assert t.__dlpack_device__() == (1, 0)


def test_capsule_is_consumed_once_and_unconsumed_capsules_release():
    t = pyml.arange(4)
    cap = t.__dlpack__()
    u = pyml.from_dlpack(cap)
    assert u.tolist() == [0, 1, 2, 3] and '"used_dltensor"' in repr(cap)
    with pytest.raises(ValueError, match="from_dlpack: this DLPack capsule was already consumed"):
        pyml.from_dlpack(cap)
    a = np.arange(8.0)
    ref = weakref.ref(a)
    p = pyml.from_numpy(a)
    del a
    caps = [p.__dlpack__(), p.__dlpack__(max_version=(1, 0))]
    del p
    gc.collect()
    assert ref() is not None  # unconsumed capsules still own the tensor
    del caps
    gc.collect()
    assert ref() is None


def test_export_bad_inputs():
    t = pyml.arange(3.0)
    with pytest.raises(BufferError, match="__dlpack__: can't export a tensor on cpu to DLPack device \\(2, 0\\)"):
        t.__dlpack__(dl_device=(2, 0))
    assert '"dltensor"' in repr(t.__dlpack__(dl_device=(1, 0)))
    with pytest.raises(ValueError, match="__dlpack__: stream must be None"):
        t.__dlpack__(stream=5)
    assert '"dltensor"' in repr(t.__dlpack__(stream=-1))
    g = pyml.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="__dlpack__: can't export a tensor that requires grad"):
        g.__dlpack__()
    with pytest.raises(TypeError, match="from_dlpack: expected a DLPack capsule named 'dltensor'"):
        pyml.from_dlpack(_capsule(0, b"other"))
    with pytest.raises(TypeError, match="to_dlpack: (expected a Tensor|argument .* must be Tensor)"):
        pyml.to_dlpack(np.zeros(2))
    with pytest.raises(TypeError, match="from_dlpack: copy must be None or a bool"):
        pyml.from_dlpack(t, copy=1)


def test_from_dlpack_falls_back_for_old_producers():
    class Old:  # a pre-1.0 producer: __dlpack__ takes no keywords, no __dlpack_device__
        def __init__(self, x):
            self.x, self.kwargs = x, []

        def __dlpack__(self, **kwargs):
            self.kwargs.append(kwargs)
            if kwargs:
                raise TypeError("unexpected keyword")
            return torch.utils.dlpack.to_dlpack(self.x)

    src = torch.arange(5.0)
    old = Old(src)
    t = pyml.from_dlpack(old)
    assert t.data_ptr() == src.data_ptr() and old.kwargs == [{"max_version": (1, 0)}, {}]
    assert pyml.from_dlpack(Old(src), copy=True).data_ptr() != src.data_ptr()


def test_from_dlpack_of_pyml_tensor_and_foreign_devices():
    x = pyml.arange(4)
    y = pyml.from_dlpack(x)
    y.fill_(9)
    assert x.tolist() == [9, 9, 9, 9]

    class Foreign:
        def __init__(self, kind, index):
            self.dev = (kind, index)

        def __dlpack_device__(self):
            return self.dev

        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be asked for a capsule")

    with pytest.raises(RuntimeError, match=r"from_dlpack: only cpu \(kDLCPU\) and cuda \(kDLCUDA\) tensors can be "
                                           r"imported, got device \(<DLDeviceType.kDLROCM: 10>, 0\)"):
        pyml.from_dlpack(Foreign(10, 0))
    n = pyml.cuda.device_count()
    with pytest.raises(RuntimeError, match=f"from_dlpack: the producer's tensor is on cuda:{n} but pyml sees {n} CUDA"):
        pyml.from_dlpack(Foreign(2, n))


# ---------------------------------------------------------------------------- a ctypes producer
class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


class DLManagedTensorVersioned(ctypes.Structure):
    pass


LEGACY_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
VERSIONED_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensorVersioned))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", LEGACY_DELETER)]
DLManagedTensorVersioned._fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
                                     ("manager_ctx", ctypes.c_void_p), ("deleter", VERSIONED_DELETER),
                                     ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]
_NAMES = {b"dltensor": ctypes.c_char_p(b"dltensor"), b"dltensor_versioned": ctypes.c_char_p(b"dltensor_versioned"),
          b"other": ctypes.c_char_p(b"other")}


def _capsule(ptr, name):
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ptr or 1, _NAMES[name], None)  # no destructor: the test owns the struct


class Producer:
    """Owns a NumPy buffer and a managed tensor describing it; counts deleter calls."""

    def __init__(self, arr, versioned=True, device=1, device_id=0, code=2, bits=None, lanes=1, strides=None, byte_offset=0,
                 flags=0, major=1, shape=None):
        self.arr, self.calls = arr, 0
        shape = arr.shape if shape is None else shape
        self.shape = (ctypes.c_int64 * len(shape))(*shape)
        st = strides if strides is not None else [s // arr.itemsize for s in arr.strides]
        self.strides = None if strides == "null" else (ctypes.c_int64 * len(st))(*st)
        dl = DLTensor(arr.ctypes.data, DLDevice(device, device_id), len(shape),
                      DLDataType(code, bits or arr.itemsize * 8, lanes), self.shape,
                      self.strides if self.strides is not None else None, byte_offset)
        if versioned:
            self.deleter = VERSIONED_DELETER(self._deleted)
            self.mt = DLManagedTensorVersioned(major, 0, None, self.deleter, flags, dl)
            self.capsule = _capsule(ctypes.addressof(self.mt), b"dltensor_versioned")
        else:
            self.deleter = LEGACY_DELETER(self._deleted)
            self.mt = DLManagedTensor(dl, None, self.deleter)
            self.capsule = _capsule(ctypes.addressof(self.mt), b"dltensor")

    def _deleted(self, _):
        self.calls += 1


@pytest.mark.parametrize("versioned", [True, False])
def test_deleter_runs_exactly_once_when_the_last_view_dies(versioned):
    p = Producer(np.arange(12.0).reshape(3, 4), versioned=versioned)
    t = pyml.from_dlpack(p.capsule)
    v = t.t()
    assert p.calls == 0 and v.tolist()[3][2] == 11.0
    t.fill_(2)
    assert (p.arr == 2).all()
    del t
    gc.collect()
    assert p.calls == 0  # the view still holds the memory
    del v
    gc.collect()
    assert p.calls == 1
    with pytest.raises(ValueError, match="already consumed"):
        pyml.from_dlpack(p.capsule)
    gc.collect()
    assert p.calls == 1


def test_imported_memory_reexported_keeps_the_producer_alive():
    p = Producer(np.arange(6.0))
    t = pyml.from_dlpack(p.capsule)
    n = np.from_dlpack(t)
    del t
    gc.collect()
    assert p.calls == 0 and n[5] == 5.0
    del n
    gc.collect()
    assert p.calls == 1


def test_null_strides_and_byte_offset():
    arr = np.arange(10, dtype=np.int32)
    p = Producer(arr, code=0, strides="null", byte_offset=8, shape=(2, 4))
    t = pyml.from_dlpack(p.capsule)
    assert t.stride() == (4, 1) and t.tolist() == [[2, 3, 4, 5], [6, 7, 8, 9]]
    del t
    gc.collect()
    assert p.calls == 1


def test_read_only_producer_is_copied_and_released_at_once():
    p = Producer(np.arange(4.0), flags=1)
    t = pyml.from_dlpack(p.capsule)
    assert p.calls == 1  # copied, so the producer's memory was released right away
    t.fill_(5)
    assert p.arr.tolist() == [0, 1, 2, 3] and t.tolist() == [5, 5, 5, 5]
    q = Producer(np.arange(4.0), flags=2)  # IS_COPIED: copy=True needs no second copy
    u = pyml.from_dlpack(q.capsule, copy=True)
    assert u.data_ptr() == q.arr.ctypes.data
    del u
    gc.collect()
    assert q.calls == 1


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(device=2, device_id=63), RuntimeError, "from_dlpack: the producer's tensor is on cuda:63 but pyml sees"),
    (dict(device=13), RuntimeError, "from_dlpack: only cpu \\(kDLCPU\\) and cuda \\(kDLCUDA\\) tensors can be "
                                    "imported, got device type 13 \\(kDLCUDAManaged\\)"),
    (dict(code=5, bits=32), TypeError, "from_dlpack: unsupported DLPack dtype.*code 5, bits 32"),
    (dict(lanes=2), TypeError, "from_dlpack: unsupported DLPack dtype.*lanes 2"),
    (dict(code=2, bits=8), TypeError, "from_dlpack: unsupported DLPack dtype"),
    (dict(major=2), RuntimeError, "from_dlpack: unsupported DLPack version 2.0"),
    (dict(strides=[-1], shape=(4,)), ValueError, "from_dlpack: negative strides are not supported"),
    (dict(byte_offset=3), ValueError, "from_dlpack: data must be aligned to the item size"),
    (dict(shape=(-1,)), ValueError, "from_dlpack: invalid DLTensor: negative size"),
    (dict(flags=4), TypeError, "from_dlpack: sub-byte"),
])
def test_ctypes_producer_bad_inputs_leave_the_capsule_unconsumed(kw, exc, msg):
    p = Producer(np.arange(4.0), **kw)
    with pytest.raises(exc, match=msg):
        pyml.from_dlpack(p.capsule)
    assert '"dltensor_versioned"' in repr(p.capsule) and p.calls == 0  # ownership stayed with the producer


def test_read_only_producer_with_copy_false():
    p = Producer(np.arange(4.0), flags=1)
    with pytest.raises(ValueError, match="from_dlpack: the producer exported read-only memory"):
        pyml.from_dlpack(p.capsule, copy=False)
    assert p.calls == 0 and '"dltensor_versioned"' in repr(p.capsule)
