"""GPU benchmark cases: memory-bound kernels in GB/s (issue 7) and the headline kernels in TFLOP/s
(issue 8). Inputs are NumPy arrays made once (seeded) and copied to the GPU for both libraries."""
from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple

import numpy as np

F32 = 4


@dataclass
class GpuCase:
    name: str
    unit: str                      # "GB/s" or "TFLOP/s"
    work: float                    # bytes or FLOPs per call
    make: Callable[[], Tuple]      # -> NumPy arrays (float arrays are cast to `dtype`, ints kept)
    ops: Dict[str, Callable]       # "pyml"/"torch" -> fn(*device tensors)
    tol: float = 1e-5
    dtype: str = "float32"
    setup: Dict[str, Callable] = field(default_factory=dict)  # lib -> fn(args) -> args

    def device_args(self):
        import pyml
        import torch
        arrays = self.make()
        out = {}
        for lib, mod in (("pyml", pyml), ("torch", torch)):
            conv = []
            for a in arrays:
                t = mod.from_numpy(np.ascontiguousarray(a)).to("cuda")
                conv.append(t.to(getattr(mod, self.dtype)) if a.dtype.kind == "f" else t)
            out[lib] = self.setup[lib](conv) if lib in self.setup else conv
        return out


def _normal(*shapes, seed=0):
    def make():
        g = np.random.default_rng(seed)
        return tuple(g.standard_normal(s).astype(np.float32) for s in shapes)
    return make


def both(fn):
    return {"pyml": fn, "torch": fn}


def _F(lib):
    if lib == "pyml":
        import pyml.nn.functional as F
    else:
        import torch.nn.functional as F
    return F


def copy_case(n=1 << 28):
    return GpuCase("copy (clone) 1 GiB", "GB/s", 2 * F32 * n, _normal(n), both(lambda x: x.clone()), tol=0)


def elementwise_cases(n=1 << 26):
    return [
        GpuCase("add 2^26", "GB/s", 3 * F32 * n, _normal(n, n), both(lambda a, b: a + b), tol=0),
        GpuCase("mul scalar 2^26", "GB/s", 2 * F32 * n, _normal(n), both(lambda a: a * 1.5), tol=0),
        GpuCase("add bf16 2^26", "GB/s", 3 * 2 * n, _normal(n, n), both(lambda a, b: a + b), tol=1e-2,
                dtype="bfloat16"),
        GpuCase("gelu 2^26", "GB/s", 2 * F32 * n, _normal(n),
                {"pyml": lambda x: _F("pyml").gelu(x), "torch": lambda x: _F("torch").gelu(x)}),
    ]


def reduction_cases(n=1 << 26, r=8192, c=8192):
    return [
        GpuCase("sum 2^26", "GB/s", F32 * n, _normal(n), both(lambda x: x.sum()), tol=1e-4),
        GpuCase("sum (8192,8192) dim=1", "GB/s", F32 * r * c, _normal((r, c)), both(lambda x: x.sum(1)), tol=1e-4),
        GpuCase("sum (8192,8192) dim=0", "GB/s", F32 * r * c, _normal((r, c)), both(lambda x: x.sum(0)), tol=1e-4),
        GpuCase("amax (8192,8192) dim=1", "GB/s", F32 * r * c, _normal((r, c)), both(lambda x: x.amax(1)), tol=0),
    ]


def row_cases(r=8192, c=4096, vocab=32000, n_ce=4096):
    def targets():
        g = np.random.default_rng(1)
        return g.standard_normal((n_ce, vocab)).astype(np.float32), g.integers(0, vocab, n_ce)
    ln = {lib: (lambda x, w, b, lib=lib: _F(lib).layer_norm(x, (c,), w, b)) for lib in ("pyml", "torch")}
    return [
        GpuCase("softmax (8192,4096)", "GB/s", 2 * F32 * r * c, _normal((r, c)),
                {lib: (lambda x, lib=lib: _F(lib).softmax(x, -1)) for lib in ("pyml", "torch")}),
        GpuCase("log_softmax (8192,4096)", "GB/s", 2 * F32 * r * c, _normal((r, c)),
                {lib: (lambda x, lib=lib: _F(lib).log_softmax(x, -1)) for lib in ("pyml", "torch")}, tol=1e-5),
        GpuCase("layer_norm (8192,4096)", "GB/s", 2 * F32 * r * c, _normal((r, c), (c,), (c,)), ln, tol=1e-4),
        GpuCase("cross_entropy (4096,32000)", "GB/s", F32 * n_ce * vocab, targets,
                {lib: (lambda x, t, lib=lib: _F(lib).cross_entropy(x, t)) for lib in ("pyml", "torch")}, tol=1e-5),
    ]


def adam_case(sizes=(4096 * 4096, 4096 * 1024, 1024 * 1024, 4096, 1000)):
    """One Adam step over five parameters: reads p, g, m, v and writes p, m, v (28 bytes/element)."""
    def setup(lib):
        def fn(arrays):
            mod = __import__(lib)
            params = [mod.nn.Parameter(a.clone()) for a in arrays]
            for p in params:
                p.grad = p.detach() * 0.01
            return [mod.optim.Adam(params, lr=1e-3)]
        return fn
    step = lambda opt: (opt.step(), opt.param_groups[0]["params"][0])[1]
    return GpuCase("Adam step 22M params", "GB/s", 28 * sum(sizes), _normal(*[(s,) for s in sizes]),
                   both(step), tol=1e-4, setup={"pyml": setup("pyml"), "torch": setup("torch")})


def _tf32(lib, fn, switch="matmul"):
    """fn run with the library's TF32 switch on (restored after), so both sides use TF32: switch
    "matmul" is backends.cuda.matmul.allow_tf32, "cudnn" backends.cudnn.allow_tf32 (convolution)."""
    def run(*args):
        backends = __import__(lib).backends
        flags = backends.cuda.matmul if switch == "matmul" else backends.cudnn
        old = flags.allow_tf32
        flags.allow_tf32 = True
        try:
            return fn(*args)
        finally:
            flags.allow_tf32 = old
    return run


def matmul_cases(sizes=(4096, 8192)):
    """GEMM in every precision at square sizes, the transformer MLP's three products (forward,
    grad-input through W^T, grad-weight through X^T) and sizes one off a multiple of the tiles."""
    mm = both(lambda a, b: a @ b)
    tf32 = {lib: _tf32(lib, lambda a, b: a @ b) for lib in ("pyml", "torch")}
    kinds = [("fp32", mm, "float32", 1e-4), ("tf32", tf32, "float32", 5e-3), ("bf16", mm, "bfloat16", 2e-2),
             ("fp16", mm, "float16", 1e-2)]
    cases = [GpuCase(f"matmul {label} {n}^3", "TFLOP/s", 2 * n ** 3, _normal((n, n), (n, n)), ops, tol=tol,
                     dtype=dtype) for n in sizes for label, ops, dtype, tol in kinds]
    m, k, n = 8192, 768, 3072  # tokens, d_model, 4 d_model
    for label, ops, dtype, tol in kinds[2:] + kinds[1:2]:
        cases += [
            GpuCase(f"matmul {label} X@W (8192x768)@(768x3072)", "TFLOP/s", 2 * m * k * n, _normal((m, k), (k, n)),
                    ops, tol=tol, dtype=dtype),
            GpuCase(f"matmul {label} dY@W^T (8192x3072)@(3072x768)", "TFLOP/s", 2 * m * k * n,
                    _normal((m, n), (k, n)), {lib: (lambda g, w, f=f: f(g, w.t())) for lib, f in ops.items()},
                    tol=tol, dtype=dtype),
            GpuCase(f"matmul {label} X^T@dY (768x8192)@(8192x3072)", "TFLOP/s", 2 * m * k * n,
                    _normal((m, k), (m, n)), {lib: (lambda x, g, f=f: f(x.t(), g)) for lib, f in ops.items()},
                    tol=tol, dtype=dtype),
        ]
    for s in (4095, 4097):
        cases += [GpuCase(f"matmul {label} {s}^3", "TFLOP/s", 2 * s ** 3, _normal((s, s), (s, s)), ops, tol=tol,
                          dtype=dtype) for label, ops, dtype, tol in kinds]
    return cases


def _torch_sdpa(backend):
    """torch SDPA with one backend forced ("flash": FlashAttention-2) or its own choice (None)."""
    def run(q, k, v, causal):
        import torch.nn.functional as F
        if backend is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return run


def _sdpa_ops(torch_fn, causal, grad):
    """pyml and torch SDPA: forward, or forward + backward returning dq (grads reset per call)."""
    def make(fn):
        def fwd(q, k, v, dout=None):
            return fn(q, k, v, causal)

        def fwd_bwd(q, k, v, dout):
            for t in (q, k, v):
                t.grad = None
            fn(q, k, v, causal).backward(dout)
            return q.grad
        return fwd_bwd if grad else fwd
    return {"pyml": make(lambda q, k, v, c: _F("pyml").scaled_dot_product_attention(q, k, v, is_causal=c)),
            "torch": make(torch_fn)}


def _requires_grad(args):
    return [t.requires_grad_() for t in args[:3]] + list(args[3:])


def sdpa_cases(head_dims=(64, 128), lengths=(512, 2048, 8192, 16384), dtype="bfloat16"):
    """Flash attention (issue 8) fwd and fwd+bwd against torch SDPA forced to its flash backend
    (FlashAttention-2) and against its default choice (cuDNN on Hopper). FLOPs: forward 4 BH T^2 d
    (two products), backward 2.5x that (five products), both halved under causal masking; BH is
    chosen so the forward does >= ~4 GFLOP (at least 2 matrices)."""
    cases = []
    for d in head_dims:
        for t in lengths:
            bh = 2
            while 4 * bh * t * t * d < 4e9:
                bh *= 2
            shape = (2, bh // 2, t, d)
            for causal in (False, True):
                for grad in (False, True):
                    flops = 4 * bh * t * t * d * (3.5 if grad else 1.0) / (2 if causal else 1)
                    for label, backend in (("flash", "flash"), ("default", None)):
                        name = (f"sdpa {'fwd+bwd' if grad else 'fwd'} {'causal ' if causal else ''}{dtype} "
                                f"{shape} vs torch {label}")
                        cases.append(GpuCase(name, "TFLOP/s", flops, _normal(*[shape] * 4),
                                             _sdpa_ops(_torch_sdpa(backend), causal, grad), tol=5e-2, dtype=dtype,
                                             setup={"pyml": _requires_grad, "torch": _requires_grad} if grad else {}))
    return cases


def compute_cases():
    mm = both(lambda a, b: a @ b)
    sdpa = {lib: (lambda q, k, v, lib=lib: _F(lib).scaled_dot_product_attention(q, k, v, is_causal=True))
            for lib in ("pyml", "torch")}
    conv = {lib: (lambda x, w, lib=lib: _F(lib).conv2d(x, w, padding=1)) for lib in ("pyml", "torch")}
    pool = {lib: (lambda x, lib=lib: _F(lib).max_pool2d(x, 3, 2, 1)) for lib in ("pyml", "torch")}
    b, h, t, d = 4, 12, 1024, 64
    return [
        GpuCase("matmul fp32 4096", "TFLOP/s", 2 * 4096 ** 3, _normal((4096, 4096), (4096, 4096)), mm, tol=1e-3),
        GpuCase("matmul bf16 4096", "TFLOP/s", 2 * 4096 ** 3, _normal((4096, 4096), (4096, 4096)), mm, tol=2e-2,
                dtype="bfloat16"),
        GpuCase("sdpa causal bf16 (4,12,1024,64)", "TFLOP/s", 2 * b * h * t * t * d, _normal(*[(b, h, t, d)] * 3),
                sdpa, tol=2e-2, dtype="bfloat16"),
        GpuCase("conv2d 3x3 fp32 (32,64,56,56)", "TFLOP/s", 2 * 32 * 64 * 64 * 9 * 56 * 56,
                _normal((32, 64, 56, 56), (64, 64, 3, 3)), conv, tol=1e-3),
        GpuCase("max_pool2d 3x3/2 (32,64,112,112)", "GB/s", F32 * 32 * 64 * (112 * 112 + 56 * 56),
                _normal((32, 64, 112, 112)), pool, tol=0),
    ]


def gpu_cases():
    return (elementwise_cases() + reduction_cases() + row_cases() + [adam_case()] + compute_cases()
            + matmul_cases() + sdpa_cases())
