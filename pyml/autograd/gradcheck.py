"""gradcheck / gradgradcheck: analytical gradients (vector-Jacobian products, one output element at a
time) against float64 central differences."""
import pyml
from . import grad_mode
from .engine_api import grad as _grad


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _inputs_needing_grad(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, pyml.Tensor) and t.requires_grad]


def _numerical_jacobian(fn, inputs, idx, eps):
    """J[k][out_elem, in_elem] by central differences on input idx[k] (perturbed in place)."""
    jac = []
    for i in idx:
        x = inputs[i]
        flat = x.detach().reshape(-1) if x.is_contiguous() else None
        if flat is None:
            raise ValueError("gradcheck: inputs must be contiguous")
        cols = []
        for e in range(x.numel()):
            orig = flat[e].item()
            flat[e] = orig + eps
            plus = [o.detach().reshape(-1).clone() for o in _as_tuple(fn(*inputs))]  # grad on: fn may differentiate
            flat[e] = orig - eps
            minus = [o.detach().reshape(-1).clone() for o in _as_tuple(fn(*inputs))]  # grad on: fn may differentiate
            flat[e] = orig
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
        jac.append(cols)
    return jac


def _analytical_jacobian(outputs, inputs, idx):
    """rows[k][o][out_elem] = d out_o[out_elem] / d inputs[idx[k]] (flattened)"""
    rows = {}
    for o_i, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        flat = out.reshape(-1)
        for j in range(out.numel()):
            gs = _grad(flat[j], [inputs[i] for i in idx], retain_graph=True, allow_unused=True)
            for k, g in enumerate(gs):
                rows[(k, o_i, j)] = None if g is None else g.reshape(-1)
    return rows


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, check_undefined_grad=True,
              nondet_tol=0.0, fast_mode=False, masked=None):
    """True when func's backward matches finite differences for every input that requires grad."""
    inputs = _as_tuple(inputs)
    idx = _inputs_needing_grad(inputs)
    for i in idx:
        if inputs[i].dtype is not pyml.float64:
            msg = f"gradcheck: input {i} is {inputs[i].dtype}; gradcheck needs float64 inputs for precision"
            if raise_exception:
                raise ValueError(msg)
            return False
    numerical = _numerical_jacobian(func, inputs, idx, eps)  # perturbs inputs in place: run it first
    outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, pyml.Tensor)]
    analytical = _analytical_jacobian(outputs, inputs, idx)
    for k, i in enumerate(idx):
        for e in range(inputs[i].numel()):
            for o_i, out in enumerate(outputs):
                if not out.dtype.is_floating_point:
                    continue
                num = numerical[k][e][o_i]
                for j in range(out.numel()):
                    row = analytical.get((k, o_i, j))
                    a = 0.0 if row is None else row[e].item()
                    n = num[j].item()
                    if abs(a - n) > atol + rtol * abs(n):
                        msg = (f"gradcheck: Jacobian mismatch for output {o_i} with respect to input {i},\n"
                               f"element (out {j}, in {e}): numerical {n:.8g} vs analytical {a:.8g}")
                        if raise_exception:
                            raise RuntimeError(msg)
                        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, masked=None, fast_mode=False):
    """gradcheck of the map inputs -> d(func)/d(inputs) . grad_outputs (second derivatives)."""
    inputs = _as_tuple(inputs)
    idx = _inputs_needing_grad(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        gen = pyml.Generator().manual_seed(0) if hasattr(pyml, "Generator") else None
        grad_outputs = tuple(pyml.randn(o.shape, dtype=o.dtype, generator=gen).requires_grad_()
                             if gen is not None else pyml.ones_like(o).requires_grad_() for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs_ = _as_tuple(func(*ins))
        gs = _grad(outs_, [ins[i] for i in idx], gos, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else pyml.zeros_like(ins[i]) for g, i in zip(gs, idx))

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
