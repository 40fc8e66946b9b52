"""pyml.profiler: which calls become events and how they nest, self vs total time, record_function (context
manager and decorator), the entry points restored after a profile (also after an exception), schedules
against torch.profiler.schedule, on_trace_ready cycles, Chrome traces, tables and bad arguments. Nothing here
depends on how fast the machine is."""
import json

import pytest
import torch.profiler as tp

import pyml
import pyml.nn as nn
from pyml.profiler import profile, record_function, ProfilerActivity, ProfilerAction, schedule


def _by_key(prof):
    return {e.key: e for e in prof.key_averages()}


def test_engine_calls_are_counted_by_name():
    x = pyml.ones(3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            x * x
        x.exp()
        x.sum()
    got = _by_key(prof)
    assert got["binary:mul"].count == 5 and got["unary:exp"].count == 1 and got["sum"].count == 1


def test_modules_and_backward_nodes_nest_their_engine_calls():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    x = pyml.randn(2, 4, requires_grad=True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        m(x).sum().backward()
    evs = prof.events()
    seq = [e for e in evs if e.name == "nn.Module: Sequential"]
    assert len(seq) == 1 and [c.name for c in seq[0].children] == ["nn.Module: Linear", "nn.Module: ReLU"]
    linear = seq[0].children[0]
    assert any(c.name == "addmm" for c in linear.children)
    assert any(e.name.startswith("autograd::") for e in evs)
    for e in evs:
        assert e.cpu_time_total >= 0 and e.self_cpu_time_total >= -1e-6
        assert e.cpu_time_total + 1e-6 >= sum(c.cpu_time_total for c in e.children)
        assert all(c.parent is e and e.start <= c.start and c.end <= e.end + 1e-6 for c in e.children)


def test_record_function_ranges_and_decorator():
    @record_function("helper")
    def helper(x):
        return x + 1

    x = pyml.ones(2)
    with profile() as prof:
        with record_function("outer"):
            with record_function("inner"):
                helper(x)
    evs = {e.name: e for e in prof.events()}
    assert evs["inner"].parent is evs["outer"] and evs["helper"].parent is evs["inner"]
    assert [c.name for c in evs["helper"].children] == ["binary:add"]
    with record_function("nobody listens"):  # no profile: nothing recorded, nothing raised
        assert helper(x).tolist() == [2.0, 2.0]


def test_entry_points_are_restored_even_after_an_exception():
    binary, call = pyml._C.binary, nn.Module.__call__
    with pytest.raises(ValueError, match="boom"):
        with profile():
            assert pyml._C.binary is not binary
            raise ValueError("boom")
    assert pyml._C.binary is binary and nn.Module.__call__ is call
    with profile() as prof:  # a second profile records afresh
        pyml.ones(2) + 1
    assert _by_key(prof)["binary:add"].count == 1


def test_one_profile_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="another profile is already recording"):
            profile().start()


@pytest.mark.filterwarnings("ignore:Profiler won't be using warmup")
@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=0, active=1, repeat=3),
                                dict(wait=2, warmup=1, active=3, repeat=2, skip_first=3)])
def test_schedule_matches_torch(kw):
    ours, ref = schedule(**kw), tp.schedule(**kw)
    assert [ours(s).name for s in range(30)] == [ref(s).name for s in range(30)]


def test_schedule_records_only_active_steps_and_hands_over_each_cycle():
    ready = []
    x = pyml.ones(2)
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=lambda p: ready.append(_by_key(p)["binary:mul"].count)) as prof:
        for step in range(10):
            for _ in range(step + 1):
                x * x  # step s does s + 1 multiplications
            prof.step()
    assert ready == [3 + 4, 7 + 8]  # steps 2-3, then 6-7


def test_chrome_trace_and_trace_handler(tmp_path):
    with profile(record_shapes=True) as prof:
        pyml.ones(2, 3) @ pyml.ones(3, 4)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())["traceEvents"]
    mm = [e for e in trace if e["name"] in ("matmul", "mm")]
    assert mm and mm[0]["ph"] == "X" and mm[0]["dur"] >= 0 and mm[0]["args"]["Input Dims"][:2] == [[2, 3], [3, 4]]
    with profile(schedule=schedule(wait=0, warmup=0, active=1, repeat=1),
                 on_trace_ready=pyml.profiler.tensorboard_trace_handler(str(tmp_path / "tb"))) as prof:
        pyml.ones(2) + 1
        prof.step()
    assert len(list((tmp_path / "tb").glob("*.pt.trace.json"))) == 1


def test_tables_and_averages():
    x = pyml.ones(4)
    with profile(record_shapes=True) as prof:
        x + x
        pyml.ones(2) + pyml.ones(2)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    assert "binary:add" in table and "# of Calls" in table and "Self CPU time total" in table
    shapes = prof.key_averages(group_by_input_shape=True)
    assert sorted(e.input_shapes for e in shapes if e.key == "binary:add") == ["[[], [2], [2], []]", "[[], [4], [4], []]"]
    total = prof.events().total_average()
    assert total.count == len(prof.events())
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.key_averages().table(sort_by="speed")
    for name in ("key", "count", "cpu_time_total", "self_cpu_time_total", "cpu_time"):
        assert hasattr(prof.key_averages()[0], name)
    assert ProfilerAction.RECORD_AND_SAVE.name == tp.ProfilerAction.RECORD_AND_SAVE.name


def test_bad_arguments():
    with pytest.raises(TypeError, match="activities must be ProfilerActivity values"):
        profile(activities=["cpu"])
    with pytest.raises(ValueError, match="active > 0"):
        schedule(wait=0, warmup=0, active=0)


def test_garbage_collection_is_its_own_event_not_the_interrupted_calls_self_time():
    import gc
    with profile() as prof:
        with record_function("work"):
            pyml.ones(2) + 1
            gc.collect()
    evs = {e.name: e for e in prof.events()}
    assert evs["python::gc"].parent is evs["work"]
    work = evs["work"]
    assert abs(work.self_cpu_time_total - (work.cpu_time_total - sum(c.cpu_time_total for c in work.children))) < 1e-6
    assert gc.callbacks.count(None) == 0 and not any(getattr(cb, "__self__", None) is not None and
                                                     type(cb.__self__).__name__ == "_Recorder" for cb in gc.callbacks)
