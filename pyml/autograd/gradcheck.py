"""gradcheck / gradgradcheck: analytical Jacobians (one backward per output element, with a one-hot
grad_output) against float64 central differences (two forwards per input element).

The numerical Jacobian is taken first, perturbing each input element in place through a detached
alias (so the input's layout, e.g. non-contiguous strides, is what func sees) and restoring it; the
analytical one then runs a fresh forward, so the perturbations never trip saved-tensor version checks.
Cost: O(numel_in) forwards + O(numel_out) backwards: keep inputs small (tens of elements).
"""
import pyml
from .._tensor import Tensor
from .engine_api import grad as _grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when analytical and numerical derivatives disagree."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _diff_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs(func, inputs):
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]


def _unravel(e, shape):
    idx = []
    for s in reversed(shape):
        idx.append(e % s)
        e //= s
    return tuple(reversed(idx))


def _numerical(func, inputs, idx, n_out, eps):
    """jac[k][o]: (numel(out o), numel(input idx[k])) float64 central differences."""
    jac = []
    for i in idx:
        x = inputs[i].detach()
        cols = [[] for _ in range(n_out)]
        for e in range(x.numel()):
            pos = _unravel(e, tuple(x.shape))
            orig = x[pos].item()
            with pyml.no_grad():
                x[pos] = orig + eps
            plus = [o.detach().reshape(-1).to(pyml.float64).clone() for o in _outputs(func, inputs)]
            with pyml.no_grad():
                x[pos] = orig - eps
            minus = [o.detach().reshape(-1).to(pyml.float64).clone() for o in _outputs(func, inputs)]
            with pyml.no_grad():
                x[pos] = orig
            for o in range(n_out):
                cols[o].append((plus[o] - minus[o]) / (2 * eps))
        jac.append([pyml.stack(c, dim=1) if c else None for c in cols])
    return jac


def _analytical(func, inputs, idx, outputs):
    """jac[k][o] like _numerical, from backward passes of a fresh forward."""
    targets = [inputs[i] for i in idx]
    jac = [[None] * len(outputs) for _ in idx]
    for o, out in enumerate(outputs):
        rows = [[] for _ in idx]
        for j in range(out.numel()):
            if out.requires_grad:
                onehot = pyml.zeros(out.numel(), dtype=out.dtype)
                onehot[j] = 1.0
                gs = _grad([out], targets, [onehot.reshape(out.shape)], retain_graph=True, allow_unused=True)
            else:
                gs = [None] * len(idx)
            for k, g in enumerate(gs):
                t = targets[k]
                if g is not None and tuple(g.shape) != tuple(t.shape):
                    raise GradcheckError(f"gradcheck: gradient for input {idx[k]} has shape {tuple(g.shape)}, "
                                         f"expected {tuple(t.shape)}")
                g = pyml.zeros(t.numel(), dtype=pyml.float64) if g is None else g.detach().reshape(-1).to(pyml.float64)
                rows[k].append(g)
        for k in range(len(idx)):
            jac[k][o] = pyml.stack(rows[k]) if rows[k] else None
    return jac


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, check_undefined_grad=True,
              nondet_tol=0.0, check_grad_dtypes=False, check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True when func's backward matches central finite differences for every input that requires grad
    (|analytical - numerical| <= atol + rtol * |numerical| elementwise); else raises GradcheckError with
    both Jacobians (or returns False when raise_exception=False)."""
    inputs = _as_tuple(inputs)
    idx = _diff_inputs(inputs)
    if not idx:
        raise ValueError("gradcheck: expected at least one input tensor to require gradient, got none")
    for i in idx:
        if inputs[i].dtype is not pyml.float64:
            return _fail(f"gradcheck: input {i} is {inputs[i].dtype}; gradcheck needs float64 inputs for precision",
                         raise_exception)
    n_out = len(_outputs(func, inputs))
    numerical = _numerical(func, inputs, idx, n_out, eps)
    outputs = _outputs(func, inputs)
    analytical = _analytical(func, inputs, idx, outputs)
    for k, i in enumerate(idx):
        for o, out in enumerate(outputs):
            if not out.dtype._diff:
                continue
            num, ana = numerical[k][o], analytical[k][o]
            if num is None or ana is None or num.numel() == 0:
                continue
            bad = (ana - num).abs() > atol + rtol * num.abs()
            if bool(bad.any()):
                return _fail(f"gradcheck: Jacobian mismatch for output {o} with respect to input {i},\n"
                             f"numerical:{num}\nanalytical:{ana}\n", raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of (inputs, grad_outputs) -> d(func)/d(inputs) . grad_outputs: checks second derivatives
    (the backward formulas must be differentiable). grad_outputs default to seeded random tensors."""
    inputs = _as_tuple(inputs)
    idx = _diff_inputs(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        gen = pyml.Generator().manual_seed(0)
        grad_outputs = tuple(pyml.randn(tuple(o.shape), dtype=o.dtype, generator=gen).requires_grad_() for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs_ = _outputs(func, ins)
        diff = [(o, g) for o, g in zip(outs_, gos) if o.requires_grad]
        if not diff:
            return tuple(pyml.zeros_like(ins[i]) for i in idx)
        gs = _grad([o for o, _ in diff], [ins[i] for i in idx], [g for _, g in diff], create_graph=True,
                   allow_unused=True)
        return tuple(g if g is not None else pyml.zeros_like(ins[i]) for g, i in zip(gs, idx))

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
