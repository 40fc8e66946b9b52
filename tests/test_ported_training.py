"""Programs of the course's compression, adaptation, robustness, continual-learning and sequence chapters
written as PyTorch code, run with `import torch` and with pyml in its place from the same initial weights and
data; the loss trajectories must agree to float32 rounding: distillation with magnitude pruning, DANN
(gradient reversal, BatchNorm), PGD adversarial training, EWC's Fisher by func.vmap(func.grad), and an
LSTM/GRU seq2seq with packed sequences."""

import importlib

import numpy as np
import pytest

from ported_helpers import check_program

PROGRAMS = {}


rng = np.random.default_rng(0)
# 6. distillation + pruning
XC = rng.standard_normal((40, 10)).astype(np.float32)
YC = rng.integers(0, 3, 40)


def kd_build(L):
    nn = L.nn

    class M(nn.Module):
        def __init__(s):
            super().__init__()
            s.t = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
            s.s = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))

    return M()


def kd_train(L, m, steps):
    prune = importlib.import_module(f"{L.__name__}.nn.utils.prune")  # import torch.nn.utils.prune as prune
    F = L.nn.functional
    opt = L.optim.SGD(m.s.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = L.tensor(XC)
    y = L.tensor(YC)
    out = []
    prune.l1_unstructured(m.s[0], "weight", amount=0.4)
    for i in range(steps):
        with L.no_grad():
            tl = m.t(x)
        sl = m.s(x)
        Tt = 4.0
        loss = F.kl_div(
            F.log_softmax(sl / Tt, 1), F.softmax(tl / Tt, 1), reduction="batchmean"
        ) * Tt * Tt + F.cross_entropy(sl, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    prune.remove(m.s[0], "weight")
    out.append(float((m.s[0].weight == 0).sum()))
    return out


PROGRAMS["distill + prune"] = (kd_build, kd_train, 6)

# 7. DANN with gradient reversal, BN
XT = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)


def dann_build(L):
    nn = L.nn

    class M(nn.Module):
        def __init__(s):
            super().__init__()
            s.f = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
            s.c = nn.Linear(36, 3)
            s.d = nn.Sequential(nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 1))

    return M()


def dann_train(L, m, steps):
    class GRL(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, lam):
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.lam * g, None

    F = L.nn.functional
    opt = L.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    out = []
    x = L.tensor(XT)
    y = L.tensor(YC[:16])
    dom = L.tensor((np.arange(16) % 2).astype(np.float32))
    for i in range(steps):
        h = m.f(x)
        lc = F.cross_entropy(m.c(h[:8]), y[:8])
        ld = F.binary_cross_entropy_with_logits(m.d(GRL.apply(h, 0.5)).squeeze(1), dom)
        loss = lc + ld
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    m.eval()
    with L.no_grad():
        out.append(float(m.c(m.f(x)).sum()))
    return out


PROGRAMS["dann + bn"] = (dann_build, dann_train, 6)


# 8. PGD adversarial training step
def pgd_build(L):
    nn = L.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3)
    )


def pgd_train(L, m, steps):
    F = L.nn.functional
    opt = L.optim.Adam(m.parameters(), lr=1e-2)
    x = L.tensor(XT).clamp(0, 1)
    y = L.tensor(YC[:16])
    out = []
    for i in range(steps):
        xa = x.clone().detach()
        for _ in range(3):
            xa.requires_grad_(True)
            l = F.cross_entropy(m(xa), y)
            (g,) = L.autograd.grad(l, xa)
            xa = xa.detach() + 0.05 * g.sign()
            xa = L.min(L.max(xa, x - 0.1), x + 0.1).clamp(0, 1)
        loss = F.cross_entropy(m(xa), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


PROGRAMS["pgd adv training"] = (pgd_build, pgd_train, 5)


# 9. per-sample grads (EWC Fisher) with func.vmap/grad
def ewc_build(L):
    return L.nn.Linear(10, 3)


def ewc_train(L, m, steps):
    from_ = L.func
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss_fn(p, x, y):
        return L.nn.functional.cross_entropy(from_.functional_call(m, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    g = from_.vmap(from_.grad(loss_fn), in_dims=(None, 0, 0))(params, L.tensor(XC[:8]), L.tensor(YC[:8]))
    fisher = {k: (v**2).mean(0) for k, v in g.items()}
    return [float(fisher["weight"].sum()), float(fisher["bias"].sum())]


PROGRAMS["ewc fisher vmap"] = (ewc_build, ewc_train, 1)

# 10. LSTM seq2seq teacher forcing + pack_padded
SRC = rng.integers(1, 10, (4, 7))
LENS = [7, 5, 3, 2]


def s2s_build(L):
    nn = L.nn

    class M(nn.Module):
        def __init__(s):
            super().__init__()
            s.emb = nn.Embedding(10, 8, padding_idx=0)
            s.enc = nn.LSTM(8, 16, batch_first=True, bidirectional=True)
            s.dec = nn.GRU(8, 32, batch_first=True)
            s.out = nn.Linear(32, 10)

    return M()


def s2s_train(L, m, steps):
    from_ = L.nn.utils.rnn
    opt = L.optim.RMSprop(m.parameters(), lr=1e-2)
    out = []
    src = L.tensor(SRC)
    for i in range(steps):
        e = m.emb(src)
        packed = from_.pack_padded_sequence(e, LENS, batch_first=True, enforce_sorted=True)
        o, (h, c) = m.enc(packed)
        o, lens = from_.pad_packed_sequence(o, batch_first=True)
        h0 = L.cat([h[0], h[1]], dim=1).unsqueeze(0)
        d, _ = m.dec(m.emb(src), h0)
        logits = m.out(d)
        loss = L.nn.functional.cross_entropy(logits.transpose(1, 2), src, ignore_index=0)
        opt.zero_grad()
        loss.backward()
        L.nn.utils.clip_grad_value_(m.parameters(), 0.5)
        opt.step()
        out.append(loss.item())
    return out


PROGRAMS["seq2seq lstm/gru packed"] = (s2s_build, s2s_train, 5)



@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_matches_torch(name):
    check_program(*PROGRAMS[name])
