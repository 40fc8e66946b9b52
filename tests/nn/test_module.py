"""Module system vs torch: registration, iteration, state_dict keys and loading (strict errors), conversion,
printouts, hooks (forward, pre, full backward), containers, Parameter semantics and functional_call."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn
import pyml.nn.functional as F
from pyml.func import functional_call

tnn = torch.nn


def P(t):
    """torch tensor -> pyml tensor (same values and dtype)."""
    return pyml.from_dlpack(t.detach().contiguous())


def N(t):
    return np.asarray(t.detach().double())


def copy_state(pm, tm):
    sd = {k: P(v) for k, v in tm.state_dict().items()}
    pm.load_state_dict(sd)


class PNet(nn.Module):
    def __init__(self, lib=nn):
        super().__init__()
        self.fc1 = lib.Linear(5, 7)
        self.act = lib.Tanh()
        self.block = lib.Sequential(lib.Linear(7, 7), lib.ReLU(), lib.Dropout(0.1))
        self.heads = lib.ModuleList([lib.Linear(7, 3), lib.Linear(7, 3, bias=False)])
        self.register_buffer("running", (pyml if lib is nn else torch).zeros(3))
        self.register_buffer("scratch", (pyml if lib is nn else torch).ones(2), persistent=False)

    def forward(self, x):
        h = self.block(self.act(self.fc1(x)))
        return self.heads[0](h) + self.heads[1](h) + self.running


class TNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = tnn.Linear(5, 7)
        self.act = tnn.Tanh()
        self.block = tnn.Sequential(tnn.Linear(7, 7), tnn.ReLU(), tnn.Dropout(0.1))
        self.heads = tnn.ModuleList([tnn.Linear(7, 3), tnn.Linear(7, 3, bias=False)])
        self.register_buffer("running", torch.zeros(3))
        self.register_buffer("scratch", torch.ones(2), persistent=False)

    def forward(self, x):
        h = self.block(self.act(self.fc1(x)))
        return self.heads[0](h) + self.heads[1](h) + self.running


# ----------------------------------------------------------------------------------- Parameter
def test_parameter_basics():
    t = pyml.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, pyml.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert pyml.shares_memory(p, t)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert repr(p).endswith("requires_grad=True)")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    e = nn.Parameter()
    assert e.shape == (0,)
    # results of ops are plain tensors
    assert type(p * 2) is pyml.Tensor and type(p.detach()) is pyml.Tensor
    with pytest.raises(TypeError, match="Parameter"):
        nn.Parameter([1.0, 2.0])


def test_parameter_data_assignment_keeps_identity():
    m = nn.Linear(3, 2)
    w = m.weight
    w.data = pyml.zeros(2, 3)
    assert m.weight is w and isinstance(m.weight, nn.Parameter)
    assert float(m.weight.abs().sum()) == 0.0
    assert m.weight.requires_grad


def test_parameter_deepcopy_and_pickle():
    p = nn.Parameter(pyml.randn(4))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and not pyml.shares_memory(p, q)
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad
    m = copy.deepcopy(nn.Sequential(nn.Linear(2, 2)))
    assert isinstance(m[0].weight, nn.Parameter)


def test_buffer_marker():
    m = nn.Module()
    m.b = nn.Buffer(pyml.ones(2))
    m.np = nn.Buffer(pyml.ones(1), persistent=False)
    assert list(dict(m.named_buffers())) == ["b", "np"]
    assert list(m.state_dict()) == ["b"]
    assert isinstance(m.b, nn.Buffer) and not isinstance(pyml.ones(1), nn.Buffer)


# ----------------------------------------------------------------------------------- registration
def test_setattr_registration_and_errors():
    m = nn.Module()
    m.w = nn.Parameter(pyml.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", pyml.zeros(1))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["buf"]
    assert "plain" in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'pyml.FloatTensor' as parameter 'w'"):
        m.w = pyml.ones(2)
    m.w = None
    assert m.w is None and "w" in m._parameters
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3
    m.buf = pyml.ones(3)  # a tensor assigned to a buffer name stays a buffer
    assert m._buffers["buf"].shape == (3,)
    with pytest.raises(TypeError, match="buffer 'buf'"):
        m.buf = 5
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", pyml.ones(1))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="pyml.nn.Parameter or None"):
        m.register_parameter("q", pyml.ones(1))
    with pytest.raises(ValueError, match="non-leaf"):
        x = pyml.ones(1, requires_grad=True)
        m.register_parameter("q", _nonleaf_param(x))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        m.nothing
    del m.sub, m.buf, m.w
    assert not m._modules and not m._buffers and not m._parameters


def _nonleaf_param(x):
    p = nn.Parameter(pyml.ones(1))
    p.grad_fn = (x * 2).grad_fn
    return p


def test_assign_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(pyml.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_reassigning_between_kinds_like_torch():
    m, t = nn.Module(), tnn.Module()
    m.x, t.x = nn.Parameter(pyml.ones(1)), tnn.Parameter(torch.ones(1))
    with pytest.raises(TypeError, match="as parameter 'x'"):
        m.x = nn.Linear(1, 1)  # like torch: a parameter slot takes only a Parameter or None
    with pytest.raises(TypeError):
        t.x = tnn.Linear(1, 1)
    m.y, t.y = nn.Linear(1, 1), tnn.Linear(1, 1)
    m.y, t.y = nn.Parameter(pyml.ones(1)), tnn.Parameter(torch.ones(1))  # a Parameter replaces a module
    assert "y" in m._parameters and "y" not in m._modules
    assert list(m.state_dict()) == list(t.state_dict())


# ----------------------------------------------------------------------------------- iteration
def test_named_members_match_torch():
    pm, tm = PNet(), TNet()
    assert [n for n, _ in pm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in pm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in pm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in pm.named_children()] == [n for n, _ in tm.named_children()]
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in pm.named_parameters(recurse=False)] == []
    assert [n for n, _ in pm.block.named_parameters(prefix="blk")] == ["blk.0.weight", "blk.0.bias"]
    assert len(list(pm.parameters())) == len(list(tm.parameters()))
    assert sum(p.numel() for p in pm.parameters()) == sum(p.numel() for p in tm.parameters())


def test_shared_parameters_and_modules_deduplicated():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "1.weight",
                                                                         "1.bias"]
    assert len(list(m.modules())) == 2
    assert len(list(m.named_modules(remove_duplicate=False))) == 3
    t = tnn.Sequential(*[tnn.Linear(2, 2)] * 2)
    assert list(m.state_dict()) == list(t.state_dict())


def test_get_submodule_parameter_buffer():
    pm = PNet()
    assert pm.get_submodule("block.0") is pm.block[0]
    assert pm.get_submodule("") is pm
    assert pm.get_parameter("heads.1.weight") is pm.heads[1].weight
    assert pm.get_buffer("running") is pm.running
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        pm.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        pm.get_parameter("running")
    pm.set_submodule("block.1", nn.GELU())
    assert isinstance(pm.block[1], nn.GELU)


def test_add_module_and_apply():
    m = nn.Module()
    m.add_module("a", nn.Linear(2, 3))
    m.register_module("b", None)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("c", 3)
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Module"]

    def init_w(mod):
        if isinstance(mod, nn.Linear):
            nn.init.ones_(mod.weight)
    m.apply(init_w)
    assert float(m.a.weight.sum()) == 6.0


def test_train_eval_requires_grad_zero_grad():
    pm = PNet()
    assert pm.training and pm.block[2].training
    pm.eval()
    assert not pm.training and not pm.block[2].training
    pm.train()
    assert pm.block[2].training
    with pytest.raises(ValueError, match="boolean"):
        pm.train("yes")
    pm.requires_grad_(False)
    assert not any(p.requires_grad for p in pm.parameters())
    pm.requires_grad_()
    pm(pyml.randn(4, 5)).sum().backward()
    assert all(p.grad is not None for p in pm.parameters())
    pm.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in pm.parameters())
    pm.zero_grad()
    assert all(p.grad is None for p in pm.parameters())


# ----------------------------------------------------------------------------------- conversion
def test_to_keeps_parameter_identity_and_converts_grads():
    pm = PNet()
    params = list(pm.parameters())
    pm(pyml.randn(2, 5)).sum().backward()
    r = pm.double()
    assert r is pm
    assert [id(p) for p in pm.parameters()] == [id(p) for p in params]
    assert all(p.dtype == pyml.float64 and isinstance(p, nn.Parameter) for p in pm.parameters())
    assert all(p.grad.dtype == pyml.float64 for p in pm.parameters())
    assert pm.running.dtype == pyml.float64
    pm.to(pyml.float32)
    assert all(p.dtype == pyml.float32 for p in pm.parameters())
    pm.to(dtype=pyml.float16)
    assert pm.fc1.weight.dtype == pyml.float16
    pm.float().cpu()
    pm.to("cpu", pyml.float64)
    assert pm.fc1.weight.dtype == pyml.float64
    pm.to(pyml.zeros(1, dtype=pyml.float32))
    assert pm.fc1.weight.dtype == pyml.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        pm.to(pyml.int32)


def test_to_leaves_integer_buffers():
    m = nn.Module()
    m.register_buffer("count", pyml.zeros(1, dtype=pyml.int64))
    m.register_buffer("x", pyml.zeros(1))
    m.double()
    assert m.count.dtype == pyml.int64 and m.x.dtype == pyml.float64


# ----------------------------------------------------------------------------------- state_dict
def test_state_dict_values_and_keep_vars():
    pm = PNet()
    sd = pm.state_dict()
    assert "scratch" not in sd
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is pyml.Tensor
    assert pyml.shares_memory(sd["fc1.weight"], pm.fc1.weight)
    kv = pm.state_dict(keep_vars=True)
    assert kv["fc1.weight"] is pm.fc1.weight
    assert list(pm.state_dict(prefix="model.")) == ["model." + k for k in sd]


def test_load_torch_state_dict_and_outputs_match():
    torch.manual_seed(0)
    tm, pm = TNet().eval(), PNet().eval()
    tm.running.uniform_()
    r = pm.load_state_dict(tm.state_dict())  # torch tensors are accepted directly
    assert repr(r) == "<All keys matched successfully>"
    assert r.missing_keys == [] and r.unexpected_keys == []
    x = torch.randn(6, 5, dtype=torch.float32, requires_grad=True)
    xp = P(x).requires_grad_()
    out_t, out_p = tm(x), pm(xp)
    np.testing.assert_allclose(N(out_p), N(out_t), rtol=1e-5, atol=1e-6)
    out_t.square().sum().backward()
    out_p.square().sum().backward()
    np.testing.assert_allclose(N(xp.grad), N(x.grad), rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=1e-4, atol=1e-5, err_msg=n)


def test_load_state_dict_strict_errors_match_torch():
    pm, tm = nn.Linear(3, 4), tnn.Linear(3, 4)
    bad_t = {"weight": torch.zeros(3, 3), "foo": torch.zeros(1)}
    with pytest.raises(RuntimeError) as et:
        tm.load_state_dict(bad_t)
    with pytest.raises(RuntimeError) as ep:
        pm.load_state_dict({k: P(v) for k, v in bad_t.items()})
    assert str(ep.value) == str(et.value).replace("torch.", "pyml.")
    assert 'Missing key(s) in state_dict: "bias"' in str(ep.value)
    assert 'Unexpected key(s) in state_dict: "foo"' in str(ep.value)
    assert "size mismatch for weight" in str(ep.value)


def test_load_state_dict_non_strict_returns_keys():
    pm, tm = PNet(), TNet()
    sd = {k: v for k, v in tm.state_dict().items() if not k.startswith("heads")}
    sd["extra.weight"] = torch.zeros(1)
    rt = tm.load_state_dict(sd, strict=False)
    rp = pm.load_state_dict({k: P(v) for k, v in sd.items()}, strict=False)
    assert rp.missing_keys == rt.missing_keys and rp.unexpected_keys == rt.unexpected_keys
    assert repr(rp) == repr(rt)
    # size mismatch is an error even with strict=False
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        pm.load_state_dict({"fc1.weight": pyml.zeros(2, 2)}, strict=False)


def test_load_state_dict_copies_in_place_and_assign():
    pm = nn.Linear(2, 2)
    w = pm.weight
    pm.load_state_dict({"weight": pyml.ones(2, 2), "bias": pyml.zeros(2)})
    assert pm.weight is w and float(w.sum()) == 4.0
    new = pyml.full((2, 2), 3.0)
    pm.load_state_dict({"weight": new, "bias": pyml.zeros(2)}, assign=True)
    assert isinstance(pm.weight, nn.Parameter) and pyml.shares_memory(pm.weight, new)
    with pytest.raises(TypeError, match="dict-like"):
        pm.load_state_dict([1, 2])


def test_load_state_dict_hooks_and_extra_state():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.note = None

        def get_extra_state(self):
            return {"note": "hi"}

        def set_extra_state(self, state):
            self.note = state["note"]

    class TWithExtra(tnn.Module):
        def __init__(self):
            super().__init__()
            self.lin = tnn.Linear(1, 1)

        def get_extra_state(self):
            return {}

        def set_extra_state(self, state):
            pass

    m = WithExtra()
    sd = m.state_dict()
    assert list(sd) == list(TWithExtra().state_dict())
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(list(keys.missing_keys)))
    m.load_state_dict(sd)
    assert m.note == "hi" and seen == [[]]


# ----------------------------------------------------------------------------------- printing
def _torch_str(m):
    return str(m).replace("torch.", "pyml.")


def test_repr_matches_torch():
    def build(lib, t):
        return lib.Sequential(
            lib.Linear(3, 4), lib.ReLU(inplace=True), lib.Dropout(0.25),
            lib.ModuleList([lib.Linear(2, 2) for _ in range(3)] + [lib.Tanh()]),
            lib.ModuleDict({"act": lib.GELU(approximate="tanh"), "sm": lib.Softmax(dim=1)}),
            lib.Sequential(OrderedDict([("flat", lib.Flatten()), ("unflat", lib.Unflatten(1, (2, 3)))])),
            lib.ParameterList([lib.Parameter(t.zeros(2, 3)), lib.Parameter(t.zeros(2, dtype=t.float64))]),
            lib.Bilinear(2, 3, 4, bias=False), lib.Identity(), lib.LeakyReLU(0.2), lib.Hardtanh(-2.0, 2.0),
            lib.ELU(alpha=0.5, inplace=True), lib.Softplus(beta=2), lib.Threshold(0.1, 20.0), lib.PReLU(3),
            lib.Hardshrink(), lib.RReLU(), lib.MSELoss(), lib.Dropout2d(), lib.ReLU6(), lib.GLU())
    assert str(build(nn, pyml)) == _torch_str(build(tnn, torch))
    assert str(nn.ModuleList()) == str(tnn.ModuleList())
    assert str(nn.ParameterDict({"p": nn.Parameter(pyml.zeros(2))})) == _torch_str(
        tnn.ParameterDict({"p": tnn.Parameter(torch.zeros(2))}))


def test_custom_module_repr():
    assert str(PNet()) == str(TNet()).replace("TNet", "PNet")


# ----------------------------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_edits():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()]
    s = nn.Sequential(*layers)
    assert len(s) == 4 and s[0] is layers[0] and s[-1] is layers[3]
    sl = s[1:3]
    assert isinstance(sl, nn.Sequential) and list(sl) == layers[1:3] and list(sl._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        s[4]
    s.append(nn.Sigmoid())
    s.insert(0, nn.Identity())
    assert len(s) == 6 and isinstance(s[0], nn.Identity) and list(s._modules) == [str(i) for i in range(6)]
    del s[0]
    assert list(s._modules) == [str(i) for i in range(5)] and s[0] is layers[0]
    s[1] = nn.GELU()
    assert isinstance(s[1], nn.GELU)
    s2 = s + nn.Sequential(nn.ReLU())
    assert len(s2) == 6
    x = pyml.randn(3, 2)
    assert s(x).shape == (3, 3)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]


def test_modulelist_moduledict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(5)
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Linear(2, 2)
    assert list(md.state_dict()) == ["c.weight", "c.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and list(md) == ["a", "c"]


def test_parameterlist_parameterdict():
    pl = nn.ParameterList([pyml.ones(2), nn.Parameter(pyml.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(pyml.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert pl[-1].shape == (1,)
    with pytest.raises(RuntimeError, match="should not be called"):
        pl(1)
    pd = nn.ParameterDict({"w": pyml.ones(2)})
    pd["b"] = pyml.zeros(2)
    assert list(pd.keys()) == ["w", "b"] and isinstance(pd["b"], nn.Parameter)
    assert list(pd.state_dict()) == ["w", "b"]
    assert pd.get("zz") is None and "w" in pd
    del pd["w"]
    assert list(pd) == ["b"]
    t = tnn.Module()
    t.pl = tnn.ParameterList([tnn.Parameter(torch.ones(2))])
    p = nn.Module()
    p.pl = nn.ParameterList([nn.Parameter(pyml.ones(2))])
    assert list(p.state_dict()) == list(t.state_dict())


# ----------------------------------------------------------------------------------- hooks
def test_forward_pre_hook_and_forward_hook():
    m = nn.Linear(3, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    y = m(pyml.randn(4, 3))
    b = m.bias.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), np.broadcast_to(b + 1, (4, 2)), rtol=1e-6)
    assert calls == [(4, 2)]
    h1.remove()
    h2.remove()
    x = pyml.randn(4, 3)
    np.testing.assert_allclose(m(x).detach().numpy(), F.linear(x, m.weight, m.bias).detach().numpy())
    assert len(calls) == 1


def test_hooks_with_kwargs_prepend_and_handle_context():
    m = nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, a, o: order.append("second"))
    with m.register_forward_hook(lambda mod, a, o: order.append("first"), prepend=True):
        m(pyml.ones(1))
    m(pyml.ones(1))
    assert order == ["first", "second", "second"]

    class KW(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    k = KW()
    k.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True)
    k.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["scale"], with_kwargs=True)
    assert float(k(pyml.ones(1))) == 6.0


def test_global_forward_hook():
    seen = []
    h = nn.modules.module.register_module_forward_hook(lambda mod, a, o: seen.append(type(mod).__name__))
    try:
        nn.Sequential(nn.ReLU())(pyml.ones(1))
    finally:
        h.remove()
    assert seen == ["ReLU", "Sequential"]


def test_always_call_forward_hook_runs_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, a, o: seen.append(o), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        m(pyml.ones(1))
    assert seen == [None]


def _run_backward_hooks(lib, t, mod, inputs):
    record = {}

    def hook(m, gin, gout):
        record["gin"] = [None if g is None else N(g) for g in gin]
        record["gout"] = [None if g is None else N(g) for g in gout]

    mod.register_full_backward_hook(hook)
    out = mod(*inputs)
    (out * out).sum().backward()
    return record


def test_full_backward_hook_matches_torch():
    torch.manual_seed(1)
    tm = tnn.Linear(4, 3).double()
    pm = nn.Linear(4, 3).double()
    copy_state(pm, tm)
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    rt = _run_backward_hooks(tnn, torch, tm, (x,))
    rp = _run_backward_hooks(nn, pyml, pm, (P(x).requires_grad_(),))
    assert len(rp["gin"]) == len(rt["gin"]) == 1 and len(rp["gout"]) == 1
    np.testing.assert_allclose(rp["gin"][0], rt["gin"][0], rtol=1e-10)
    np.testing.assert_allclose(rp["gout"][0], rt["gout"][0], rtol=1e-10)


def test_full_backward_hook_input_without_grad_and_replacing_grad():
    torch.manual_seed(2)
    tm = tnn.Linear(4, 3).double()
    pm = nn.Linear(4, 3).double()
    copy_state(pm, tm)
    x = torch.randn(5, 4, dtype=torch.float64)
    rt = _run_backward_hooks(tnn, torch, tm, (x,))
    rp = _run_backward_hooks(nn, pyml, pm, (P(x),))
    assert rp["gin"] == rt["gin"] == [None]
    np.testing.assert_allclose(rp["gout"][0], rt["gout"][0], rtol=1e-10)
    # a hook may replace grad_input: doubling it doubles the gradient upstream
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gin, gout: tuple(2 * g for g in gin))
    xin = pyml.randn(3, 2, requires_grad=True)
    m(xin).sum().backward()
    ref = pyml.ones(3, 2) @ m.weight.detach()
    np.testing.assert_allclose(xin.grad.numpy(), 2 * ref.numpy(), rtol=1e-6)


def test_full_backward_pre_hook_and_multiple_inputs():
    def run(lib, t):
        class Mix(lib.Module):
            def forward(self, a, b, scale):
                return a * b * scale

        m = Mix()
        got = {}
        m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 10,))
        m.register_full_backward_hook(lambda mod, gin, gout: got.update(gin=gin, gout=gout))
        a = t.full((2,), 2.0, requires_grad=True)
        b = t.full((2,), 3.0)
        m(a, b, 0.5).sum().backward()
        return got, a.grad

    gp, ap = run(nn, pyml)
    gt, at = run(tnn, torch)
    assert len(gp["gin"]) == len(gt["gin"]) == 3 and gp["gin"][2] is None and gt["gin"][2] is None
    for x, y in zip(gp["gin"][:2] + gp["gout"], gt["gin"][:2] + gt["gout"]):
        np.testing.assert_allclose(N(x), N(y))
    np.testing.assert_allclose(N(ap), N(at))


def test_backward_hook_with_tuple_output_matches_torch():
    def run(lib, t):
        class Two(lib.Module):
            def forward(self, a):
                return a * 2, a * 3

        m = Two()
        got = {}
        m.register_full_backward_hook(lambda mod, gin, gout: got.update(gin=gin, gout=gout))
        x = t.ones(2, requires_grad=True)
        o1, o2 = m(x)
        o1.sum().backward()
        return got

    gp, gt = run(nn, pyml), run(tnn, torch)
    assert gp["gout"][1] is None and gt["gout"][1] is None
    np.testing.assert_allclose(N(gp["gout"][0]), N(gt["gout"][0]))
    np.testing.assert_allclose(N(gp["gin"][0]), N(gt["gin"][0]))


# ----------------------------------------------------------------------------------- functional_call
def test_functional_call_maml_matches_torch():
    torch.manual_seed(3)
    # ReLU: its second derivative does not read the saved output (double backward through saved outputs,
    # e.g. Tanh's, is fixed on the autograd branch)
    tm = tnn.Sequential(tnn.Linear(4, 8), tnn.ReLU(), tnn.Linear(8, 1)).double()
    pm = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    copy_state(pm, tm)
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)
    xp, yp = P(x), P(y)
    lr = 0.1

    def maml(lib_call, model, x, y, mse, grad_fn):
        params = dict(model.named_parameters())
        inner = mse(lib_call(model, params, (x,)), y)
        grads = grad_fn(inner, list(params.values()))
        fast = {n: p - lr * g for (n, p), g in zip(params.items(), grads)}
        return mse(lib_call(model, fast, (x,)), y)

    outer_t = maml(torch.func.functional_call, tm, x, y, torch.nn.functional.mse_loss,
                   lambda l, ps: torch.autograd.grad(l, ps, create_graph=True))
    outer_p = maml(functional_call, pm, xp, yp, F.mse_loss,
                   lambda l, ps: pyml.autograd.grad(l, ps, create_graph=True))
    np.testing.assert_allclose(float(outer_p), float(outer_t.detach()), rtol=1e-10)
    outer_t.backward()
    outer_p.backward()
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=1e-8, atol=1e-12, err_msg=n)


def test_functional_call_restores_and_validates():
    m = nn.Linear(2, 1, bias=False)
    w = m.weight
    out = functional_call(m, {"weight": pyml.ones(1, 2)}, (pyml.tensor([[1.0, 2.0]]),))
    assert float(out) == 3.0 and m.weight is w
    out = functional_call(m, ({"weight": pyml.ones(1, 2)},), pyml.tensor([[1.0, 1.0]]))
    assert float(out) == 2.0
    with pytest.raises(RuntimeError, match="Missing key"):
        functional_call(m, {}, (pyml.ones(1, 2),), strict=True)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        functional_call(m, {"weight": pyml.ones(1, 2), "zz": pyml.ones(1)}, (pyml.ones(1, 2),), strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        functional_call(m, ({"weight": pyml.ones(1, 2)}, {"weight": pyml.ones(1, 2)}), (pyml.ones(1, 2),))

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(pyml.ones(1))

        def forward(self, x):
            raise ValueError("boom")

    b = Boom()
    orig = b.w
    with pytest.raises(ValueError):
        functional_call(b, {"w": pyml.zeros(1)}, (1,))
    assert b.w is orig


def test_functional_call_tied_weights():
    m = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    m[1].weight = m[0].weight
    lin = m[1]
    new = pyml.eye(2) * 2
    out = functional_call(m, {"0.weight": new}, (pyml.ones(1, 2),))
    np.testing.assert_allclose(out.numpy(), [[4.0, 4.0]])
    with pytest.raises(ValueError, match="tied"):
        functional_call(m, {"0.weight": new, "1.weight": pyml.eye(2)}, (pyml.ones(1, 2),))
    out = functional_call(m, {"0.weight": new}, (pyml.ones(1, 2),), tie_weights=False)
    ref = (pyml.ones(1, 2) @ new.t()) @ lin.weight.detach().t()
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-6)


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_to_empty_keeps_parameters():
    m = nn.Linear(2, 3)
    w = m.weight
    assert m.to_empty(device="cpu") is m
    assert m.weight is w and m.weight.shape == (3, 2) and isinstance(m.weight, nn.Parameter)
