"""Shared by tests/test_ported_*.py: run one program with torch and with pyml from the same weights."""
import numpy as np
import torch

import pyml


def copy_state(tm, pm):
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def check_program(build, train, steps):
    """The program's trajectory (losses and final readings) with torch and with pyml must agree."""
    torch.manual_seed(0)
    tm, pm = build(torch), build(pyml)
    copy_state(tm, pm)
    ref, ours = train(torch, tm, steps), train(pyml, pm, steps)
    assert len(ref) == len(ours) >= steps
    np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=1e-5)
