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
