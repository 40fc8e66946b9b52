"""Views share storage and match NumPy/torch geometry; reshape copies only when it must."""
import numpy as np
import pytest
import torch

import pyml


def _arange(*shape):
    return pyml.arange(int(np.prod(shape)), dtype=pyml.float32).reshape(*shape)


def _same(t, ref):
    np.testing.assert_array_equal(t.numpy(), np.asarray(ref))


def test_reshape_view_infer_and_share():
    x = _arange(2, 3, 4)
    v = x.view(6, -1)
    assert v.shape == (6, 4) and pyml.shares_memory(v, x)
    v.fill_(1)
    assert np.all(x.numpy() == 1)
    assert x.reshape(-1).shape == (24,)
    with pytest.raises(ValueError, match="view: only one dimension can be inferred"):
        x.view(-1, -1)
    with pytest.raises(ValueError, match=r"reshape: shape \(5, -1\)|reshape: shape .* is invalid for input of size 24"):
        x.reshape(5, -1)


def test_view_of_non_contiguous_raises_but_reshape_copies():
    x = _arange(3, 4).T
    with pytest.raises(RuntimeError, match="view: size .* not compatible"):
        x.view(12)
    r = x.reshape(12)
    _same(r, np.arange(12).reshape(3, 4).T.reshape(12))
    assert not pyml.shares_memory(r, x)
    # a view that is possible on a non-contiguous tensor
    y = _arange(4, 6).T  # (6, 4) strides (1, 6)
    z = y.view(6, 2, 2)
    assert z.stride() == (1, 12, 6)
    _same(z, np.arange(24).reshape(4, 6).T.reshape(6, 2, 2))


@pytest.mark.parametrize("shape,dims", [((2, 3, 4), (2, 0, 1)), ((5,), (0,)), ((1, 7, 1), (1, 2, 0)), ((0, 3), (1, 0))])
def test_permute_transpose_T_mT(shape, dims):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = pyml.tensor(a)
    _same(x.permute(*dims), a.transpose(dims))
    _same(x.T, a.T)
    if x.ndim >= 2:
        _same(x.mT, np.swapaxes(a, -1, -2))
        _same(x.transpose(0, -1), np.swapaxes(a, 0, -1))
    with pytest.raises(ValueError, match="permute"):
        x.permute(*dims, 0)


def test_permute_repeated_dim_raises():
    with pytest.raises(ValueError, match="permute: repeated dim"):
        _arange(2, 3).permute(0, 0)


def test_expand_broadcast_to_and_errors():
    x = pyml.tensor([[1.0], [2.0]])
    e = x.expand(2, 3)
    assert e.stride() == (1, 0)
    _same(e, [[1, 1, 1], [2, 2, 2]])
    _same(x.expand(4, -1, 3), np.broadcast_to(np.array([[1.0], [2.0]]), (4, 2, 3)))
    _same(pyml.broadcast_to(x, (2, 2)), [[1, 1], [2, 2]])
    with pytest.raises(ValueError, match="expand: the expanded size 3 must match the existing size 2"):
        x.expand(3, 3)
    with pytest.raises(ValueError, match="expand"):
        x.expand(3)
    a, b = pyml.broadcast_tensors(pyml.ones(3, 1), pyml.ones(4))
    assert a.shape == b.shape == (3, 4)
    assert pyml.broadcast_shapes((3, 1), (4,), (2, 1, 1)) == (2, 3, 4)


def test_squeeze_unsqueeze_flatten_unflatten():
    x = _arange(1, 3, 1, 2)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2)
    assert x.squeeze(1).shape == (1, 3, 1, 2)
    assert x.squeeze((0, 2)).shape == (3, 2)
    assert x.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    assert x.unsqueeze(0).shape == (1, 1, 3, 1, 2)
    assert x.flatten().shape == (6,)
    assert x.flatten(1, 2).shape == (1, 3, 2)
    assert pyml.tensor(3.0).flatten().shape == (1,)
    assert x.flatten().unflatten(0, (2, -1)).shape == (2, 3)
    with pytest.raises(IndexError, match="unsqueeze: dim must be in the range"):
        x.unsqueeze(6)
    with pytest.raises(ValueError, match="flatten: start_dim"):
        x.flatten(2, 1)


def test_select_narrow_unbind_diagonal_match_torch():
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    x, t = pyml.tensor(a), torch.tensor(a)
    _same(x.select(1, -1), t.select(1, -1))
    _same(x.narrow(2, 1, 3), t.narrow(2, 1, 3))
    assert [u.shape for u in x.unbind(1)] == [tuple(u.shape) for u in t.unbind(1)]
    for off in (-2, 0, 1, 4, 7):
        _same(x.diagonal(off, 1, 2), t.diagonal(off, 1, 2))
    _same(x.movedim(0, -1), t.movedim(0, -1))
    with pytest.raises(IndexError, match="select: index 4 is out of bounds for dimension 0 with size 3"):
        x.select(0, 4)
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(0, 2, 2)


def test_as_strided_and_bounds():
    x = pyml.arange(10, dtype=pyml.float32)
    w = pyml.as_strided(x, (4, 3), (2, 1))
    _same(w, np.lib.stride_tricks.as_strided(np.arange(10, dtype=np.float32), (4, 3), (8, 4)))
    with pytest.raises(ValueError, match="as_strided: .* reaches element 10 but the storage holds only 10"):
        pyml.as_strided(x, (4, 3), (2, 2))


def test_contiguous_clone_is_contiguous():
    x = _arange(3, 4).T
    assert not x.is_contiguous()
    c = x.contiguous()
    assert c.is_contiguous() and not pyml.shares_memory(c, x)
    assert c.contiguous() is c
    k = x.clone()  # preserve_format, as torch: a dense transposed tensor copies with its own strides
    assert k.stride() == (1, 4)
    assert x.clone(memory_format=pyml.contiguous_format).stride() == (3, 1)
    _same(k, np.arange(12).reshape(3, 4).T)


def test_to_dtype_and_casts():
    x = pyml.tensor([1.7, -2.5, 0.0])
    assert x.to(pyml.int32).tolist() == [1, -2, 0]
    assert x.bool().tolist() == [True, True, False]
    assert x.double().dtype is pyml.float64 and x.long().dtype is pyml.int64
    assert x.to(pyml.float32) is x
    assert x.to(pyml.float32, copy=True) is not x
    assert x.to("cpu") is x
    h = x.half()
    assert h.dtype is pyml.float16 and h.float().tolist() == [1.7001953125, -2.5, 0.0]


def test_size_and_metadata():
    x = _arange(2, 3)
    assert x.size() == (2, 3) and x.size(-1) == 3 and x.shape.numel() == 6
    assert repr(x.shape) == "pyml.Size([2, 3])"
    assert x.stride() == (3, 1) and x.stride(0) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.element_size() == 4 and x.nbytes == 24
    with pytest.raises(IndexError, match="size: dim"):
        x.size(2)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(pyml.tensor(1.0))


def test_cuda_without_gpu_raises_clearly():
    if pyml.cuda.is_available():
        pytest.skip("a GPU is present; covered by tests/test_cuda.py")
    with pytest.raises(RuntimeError, match="(device|cuda)"):
        pyml.ones(2).cuda()
    assert pyml.cuda.device_count() == 0
