"""The chain of trust's CUDA link: run one function on CPU tensors and on the same values on the GPU,
and compare. Inputs may be tensors, lists/tuples of tensors or anything else (passed unchanged);
outputs may be tensors, tuples/lists of them, numbers or None."""
import numpy as np

import pyml

# (rtol, atol) for CUDA vs CPU kernels: both are pyml kernels, so float64 agrees to rounding and
# the low-precision types differ by their own rounding of a float32 result.
TOL = {"float64": (1e-10, 1e-12), "float32": (2e-5, 1e-6), "float16": (4e-3, 1e-3), "bfloat16": (3e-2, 1e-2)}


def to_cuda(x):
    """Same values on the GPU with the same strides (views stay views of a moved base)."""
    if isinstance(x, pyml.Tensor):
        x0 = x.detach()
        if any(st == 0 and s > 1 for s, st in zip(x0.shape, x0.stride())):
            # an expanded view: move the distinct values, expand again on the device
            small = [1 if st == 0 else s for s, st in zip(x0.shape, x0.stride())]
            base = pyml.as_strided(x0, small, x0.stride(), x0.storage_offset())
            return to_cuda(base).expand(*x0.shape)
        if x0.is_contiguous() or x0.numel() == 0:
            y = x0.cuda()
        else:
            y = _same_layout(x0.contiguous().cuda(), x0)  # same values, x's strides re-created
        return y.requires_grad_(x.requires_grad)
    if isinstance(x, (list, tuple)):
        return type(x)(to_cuda(v) for v in x)
    return x


def _same_layout(dev, like):
    # a buffer as long as like's span on the device, then as_strided into it with like's strides
    span = 1 + sum((s - 1) * abs(st) for s, st in zip(like.shape, like.stride()))
    buf = pyml.zeros(span, dtype=like.dtype, device=dev.device)
    off = sum((s - 1) * -st for s, st in zip(like.shape, like.stride()) if st < 0)
    v = pyml.as_strided(buf, like.shape, like.stride(), off)
    v.copy_(dev)
    return v


def to_host(x):
    if isinstance(x, pyml.Tensor):
        return x.detach().cpu()
    if isinstance(x, (list, tuple)):
        return type(x)(to_host(v) for v in x)
    return x


def assert_match(got, want, dtype=None, rtol=None, atol=None, path="out"):
    """got (from CUDA, already on the host) equals want (CPU) within the dtype's tolerance."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{path}: {got!r} vs {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_match(g, w, dtype, rtol, atol, f"{path}[{i}]")
        return
    if not isinstance(want, pyml.Tensor):
        assert got == want or (want != want and got != got), f"{path}: {got!r} != {want!r}"
        return
    assert got.shape == want.shape, f"{path}: shape {got.shape} vs {want.shape}"
    assert got.dtype == want.dtype, f"{path}: dtype {got.dtype} vs {want.dtype}"
    name = str(want.dtype).replace("pyml.", "")
    if not want.dtype.is_floating_point:
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=path)
        return
    r, a = TOL[name]
    np.testing.assert_allclose(got.double().numpy(), want.double().numpy(), rtol=rtol or r, atol=atol or a,
                               equal_nan=True, err_msg=path)


def check(fn, *args, rtol=None, atol=None, **kwargs):
    """fn(*args) on CPU and on CUDA agree; returns (cpu result, cuda result on the host)."""
    want = fn(*args, **kwargs)
    got = to_host(fn(*to_cuda(list(args)), **kwargs))
    assert_match(got, want, rtol=rtol, atol=atol)
    return want, got


def check_grads(fn, *args, rtol=None, atol=None, **kwargs):
    """Forward and backward agree: fn's output summed with fixed random weights is differentiated
    with respect to every input that requires grad, on CPU and on CUDA."""
    cpu_in = list(args)
    cuda_in = to_cuda(cpu_in)
    outs = []
    for inputs in (cpu_in, cuda_in):
        out = fn(*inputs, **kwargs)
        w = pyml.Tensor(np.random.default_rng(0).standard_normal(out.shape)).to(out.dtype).to(out.device)
        (out * w).sum().backward()
        grads = [t.grad for t in inputs if isinstance(t, pyml.Tensor) and t.requires_grad]
        outs.append((to_host(out), [to_host(g) for g in grads]))
    assert_match(outs[1], outs[0], rtol=rtol, atol=atol)
