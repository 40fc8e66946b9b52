"""optim.Muon against torch.optim.Muon: step-by-step trajectories, state, defaults and argument errors."""
import numpy as np
import pytest
import torch

import pyml
from pyml.optim.muon import _zeropower_via_newtonschulz

CONFIGS = [{}, {"nesterov": False}, {"lr": 0.02, "weight_decay": 0.01, "adjust_lr_fn": "match_rms_adamw"},
           {"momentum": 0.5, "ns_steps": 3, "adjust_lr_fn": "original", "eps": 1e-5},
           {"ns_coefficients": (2.0, -1.5, 0.5), "lr": 0.01}]


def _trajectory(shapes, kwargs, steps=8, seed=0):
    """Runs both optimizers on the same float64 parameters and loss; yields max |diff| of params per step."""
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s) for s in shapes]
    targets = [rng.standard_normal(s) for s in shapes]
    tw = [torch.tensor(w, requires_grad=True) for w in w0]
    pw = [pyml.tensor(w, requires_grad=True) for w in w0]
    to, po = torch.optim.Muon(tw, **kwargs), pyml.optim.Muon(pw, **kwargs)
    for _ in range(steps):
        to.zero_grad()
        po.zero_grad()
        sum(((w - torch.tensor(t)) ** 3).sum() for w, t in zip(tw, targets)).backward()
        sum(((w - pyml.tensor(t)) ** 3).sum() for w, t in zip(pw, targets)).backward()
        to.step()
        po.step()
        yield max(np.abs(a.detach().numpy() - b.detach().numpy()).max() for a, b in zip(tw, pw))
    for a, b in zip(tw, pw):
        np.testing.assert_allclose(po.state[b]["momentum_buffer"].numpy(), to.state[a]["momentum_buffer"].numpy(),
                                   rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize("shapes", [[(7, 5)], [(5, 7), (1, 9)], [(13, 13), (9, 3)]])
def test_trajectory_matches_torch(kwargs, shapes):
    # the orthogonalisation runs in bfloat16 (as torch): one bf16 rounding apart is ~1e-3 of an update
    for step, err in enumerate(_trajectory(shapes, kwargs)):
        assert err < 2e-3, (step, err)


def test_first_steps_bit_exact_on_a_small_matrix():
    assert list(_trajectory([(7, 5)], {}, steps=4)) == [0.0] * 4


def test_newton_schulz_orthogonalises():
    g = pyml.randn(9, 5, dtype=pyml.float64)
    o = _zeropower_via_newtonschulz(g, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert o.dtype == pyml.bfloat16 and tuple(o.shape) == (9, 5)
    s = np.linalg.svd(o.float().numpy(), compute_uv=False)
    assert 0.5 < s.min() and s.max() < 1.5
    ref = torch.optim._muon._zeropower_via_newtonschulz(torch.tensor(g.numpy()), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    np.testing.assert_allclose(o.float().numpy(), ref.float().numpy(), atol=2e-2)


def test_defaults_state_dict_and_repr_keys_like_torch():
    p = pyml.nn.Parameter(pyml.randn(4, 3))
    t = torch.nn.Parameter(torch.randn(4, 3))
    po, to = pyml.optim.Muon([p]), torch.optim.Muon([t])
    assert po.defaults == {k: v for k, v in to.defaults.items() if k in po.defaults}
    assert set(po.defaults) == set(to.defaults)
    p.grad, t.grad = pyml.ones(4, 3), torch.ones(4, 3)
    po.step()
    to.step()
    assert set(po.state_dict()["state"][0]) == set(to.state_dict()["state"][0]) == {"momentum_buffer"}


@pytest.mark.parametrize("kwargs,match", [
    ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
    ({"momentum": -0.1}, "momentum should be >= 0 but is: -0.1"),
    ({"weight_decay": -0.1}, "weight decay should be >= 0 but is: -0.1"),
    ({"adjust_lr_fn": "bogus"}, "Adjust learning rate function bogus is not supported"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError):
        torch.optim.Muon([torch.nn.Parameter(torch.randn(3, 3))], **kwargs)
    with pytest.raises(ValueError, match=match):
        pyml.optim.Muon([pyml.nn.Parameter(pyml.randn(3, 3))], **kwargs)


def test_rejects_non_2d_parameters_and_too_many_ns_steps():
    with pytest.raises(ValueError):
        torch.optim.Muon([torch.nn.Parameter(torch.randn(3))])
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .* size: \(3,\)"):
        pyml.optim.Muon([pyml.nn.Parameter(pyml.randn(3))])
    p = pyml.nn.Parameter(pyml.randn(3, 3))
    p.grad = pyml.ones(3, 3)
    with pytest.raises(ValueError, match="ns_steps must be less than 100 .*, got 100"):
        pyml.optim.Muon([p], ns_steps=100).step()
