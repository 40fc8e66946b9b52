"""Memory formats on CUDA: moves keep a tensor's layout, and the channels_last results of conv,
pooling, norms, resampling and elementwise ops have the CPU's strides and values."""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F

CL = pyml.channels_last
rng = np.random.default_rng(5)


def pair(shape, dtype=pyml.float32):
    x = pyml.tensor(rng.standard_normal(shape)).to(dtype).contiguous(memory_format=CL)
    return x, x.cuda()


def check(cpu, gpu, tol=2e-5):
    assert gpu.device.type == "cuda" and gpu.stride() == cpu.stride(), (gpu.stride(), cpu.stride())
    np.testing.assert_allclose(gpu.cpu().double().numpy(), cpu.double().numpy(), rtol=tol, atol=tol)


def test_moves_keep_the_layout_both_ways():
    x, g = pair((2, 3, 5, 7))
    check(x, g)
    back = g.cpu()
    assert back.stride() == x.stride() and pyml.equal(back, x)
    h = g.to(pyml.float64)
    assert h.is_contiguous(memory_format=CL)
    c = x.to("cuda", memory_format=pyml.contiguous_format)
    assert c.is_contiguous() and pyml.equal(c.cpu(), x)


OPS = {
    "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
    "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2),
    "max_pool2d": lambda x, w: F.max_pool2d(x, 2),
    "avg_pool2d": lambda x, w: F.avg_pool2d(x, 3, 2, 1),
    "adaptive_avg": lambda x, w: F.adaptive_avg_pool2d(x, 3),
    "batch_norm": lambda x, w: F.batch_norm(x, None, None, training=True),
    "group_norm": lambda x, w: F.group_norm(x, 2),
    "bilinear": lambda x, w: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "relu_add": lambda x, w: x.relu() + x[:, :1],
    "cat": lambda x, w: pyml.cat([x, x], 1),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float16])
def test_channels_last_ops_match_the_cpu(name, dtype):
    x, g = pair((2, 8, 9, 10), dtype)
    w = pyml.tensor(rng.standard_normal((8, 8, 3, 3)) * 0.2).to(dtype)
    tol = 2e-5 if dtype is pyml.float32 else 3e-2
    xc = x.float() if dtype is pyml.float16 else x  # the CPU reference in float32
    want = OPS[name](xc, w.float())
    got = OPS[name](g, w.cuda())
    assert got.stride() == want.stride()
    np.testing.assert_allclose(got.cpu().double().numpy(), want.double().numpy(), rtol=tol, atol=tol)


def test_channels_last_grads_on_cuda():
    x, g = pair((2, 4, 6, 6))
    w = pyml.tensor(rng.standard_normal((5, 4, 3, 3)), dtype=pyml.float32).contiguous(memory_format=CL)
    wg = w.cuda()
    for a in (x, g, w, wg):
        a.requires_grad_()
    F.max_pool2d(F.conv2d(x, w, padding=1).relu(), 2).sum().backward()
    F.max_pool2d(F.conv2d(g, wg, padding=1).relu(), 2).sum().backward()
    check(x.grad, g.grad, 1e-4)
    check(w.grad, wg.grad, 1e-4)
