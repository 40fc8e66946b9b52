"""pyml/_ops/compat_lowrank.py: svd_lowrank and pca_lowrank against torch and NumPy's exact SVD. The random test
matrices differ from torch's, so the checks are basis-independent: singular values, reconstructions,
orthonormality, and the gradient of sum(S) (which is U V^T whatever the basis) on exactly low-rank inputs."""
import numpy as np
import pytest
import torch

import pyml


def _low_rank(m, n, k, seed=0, batch=()):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(batch + (m, k)) @ rng.standard_normal(batch + (k, n))


@pytest.mark.parametrize("m,n,k", [(40, 25, 4), (25, 40, 4), (97, 7, 3), (7, 97, 6), (1, 7, 1)])
def test_svd_lowrank_exact_on_low_rank(m, n, k):
    a = _low_rank(m, n, k)
    pyml.manual_seed(0)
    U, S, V = pyml.svd_lowrank(pyml.tensor(a), q=k)
    assert U.shape == (m, k) and S.shape == (k,) and V.shape == (n, k)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(a, compute_uv=False)[:k], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose((U @ pyml.diag(S) @ V.mT).numpy(), a, atol=1e-9)
    np.testing.assert_allclose((U.mT @ U).numpy(), np.eye(k), atol=1e-10)
    np.testing.assert_allclose((V.mT @ V).numpy(), np.eye(k), atol=1e-10)
    tS = torch.svd_lowrank(torch.tensor(a), q=k)[1]
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-9, atol=1e-9)


def test_svd_lowrank_power_iterations_approximate_the_top_values():
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((97, 30)))
    v, _ = np.linalg.qr(rng.standard_normal((60, 30)))
    s = 0.7 ** np.arange(30)  # a decaying spectrum
    a = (u * s) @ v.T
    pyml.manual_seed(2)
    errs = [abs(pyml.svd_lowrank(pyml.tensor(a), q=10, niter=it)[1].numpy()[:3] - s[:3]).max() for it in (0, 4)]
    assert errs[1] < 1e-6 and errs[1] <= errs[0]


def test_svd_lowrank_batched_float32_and_M():
    a = _low_rank(10, 8, 3, seed=3, batch=(2,))
    mean = a.mean(axis=-2, keepdims=True)
    pa = pyml.tensor(a)
    U, S, V = pyml.svd_lowrank(pa, q=4, M=pyml.tensor(np.broadcast_to(mean, a.shape).copy()))
    ref = np.linalg.svd(a - mean, compute_uv=False)[..., :4]
    np.testing.assert_allclose(S.numpy(), ref, atol=1e-10)
    U2, S2, V2 = pyml.svd_lowrank(pa.float(), q=3)
    assert S2.dtype is pyml.float32 and U2.shape == (2, 10, 3)
    np.testing.assert_allclose(S2.numpy(), np.linalg.svd(a, compute_uv=False)[..., :3], rtol=1e-4)


def test_svd_lowrank_gradient_matches_torch():
    a = _low_rank(12, 9, 3, seed=4)
    pa = pyml.tensor(a, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)
    pyml.svd_lowrank(pa, q=3)[1].sum().backward()
    torch.svd_lowrank(ta, q=3)[1].sum().backward()
    np.testing.assert_allclose(pa.grad.numpy(), ta.grad.numpy(), atol=1e-9)


def test_svd_lowrank_reproducible():
    a = pyml.tensor(np.random.default_rng(5).standard_normal((20, 15)))
    pyml.manual_seed(9)
    r1 = pyml.svd_lowrank(a, q=5, niter=0)
    pyml.manual_seed(9)
    r2 = pyml.svd_lowrank(a, q=5, niter=0)
    assert all(x.tolist() == y.tolist() for x, y in zip(r1, r2))


def test_pca_lowrank():
    rng = np.random.default_rng(6)
    a = _low_rank(50, 7, 3, seed=6) + rng.standard_normal(7) * 5  # offset rows: centering matters
    U, S, V = pyml.pca_lowrank(pyml.tensor(a), q=3)
    tU, tS, tV = torch.pca_lowrank(torch.tensor(a), q=3)
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-9)
    centered = a - a.mean(axis=0)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(centered, compute_uv=False)[:3], rtol=1e-9)
    np.testing.assert_allclose(np.abs(V.mT.numpy() @ tV.numpy()), np.eye(3), atol=1e-8)  # same directions
    assert pyml.pca_lowrank(pyml.tensor(a))[1].shape == (6,)  # q = min(6, m, n)
    S_raw = pyml.pca_lowrank(pyml.tensor(a), q=4, center=False)[1]  # uncentered: rank 3 + the offset
    np.testing.assert_allclose(S_raw.numpy(), np.linalg.svd(a, compute_uv=False)[:4], rtol=1e-8)


def test_lowrank_errors():
    with pytest.raises(ValueError, match="q"):
        pyml.pca_lowrank(pyml.ones(5, 3), q=4)
    with pytest.raises(ValueError, match="niter"):
        pyml.pca_lowrank(pyml.ones(5, 3), niter=-1)
    with pytest.raises(TypeError, match="floating"):
        pyml.svd_lowrank(pyml.ones(5, 3, dtype=pyml.int64))
    with pytest.raises(ValueError, match="2 dimensions"):
        pyml.svd_lowrank(pyml.ones(5))
    with pytest.raises(TypeError, match="Tensor"):
        pyml.svd_lowrank([[1.0, 2.0]])
