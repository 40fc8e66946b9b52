"""Optimizer hooks against torch: step pre/post hooks (per optimizer and global, removal, a pre-hook
replacing the arguments), state_dict and load_state_dict pre/post hooks (prepend order, returned
replacements), on SGD, Adam and LBFGS (whose step takes a closure), and a user subclass whose step calls
its parent's: the calls each library makes, in order, and the resulting weights."""
import importlib

import numpy as np
import pytest
import torch

import pyml


def _run(lib, cls_name, kw):
    log = []
    lib.manual_seed(0)
    w = lib.nn.Parameter(lib.tensor(np.array([1.5, -2.0, 0.5])))
    opt = getattr(lib.optim, cls_name)([w], **kw)

    def closure():
        opt.zero_grad()
        loss = (w * w * lib.tensor(np.array([1.0, 2.0, 3.0]))).sum()
        loss.backward()
        return loss

    opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", len(a), sorted(k))))
    post = opt.register_step_post_hook(lambda o, a, k: log.append(("post", o is opt)))
    optimizer_module = importlib.import_module(f"{lib.__name__}.optim.optimizer")
    glob = optimizer_module.register_optimizer_step_pre_hook(lambda o, a, k: log.append(("global",)))
    try:
        for i in range(3):
            if i == 2:
                post.remove()
            opt.step(closure) if cls_name == "LBFGS" else (closure(), opt.step())
    finally:
        glob.remove()
    opt.register_state_dict_pre_hook(lambda o: log.append(("sd pre",)))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd post", sorted(sd))))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd post first",)), prepend=True)
    sd = opt.state_dict()
    opt.register_load_state_dict_pre_hook(lambda o, s: log.append(("load pre", sorted(s))))
    opt.register_load_state_dict_post_hook(lambda o: log.append(("load post",)))
    opt.load_state_dict(sd)
    return log, w.detach().numpy().copy()


@pytest.mark.parametrize("cls_name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                         ("LBFGS", dict(lr=0.5, max_iter=3))])
def test_hook_calls_and_weights_match_torch(cls_name, kw):
    ours, w = _run(pyml, cls_name, kw)
    ref, wt = _run(torch, cls_name, kw)
    assert ours == ref
    np.testing.assert_allclose(w, wt, rtol=1e-10)


def test_pre_hook_can_replace_arguments_and_replacements_of_state_dicts():
    for lib in (pyml, torch):
        w = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        opt = lib.optim.LBFGS([w], lr=0.1, max_iter=1)
        calls = []

        def closure():
            calls.append(1)
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss

        opt.register_step_pre_hook(lambda o, a, k: ((o, closure), {}))  # supplies the closure
        opt.step()
        assert calls
        opt.register_state_dict_post_hook(lambda o, sd: {**sd, "note": "kept"})
        assert opt.state_dict()["note"] == "kept"
        opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "note"})
        opt.load_state_dict(opt.state_dict())


def test_subclass_calling_super_step_runs_hooks_once():
    class Doubled(pyml.optim.SGD):
        def step(self, closure=None):
            super().step(closure)
            return super().step(closure)

    w = pyml.nn.Parameter(pyml.tensor([1.0]))
    opt = Doubled([w], lr=0.25)
    log = []
    opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: log.append("post"))
    (w * w).sum().backward()
    opt.step()
    assert log == ["pre", "post"] and w.item() == pytest.approx(1.0 - 0.25 * 2 * 2)


def test_bad_pre_hook_result():
    w = pyml.nn.Parameter(pyml.tensor([1.0]))
    opt = pyml.optim.SGD([w], lr=0.1)
    opt.register_step_pre_hook(lambda o, a, k: "nope")
    with pytest.raises(RuntimeError, match="must return None or a tuple of \\(new_args, new_kwargs\\)"):
        opt.step()
