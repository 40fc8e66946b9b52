"""Programs of the course's generative and meta-learning chapters written as PyTorch code, run with `import
torch` and with pyml in its place from the same initial weights (torch's state_dict loaded into pyml) and
data; the loss trajectories must agree to float32 rounding: DDPM on 2-D data, a VAE, a char-level GPT
(weight tying, AdamW param groups, LambdaLR warmup-cosine, clipping, top-k decoding), second-order MAML
through func.functional_call, and WGAN-GP with a LayerNorm critic."""

import math

import numpy as np
import pytest

from ported_helpers import check_program

PROGRAMS = {}


rng = np.random.default_rng(0)
# 1. DDPM on 2-D data
X2 = rng.standard_normal((64, 2)).astype(np.float32) * 0.5 + 1


def ddpm_build(L):
    nn = L.nn

    class Net(nn.Module):
        def __init__(s):
            super().__init__()
            s.net = nn.Sequential(nn.Linear(2 + 16, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2))

        def forward(s, x, t):
            half = 8
            f = L.exp(-math.log(10000) * L.arange(half, dtype=L.float32) / half)
            a = t.float()[:, None] * f[None]
            emb = L.cat([a.sin(), a.cos()], dim=-1)
            return s.net(L.cat([x, emb], 1))

    return Net()


T_NOISE = [rng.standard_normal((64, 2)).astype(np.float32) for _ in range(10)]
T_T = [rng.integers(0, 1000, 64) for _ in range(10)]


def ddpm_train(L, m, steps):
    betas = L.linspace(1e-4, 0.02, 1000)
    ab = L.cumprod(1 - betas, 0)
    opt = L.optim.Adam(m.parameters(), lr=1e-3)
    out = []
    x0 = L.tensor(X2)
    for i in range(steps):
        t = L.tensor(T_T[i])
        eps = L.tensor(T_NOISE[i])
        a = ab[t].unsqueeze(1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        loss = L.nn.functional.mse_loss(m(xt, t), eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    # one ancestral sampling step chain (deterministic noise)
    with L.no_grad():
        x = L.tensor(T_NOISE[0])
        for k in [999, 500, 10, 0]:
            tt = L.full((64,), k, dtype=L.long)
            e = m(x, tt)
            x = (x - betas[k] / (1 - ab[k]).sqrt() * e) / (1 - betas[k]).sqrt()
    out.append(float(x.abs().mean()))
    return out


PROGRAMS["ddpm 2-D"] = (ddpm_build, ddpm_train, 6)

# 2. VAE
XD = rng.random((32, 64)).astype(np.float32)
EPS = [rng.standard_normal((32, 4)).astype(np.float32) for _ in range(10)]


def vae_build(L):
    nn = L.nn

    class VAE(nn.Module):
        def __init__(s):
            super().__init__()
            s.enc = nn.Linear(64, 32)
            s.mu = nn.Linear(32, 4)
            s.lv = nn.Linear(32, 4)
            s.dec = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 64))

        def forward(s, x, eps):
            h = L.relu(s.enc(x))
            mu, lv = s.mu(h), s.lv(h)
            z = mu + eps * L.exp(0.5 * lv)
            return s.dec(z), mu, lv

    return VAE()


def vae_train(L, m, steps):
    opt = L.optim.Adam(m.parameters(), lr=1e-2)
    x = L.tensor(XD)
    out = []
    for i in range(steps):
        r, mu, lv = m(x, L.tensor(EPS[i]))
        loss = L.nn.functional.binary_cross_entropy_with_logits(r, x, reduction="sum") - 0.5 * L.sum(
            1 + lv - mu.pow(2) - lv.exp()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


PROGRAMS["vae"] = (vae_build, vae_train, 8)

# 3. char GPT
V, T, C = 20, 12, 32
IDS = rng.integers(0, V, (8, T + 1))


def gpt_build(L):
    nn = L.nn

    class Block(nn.Module):
        def __init__(s):
            super().__init__()
            s.ln1 = nn.LayerNorm(C)
            s.qkv = nn.Linear(C, 3 * C)
            s.proj = nn.Linear(C, C)
            s.ln2 = nn.LayerNorm(C)
            s.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C))
            s.drop = nn.Dropout(0.0)

        def forward(s, x):
            B, T_, _ = x.shape
            q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T_, 4, C // 4).transpose(1, 2) for t in (q, k, v))
            y = L.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + s.drop(s.proj(y.transpose(1, 2).contiguous().view(B, T_, C)))
            return x + s.mlp(s.ln2(x))

    class GPT(nn.Module):
        def __init__(s):
            super().__init__()
            s.wte = nn.Embedding(V, C)
            s.wpe = nn.Embedding(T, C)
            s.h = nn.ModuleList([Block() for _ in range(2)])
            s.lnf = nn.LayerNorm(C)
            s.head = nn.Linear(C, V, bias=False)
            s.head.weight = s.wte.weight

        def forward(s, idx):
            pos = L.arange(idx.size(1))
            x = s.wte(idx) + s.wpe(pos)
            for b in s.h:
                x = b(x)
            return s.head(s.lnf(x))

    return GPT()


def gpt_train(L, m, steps):
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = L.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.95)
    )
    sched = L.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 3) * 0.5 * (1 + math.cos(math.pi * s / 10)))
    ids = L.tensor(IDS)
    out = []
    for i in range(steps):
        logits = m(ids[:, :-1])
        loss = L.nn.functional.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        L.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
        out.append(loss.item())
    with L.no_grad():
        idx = ids[:2, :3]
        for _ in range(5):
            lg = m(idx[:, -T:])[:, -1, :] / 0.8
            v_, _ = L.topk(lg, 3)
            lg[lg < v_[:, [-1]]] = -float("inf")
            nxt = L.argmax(L.softmax(lg, dim=-1), dim=-1, keepdim=True)
            idx = L.cat((idx, nxt), dim=1)
    out.append(float(idx.sum()))
    return out


PROGRAMS["char gpt"] = (gpt_build, gpt_train, 6)

# 4. MAML sinusoid (second order)
XS = [rng.uniform(-5, 5, (10, 1)).astype(np.float32) for _ in range(4)]


def maml_build(L):
    nn = L.nn
    return nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))


def maml_train(L, m, steps):
    from_func = L.func.functional_call
    opt = L.optim.Adam(m.parameters(), lr=1e-3)
    out = []
    for i in range(steps):
        meta = 0
        for j in range(2):
            x = L.tensor(XS[(i + j) % 4])
            y = L.sin(x + j) * (1 + j)
            params = dict(m.named_parameters())
            l = L.nn.functional.mse_loss(from_func(m, params, (x,)), y)
            g = L.autograd.grad(l, params.values(), create_graph=True)
            fast = {k: p - 0.01 * gg for (k, p), gg in zip(params.items(), g)}
            meta = meta + L.nn.functional.mse_loss(from_func(m, fast, (x * 0.5,)), y)
        opt.zero_grad()
        meta.backward()
        opt.step()
        out.append(meta.item())
    return out


PROGRAMS["maml 2nd order"] = (maml_build, maml_train, 5)


# 5. WGAN-GP on 2-D with LayerNorm critic
def wgan_build(L):
    nn = L.nn

    class M(nn.Module):
        def __init__(s):
            super().__init__()
            s.G = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
            s.D = nn.Sequential(nn.Linear(2, 32), nn.LayerNorm(32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

    return M()


Z = [rng.standard_normal((32, 4)).astype(np.float32) for _ in range(10)]
AL = [rng.random((32, 1)).astype(np.float32) for _ in range(10)]


def wgan_train(L, m, steps):
    oD = L.optim.Adam(m.D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    oG = L.optim.Adam(m.G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    out = []
    real = L.tensor(X2[:32])
    for i in range(steps):
        fake = m.G(L.tensor(Z[i])).detach()
        a = L.tensor(AL[i])
        xh = (a * real + (1 - a) * fake).requires_grad_(True)
        (g,) = L.autograd.grad(m.D(xh).sum(), xh, create_graph=True)
        gp = ((g.norm(2, dim=1) - 1) ** 2).mean()
        lD = m.D(fake).mean() - m.D(real).mean() + 10 * gp
        oD.zero_grad()
        lD.backward()
        oD.step()
        lG = -m.D(m.G(L.tensor(Z[i]))).mean()
        oG.zero_grad()
        lG.backward()
        oG.step()
        out += [lD.item(), lG.item()]
    return out


PROGRAMS["wgan-gp"] = (wgan_build, wgan_train, 5)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_matches_torch(name):
    check_program(*PROGRAMS[name])
