"""GPU benchmark cases for convolution and pooling (issue 8): ResNet-50 layers at N=128 in bf16 and
fp32 as TF32 (both libraries' cudnn.allow_tf32 switched on for the call), forward and forward +
backward, channels_last, in TFLOP/s; pooling and batch norm (training) forward and backward in GB/s
(minimum bytes: input read once, output written once; backward: dy read, dx written, and for batch
norm x read too) in NCHW and NHWC."""
from .gpu_cases import F32, GpuCase, _F, _normal, _tf32

# name, (C, H, W), (K, R, S), stride, padding
RESNET50 = [
    ("3x3 64->64 @56", (64, 56, 56), (64, 3, 3), 1, 1),
    ("1x1 256->64 @56", (256, 56, 56), (64, 1, 1), 1, 0),
    ("3x3/2 128->128 @56", (128, 56, 56), (128, 3, 3), 2, 1),
    ("7x7/2 3->64 @224", (3, 224, 224), (64, 7, 7), 2, 3),
    ("1x1 1024->256 @14", (1024, 14, 14), (256, 1, 1), 1, 0),
]
N = 128


def _nhwc(t):
    """Same values in a channels_last buffer (both libraries see it as channels_last)."""
    return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


def _conv_ops(stride, padding, backward, tf32):
    def make(lib):
        F = _F(lib)

        def fwd(x, w, g):
            return F.conv2d(x, w, None, stride, padding)

        def fwd_bwd(x, w, g):
            x.grad, w.grad = None, None
            F.conv2d(x, w, None, stride, padding).backward(g)
            return x.grad
        fn = fwd_bwd if backward else fwd
        return _tf32(lib, fn, "cudnn") if tf32 else fn
    return {lib: make(lib) for lib in ("pyml", "torch")}


def _conv_setup(backward):
    def setup(args):
        x, w, g = _nhwc(args[0]), _nhwc(args[1]), _nhwc(args[2])
        if backward:
            x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
        return [x, w, g]
    return {"pyml": setup, "torch": setup}


def conv_cases():
    cases = []
    for name, (c, h, w), (k, r, s), stride, pad in RESNET50:
        p, q = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
        flops = 2 * N * k * p * q * c * r * s
        shapes = _normal((N, c, h, w), (k, c, r, s), (N, k, p, q))
        for label, dtype, tol, tf32 in (("bf16", "bfloat16", 3e-2, False), ("tf32", "float32", 5e-3, True)):
            for backward in (False, True):
                kind = "fwd+bwd" if backward else "fwd"
                cases.append(GpuCase(f"conv2d {label} {kind} {name} N={N} NHWC", "TFLOP/s",
                                     flops * (3 if backward else 1), shapes, _conv_ops(stride, pad, backward, tf32),
                                     tol=tol, dtype=dtype, setup=_conv_setup(backward)))
    return cases


def _pool_ops(kind, backward):
    def make(lib):
        F = _F(lib)
        pool = {"max 3x3/2": lambda x: F.max_pool2d(x, 3, 2, 1), "max 2x2/2": lambda x: F.max_pool2d(x, 2, 2),
                "avg 2x2/2": lambda x: F.avg_pool2d(x, 2, 2),
                "adaptive avg 1x1": lambda x: F.adaptive_avg_pool2d(x, 1)}[kind]

        def fwd(x, g):
            return pool(x)

        def bwd(x, g):
            x.grad = None
            pool(x).backward(g)
            return x.grad
        return bwd if backward else fwd
    return {lib: make(lib) for lib in ("pyml", "torch")}


def _pool_setup(nhwc, backward):
    def setup(args):
        x, g = args
        if nhwc:
            x, g = _nhwc(x), _nhwc(g)
        if backward:
            x = x.detach().requires_grad_()
        return [x, g]
    return {"pyml": setup, "torch": setup}


def pool_cases():
    # kind, input (N, C, H, W), output (P, Q)
    # max 2x2/2: windows do not overlap, so the backward gather visits one window per dx element
    shapes = [("max 3x3/2", (N, 64, 112, 112), (56, 56)), ("max 2x2/2", (N, 128, 56, 56), (28, 28)),
              ("avg 2x2/2", (N, 256, 56, 56), (28, 28)),
              ("adaptive avg 1x1", (N, 2048, 7, 7), (1, 1))]
    cases = []
    for kind, (n, c, h, w), (p, q) in shapes:
        for label, dtype, size in (("fp32", "float32", F32), ("bf16", "bfloat16", 2)):
            for layout in ("NCHW", "NHWC"):
                for backward in (False, True):
                    work = size * n * c * (h * w + p * q)  # fwd: x read + y written; bwd: dy read + dx written
                    cases.append(GpuCase(f"pool {kind} {label} {'bwd' if backward else 'fwd'} {layout}", "GB/s",
                                         work, _normal((n, c, h, w), (n, c, p, q)), _pool_ops(kind, backward),
                                         tol=2e-2 if dtype == "bfloat16" else 1e-5, dtype=dtype,
                                         setup=_pool_setup(layout == "NHWC", backward)))
    return cases


def _bn_ops(backward):
    def make(lib):
        F = _F(lib)

        def fwd(x, w, b, g):
            return F.batch_norm(x, None, None, w, b, training=True)

        def bwd(x, w, b, g):
            x.grad = None
            F.batch_norm(x, None, None, w, b, training=True).backward(g)
            return x.grad
        return bwd if backward else fwd
    return {lib: make(lib) for lib in ("pyml", "torch")}


def _bn_setup(nhwc, backward):
    def setup(args):
        x, w, b, g = args
        if nhwc:
            x, g = _nhwc(x), _nhwc(g)
        if backward:
            x = x.detach().requires_grad_()
        return [x, w, b, g]
    return {"pyml": setup, "torch": setup}


def batch_norm_cases():
    """Training-mode batch norm on ResNet-50 activations: the channels_last rows are the ones whose
    layout copies session 12 removed (bench/NOTES.md has the predicted gains)."""
    cases = []
    for c, hw in ((64, 112), (256, 56)):
        shape = (N, c, hw, hw)
        for label, dtype, size in (("fp32", "float32", F32), ("bf16", "bfloat16", 2)):
            for layout in ("NCHW", "NHWC"):
                for backward in (False, True):
                    work = size * N * c * hw * hw * (3 if backward else 2)
                    cases.append(GpuCase(f"batch_norm {c}@{hw} {label} {'bwd' if backward else 'fwd'} {layout}",
                                         "GB/s", work, _normal(shape, (c,), (c,), shape), _bn_ops(backward),
                                         tol=2e-2 if dtype == "bfloat16" else 1e-4, dtype=dtype,
                                         setup=_bn_setup(layout == "NHWC", backward)))
    return cases


def conv_pool_cases():
    return conv_cases() + pool_cases() + batch_norm_cases()
