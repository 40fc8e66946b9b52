"""CUDA vs CPU for the fused optimizer steps of cuda/optim.cu: every algorithm and option of
pyml.optim, over several parameters of odd sizes (one launch updates them all), several steps with
the same gradients on both devices; the CUDA arithmetic is rounded like the CPU's, so parameters and
states must agree bit for bit. Also the raw engine entries, lists longer than one launch, and
device errors."""
import numpy as np
import pytest

import pyml
import pyml.optim as optim
from pyml import _C

SIZES = [1, 7, 97, 1023, 1025, 3 * 4096 + 5]

CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, weight_decay=0.01, maximize=True)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adam, dict(lr=1e-2)),
    (optim.Adam, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    (optim.Adam, dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.AdamW, dict(lr=1e-2, amsgrad=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    (optim.Adagrad, dict(lr=0.1, root_mean=True)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    (optim.RMSprop, dict(lr=0.01, init_abs_grad=True)),
    (optim.Adamax, dict(lr=0.01, weight_decay=0.01)),
    (optim.NAdam, dict(lr=0.01)),
    (optim.NAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.RAdam, dict(lr=0.01)),  # steps 1..5 unrectified, 6.. rectified
    (optim.RAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


def params_and_grads(dtype, steps, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(n) for n in sizes]
    gs = [[rng.standard_normal(n) for n in sizes] for _ in range(steps)]
    return ps, gs


def run(opt_cls, kw, device, dtype, ps, gs):
    params = [pyml.tensor(p, dtype=dtype, device=device).requires_grad_() for p in ps]
    opt = opt_cls(params, **kw)
    for step_grads in gs:
        for p, g in zip(params, step_grads):
            p.grad = pyml.tensor(g, dtype=dtype, device=device)
        opt.step()
    states = [s for p in params for s in opt.state[p].values() if isinstance(s, pyml.Tensor) and s.numel() == p.numel()]
    return [p.detach().cpu().numpy() for p in params], [s.cpu().numpy() for s in states]


@pytest.mark.parametrize("opt_cls,kw", CONFIGS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
def test_optimizer_steps_match_cpu_bit_for_bit(opt_cls, kw, dtype):
    ps, gs = params_and_grads(dtype, steps=7)
    want = run(opt_cls, kw, "cpu", dtype, ps, gs)
    got = run(opt_cls, kw, "cuda", dtype, ps, gs)
    for w, g in zip(want[0] + want[1], got[0] + got[1]):
        np.testing.assert_array_equal(g, w)


def test_more_tensors_than_one_launch():
    sizes = [(i * 37) % 101 + 1 for i in range(131)] + [0, 5000]  # 133 tensors: three launches, an empty one
    ps, gs = params_and_grads(pyml.float32, steps=3, seed=1, sizes=sizes)
    want = run(optim.Adam, dict(lr=1e-2, amsgrad=True), "cpu", pyml.float32, ps, gs)
    got = run(optim.Adam, dict(lr=1e-2, amsgrad=True), "cuda", pyml.float32, ps, gs)
    for w, g in zip(want[0] + want[1], got[0] + got[1]):
        np.testing.assert_array_equal(g, w)


def test_groups_with_different_steps_and_dtypes():
    # a parameter that skipped a step has another bias correction: it goes to another launch
    a0 = np.random.default_rng(2).standard_normal(97)
    out = []
    for dev in ("cpu", "cuda"):
        a = pyml.tensor(a0, dtype=pyml.float32, device=dev).requires_grad_()
        b = pyml.tensor(np.arange(7.0), dtype=pyml.float64, device=dev).requires_grad_()
        c = pyml.tensor(np.ones(1025), dtype=pyml.float32, device=dev).requires_grad_()
        opt = optim.Adam([a, b, c], lr=0.1)
        for step in range(4):
            a.grad = pyml.full((97,), float(step + 1), device=dev)
            b.grad = pyml.full((7,), 0.5, dtype=pyml.float64, device=dev)
            c.grad = None if step == 1 else pyml.full((1025,), -0.25, device=dev)
            opt.step()
        out.append([t.detach().cpu().numpy() for t in (a, b, c)])
    for w, g in zip(*out):
        np.testing.assert_array_equal(g, w)


def test_engine_single_and_multi_entries():
    hp = dict(lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, step_size=1.0, bc2_sqrt=0.1, weight_decay=0.5)
    res = []
    for dev in ("cpu", "cuda"):
        r = np.random.default_rng(3)
        ps = [pyml.tensor(r.standard_normal(n), dtype=pyml.float32, device=dev) for n in (7, 1025)]
        gs = [pyml.tensor(r.standard_normal(2 * n), dtype=pyml.float32, device=dev)[::2] for n in (7, 1025)]  # strided
        st = [[pyml.zeros(n, device=dev), pyml.zeros(n, device=dev), pyml.zeros(n, device=dev)] for n in (7, 1025)]
        _C.optim_step("adam", ps[0]._impl, gs[0]._impl, [s._impl for s in st[0]], hp)
        _C.optim_step_multi("adam", [p._impl for p in ps], [g._impl for g in gs], [[s._impl for s in l] for l in st],
                            hp)
        res.append([t.cpu().numpy() for t in ps + st[0] + st[1]])
    for w, g in zip(*res):
        np.testing.assert_array_equal(g, w)


def test_device_errors():
    p, g = pyml.zeros(5, device="cuda"), pyml.ones(5)
    with pytest.raises(RuntimeError, match="optim_step: expected all tensors to be on the same device, got cuda:0 "
                                           "and cpu"):
        _C.optim_step("sgd", p._impl, g._impl, [None], dict(lr=0.1))
    with pytest.raises(RuntimeError, match="same device"):
        _C.optim_step("adam", p._impl, g.cuda()._impl, [pyml.zeros(5)._impl, pyml.zeros(5, device="cuda")._impl],
                      dict(lr=0.1))
    q = pyml.zeros(5)
    with pytest.raises(RuntimeError, match="optim_step_multi: expected all tensors to be on the same device"):
        _C.optim_step_multi("sgd", [p._impl, q._impl], [g.cuda()._impl, g._impl], [[None], [None]], dict(lr=0.1))
    with pytest.raises(ValueError, match="share memory"):
        _C.optim_step_multi("sgd", [p._impl, p._impl], [g.cuda()._impl, g.cuda()._impl], [[None], [None]],
                            dict(lr=0.1))
