"""Autograd engine and Tensor surface against PyTorch: backward/grad arguments and errors, .grad
accumulation, retain_grad/is_leaf/requires_grad rules, hooks, grad modes (context managers,
decorators, threads), in-place correctness (version checks, CopySlices, stale views), detect_anomaly.
Values are compared with torch on the same float64 inputs."""
import inspect
import threading

import numpy as np
import pytest
import torch

import pyml

LIBS = (pyml, torch)


def t(lib, a, rg=False):
    return lib.tensor(np.asarray(a, dtype=np.float64), dtype=lib.float64, requires_grad=rg)


def npy(x):
    return None if x is None else np.asarray(x.detach().numpy(), dtype=np.float64)


def both(fn):
    """fn(lib) -> value or tuple/list of tensors; returns (pyml result, torch result) as NumPy."""
    out = []
    for lib in LIBS:
        r = fn(lib)
        r = r if isinstance(r, (tuple, list)) else (r,)
        out.append([npy(x) if x is None or hasattr(x, "detach") else np.asarray(x) for x in r])
    return out


def assert_same(fn, atol=1e-12):
    p, q = both(fn)
    assert len(p) == len(q)
    for a, b in zip(p, q):
        if a is None or b is None:
            assert a is None and b is None, (a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=atol)


# ------------------------------------------------------------------------------------------ backward
def test_backward_scalar_and_gradient_argument():
    def f(lib):
        x = t(lib, [1.0, -2.0, 3.0], rg=True)
        (x * x).sum().backward()
        y = t(lib, [[0.5, 1.5], [2.0, -1.0]], rg=True)
        (y.exp() * 2).backward(t(lib, [[1.0, 2.0], [3.0, 4.0]]))
        return x.grad, y.grad
    assert_same(f)


def test_backward_errors():
    x = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="backward: grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="backward: element 0 of tensors does not require grad"):
        pyml.tensor([1.0]).sum().backward()
    with pytest.raises(ValueError, match=r"backward: mismatch in shape: grad_output\[0\] has a shape of \(2,\)"):
        (x * 2).backward(pyml.ones(2))
    with pytest.raises(TypeError, match="backward: gradients must be Tensors or None"):
        (x * 2).backward([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="backward: got 2 gradients for 1 tensors"):
        pyml.autograd.backward([x.sum()], [pyml.ones(()), pyml.ones(())])
    with pytest.raises(ValueError, match="backward: 'inputs' argument to backward\\(\\) cannot be empty"):
        x.sum().backward(inputs=[])


def test_second_backward_through_freed_graph_raises():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Backward: trying to backward through the graph a second time.*"
                                           "retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    def f(lib):
        x = t(lib, [1.0, 2.0, -0.5], rg=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        first = x.grad.clone()
        y.backward()
        return first, x.grad
    assert_same(f)
    p, _ = both(f)
    np.testing.assert_allclose(p[1], 2 * p[0])


def test_nodes_without_saved_tensors_can_run_twice_like_torch():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y = x.sum()
        y.backward()
        y.backward()
        return x.grad
    assert_same(f)


def test_grad_accumulates_in_place_across_calls():
    for lib in LIBS:
        x = t(lib, [1.0, 2.0], rg=True)
        (x * 3).sum().backward()
        g = x.grad
        (x * x).sum().backward()
        assert g is x.grad  # accumulated in place, like PyTorch
        np.testing.assert_allclose(npy(x.grad), [5.0, 7.0])


def test_grads_never_alias_each_other_or_the_user_gradient():
    for lib in LIBS:
        x, y = t(lib, [1.0, 1.0], rg=True), t(lib, [1.0, 1.0], rg=True)
        (x + y).sum().backward()  # AddBackward hands one tensor to both inputs
        x.grad.mul_(5)
        np.testing.assert_allclose(npy(y.grad), [1.0, 1.0])
        g = t(lib, [1.0, 1.0])
        x.grad = None
        (x + 0).backward(g)
        x.grad.mul_(3)
        np.testing.assert_allclose(npy(g), [1.0, 1.0])
        a, b = t(lib, [1.0, 1.0], rg=True), t(lib, [1.0, 1.0], rg=True)
        y = a + b
        (y + y).sum().backward()  # a gradient the engine summed, then handed to both leaves
        a.grad.mul_(10)
        np.testing.assert_allclose(npy(b.grad), [2.0, 2.0])
        z = t(lib, [2.0, 3.0], rg=True)
        z.sum().backward()  # the gradient arrives as an expanded (stride-0) view
        z.sum().backward()
        np.testing.assert_allclose(npy(z.grad), [2.0, 2.0])


def test_fresh_gradient_becomes_grad_without_a_copy():
    # nobody else can see the gradient MulBackward made, so it becomes x.grad itself (PyTorch steals it too)
    x = pyml.randn(1000, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g._impl.data_ptr))
    (x * 3).sum().backward()
    assert seen == [x.grad._impl.data_ptr]
    np.testing.assert_allclose(npy(x.grad), np.full(1000, 3.0))


@pytest.mark.parametrize("keep", ["hook keeps the tensor", "numpy view", "view of it", "same engine tensor"])
def test_gradient_seen_elsewhere_is_copied(keep):
    x = pyml.randn(64, requires_grad=True)
    kept = []

    def hook(g):
        if keep == "hook keeps the tensor":
            kept.append(g)
        elif keep == "numpy view":
            kept.append(g.numpy())
        elif keep == "view of it":
            kept.append(g[::2])
        else:
            kept.append(pyml.Tensor._wrap(g._impl))
    x.register_hook(hook)
    (x * 3).sum().backward()
    before = np.array(npy(kept[0]) if not isinstance(kept[0], np.ndarray) else kept[0], copy=True)
    x.grad.mul_(7)  # must not reach what the hook kept
    after = npy(kept[0]) if not isinstance(kept[0], np.ndarray) else kept[0]
    np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(npy(x.grad), np.full(64, 21.0))


def test_stolen_first_gradient_then_accumulates_in_place():
    x = pyml.randn(33, 7, requires_grad=True)
    w = pyml.randn(33, 7)
    (x * w).sum().backward()
    g = x.grad
    (x * 2).sum().backward()
    assert g is x.grad
    np.testing.assert_allclose(npy(x.grad), npy(w) + 2.0, rtol=1e-6)
    xt = x.detach().t().requires_grad_()  # a non-contiguous leaf: its gradient keeps the leaf's layout rules
    (xt * 3).sum().backward()
    np.testing.assert_allclose(npy(xt.grad), np.full((7, 33), 3.0))


def test_nonleaf_grad_is_none_unless_retain_grad():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y = x * 2
        z = y * y
        y.retain_grad()
        assert y.retains_grad and not z.retains_grad and not x.retains_grad
        assert x.is_leaf and not y.is_leaf and t(lib, [1.0]).is_leaf
        z.sum().backward()
        assert z.grad is None
        return x.grad, y.grad
    assert_same(f)


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="requires_grad: only Tensors of floating point and complex dtype"):
        pyml.tensor([1, 2]).requires_grad_()
    x = pyml.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="requires_grad: you can only change requires_grad flags of leaf"):
        y.requires_grad = False
    y.requires_grad_(True)  # no-op on a non-leaf that requires grad
    assert (x * 2).requires_grad and not (pyml.tensor([1.0]) * 2).requires_grad
    assert not (x > 0).requires_grad and not x.argmax().requires_grad  # integer/bool results


def test_detach_and_detach_():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.data_ptr() == y.data_ptr() and d._version == y._version
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None
    v = (x * 2)[:1]
    with pytest.raises(RuntimeError, match="detach_: can't detach views in-place"):
        v.detach_()
    z = x.data
    assert not z.requires_grad and z.data_ptr() == x.data_ptr()


def test_backward_inputs_accumulates_only_into_inputs():
    def f(lib):
        a, b = t(lib, [1.0, 2.0], rg=True), t(lib, [3.0, 4.0], rg=True)
        h = a * b
        (h * h).sum().backward(inputs=[a, h])
        return a.grad, b.grad, h.grad
    assert_same(f)


def test_root_gradient_of_other_dtype_is_cast():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)  # float32
    (x * 2).backward(pyml.tensor([1.0, 1.0], dtype=pyml.float64))
    assert x.grad.dtype is pyml.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# ------------------------------------------------------------------------------------------ autograd.grad
def test_grad_multiple_outputs_inputs_and_grad_outputs():
    def f(lib):
        a, b = t(lib, [1.0, 2.0, 3.0], rg=True), t(lib, [0.5, -1.0, 2.0], rg=True)
        o1, o2 = a * b.sin(), (a * a).sum()
        go = t(lib, [1.0, -2.0, 0.5])
        ga, gb = lib.autograd.grad([o1, o2], [a, b], [go, None])
        assert a.grad is None and b.grad is None  # leaves untouched
        return ga, gb
    assert_same(f)


def test_grad_allow_unused_and_materialize():
    a, c = pyml.tensor([1.0], requires_grad=True), pyml.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad: one of the differentiated Tensors \(input 1\) appears to not have "
                                           "been used in the graph. Set allow_unused=True"):
        pyml.autograd.grad((a * 2).sum(), [a, c])
    ga, gc = pyml.autograd.grad((a * 2).sum(), [a, c], allow_unused=True)
    assert gc is None and ga.item() == 2.0
    ga, gc = pyml.autograd.grad((a * 2).sum(), [a, c], materialize_grads=True)
    assert gc.item() == 0.0
    with pytest.raises(RuntimeError, match=r"grad: one of the differentiated Tensors \(input 0\) does not require"):
        pyml.autograd.grad((a * 2).sum(), [pyml.tensor([1.0])])


def test_grad_create_graph_and_retain_graph():
    def f(lib):
        x = t(lib, [0.3, -1.2], rg=True)
        y = (x ** 3).sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        g2, = lib.autograd.grad(g.sum(), x, retain_graph=True)
        g3, = lib.autograd.grad(g.sum(), x)  # retained above
        return g, g2, g3
    assert_same(f)
    x = pyml.tensor([1.0], requires_grad=True)
    y = (x.exp() * x).sum()
    pyml.autograd.grad(y, x)  # retain_graph defaults to create_graph (False)
    with pytest.raises(RuntimeError, match="trying to backward through the graph a second time"):
        pyml.autograd.grad(y, x)


def test_grad_with_nonleaf_inputs():
    def f(lib):
        a = t(lib, [1.0, 2.0], rg=True)
        h = a * 3
        k = h.exp()
        return lib.autograd.grad((k * h).sum(), [h, k])
    assert_same(f)


def test_grad_runs_only_the_needed_part_of_the_graph():
    calls = []

    class Count(pyml.autograd.Function):
        @staticmethod
        def forward(ctx, x, tag):
            ctx.tag = tag
            return x * 1

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.tag)
            return g, None

    a, b = pyml.tensor([1.0, 2.0], requires_grad=True), pyml.tensor([3.0, 4.0], requires_grad=True)
    ya, yb = Count.apply(a, "a"), Count.apply(b, "b")
    out = (ya * yb).sum()
    ga, = pyml.autograd.grad(out, a, retain_graph=True)
    assert calls == ["a"] and a.grad is None and b.grad is None
    np.testing.assert_allclose(ga.numpy(), [3.0, 4.0])
    calls.clear()
    pyml.autograd.grad(out, ya)  # the node of ya itself need not run
    assert calls == []


# ------------------------------------------------------------------------------------------ hooks
def test_tensor_hooks_modify_gradient_and_remove():
    def f(lib):
        log = []
        a = t(lib, [1.0, 2.0], rg=True)
        h1 = a.register_hook(lambda g: (log.append(("leaf", g.tolist())), g * 2)[1])
        b = a * 3
        hb = b.register_hook(lambda g: (log.append(("b", g.tolist())), g + 1)[1])
        b.retain_grad()
        c = (b * b).sum()
        c.backward(retain_graph=True)
        first = (a.grad.clone(), b.grad.clone())
        h1.remove()
        hb.remove()
        a.grad = b.grad = None
        c.backward()
        return first + (a.grad, b.grad, np.array([len(log)]))
    assert_same(f)


def test_hook_order_with_retain_grad_like_torch():
    def f(lib):
        a = t(lib, [1.0, 2.0], rg=True)
        b = a * 3
        b.register_hook(lambda g: g * 10)
        b.retain_grad()  # retain_grad sees the gradient after every tensor hook
        b.register_hook(lambda g: g * 100)
        b.sum().backward()
        return b.grad, a.grad
    assert_same(f)


def test_leaf_hooks_apply_to_autograd_grad():
    def f(lib):
        a = t(lib, [1.0, 2.0], rg=True)
        a.register_hook(lambda g: g * 2)
        return lib.autograd.grad((a * 3).sum(), a)
    assert_same(f)


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that doesn't require"):
        pyml.tensor([1.0]).register_hook(lambda g: g)


def test_node_pre_and_post_hooks_like_torch():
    def f(lib):
        log = []
        a = t(lib, [1.0, 2.0], rg=True)
        b = a * 3
        c = (b * b).sum()
        b.grad_fn.register_prehook(lambda go: log.append(go[0].tolist()))
        b.grad_fn.register_hook(lambda gi, go: (log.append(gi[0].tolist()), (gi[0] * 0.5,) + tuple(gi[1:]))[1])
        c.backward()
        return a.grad, np.array(log)
    assert_same(f)


def test_post_accumulate_grad_hook():
    seen = []
    a = pyml.tensor([1.0, 2.0], requires_grad=True)
    a.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (a * 2).sum().backward()
    assert seen == [[2.0, 2.0]]
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"):
        (a * 2).register_post_accumulate_grad_hook(lambda p: None)


# ------------------------------------------------------------------------------------------ grad modes
def test_modes_as_context_managers_and_nesting():
    a = pyml.ones(2, requires_grad=True)
    with pyml.no_grad():
        assert not (a * 2).requires_grad and not pyml.is_grad_enabled()
        with pyml.enable_grad():
            assert (a * 2).requires_grad
        with pyml.set_grad_enabled(True):
            assert (a * 2).requires_grad
        assert not (a * 2).requires_grad
    assert pyml.is_grad_enabled()
    with pyml.inference_mode():
        assert not (a * 2).requires_grad and pyml.is_inference_mode_enabled()
        with pyml.inference_mode(False):
            assert not pyml.is_inference_mode_enabled()
    assert not pyml.is_inference_mode_enabled()
    with pyml.inference_mode(False):
        assert (a * 2).requires_grad


def test_modes_as_decorators():
    a = pyml.ones(2, requires_grad=True)

    @pyml.no_grad()
    def f1():
        return (a * 2).requires_grad

    @pyml.no_grad
    def f2():
        return (a * 2).requires_grad

    @pyml.enable_grad()
    def f3():
        return (a * 2).requires_grad

    @pyml.inference_mode
    def f4():
        return (a * 2).requires_grad, pyml.is_inference_mode_enabled()

    @pyml.set_grad_enabled(False)
    def f5():
        return pyml.is_grad_enabled()

    assert pyml.is_grad_enabled()  # decorating with set_grad_enabled(False) does not switch
    assert f1() is False and f2() is False and f5() is False
    with pyml.no_grad():
        assert f3() is True
    assert f4() == (False, True)
    assert pyml.is_grad_enabled() and not pyml.is_inference_mode_enabled()


def test_set_grad_enabled_plain_call_and_bad_arg():
    pyml.set_grad_enabled(False)
    try:
        assert not pyml.is_grad_enabled()
    finally:
        pyml.set_grad_enabled(True)
    assert pyml.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool"):
        pyml.set_grad_enabled(1)


def test_modes_restore_after_exception_and_reentry():
    with pytest.raises(ValueError):
        with pyml.no_grad():
            raise ValueError
    assert pyml.is_grad_enabled()
    ng = pyml.no_grad()
    with ng:
        with ng:
            pass
        assert not pyml.is_grad_enabled()
    assert pyml.is_grad_enabled()


def test_decorated_generator_keeps_mode_per_resume():
    @pyml.no_grad()
    def gen():
        yield pyml.is_grad_enabled()
        yield pyml.is_grad_enabled()
    g = gen()
    assert next(g) is False
    assert pyml.is_grad_enabled()
    assert next(g) is False


def test_grad_mode_is_thread_local():
    a = pyml.ones(2, requires_grad=True)
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def worker():
        with pyml.no_grad():
            entered.set()
            release.wait(10)
            seen["worker"] = (a * 2).requires_grad

    def other():
        seen["other"] = pyml.is_grad_enabled(), (a * 2).requires_grad

    th = threading.Thread(target=worker)
    th.start()
    entered.wait(10)
    assert pyml.is_grad_enabled() and (a * 2).requires_grad  # main thread unaffected by the worker's no_grad
    th2 = threading.Thread(target=other)
    with pyml.no_grad():
        th2.start()
        th2.join()
    release.set()
    th.join()
    assert seen == {"worker": False, "other": (True, True)}


# ------------------------------------------------------------------------------------------ in-place
def test_modified_saved_tensor_raises_naming_op_and_versions():
    x = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    z = y * 2
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"MulBackward: one of the variables needed for gradient computation has "
                                           r"been modified by an inplace operation: .*output 0 of ExpBackward.*is at "
                                           r"version 1; expected version 0 instead"):
        z.sum().backward()
    w = (x * 1).sigmoid()
    w.mul_(2)
    with pytest.raises(RuntimeError, match=r"SigmoidBackward: .*output 0 of SigmoidBackward, is at version 1; "
                                           r"expected version 0"):
        w.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place"):
        x[0].mul_(2)
    with pyml.no_grad():
        x.add_(1)  # allowed under no_grad (an optimizer step)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


INPLACE_ON_VIEWS = {
    "mul_ slice by other": lambda lib, x: ((lambda y: (y[1:3].mul_(x[:2]), y)[1])(x * 2) * t(lib, [1, 2, 3, 4])).sum(),
    "setitem": lambda lib, x: ((lambda y: (y.__setitem__(slice(1, 3), x[2:] ** 2), y)[1])(x * 2) ** 2).sum(),
    "exp_ on column of a view": lambda lib, x: (lambda y: (y[:, 0].exp_(), (y * y).sum())[1])((x * 2).view(2, 2)),
    "add_ self on strided view": lambda lib, x: (lambda b: (b[::2].add_(b[::2]), (b * b).sum())[1])(x.clone()),
    "view made before base in-place": lambda lib, x: (lambda y: (lambda v: (y.mul_(2), (v * v).sum())[1])(y[1:]))(
        x * 1),
    "transposed view": lambda lib, x: (lambda y: (y.t()[0].mul_(3), (y.sin()).sum())[1])((x * 1).view(2, 2)),
}


@pytest.mark.parametrize("case", list(INPLACE_ON_VIEWS))
def test_inplace_on_views_of_nonleaves_match_torch(case):
    def f(lib):
        x = t(lib, [1.0, 2.0, 3.0, 4.0], rg=True)
        INPLACE_ON_VIEWS[case](lib, x).backward()
        return x.grad
    assert_same(f, atol=1e-9)


def test_inplace_on_view_then_saved_view_raises():
    x = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.clone()
    v = y[:2]
    w = v * v
    y.mul_(2)
    with pytest.raises(RuntimeError, match="MulBackward: one of the variables needed for gradient computation"):
        w.sum().backward()


# ------------------------------------------------------------------------------------------ anomaly
def _line_of(marker):
    src, start = inspect.getsourcelines(_anomaly_forward)
    return start + next(i for i, s in enumerate(src) if marker in s)


def _anomaly_forward(x, kind):
    if kind == "sqrt":
        y = x.sqrt()  # FORWARD-SQRT
        return (y * 0).sum()
    y = x.log()  # FORWARD-LOG
    return (y * 0).sum()  # log(0) = -inf, times 0: LogBackward computes 0 / 0


@pytest.mark.parametrize("kind, op, marker", [("sqrt", "Sqrt", "FORWARD-SQRT"), ("log", "Log", "FORWARD-LOG")])
def test_detect_anomaly_names_op_and_forward_line(kind, op, marker):
    x = pyml.tensor([0.0, 1.0], requires_grad=True)
    with pyml.autograd.detect_anomaly():
        loss = _anomaly_forward(x, kind)
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    msg = str(e.value)
    assert f"Function '{op}Backward' returned nan or inf values" in msg
    assert f"The forward op {op} ({op}Backward) was called at" in msg
    assert f'{__file__}", line {_line_of(marker)}' in msg
    assert marker in msg  # the source line itself
    assert not pyml.autograd.is_anomaly_enabled()


def test_without_anomaly_mode_nan_passes_silently():
    x = pyml.tensor([0.0, 1.0], requires_grad=True)
    _anomaly_forward(x, "sqrt").backward()
    assert np.isnan(x.grad.numpy()[0])


def test_set_detect_anomaly_call_and_context():
    x = pyml.tensor([0.0, 1.0], requires_grad=True)
    pyml.autograd.set_detect_anomaly(True)
    try:
        assert pyml.autograd.is_anomaly_enabled()
        loss = _anomaly_forward(x, "sqrt")
        with pytest.raises(RuntimeError, match="returned nan or inf values"):
            loss.backward()
    finally:
        pyml.autograd.set_detect_anomaly(False)
    assert not pyml.autograd.is_anomaly_enabled()
    with pyml.autograd.set_detect_anomaly(True):
        assert pyml.autograd.is_anomaly_enabled()
    assert not pyml.autograd.is_anomaly_enabled()

    @pyml.autograd.detect_anomaly()
    def run():
        return pyml.autograd.is_anomaly_enabled()
    assert run() and not pyml.autograd.is_anomaly_enabled()


def test_anomaly_mode_adds_forward_site_to_backward_errors():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    with pyml.autograd.detect_anomaly():
        y = x.exp()
        z = y * 2  # FORWARD-MUL
        y.add_(1)
        with pytest.raises(RuntimeError, match=r"(?s)modified by an inplace operation.*The forward op Mul "
                                               r"\(MulBackward\) was called at.*FORWARD-MUL"):
            z.sum().backward()


# ------------------------------------------------------------------------------------------ engine details
def test_hook_must_keep_gradient_shape():
    x = pyml.ones(3, requires_grad=True)
    x.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the size of value: expected a Tensor of "
                                           r"shape \(3,\), got \(2,\)"):
        (x * 2).sum().backward()


def test_op_without_derivative_raises_at_backward():
    from pyml.autograd.wrap import _guarded

    def my_op(x):
        with pyml.no_grad():  # computes without recording: like an op whose formula is missing
            return x * 2

    op = _guarded("my_op", my_op)
    x = pyml.ones(2, requires_grad=True)
    y = op(x)
    assert y.requires_grad  # never silently detached
    with pytest.raises(RuntimeError, match="my_op: the derivative for 'my_op' is not implemented"):
        y.sum().backward()
    listed = _guarded("my_list_op", lambda tensors: my_op(tensors[0]))
    with pytest.raises(RuntimeError, match="my_list_op: the derivative for 'my_list_op' is not implemented"):
        pyml.autograd.grad(listed([x]).sum(), x)  # a tensor inside a list argument is an input too


def test_multiple_roots_leaf_root_and_grad_of_output_itself():
    def f(lib):
        x = t(lib, [1.0, 2.0], rg=True)
        y = x.exp()
        z = (y * y).sum()
        lib.autograd.backward([z, y], [None, t(lib, [1.0, -1.0])])  # y is also an ancestor of z
        leaf = t(lib, [3.0, 4.0], rg=True)
        leaf.backward(t(lib, [0.5, 0.25]))
        w = x * 3
        return x.grad, leaf.grad, lib.autograd.grad(w, w, t(lib, [2.0, 5.0]))[0]
    assert_same(f)


def test_shared_subgraph_and_reuse_of_inputs():
    def f(lib):
        x = t(lib, [0.3, -0.7, 1.1], rg=True)
        a = x * x  # x used twice by one op
        b = a.sin() + a.cos() * a  # a feeds three consumers
        c = (b[:2] * b[1:]).sum() + b.sum()
        c.backward()
        return x.grad
    assert_same(f)


def test_op_returning_its_input_keeps_history():
    x = pyml.ones(3, requires_grad=True)
    for same in (x.contiguous(), x.to(pyml.float32), x.float(), x.type_as(x)):
        assert same is x
    assert x.is_leaf and x.grad_fn is None  # a leaf stays a leaf (no node chain grows on it)
    h = x * 2
    fn = h.grad_fn
    assert h.contiguous() is h and h.grad_fn is fn


def test_filling_a_buffer_with_setitem_and_copy_matches_torch():
    def f(lib):
        x = t(lib, [1.0, 2.0, 3.0], rg=True)
        buf = lib.zeros(4, dtype=lib.float64)
        buf[1:] = x * 2
        out = lib.zeros(3, 3, dtype=lib.float64)
        for i in range(3):  # rows written one at a time, like an RNN's outputs
            out[i] = (x * (i + 1)).sin()
        col = lib.zeros(3, 2, dtype=lib.float64)
        col[:, 0] = x
        col[:, 1].copy_(x ** 2)
        m = lib.zeros(3, dtype=lib.float64)
        m[lib.tensor([0, 2])] = x[:2]
        mm = lib.zeros(3, dtype=lib.float64)
        mm[x > 1.5] = x[x > 1.5] * 3
        loss = (buf * buf).sum() + (out * out.t()).sum() + col.prod(1).sum() + (m ** 2).sum() + mm.sum()
        loss.backward()
        return x.grad
    assert_same(f, atol=1e-10)


def test_inplace_op_without_derivative_raises_instead_of_passing_gradient_through():
    from pyml.autograd.wrap import _guarded

    def my_scale_(self, k):
        with pyml.no_grad():  # modifies self without recording: an in-place op lacking a formula
            self.mul_(k)
        return self

    op = _guarded("my_scale_", my_scale_)
    x = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    op(y, 2.0)
    with pytest.raises(RuntimeError, match="my_scale_: the derivative for 'my_scale_' is not implemented"):
        y.sum().backward()
    z = x * 1
    op(z[1:], 2.0)  # through a view: the base's history is marked too
    with pytest.raises(RuntimeError, match="my_scale_: the derivative"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="my_scale_: a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        op(x, 2.0)
    with pyml.no_grad():
        op(x, 2.0)  # allowed without grad mode
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 4.0, 6.0])


@pytest.mark.parametrize("case", ["clamp_", "addmm_", "addmv_"])
def test_composite_inplace_methods_match_torch(case):
    rng = np.random.default_rng(5)
    a, b, c = rng.standard_normal((3, 3)), rng.standard_normal((3, 2)), rng.standard_normal((2, 3))

    def f(lib):
        x, s, m = t(lib, a, rg=True), t(lib, b, rg=True), t(lib, c, rg=True)
        y = x * 1
        if case == "clamp_":
            y.clamp_(-0.3, 0.4)
        elif case == "addmm_":
            y.addmm_(s, m, beta=0.5, alpha=2.0)
        else:
            y = y[0] * 1
            y.addmv_(m.t(), s[0])
        (y * t(lib, np.arange(y.numel()).reshape(tuple(y.shape)) + 1.0)).sum().backward()
        return x.grad, s.grad, m.grad
    assert_same(f, atol=1e-10)


def test_multi_output_composite_with_one_constant_input_keeps_gradients():
    """broadcast_tensors(leaf, constant): the constant's expanded output has no history and needs none; the
    missing-derivative guard must not give it a raising node (it only flags ops that recorded nothing)."""
    a = pyml.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    b = pyml.tensor([1.0, -1.0, 0.5, 2.0])
    x, y = pyml.broadcast_tensors(a, b)
    assert x.requires_grad and not y.requires_grad
    (x * y).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 2.5))


@pytest.mark.parametrize("kind", ["dict_values", "generator", "parameters"])
def test_grad_and_backward_take_any_iterable_of_inputs(kind):
    """torch turns any iterable into a tuple (MAML loops pass params.values() or model.parameters())."""
    def f(lib):
        lin = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            lin.weight.copy_(t(lib, np.arange(6.0).reshape(2, 3) / 7 - 0.3))
            lin.bias.copy_(t(lib, [0.5, -1.25]))
        x = t(lib, [[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
        params = dict(lin.named_parameters())
        make = {"dict_values": lambda: params.values(), "generator": lambda: (p for p in params.values()),
                "parameters": lin.parameters}[kind]
        gs = lib.autograd.grad(lin(x).pow(2).sum(), make())
        lin(x).pow(3).sum().backward(inputs=make())
        return gs + (lin.weight.grad, lin.bias.grad)
    assert_same(f, atol=1e-12)


def test_grad_rejects_non_iterable_and_non_tensor_inputs():
    x = pyml.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="grad: inputs must be a Tensor or a sequence of Tensors, got int"):
        pyml.autograd.grad(x.sum(), 3)
    with pytest.raises(TypeError, match="grad: inputs must be Tensors, got int at position 1"):
        pyml.autograd.grad(x.sum(), iter([x, 3]))
