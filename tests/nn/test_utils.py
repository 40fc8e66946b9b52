"""nn.utils vs torch: gradient clipping, parameters<->vector, parametrizations (weight_norm, spectral_norm:
state_dict keys, outputs, gradients, removal), pruning (masks, keys, forward hook, remove, global) and
the rnn packing helpers (PackedSequence fields, round trips, gradients)."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401  (not imported by torch.nn.utils itself)

import pyml
import pyml.nn as nn
from pyml.nn.utils import parametrize, parametrizations, prune, rnn

tnn = torch.nn
tutils = torch.nn.utils


def P(t):
    return pyml.from_dlpack(t.detach().contiguous())


def N(t):
    return np.asarray(t.detach().double())


def copy_state(pm, tm):
    pm.load_state_dict({k: P(v) for k, v in tm.state_dict().items()})


def _pair(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    tm = tnn.Sequential(tnn.Linear(5, 7), tnn.Tanh(), tnn.Linear(7, 3)).to(dtype)
    pm = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).to(pyml.float64 if dtype == torch.float64
                                                                         else pyml.float32)
    copy_state(pm, tm)
    return pm, tm


def _backward_both(pm, tm, scale=1.0, seed=1):
    torch.manual_seed(seed)
    x = torch.randn(4, 5, dtype=next(tm.parameters()).dtype)
    (tm(x) ** 2).sum().mul(scale).backward()
    (pm(P(x)) ** 2).sum().mul(scale).backward()


# ----------------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_vs_torch(norm_type, max_norm):
    pm, tm = _pair()
    _backward_both(pm, tm, scale=10.0)
    tn = tutils.clip_grad_norm_(tm.parameters(), max_norm, norm_type)
    pn = nn.utils.clip_grad_norm_(pm.parameters(), max_norm, norm_type)
    assert isinstance(pn, pyml.Tensor)
    np.testing.assert_allclose(float(pn), float(tn), rtol=1e-10)
    for p, q in zip(pm.parameters(), tm.parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=1e-10, atol=1e-14)


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    p = nn.Parameter(pyml.ones(3))
    p.grad = pyml.tensor([3.0, 4.0, 0.0])
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([3, 4, 0]) / (5 + 1e-6), rtol=1e-6)
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(pyml.ones(1))], 1.0)) == 0.0
    q = nn.Parameter(pyml.ones(2))
    q.grad = pyml.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        nn.utils.clip_grad_norm_([q], 1.0, error_if_nonfinite=True)
    assert np.isnan(float(nn.utils.clip_grad_norm_([q], 1.0)))


def test_clip_grad_value_and_total_norm():
    pm, tm = _pair()
    _backward_both(pm, tm, scale=10.0)
    tutils.clip_grad_value_(tm.parameters(), 0.05)
    nn.utils.clip_grad_value_(pm.parameters(), 0.05)
    for p, q in zip(pm.parameters(), tm.parameters()):
        np.testing.assert_array_equal(N(p.grad), N(q.grad))
    grads_p = [p.grad for p in pm.parameters()]
    grads_t = [p.grad for p in tm.parameters()]
    np.testing.assert_allclose(float(nn.utils.get_total_norm(grads_p, 3.0)),
                               float(tutils.get_total_norm(grads_t, 3.0)), rtol=1e-10)


def test_parameters_vector_round_trip():
    pm, tm = _pair()
    vp = nn.utils.parameters_to_vector(pm.parameters())
    vt = tutils.parameters_to_vector(tm.parameters())
    np.testing.assert_array_equal(N(vp), N(vt))
    new = pyml.arange(vp.numel(), dtype=pyml.float64)
    ids = [id(p) for p in pm.parameters()]
    nn.utils.vector_to_parameters(new, pm.parameters())
    assert [id(p) for p in pm.parameters()] == ids
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(pm.parameters()).detach().numpy(), new.numpy())
    assert pyml.shares_memory(pm[0].weight, new)
    with pytest.raises(TypeError, match="expected pyml.Tensor"):
        nn.utils.vector_to_parameters([1.0], pm.parameters())
    with pytest.raises(ValueError, match="vec has 3 elements"):
        nn.utils.vector_to_parameters(pyml.ones(3), pm.parameters())
    # differentiable: the gradient of sum(vec) reaches every parameter
    nn.utils.parameters_to_vector(pm.parameters()).sum().backward()
    assert all(float(p.grad.sum()) == p.numel() for p in pm.parameters())


# ----------------------------------------------------------------------------------- parametrizations
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_vs_torch(dim):
    torch.manual_seed(2)
    tm = tutils.parametrizations.weight_norm(tnn.Linear(4, 6).double(), dim=dim)
    pm = parametrizations.weight_norm(nn.Linear(4, 6).double(), dim=dim)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert str(pm) == str(tm)
    assert parametrize.is_parametrized(pm) and parametrize.is_parametrized(pm, "weight")
    assert not parametrize.is_parametrized(pm, "bias")
    assert parametrize.type_before_parametrizations(pm) is nn.Linear
    with torch.no_grad():
        tm.parametrizations.weight.original0.mul_(1.7)
    copy_state(pm, tm)
    np.testing.assert_allclose(N(pm.weight), N(tm.weight), rtol=1e-12)
    x = torch.randn(3, 4, dtype=torch.float64)
    (tm(x) ** 2).sum().backward()
    (pm(P(x)) ** 2).sum().backward()
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=1e-10, atol=1e-13, err_msg=n)


def test_weight_norm_assign_cache_and_remove():
    pm = parametrizations.weight_norm(nn.Linear(3, 2).double())
    new = pyml.randn(2, 3, dtype=pyml.float64)
    pm.weight = new  # goes through right_inverse: g = ||new|| per row, v = new
    np.testing.assert_allclose(pm.weight.detach().numpy(), new.numpy(), rtol=1e-12)
    with parametrize.cached():
        assert pm.weight is pm.weight
    assert pm.weight is not pm.weight
    w = pm.weight.detach().clone()
    parametrize.remove_parametrizations(pm, "weight")
    assert type(pm) is nn.Linear and isinstance(pm.weight, nn.Parameter)
    tm = tutils.parametrizations.weight_norm(tnn.Linear(3, 2))
    tutils.parametrize.remove_parametrizations(tm, "weight")
    assert list(pm.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(pm.weight.detach().numpy(), w.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(pm, "weight")


def test_weight_norm_legacy_keys_load_and_old_api():
    torch.manual_seed(3)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        told = tutils.weight_norm(tnn.Linear(4, 3))
    pold = nn.utils.weight_norm(nn.Linear(4, 3))
    assert list(pold.state_dict()) == list(told.state_dict())
    copy_state(pold, told)
    x = torch.randn(2, 4)
    np.testing.assert_allclose(N(pold(P(x))), N(told(x)), rtol=1e-5, atol=1e-6)
    # a parametrized module loads the old weight_g / weight_v keys
    pnew = parametrizations.weight_norm(nn.Linear(4, 3))
    pnew.load_state_dict({k: P(v) for k, v in told.state_dict().items()})
    np.testing.assert_allclose(N(pnew(P(x))), N(told(x)), rtol=1e-5, atol=1e-6)
    nn.utils.remove_weight_norm(pold)
    assert list(pold.state_dict()) == ["bias", "weight"]


@pytest.mark.parametrize("train", [True, False])
def test_spectral_norm_vs_torch(train):
    torch.manual_seed(4)
    tm = tutils.parametrizations.spectral_norm(tnn.Linear(5, 4).double(), n_power_iterations=2)
    pm = parametrizations.spectral_norm(nn.Linear(5, 4).double(), n_power_iterations=2)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert str(pm) == str(tm)
    copy_state(pm, tm)  # copies _u and _v too
    tm.train(train)
    pm.train(train)
    x = torch.randn(3, 5, dtype=torch.float64)
    for _ in range(2):  # in training each forward runs power iterations on the stored u, v
        out_t, out_p = tm(x), pm(P(x))
        np.testing.assert_allclose(N(out_p), N(out_t), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(N(pm.parametrizations.weight[0]._u), N(tm.parametrizations.weight[0]._u), rtol=1e-10)
    (out_t ** 2).sum().backward()
    (out_p ** 2).sum().backward()
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=1e-9, atol=1e-12, err_msg=n)
    # the largest singular value of the effective weight is ~1
    w = pm.weight.detach().numpy()
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)


def test_custom_parametrization_and_errors():
    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    class Bad(nn.Module):
        def forward(self, x):
            return x[:1]

    m = nn.Linear(3, 3)
    parametrize.register_parametrization(m, "weight", Symmetric())
    w = m.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = pyml.zeros(3, 3)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(3, 3), "weight", Bad())
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        parametrize.register_parametrization(nn.Linear(3, 3), "nope", Symmetric())
    (m(pyml.ones(2, 3)).sum()).backward()
    assert m.parametrizations.weight.original.grad is not None


# ----------------------------------------------------------------------------------- pruning
def test_l1_unstructured_vs_torch_and_forward_hook():
    torch.manual_seed(5)
    tm, pm = tnn.Linear(6, 5), nn.Linear(6, 5)
    copy_state(pm, tm)
    tutils.prune.l1_unstructured(tm, "weight", amount=0.4)
    prune.l1_unstructured(pm, "weight", amount=0.4)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in pm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in pm.named_buffers()] == ["weight_mask"]
    np.testing.assert_array_equal(N(pm.weight_mask), N(tm.weight_mask))
    assert int((pm.weight_mask.numpy() == 0).sum()) == 12
    np.testing.assert_array_equal(N(pm.weight), N(tm.weight))
    assert prune.is_pruned(pm)
    # the mask is applied again on every forward: changes to weight_orig show up masked
    with pyml.no_grad():
        pm.weight_orig.add_(1.0)
    with torch.no_grad():
        tm.weight_orig.add_(1.0)
    x = torch.randn(2, 6)
    np.testing.assert_allclose(N(pm(P(x))), N(tm(x)), rtol=1e-5, atol=1e-6)
    (pm(P(x)).sum()).backward()
    (tm(x).sum()).backward()
    np.testing.assert_allclose(N(pm.weight_orig.grad), N(tm.weight_orig.grad), rtol=1e-5, atol=1e-6)
    prune.remove(pm, "weight")
    tutils.prune.remove(tm, "weight")
    assert list(pm.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(N(pm.weight), N(tm.weight), rtol=1e-6)
    assert not prune.is_pruned(pm)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(pm, "weight")


def test_iterative_and_structured_pruning_vs_torch():
    torch.manual_seed(6)
    tm, pm = tnn.Linear(8, 6), nn.Linear(8, 6)
    copy_state(pm, tm)
    for mod, pr in ((tm, tutils.prune), (pm, prune)):
        pr.l1_unstructured(mod, "weight", amount=5)
        pr.ln_structured(mod, "weight", amount=0.5, n=2, dim=0)
        pr.l1_unstructured(mod, "weight", amount=3)
        pr.ln_structured(mod, "weight", amount=2, n=1, dim=1)
        pr.identity(mod, "bias")
    np.testing.assert_array_equal(N(pm.weight_mask), N(tm.weight_mask))
    np.testing.assert_array_equal(N(pm.bias_mask), N(tm.bias_mask))
    assert list(pm.state_dict()) == list(tm.state_dict())
    hooks = [h for h in pm._forward_pre_hooks.values() if isinstance(h, prune.PruningContainer)]
    assert len(hooks) == 1 and len(hooks[0]) == 4


def test_global_and_custom_pruning_vs_torch():
    torch.manual_seed(7)
    tm = tnn.Sequential(tnn.Linear(5, 4), tnn.Linear(4, 3))
    pm = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3))
    copy_state(pm, tm)
    tutils.prune.global_unstructured([(tm[0], "weight"), (tm[1], "weight")],
                                     pruning_method=tutils.prune.L1Unstructured, amount=0.5)
    prune.global_unstructured([(pm[0], "weight"), (pm[1], "weight")], pruning_method=prune.L1Unstructured,
                              amount=0.5)
    for i in range(2):
        np.testing.assert_array_equal(N(pm[i].weight_mask), N(tm[i].weight_mask))
    assert list(pm.state_dict()) == list(tm.state_dict())
    mask = pyml.tensor([1.0, 0.0, 1.0])
    prune.custom_from_mask(pm[1], "bias", mask)
    np.testing.assert_array_equal(pm[1].bias.detach().numpy()[1], 0.0)


def test_random_pruning_counts_and_errors():
    m = nn.Linear(10, 10)
    prune.random_unstructured(m, "weight", amount=0.3)
    assert int((m.weight_mask.numpy() == 0).sum()) == 30
    c = nn.Linear(4, 6)
    prune.random_structured(c, "weight", amount=2, dim=0)
    rows_zero = (c.weight_mask.numpy() == 0).all(axis=1)
    assert rows_zero.sum() == 2
    with pytest.raises(ValueError, match="amount=1.5 should either be a float in the range"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5)
    with pytest.raises(ValueError, match="amount=10 should be smaller than the number of parameters"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=10)
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional"):
        prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0)


# ----------------------------------------------------------------------------------- rnn packing
def _seqs(lengths, feat=(3,), seed=8):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn((n,) + feat, generator=g, dtype=torch.float64) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce", [([5, 3, 3, 1], True), ([2, 6, 4], False), ([1], True),
                                             ([4, 4], True), ([3, 7, 1, 5, 2], False)])
def test_pack_pad_round_trip_vs_torch(batch_first, lengths, enforce):
    ts = _seqs(lengths)
    tpad = tutils.rnn.pad_sequence(ts, batch_first=batch_first)
    ppad = rnn.pad_sequence([P(t) for t in ts], batch_first=batch_first)
    np.testing.assert_array_equal(N(ppad), N(tpad))
    tp = tutils.rnn.pack_padded_sequence(tpad, lengths, batch_first=batch_first, enforce_sorted=enforce)
    src = P(tpad).requires_grad_()
    pp = rnn.pack_padded_sequence(src, pyml.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce)
    assert isinstance(pp, rnn.PackedSequence) and pp._fields == tp._fields
    np.testing.assert_array_equal(N(pp.data), N(tp.data))
    np.testing.assert_array_equal(pp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    assert pp.batch_sizes.dtype == pyml.int64
    for a, b in ((pp.sorted_indices, tp.sorted_indices), (pp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    tout, tl = tutils.rnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=-1.0, total_length=8)
    pout, pl = rnn.pad_packed_sequence(pp, batch_first=batch_first, padding_value=-1.0, total_length=8)
    np.testing.assert_array_equal(N(pout), N(tout))
    np.testing.assert_array_equal(pl.numpy(), tl.numpy())
    # gradients flow from the re-padded output back to the padded input (zero on the padding)
    w = torch.randn(tout.shape, dtype=torch.float64)
    tsrc = tpad.clone().requires_grad_()
    tout2, _ = tutils.rnn.pad_packed_sequence(
        tutils.rnn.pack_padded_sequence(tsrc, lengths, batch_first=batch_first, enforce_sorted=enforce),
        batch_first=batch_first, total_length=8)
    (tout2 * w).sum().backward()
    pout2, _ = rnn.pad_packed_sequence(pp, batch_first=batch_first, total_length=8)
    (pout2 * P(w)).sum().backward()
    np.testing.assert_array_equal(N(src.grad), N(tsrc.grad))


def test_pack_sequence_unpack_and_padding_side():
    ts = _seqs([3, 5, 2], feat=(2, 2))
    pp = rnn.pack_sequence([P(t) for t in ts], enforce_sorted=False)
    tp = tutils.rnn.pack_sequence(ts, enforce_sorted=False)
    np.testing.assert_array_equal(N(pp.data), N(tp.data))
    back = rnn.unpack_sequence(pp)
    for a, b in zip(back, ts):
        np.testing.assert_array_equal(N(a), N(b))
    left = rnn.pad_sequence([P(t) for t in ts], batch_first=True, padding_value=9.0, padding_side="left")
    np.testing.assert_array_equal(N(left), N(tutils.rnn.pad_sequence(ts, True, 9.0, "left")))
    padded, lengths = rnn.pad_packed_sequence(pp, batch_first=True)
    parts = rnn.unpad_sequence(padded, lengths, batch_first=True)
    assert [tuple(p.shape) for p in parts] == [(3, 2, 2), (5, 2, 2), (2, 2, 2)]
    assert pp.to(pyml.float32).data.dtype == pyml.float32 and pp.double() is pp


def test_pack_errors():
    x = pyml.randn(5, 3, 2)
    with pytest.raises(ValueError, match="must be sorted in decreasing order"):
        rnn.pack_padded_sequence(x, [2, 5, 1])
    with pytest.raises(ValueError, match="Length of all samples has to be greater than 0"):
        rnn.pack_padded_sequence(x, [5, 2, 0])
    with pytest.raises(ValueError, match="Expected `len\\(lengths\\)` to be equal to batch_size"):
        rnn.pack_padded_sequence(x, [5, 2])
    with pytest.raises(ValueError, match="exceeds the padded length"):
        rnn.pack_padded_sequence(x, [6, 2, 1])
    pp = rnn.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        rnn.pad_packed_sequence(pp, total_length=3)
    with pytest.raises(ValueError, match="pad_sequence: Expected padding_side"):
        rnn.pad_sequence([x[0]], padding_side="middle")
