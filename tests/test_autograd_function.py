"""autograd.Function against PyTorch: ctx.save_for_backward/saved_tensors, needs_input_grad,
mark_non_differentiable, set_materialize_grads, mark_dirty, returning an input, non-tensor args and
outputs, a gradient-reversal layer, once_differentiable, differentiable backwards (create_graph),
setup_context-style Functions, and the errors for malformed backwards."""
import numpy as np
import pytest
import torch

import pyml

LIBS = (pyml, torch)


def t(lib, a, rg=False):
    return lib.tensor(np.asarray(a, dtype=np.float64), dtype=lib.float64, requires_grad=rg)


def npy(x):
    return np.asarray(x.detach().numpy(), dtype=np.float64)


def make(lib):
    """The same custom Functions written against either library's Function base."""
    F = lib.autograd.Function
    once = lib.autograd.function.once_differentiable

    class ScaledExp(F):
        @staticmethod
        def forward(ctx, x, scale, flag=True):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            ctx.seen_needs = ctx.needs_input_grad
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y, None, None

    class SortValues(F):
        @staticmethod
        def forward(ctx, x):
            v, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return v, i

        @staticmethod
        def backward(ctx, gv, gi):
            i, = ctx.saved_tensors
            out = lib.zeros_like(gv)
            out[i] = gv
            return out

    class TwoOut(F):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.got = (g1 is None, g2 is None)
            r = 0
            if g1 is not None:
                r = r + g1 * 2
            if g2 is not None:
                r = r + g2 * 3
            return r, None

    class DoubleInPlace(F):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Identity(F):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    class GradReverse(F):
        @staticmethod
        def forward(ctx, x, lam):
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return g.neg() * ctx.lam, None

    class SquareOnce(F):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @once
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g

    class Cube(F):  # backward written in differentiable ops: double backward works
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g

    class ExpSavedOutput(F):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y

    class MixedOutputs(F):
        @staticmethod
        def forward(ctx, x, n, name):
            ctx.n = n
            return x * n, name.upper(), n + 1

        @staticmethod
        def backward(ctx, g, g_name, g_n):
            return g * ctx.n, None, None

    return {k: v for k, v in locals().items() if isinstance(v, type)}


FP, FT = make(pyml), make(torch)
FNS = {pyml: FP, torch: FT}


def assert_same(fn, atol=1e-12):
    p, q = fn(pyml), fn(torch)
    p, q = (p if isinstance(p, tuple) else (p,)), (q if isinstance(q, tuple) else (q,))
    for a, b in zip(p, q):
        if a is None or b is None:
            assert a is None and b is None
        elif hasattr(a, "detach"):
            np.testing.assert_allclose(npy(a), npy(b), rtol=1e-10, atol=atol)
        else:
            assert a == b


def test_save_for_backward_and_needs_input_grad():
    def f(lib):
        x = t(lib, [0.0, 1.0, -0.5], rg=True)
        y = FNS[lib]["ScaledExp"].apply(x, 2.0)
        assert y.requires_grad and not y.is_leaf
        assert y.grad_fn.seen_needs == (True, False)
        (y * y).sum().backward()
        return x.grad
    assert_same(f)


def test_saved_tensors_freed_after_backward():
    x = pyml.tensor([0.0, 1.0], requires_grad=True)
    y = FP["ScaledExp"].apply(x, 2.0)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="ScaledExpBackward: trying to backward through the graph a second time"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors


def test_mark_non_differentiable_values_and_indices():
    def f(lib):
        x = t(lib, [3.0, 1.0, 2.0], rg=True)
        v, i = FNS[lib]["SortValues"].apply(x)
        assert v.requires_grad and not i.requires_grad
        (v * t(lib, [1.0, 2.0, 3.0])).sum().backward()
        return x.grad, i
    assert_same(f)


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads(materialize):
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        a, b = FNS[lib]["TwoOut"].apply(x, materialize)
        a.sum().backward()
        return x.grad, a.grad_fn.got
    assert_same(f)
    _, got = f(pyml)
    assert got == (False, not materialize)  # unused output's grad: zeros when materialized, else None


def test_mark_dirty_in_place():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y = x * 1
        z = FNS[lib]["DoubleInPlace"].apply(y)
        assert z is y and y.grad_fn is not None
        z.sum().backward()
        return x.grad, y
    assert_same(f)


def test_mark_dirty_on_leaf_requiring_grad_raises():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="DoubleInPlaceBackward: a leaf Variable that requires grad has been used in "
                                           "an in-place operation"):
        FP["DoubleInPlace"].apply(x)


def test_returning_an_input_gives_a_new_output():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y = FNS[lib]["Identity"].apply(x)
        assert y is not x and x.is_leaf and not y.is_leaf
        y.sum().backward()
        return x.grad
    assert_same(f)


def test_non_tensor_args_and_outputs():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y, name, n = FNS[lib]["MixedOutputs"].apply(x, 3, "ab")
        assert (name, n) == ("AB", 4)
        y.sum().backward()
        return x.grad
    assert_same(f)


def test_gradient_reversal_layer_against_torch():
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))

    def f(lib):
        w = t(lib, w0, rg=True)
        feat = (t(lib, x0) @ w).tanh()
        rev = FNS[lib]["GradReverse"].apply(feat, 0.7)
        loss = (rev ** 2).sum() + feat.sum()
        loss.backward()
        return w.grad

    assert_same(f)
    # reversal: the head's contribution to w's gradient is -lambda times the plain one
    w = pyml.tensor(w0, requires_grad=True)
    feat = (pyml.tensor(x0) @ w).tanh()
    (FP["GradReverse"].apply(feat, 0.7) ** 2).sum().backward()
    rev_grad = w.grad.numpy().copy()
    w.grad = None
    feat = (pyml.tensor(x0) @ w).tanh()
    (feat ** 2).sum().backward()
    np.testing.assert_allclose(rev_grad, -0.7 * w.grad.numpy(), rtol=1e-12)


def test_once_differentiable_raises_under_double_backward():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        g, = lib.autograd.grad(FNS[lib]["SquareOnce"].apply(x).sum(), x, create_graph=True)
        return g
    assert_same(f)  # first derivative fine
    x = pyml.tensor([1.0, 2.0], dtype=pyml.float64, requires_grad=True)
    y = FP["SquareOnce"].apply(x)
    g, = pyml.autograd.grad((y * y).sum(), x, create_graph=True)  # incoming grad 2y requires grad
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                           "@once_differentiable"):
        g.sum().backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = FT["SquareOnce"].apply(xt)
    gt, = torch.autograd.grad((yt * yt).sum(), xt, create_graph=True)
    with pytest.raises(RuntimeError, match="trying to differentiate twice"):
        gt.sum().backward()


@pytest.mark.parametrize("name", ["Cube", "ExpSavedOutput"])
def test_function_with_differentiable_backward(name):
    def f(lib):
        x = t(lib, [0.5, -1.5, 2.0], rg=True)
        g, = lib.autograd.grad(FNS[lib][name].apply(x).sum(), x, create_graph=True)
        g2, = lib.autograd.grad((g * g).sum(), x)
        return g, g2
    assert_same(f, atol=1e-10)


def test_no_graph_under_no_grad():
    x = pyml.tensor([1.0], requires_grad=True)
    with pyml.no_grad():
        y = FP["Cube"].apply(x)
    assert not y.requires_grad and y.grad_fn is None


def test_setup_context_style():
    class Mul(pyml.autograd.Function):
        @staticmethod
        def forward(a, b):
            return a * b

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    a, b = pyml.tensor([1.0, 2.0], requires_grad=True), pyml.tensor([3.0, 5.0], requires_grad=True)
    Mul.apply(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 5.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])


def test_malformed_backward_errors():
    class WrongCount(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class Broadcastable(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g.expand(2, 3)  # summed down to x's shape (3,), like PyTorch

    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function WrongCountBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        WrongCount.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"Function WrongShapeBackward returned an invalid gradient at index 0 - "
                                           r"got \[1\] but expected shape compatible with \[2\]"):
        WrongShape.apply(x).sum().backward()
    y = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    Broadcastable.apply(y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(TypeError, match="save_for_backward: can only save Tensors or None"):
        class SaveNumber(pyml.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x
        SaveNumber.apply(x)


def test_backward_results_are_cast_and_reduced_to_the_input_they_flow_to():
    """The engine fits each gradient to the node it flows into, whether that is a leaf's AccumulateGrad, an
    elementwise node or another op's node: float64 comes back float32, a broadcast shape is summed down."""
    class Wide(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return (g.to(pyml.float64) * 3).expand(2, *g.shape)

    x = pyml.tensor([1.0, -2.0, 0.5], requires_grad=True)
    Wide.apply(x).sum().backward()                      # into AccumulateGrad
    assert x.grad.dtype is pyml.float32
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 6.0])
    x.grad = None
    Wide.apply(x.exp()).sum().backward()                # into an elementwise node (exp)
    assert x.grad.dtype is pyml.float32
    np.testing.assert_allclose(x.grad.numpy(), 6.0 * np.exp([1.0, -2.0, 0.5]), rtol=1e-6)
    x.grad = None
    Wide.apply(x.reshape(3, 1).sum(1)).sum().backward()  # into a generic op node (sum)
    assert x.grad.dtype is pyml.float32
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 6.0])


def test_anomaly_in_custom_backward_names_function_and_line():
    class BadBackward(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = pyml.tensor([1.0], requires_grad=True)
    with pyml.autograd.detect_anomaly():
        y = BadBackward.apply(x)  # CUSTOM-FORWARD-SITE
        with pytest.raises(RuntimeError, match=r"(?s)Function 'BadBackwardBackward' returned nan or inf.*"
                                               r"CUSTOM-FORWARD-SITE"):
            y.sum().backward()
