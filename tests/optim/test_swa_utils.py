"""optim.swa_utils against torch: AveragedModel (SWA mean, EMA by avg_fn and by multi_avg_fn, buffers
averaged or followed), SWALR's rate sequence (cos/linear, several anneal lengths, per-group rates),
update_bn's recomputed BatchNorm statistics, state_dict of the averaged model, and bad arguments."""
import numpy as np
import pytest
import torch

import pyml


def _model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).double()


def _pair():
    tm = _model(torch)
    pm = _model(pyml)
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, pm


def _averaged(lib, model, kind, use_buffers):
    swa = lib.optim.swa_utils
    kw = {"swa": {}, "ema_multi": {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.9)},
          "ema_fn": {"avg_fn": swa.get_ema_avg_fn(0.8)}, "swa_fn": {"avg_fn": swa.get_swa_avg_fn()},
          "swa_multi": {"multi_avg_fn": swa.get_swa_multi_avg_fn()}}[kind]
    return swa.AveragedModel(model, use_buffers=use_buffers, **kw)


def _run_average(lib, model, kind, use_buffers, xs):
    avg = _averaged(lib, model, kind, use_buffers)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for x in xs:
        model(lib.tensor(x)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        avg.update_parameters(model)
    avg.eval()
    with lib.no_grad():
        out = avg(lib.tensor(xs[0]))
    return {k: v.detach().numpy() for k, v in avg.state_dict().items()}, out.numpy()


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_fn", "swa_fn", "swa_multi"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    xs = [np.random.default_rng(i).standard_normal((7, 3)) * (1 + i) for i in range(5)]
    tm, pm = _pair()
    # torch's own get_swa_multi_avg_fn fails inside AveragedModel (integer addcdiv on n_averaged); it is the
    # equal-weight mean, so it is checked against torch's default
    ref, ref_out = _run_average(torch, tm, "swa" if kind == "swa_multi" else kind, use_buffers, xs)
    ours, our_out = _run_average(pyml, pm, kind, use_buffers, xs)
    assert ours.keys() == ref.keys()
    for k in ref:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-12, atol=1e-14, err_msg=k)
    np.testing.assert_allclose(our_out, ref_out, rtol=1e-12, atol=1e-14)


def _rates(lib, strategy, epochs, swa_lr, steps=14):
    params = [lib.nn.Parameter(lib.zeros(2)), lib.nn.Parameter(lib.zeros(3))]
    opt = lib.optim.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:], "lr": 0.05}], lr=0.1)
    sched = lib.optim.swa_utils.SWALR(opt, swa_lr=swa_lr, anneal_epochs=epochs, anneal_strategy=strategy)
    out = [[g["lr"] for g in opt.param_groups]]
    for i in range(steps):
        opt.step()
        sched.step()
        if i == 4:  # a rate changed by hand mid-anneal: SWALR continues from it
            opt.param_groups[0]["lr"] *= 0.5
        out.append(list(sched.get_last_lr()))
    return np.array(out)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("epochs", [0, 1, 3, 10])
@pytest.mark.parametrize("swa_lr", [0.01, [0.2, 0.001]])
def test_swalr_rates_match_torch(strategy, epochs, swa_lr):
    np.testing.assert_allclose(_rates(pyml, strategy, epochs, swa_lr), _rates(torch, strategy, epochs, swa_lr),
                               rtol=1e-13, atol=1e-15)


def _bn_stats(lib, model, batches, as_tuple):
    loader = [(lib.tensor(b), lib.tensor(b[:, 0])) if as_tuple else lib.tensor(b) for b in batches]
    model.train(False)
    lib.optim.swa_utils.update_bn(loader, model)
    bn = model[1]
    return (model.training, bn.momentum, bn.running_mean.numpy(), bn.running_var.numpy(),
            int(bn.num_batches_tracked))


@pytest.mark.parametrize("as_tuple", [False, True])
def test_update_bn_matches_torch(as_tuple):
    g = np.random.default_rng(3)
    batches = [g.standard_normal((n, 3)) * 2 + 1 for n in (4, 9, 1 + 6)]
    tm, pm = _pair()
    ref = _bn_stats(torch, tm, batches, as_tuple)
    ours = _bn_stats(pyml, pm, batches, as_tuple)
    assert ours[0] is ref[0] is False and ours[1] == ref[1] == 0.1 and ours[4] == ref[4]
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-12)
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-12)


def test_bad_arguments():
    swa = pyml.optim.swa_utils
    m = pyml.nn.Linear(2, 2)
    opt = pyml.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear', got 'step'"):
        swa.SWALR(opt, 0.01, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be a non-negative integer, got -1"):
        swa.SWALR(opt, 0.01, anneal_epochs=-1)
    with pytest.raises(ValueError, match="one rate per param group"):
        swa.SWALR(opt, [0.1, 0.2])
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        swa.AveragedModel(m, avg_fn=swa.get_ema_avg_fn(), multi_avg_fn=swa.get_ema_multi_avg_fn())
    avg = swa.AveragedModel(m)
    with pytest.raises(ValueError, match="the model has 4 tensors to average, the averaged copy 2"):
        avg.update_parameters(pyml.nn.Sequential(pyml.nn.Linear(2, 2), pyml.nn.Linear(2, 2)))
