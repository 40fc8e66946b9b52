"""nn, autograd and optim unchanged on CUDA: the same models from the same initial weights, trained a
few steps on the CPU and on the GPU, end with the same weights; checkpoints round-trip across devices;
the demo trains on the GPU."""
import copy

import numpy as np
import pytest

import pyml
import pyml.nn as nn
import pyml.nn.functional as F
from cuda_compare import assert_match


def _mlp():
    return nn.Sequential(nn.Linear(37, 64), nn.GELU(), nn.LayerNorm(64), nn.Dropout(0.0), nn.Linear(64, 10))


def _cnn():
    # no bias before BatchNorm: its true gradient is 0, and Adam would blow rounding noise up to full steps
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, stride=2, groups=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def _gpt():
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
    return nn.Sequential(nn.Embedding(50, 32), nn.TransformerEncoder(layer, 2), nn.Linear(32, 50))


CASES = {
    "mlp": (_mlp, lambda g: (g.standard_normal((19, 37)), g.integers(0, 10, 19))),
    "cnn": (_cnn, lambda g: (g.standard_normal((6, 3, 13, 13)), g.integers(0, 10, 6))),
    "gpt": (_gpt, lambda g: (g.integers(0, 50, (3, 11)), g.integers(0, 50, (3, 11)))),
}
OPTIMS = {"sgd": lambda p: pyml.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
          "adam": lambda p: pyml.optim.Adam(p, lr=1e-2, amsgrad=True),
          "adamw": lambda p: pyml.optim.AdamW(p, lr=1e-2, weight_decay=0.1)}


def _train(model, opt_fn, x, y, steps=3):
    opt = opt_fn(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("opt", sorted(OPTIMS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_training_steps_match_cpu(name, opt):
    make_model, make_data = CASES[name]
    pyml.manual_seed(0)
    cpu = make_model()
    gpu = copy.deepcopy(cpu).to("cuda")
    assert all(p.is_cuda for p in gpu.parameters())
    x, y = make_data(np.random.default_rng(1))
    x = pyml.tensor(x, dtype=pyml.float32 if x.dtype.kind == "f" else pyml.int64)
    y = pyml.tensor(y)
    want = _train(cpu, OPTIMS[opt], x, y)
    got = _train(gpu, OPTIMS[opt], x.cuda(), y.cuda())
    np.testing.assert_allclose(got, want, rtol=1e-4)
    for (n, p), q in zip(cpu.named_parameters(), gpu.parameters()):
        if opt != "sgd" and n.endswith("in_proj_bias"):
            continue  # its key third has a zero true gradient (softmax ignores a shift): Adam steps on noise
        assert_match(q.detach().cpu(), p.detach(), rtol=1e-3, atol=1e-5, path=n)
    for (n, b), c in zip(cpu.named_buffers(), gpu.buffers()):
        assert_match(c.cpu(), b, rtol=1e-4, atol=1e-6, path=n)


def test_checkpoint_round_trip_across_devices(tmp_path):
    model = _mlp().cuda()
    opt = pyml.optim.Adam(model.parameters())
    _train(model, lambda p: opt, pyml.randn(4, 37).cuda(), pyml.tensor([1, 2, 3, 4]).cuda(), steps=1)
    path = tmp_path / "ck.pyml"
    pyml.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    back = pyml.load(path)
    assert all(v.is_cuda for v in back["model"].values())
    on_cpu = pyml.load(path, map_location="cpu")
    for k, v in model.state_dict().items():
        assert not on_cpu["model"][k].is_cuda
        np.testing.assert_array_equal(on_cpu["model"][k].numpy(), v.cpu().numpy())


def test_demo_trains_on_the_gpu(tmp_path, capsys):
    from pyml.demo import run_demo
    res = run_demo(quick=True, epochs=2, out=str(tmp_path), progress=False, device="cuda")
    assert "cuda" in capsys.readouterr().out
    assert res["test_accuracy"] > 0.5 and res["samples_per_s"] > 0
