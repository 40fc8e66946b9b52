"""bench.gpu_train (issue 8's end-to-end GPT run) on the CPU with a tiny model: pyml and torch train
from the same weights on the same batches under autocast and their loss curves agree step by step;
fp16 goes through the GradScaler. The GPU session runs the same code at GPT-2-small size."""
import os
import sys

import numpy as np
import pytest

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/ (appended: pyml stays the installed one)
from bench.gpu_train import bigram_batches, run  # noqa: E402


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_tiny_gpt_loss_curves_match_torch(dtype):
    r = run(device="cpu", dtype=dtype, steps=4, batch=2, tiny=True, warmup=1)
    lp, lt = r["libs"]["pyml"]["losses"], r["libs"]["torch"]["losses"]
    assert len(lp) == len(lt) == 4 and np.isfinite(lp).all()
    np.testing.assert_allclose(lp, lt, atol=5e-3)
    assert abs(lp[0] - np.log(97)) < 0.5  # starts near uniform over the 97-token vocabulary
    assert r["libs"]["pyml"]["tokens_per_s"] > 0 and r["ratio"] > 0


def test_bigram_batches_follow_their_table():
    (x, y), = bigram_batches(1, 3, 50, 20, seed=1)
    assert x.shape == y.shape == (3, 50) and (x[:, 1:] == y[:, :-1]).all()
    pairs = {(a, b) for a, b in zip(x.ravel(), y.ravel())}
    assert len({a for a, _ in pairs}) <= 20 and max(sum(1 for p in pairs if p[0] == a) for a, _ in pairs) <= 4
