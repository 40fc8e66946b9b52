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
