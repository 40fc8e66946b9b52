"""Helpers shared by the nn tests."""
import numpy as np

import pyml

def gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, n_vec=2):
    """v^T J of fn's backward against central differences for random v (float64; inputs are not changed
    in place, so saved tensors stay valid). Every input must be differentiable."""
    rng = np.random.default_rng(0)
    base = [x.detach().numpy().copy() for x in inputs]

    def f(arrs):
        with pyml.no_grad():
            return fn(*[pyml.tensor(a) for a in arrs]).numpy()

    for _ in range(n_vec):
        v = rng.normal(size=f(base).shape)
        xs = [pyml.tensor(a).requires_grad_() for a in base]
        grads = pyml.autograd.grad((fn(*xs) * pyml.tensor(v)).sum(), xs)
        for k, a in enumerate(base):
            num = np.zeros(a.size)
            for e in range(a.size):
                hi, lo = [b.copy() for b in base], [b.copy() for b in base]
                hi[k].reshape(-1)[e] += eps
                lo[k].reshape(-1)[e] -= eps
                num[e] = ((f(hi) - f(lo)) * v).sum() / (2 * eps)
            np.testing.assert_allclose(grads[k].numpy().reshape(-1), num, atol=atol, rtol=rtol,
                                       err_msg=f"gradient of input {k}")
    return True


def full_jacobian_check(f, arrays, eps=1e-6, atol=1e-6, rtol=1e-5):
    """Reverse-mode Jacobian (one-hot cotangents) of every input against central differences."""
    xs = [pyml.tensor(a).requires_grad_() for a in arrays]
    out = f(*xs)
    n_out = out.numel()
    for k, a in enumerate(arrays):
        num = np.zeros((n_out, a.size))
        for e in range(a.size):
            res = []
            for s in (eps, -eps):
                b = a.copy().reshape(-1)
                b[e] += s
                args = [pyml.tensor(b.reshape(a.shape)) if i == k else pyml.tensor(v) for i, v in enumerate(arrays)]
                res.append(f(*args).detach().numpy().reshape(-1))
            num[:, e] = (res[0] - res[1]) / (2 * eps)
        ana = np.zeros((n_out, a.size))
        for j in range(n_out):
            go = np.zeros(n_out)
            go[j] = 1
            g = pyml.autograd.grad([out], [xs[k]], [pyml.tensor(go.reshape(tuple(out.shape)))], retain_graph=True,
                                   allow_unused=True)[0]
            if g is not None:
                ana[j] = g.detach().numpy().reshape(-1)
        np.testing.assert_allclose(ana, num, rtol=rtol, atol=atol, err_msg=f"Jacobian of input {k}")


def pool_compare(leaf, tol):
    """compare(name, a, dtype, layout, seed, **kw): pyml vs torch F.<name> on a (a leaf made by
    leaf(lib, a, dtype, layout)): the output (and indices), then the input gradient."""
    import torch
    import torch.nn.functional as TF
    import pyml.nn.functional as F

    def compare(name, a, dtype="float64", layout="contiguous", seed=0, **kw):
        t = tol[dtype]
        xp, xt = leaf(pyml, a, dtype, layout), leaf(torch, a, dtype, layout)
        if layout != "contiguous":
            assert not xp.is_contiguous()
        y, yt = getattr(F, name)(xp, **kw), getattr(TF, name)(xt, **kw)
        if isinstance(yt, tuple):
            assert y[1].dtype is pyml.int64
            np.testing.assert_array_equal(y[1].numpy(), yt[1].numpy())
            y, yt = y[0], yt[0]
        assert tuple(y.shape) == tuple(yt.shape) and y.dtype is getattr(pyml, dtype)
        np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=t, atol=t)
        g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
        y.backward(pyml.tensor(g).to(y.dtype))
        yt.backward(torch.tensor(g).to(yt.dtype))
        np.testing.assert_allclose(xp.grad.double().numpy(), xt.grad.double().numpy(), rtol=t, atol=t)
        return y
    return compare


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CONV_TOL = {"float64": (1e-10, 1e-10), "float32": (2e-4, 2e-4)}


def conv_assert_close(got, want, dtype, msg=""):
    """Convolution results: float32's atol scales with the largest reference value (long sums lose
    absolute digits)."""
    rtol, atol = CONV_TOL[dtype]
    want = np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.abs(want).max())) if want.size and dtype != "float64" else 1.0
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=rtol, atol=atol * scale, err_msg=msg)


# storage order of the dims of an n-D array for each non-strided layout (the view is permuted back)
_STORAGE = {
    "contiguous": lambda n: tuple(range(n)),
    "channels_last": lambda n: (0,) + tuple(range(2, n)) + (1,),   # (N, C, *S) stored as (N, *S, C)
    "transposed": lambda n: tuple(range(n - 2)) + (n - 1, n - 2),   # the last two dims swapped
    "reversed": lambda n: (0, 1) + tuple(range(n - 1, 1, -1)),      # spatial dims in reverse order
    "depth_last": lambda n: (0, 1) + tuple(range(3, n)) + (2,),     # (N, C, D, H, W) stored as (N, C, H, W, D)
    "batch_channel": lambda n: (1, 0) + tuple(range(2, n)),         # the first two dims swapped
}


def leaf(mod, a, dtype="float64", layout="contiguous"):
    """A leaf tensor (requires_grad) of torch or pyml (mod) holding a's values in the given memory layout:
    "strided" (every other element of a twice-as-wide buffer along the last dim) or a storage order of
    _STORAGE, viewed back to a's shape."""
    dt = getattr(mod, dtype)
    if layout == "strided":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
        wide[..., ::2] = a
        t = mod.tensor(wide).to(dt)[..., ::2]
    else:
        order = _STORAGE[layout](a.ndim)
        t = mod.tensor(np.ascontiguousarray(a.transpose(order))).to(dt).permute(*np.argsort(order).tolist())
    return t.detach().requires_grad_()
