"""Training-side cases: optimizer steps, framework overhead on tiny ops, end-to-end training steps.

Models are written once against the library module `L` (pyml or torch: the same code runs on both)
and get identical weights from one seeded NumPy stream in parameter order, so the first step's loss
cross-checks the libraries. A training-step case times forward, loss, backward and optimizer step.
"""
import importlib

import numpy as np

from .cases import Case, _rng


def _libs():
    return {name: importlib.import_module(name) for name in ("pyml", "torch")}


def init_weights(model, seed=0):
    """Same weights in both libraries: parameters in registration order from one seeded stream."""
    g = np.random.default_rng(seed)
    for p in model.parameters():
        fan_in = int(np.prod(p.shape[1:])) if len(p.shape) > 1 else int(p.shape[0])
        w = (g.standard_normal(tuple(p.shape)) / np.sqrt(max(fan_in, 1))).astype(np.float32)
        with _lib_of(p).no_grad():
            p.copy_(_lib_of(p).from_numpy(w))
    return model


def _lib_of(t, sub=""):
    """The library (pyml or torch) a tensor belongs to, or one of its submodules."""
    return importlib.import_module(type(t).__module__.split(".")[0] + sub)


def optimizer_case(name, kind, sizes):
    """One optimizer step over many parameter tensors (sizes of a small transformer)."""
    numel = sum(int(np.prod(s)) for s in sizes)

    def make():
        g = _rng()
        return tuple(g.standard_normal(s).astype(np.float32) for s in sizes * 2)

    def setup(lib, args):
        L = _libs()[lib]
        n = len(sizes)
        params = [args[i].clone().requires_grad_(True) for i in range(n)]
        for p, gr in zip(params, args[n:]):
            p.grad = gr
        opt = {"adam": lambda: L.optim.Adam(params, lr=1e-3),
               "adamw": lambda: L.optim.AdamW(params, lr=1e-3, weight_decay=0.1),
               "sgd": lambda: L.optim.SGD(params, lr=1e-2, momentum=0.9)}[kind]()
        return [opt, params]

    def step(opt, params):
        opt.step()
        return params[0]
    bytes_moved = 4.0 * numel * {"adam": 7, "adamw": 7, "sgd": 5}[kind]
    return Case(name, "GB/s", bytes_moved, make, {"pyml": step, "torch": step}, tol=1e-6, setup=setup)


def overhead_cases():
    def small():
        g = _rng()
        return g.standard_normal(16).astype(np.float32), g.standard_normal(16).astype(np.float32)

    def mul_rg(a, b):
        return a * b

    def lin_make():
        g = _rng()
        return (g.standard_normal((8, 64)).astype(np.float32),)

    def lin_setup(lib, args):
        L = _libs()[lib]
        return [init_weights(L.nn.Linear(64, 64)), args[0]]

    def lin_step(m, x):
        m.zero_grad(set_to_none=True)
        loss = _lib_of(x).relu(m(x)).sum()
        loss.backward()
        return m.weight.grad

    add = {lib: (lambda a, b: a + b) for lib in ("pyml", "torch", "numpy")}
    return [
        Case("overhead a+b (16,)", "GB/s", 3.0 * 64, small, add, tol=0.0),
        Case("overhead a*b (16,) requires_grad", "GB/s", 3.0 * 64, small, {"pyml": mul_rg, "torch": mul_rg},
             tol=0.0, setup=lambda lib, args: [args[0].requires_grad_(True), args[1]]),
        Case("overhead Linear(64,64)-relu-sum-backward", "GB/s", 4.0 * 64 * 64 * 3, lin_make,
             {"pyml": lin_step, "torch": lin_step}, tol=1e-5, setup=lin_setup),
    ]


def train_case(name, build, make, flops, lr=1e-3, opt="adam"):
    """build(L) -> (model, loss_fn(model, *inputs)); one training step per call, returns the loss."""
    def setup(lib, args):
        L = _libs()[lib]
        model, loss_fn = build(L)
        init_weights(model)
        params = list(model.parameters())
        o = L.optim.AdamW(params, lr=lr, weight_decay=0.01) if opt == "adamw" else L.optim.Adam(params, lr=lr)
        return [model, loss_fn, o] + list(args)

    def step(model, loss_fn, o, *inputs):
        o.zero_grad(set_to_none=True)
        loss = loss_fn(model, *inputs)
        loss.backward()
        o.step()
        return loss.detach()
    return Case(name, "GFLOP/s", flops, make, {"pyml": step, "torch": step}, tol=2e-4, setup=setup)


def _classify(model, x, y):
    F = _lib_of(x, ".nn.functional")
    return F.cross_entropy(model(x), y)


def _labels(shape, n_cls, b):
    def make():
        g = _rng()
        return (g.standard_normal(shape).astype(np.float32), g.integers(0, n_cls, b).astype(np.int64))
    return make


def build_mlp(L):
    nn = L.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), _classify


def build_cnn(L):
    nn = L.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.Conv2d(32, 32, 5), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),                                                          # (B, 32, 10, 10)
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(576, 10))                        # (B, 64, 3, 3) -> (B, 576)
    return model, _classify


def build_gpt(L, vocab=256, d=256, heads=4, layers=4, t=256):
    nn, F = L.nn, importlib.import_module(L.__name__ + ".nn.functional")

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, n, heads, d // heads).transpose(1, 2) for z in (q, k, v))  # (B, NH, T, HS)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, n, d)
            x = x + self.proj(a)
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(t, d)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            pos = L.arange(idx.shape[1], device=idx.device)
            return self.head(self.ln(self.blocks(self.tok(idx) + self.pos(pos))))

    def loss_fn(model, idx, y):
        logits = model(idx)
        return F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
    return GPT(), loss_fn


def _tokens(b, t, vocab):
    def make():
        g = _rng()
        return g.integers(0, vocab, (b, t)).astype(np.int64), g.integers(0, vocab, (b, t)).astype(np.int64)
    return make


def all_train_cases():
    gpt_sizes = [(256, 256), (256, 256)] + [(768, 256), (768,), (256, 256), (256,), (1024, 256), (1024,),
                                            (256, 1024), (256,), (256,), (256,), (256,), (256,)] * 4
    mlp_flops = 6.0 * 128 * (784 * 256 + 256 * 256 + 256 * 10)
    cnn_flops = 6.0 * 128 * (24 * 24 * 32 * 25 + 20 * 20 * 32 * 32 * 25 + 8 * 8 * 64 * 32 * 9
                             + 6 * 6 * 64 * 64 * 9 + 576 * 10)
    n_tok, d = 8 * 256, 256
    gpt_flops = 6.0 * n_tok * (4 * 12 * d * d + 256 * d) + 4 * 3.5 * 8 * 4 * 256 * 256 / 2 * 64 * 4
    return [
        optimizer_case("optim Adam step (GPT-4L params)", "adam", gpt_sizes),
        optimizer_case("optim AdamW step (GPT-4L params)", "adamw", gpt_sizes),
        optimizer_case("optim SGD momentum step (GPT-4L)", "sgd", gpt_sizes),
        *overhead_cases(),
        train_case("train MLP 784-256-256-10 b128 Adam", build_mlp, _labels((128, 784), 10, 128), mlp_flops),
        train_case("train CNN (128,1,28,28) Adam", build_cnn, _labels((128, 1, 28, 28), 10, 128), cnn_flops),
        train_case("train GPT 4L d256 T256 b8 AdamW", build_gpt, _tokens(8, 256, 256), gpt_flops, lr=3e-4,
                   opt="adamw"),
    ]
