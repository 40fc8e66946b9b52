"""pyml.save / pyml.load: exact round trips of every dtype and of nested objects, interchange with the
safetensors package (both directions), model + Adam resume bit for bit, map_location forms, and the
failure modes: truncated, bit-flipped and hand-crafted bad files raise ValueError, and a save that
fails leaves the old checkpoint untouched with no temp file behind.
"""
import collections
import io
import json
import struct

import numpy as np
import pytest
import safetensors.numpy as stn
import safetensors.torch as stt
import torch

import pyml
from pyml import nn

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def bits(t):
    """The raw stored values of t as bytes (bfloat16: the top half of its exact float32 widening)."""
    t = t.detach()
    if t.dtype is pyml.bfloat16:
        return (np.ascontiguousarray(t.float().numpy()).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    return np.ascontiguousarray(t.numpy()).tobytes()


def assert_same(a, b):
    assert type(a) is type(b)
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
    assert bits(a) == bits(b)


def tail_values(name, rng, n=40):
    """n values of dtype `name` as a NumPy array (bfloat16: float32 holding bfloat16-exact values),
    shuffled from random ones plus the dtype's extremes and, for floats, nan, +-inf, -0.0, subnormals."""
    m = max(n, 8)
    if name == "bool":
        a = rng.integers(0, 2, m).astype(bool)
    elif name in ("float16", "float32", "float64", "bfloat16"):
        np_t = np.float32 if name == "bfloat16" else np.dtype(name).type
        fi = np.finfo(np_t)
        a = (rng.standard_normal(m) * 100).astype(np_t)
        a[:8] = [np.nan, np.inf, -np.inf, -0.0, fi.max, -fi.max, fi.smallest_subnormal, fi.tiny]
        if name == "bfloat16":  # keep only bfloat16's bits, so the conversion below is exact
            a = (a.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
    else:
        ii = np.iinfo(name)
        a = rng.integers(ii.min, ii.max, m, endpoint=True, dtype=name)
        a[:3] = [ii.min, ii.max, 0]
    return rng.permutation(a)[:n]


def make(name, rng, shape=(5, 8)):
    a = tail_values(name, rng, int(np.prod(shape)))
    return pyml.tensor(a.reshape(shape)).to(getattr(pyml, name))


def roundtrip(obj, tmp_path, **load_kw):
    path = tmp_path / "ckpt.safetensors"
    pyml.save(obj, path)
    return pyml.load(path, **load_kw)


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_round_trips_bitwise(name, rng, tmp_path):
    base = make(name, rng, (6, 8))
    cases = {"plain": base, "scalar": make(name, rng, ()), "empty": make(name, rng, (0, 3)),
             "transposed": base.t(), "strided": base[1::2, ::3], "expanded": base[0].expand(3, 8)}
    assert not cases["strided"].is_contiguous()
    back = roundtrip(cases, tmp_path)
    assert list(back) == list(cases)
    for k in cases:
        assert_same(back[k], cases[k])
        assert back[k].is_contiguous()


def test_bfloat16_file_matches_torch_bits(rng, tmp_path):
    vals = tail_values("bfloat16", rng, 64)
    pyml.save({"x": pyml.tensor(vals).to(pyml.bfloat16)}, tmp_path / "b.safetensors")
    theirs = stt.load_file(str(tmp_path / "b.safetensors"))["x"]
    want = (vals.view(np.uint32) >> 16).astype(np.uint16)  # vals hold bfloat16-exact float32 values
    assert theirs.dtype == torch.bfloat16 and theirs.view(torch.int16).numpy().tobytes() == want.tobytes()
    assert np.array_equal(theirs.float().numpy(), vals, equal_nan=True)


def test_nested_structures_keep_types_keys_and_order(rng, tmp_path):
    t = make("float32", rng, (3,))
    od = collections.OrderedDict([("z", 1), ("a", [t, (2, None)])])
    obj = {"ints": {0: t, -5: "neg", 2 ** 70: "big"}, "od": od, 1.5: (True, False, None),
           (1, "k", None): -0.0, "floats": [float("nan"), float("inf"), -float("inf"), 1e-310, 1.0],
           "text": "héllo ✓ \"quoted\" \\ \n", "empty": [[], (), {}, collections.OrderedDict()],
           "same": t, "$": {"$": "tensor"}}
    back = roundtrip(obj, tmp_path)
    assert list(back) == list(obj)
    assert list(back["ints"]) == [0, -5, 2 ** 70] and back["ints"][2 ** 70] == "big"
    assert type(back["od"]) is collections.OrderedDict and list(back["od"]) == ["z", "a"]
    assert back["od"]["a"][1] == (2, None) and type(back["od"]["a"][1]) is tuple
    assert back[1.5] == (True, False, None) and type(back[1.5][0]) is bool
    assert str(back[(1, "k", None)]) == "-0.0"
    f = back["floats"]
    assert np.isnan(f[0]) and f[1:] == [np.inf, -np.inf, 1e-310, 1.0] and type(f[4]) is float
    assert back["text"] == obj["text"] and back["empty"] == obj["empty"]
    assert [type(x) for x in back["empty"]] == [list, tuple, dict, collections.OrderedDict]
    assert back["$"] == {"$": "tensor"}
    assert back["same"] is back["ints"][0] is back["od"]["a"][0]
    assert_same(back["same"], t)


def test_top_level_tensor_and_plain_values(rng, tmp_path):
    t = make("int64", rng, (4,))
    assert_same(roundtrip(t, tmp_path), t)
    for value in (None, 3, "s", [1, (2.5,)]):
        assert roundtrip(value, tmp_path) == value


def test_parameters_and_requires_grad_come_back(rng, tmp_path):
    p = nn.Parameter(make("float32", rng, (2, 3)))
    frozen = nn.Parameter(make("float64", rng, (2,)), requires_grad=False)
    leaf = make("float32", rng, (3,)).requires_grad_()
    back = roundtrip({"p": p, "frozen": frozen, "leaf": leaf, "view": leaf * 2}, tmp_path)
    assert type(back["p"]) is nn.Parameter and back["p"].requires_grad and back["p"].is_leaf
    assert type(back["frozen"]) is nn.Parameter and not back["frozen"].requires_grad
    assert type(back["leaf"]) is pyml.Tensor and back["leaf"].requires_grad
    assert back["view"].requires_grad and back["view"].grad_fn is None
    assert bits(back["p"]) == bits(p) and bits(back["view"]) == bits(leaf * 2)


def test_views_sharing_storage_are_saved_as_copies(rng, tmp_path):
    base = make("float32", rng, (4,))
    back = roundtrip({"base": base, "tail": base[1:]}, tmp_path)
    back["base"].fill_(0.0)
    assert bits(back["tail"]) == bits(base[1:])


# ---------------------------------------------------------------------------- the safetensors file format
def test_flat_state_dict_is_readable_by_safetensors(rng, tmp_path):
    sd = collections.OrderedDict((f"layer.{n}", make(n, rng, (3, 2))) for n in DTYPES if n != "bfloat16")
    pyml.save(sd, tmp_path / "sd.safetensors")
    theirs = stn.load_file(str(tmp_path / "sd.safetensors"))
    assert sorted(theirs) == sorted(sd)
    for k, t in sd.items():
        assert theirs[k].dtype == t.numpy().dtype and theirs[k].tobytes() == bits(t)


def test_nested_checkpoint_tensors_are_all_visible_to_safetensors(rng, tmp_path):
    obj = {"model": {"w": make("float32", rng)}, "opt": {"state": {0: {"m": make("float64", rng)}}},
           "hist": [make("int32", rng), make("int32", rng)]}
    pyml.save(obj, tmp_path / "c.safetensors")
    theirs = stn.load_file(str(tmp_path / "c.safetensors"))
    assert sorted(theirs) == ["hist.0", "hist.1", "model.w", "opt.state.0.m"]
    assert theirs["opt.state.0.m"].tobytes() == bits(obj["opt"]["state"][0]["m"])


def test_tensor_names_stay_unique(rng, tmp_path):
    a, b, c = (make("float32", rng, (2,)) for _ in range(3))
    obj = {"x.y": a, "x": {"y": b}, "__metadata__": c}
    back = roundtrip(obj, tmp_path)
    assert bits(back["x.y"]) == bits(a) and bits(back["x"]["y"]) == bits(b) and bits(back["__metadata__"]) == bits(c)
    assert sorted(stn.load_file(str(tmp_path / "ckpt.safetensors"))) == ["__metadata__#1", "x.y", "x.y#1"]


def test_header_layout_follows_the_spec(rng, tmp_path):
    obj = {"a": make("uint8", rng, (3,)), "b": make("float64", rng, (2, 2)), "c": make("int16", rng, ())}
    pyml.save(obj, tmp_path / "h.safetensors")
    raw = (tmp_path / "h.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n].decode("utf-8")
    assert n % 8 == 0 and set(text[text.rindex("}") + 1:]) <= {" "}
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"]["pyml.format"] == "1"
    spans = [header[k]["data_offsets"] for k in "abc"]
    assert spans == [[0, 3], [3, 35], [35, 37]] and len(raw) == 8 + n + 37
    assert [header[k]["dtype"] for k in "abc"] == ["U8", "F64", "I16"] and header["c"]["shape"] == []


def test_safetensors_package_files_load(rng, tmp_path):
    arrays = {n: tail_values(n, rng, 12).reshape(3, 4) for n in DTYPES if n != "bfloat16"}
    arrays["scalar"], arrays["empty"] = np.array(2.5, np.float32), np.zeros((0, 4), np.int64)
    stn.save_file(arrays, str(tmp_path / "np.safetensors"), metadata={"author": "someone"})
    back = pyml.load(tmp_path / "np.safetensors")
    assert type(back) is dict and sorted(back) == sorted(arrays)
    for k, a in arrays.items():
        got = back[k].numpy()
        assert got.dtype == a.dtype and got.shape == a.shape and got.tobytes() == a.tobytes()


def test_safetensors_torch_bfloat16_loads(rng, tmp_path):
    x = torch.from_numpy(tail_values("bfloat16", rng, 30)).to(torch.bfloat16).reshape(5, 6)
    stt.save_file({"x": x}, str(tmp_path / "t.safetensors"))
    back = pyml.load(tmp_path / "t.safetensors")["x"]
    assert back.dtype is pyml.bfloat16 and bits(back) == x.view(torch.int16).numpy().tobytes()


def test_file_objects_read_and_write_at_their_position(rng, tmp_path):
    obj = {"w": make("float32", rng), "n": 3}
    buf = io.BytesIO()
    buf.write(b"prefix")
    pyml.save(obj, buf)
    buf.seek(6)
    back = pyml.load(buf)
    assert back["n"] == 3 and bits(back["w"]) == bits(obj["w"])

    class Stream:  # read() only: not seekable
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def read(self, n=-1):
            return self.data.read(n)
    assert pyml.load(Stream(buf.getvalue()[6:]))["n"] == 3


# ---------------------------------------------------------------------------- models and optimizers
def _model():
    pyml.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))


def _train(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()


def _batches(rng, n):
    return [(pyml.tensor(rng.standard_normal((16, 5)).astype(np.float32)), pyml.tensor(rng.integers(0, 3, 16)))
            for _ in range(n)]


def test_state_dict_round_trips_and_loads_into_a_module(rng, tmp_path):
    model = _model()
    _train(model, pyml.optim.SGD(model.parameters(), lr=0.1), _batches(rng, 2))
    sd = model.state_dict()
    back = roundtrip(sd, tmp_path)
    assert type(back) is collections.OrderedDict and list(back) == list(sd)
    for k in sd:
        assert_same(back[k], sd[k])
    assert back._metadata == sd._metadata
    assert sorted(stn.load_file(str(tmp_path / "ckpt.safetensors"))) == sorted(sd)
    fresh = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
    fresh.load_state_dict(back)
    model.eval(), fresh.eval()
    x = _batches(rng, 1)[0][0]
    assert bits(fresh(x)) == bits(model(x))


def test_model_and_adam_resume_bit_for_bit(rng, tmp_path):
    batches = _batches(rng, 6)
    model = _model()
    opt = pyml.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95), amsgrad=True)
    _train(model, opt, batches[:3])
    pyml.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}, tmp_path / "run.ckpt")
    _train(model, opt, batches[3:])

    ckpt = pyml.load(tmp_path / "run.ckpt")
    assert ckpt["epoch"] == 3 and sorted(ckpt["optim"]["state"]) == list(range(6))
    assert ckpt["optim"]["param_groups"][0]["betas"] == (0.8, 0.95)
    resumed = _model()
    opt2 = pyml.optim.Adam(resumed.parameters(), lr=1.0)
    resumed.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    _train(resumed, opt2, batches[3:])
    for (k, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        assert bits(a) == bits(b), k
    for s1, s2 in zip(opt.state_dict()["state"].values(), opt2.state_dict()["state"].values()):
        assert all(bits(s1[k]) == bits(s2[k]) for k in s1)


def test_optimizer_state_dict_round_trips(rng, tmp_path):
    model = _model()
    opt = pyml.optim.AdamW(model.named_parameters(), lr=3e-3)
    _train(model, opt, _batches(rng, 2))
    sd = opt.state_dict()
    back = roundtrip(sd, tmp_path)
    assert back["param_groups"] == sd["param_groups"]
    assert list(back["state"]) == list(sd["state"]) and all(type(k) is int for k in back["state"])
    for k, st in sd["state"].items():
        assert list(back["state"][k]) == list(st)
        for name, v in st.items():
            assert_same(back["state"][k][name], v)


# ---------------------------------------------------------------------------- map_location
def _file_saved_on(path, dev, values):
    """A pyml checkpoint {'w': tensor} whose tensor is recorded as saved on device `dev`."""
    node = {"$": "dict", "items": [["w", {"$": "tensor", "name": "w", "device": dev}]]}
    header = {"__metadata__": {"pyml.format": "1", "pyml.structure": json.dumps(node)},
              "w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, 4 * len(values)]}}
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + np.asarray(values, "<f4").tobytes())


def test_map_location_forms(rng, tmp_path):
    obj = {"w": make("float32", rng), "i": make("int64", rng, (2, 3))}
    pyml.save(obj, tmp_path / "m.safetensors")
    for ml in (None, "cpu", pyml.device("cpu"), {"cuda:0": "cpu"}, {"cpu": pyml.device("cpu")}):
        back = pyml.load(tmp_path / "m.safetensors", map_location=ml)
        assert all(back[k].device == pyml.device("cpu") and bits(back[k]) == bits(obj[k]) for k in obj)
    calls = []

    def swap_w(t, loc):
        calls.append((type(t), tuple(t.shape), loc))
        return pyml.zeros_like(t) if t.dtype is pyml.float32 else None
    back = pyml.load(tmp_path / "m.safetensors", map_location=swap_w)
    assert calls == [(pyml.Tensor, (5, 8), "cpu"), (pyml.Tensor, (2, 3), "cpu")]
    assert back["w"].tolist() == [[0.0] * 8] * 5 and bits(back["i"]) == bits(obj["i"])
    with pytest.raises(TypeError, match="must return a Tensor or None, got int"):
        pyml.load(tmp_path / "m.safetensors", map_location=lambda t, loc: 3)


def test_map_location_of_tensors_saved_on_cuda(tmp_path):
    path = tmp_path / "gpu.safetensors"
    _file_saved_on(path, "cuda:0", [1.0, -2.0])
    for ml in ("cpu", {"cuda:0": "cpu"}, {"cuda": "cpu"}, lambda t, loc: t if loc == "cuda:0" else None):
        back = pyml.load(path, map_location=ml)["w"]
        assert back.device == pyml.device("cpu") and back.tolist() == [1.0, -2.0]
    if pyml.cuda.is_available():
        assert pyml.load(path)["w"].device == pyml.device("cuda:0")
        assert pyml.load(path, map_location="cuda")["w"].cpu().tolist() == [1.0, -2.0]
    else:
        for ml in (None, "cuda", {"cpu": "cpu"}):
            with pytest.raises(RuntimeError, match="onto cuda:0, but CUDA is not available; pass map_location='cpu'"):
                pyml.load(path, map_location=ml)


@pytest.mark.cuda
@pytest.mark.parametrize("name", DTYPES)
def test_cuda_tensors_round_trip(name, rng, tmp_path):
    t = make(name, rng, (4, 6)).cuda()
    pyml.save({"t": t, "view": t[:, 1::2]}, tmp_path / "c.safetensors")
    back = pyml.load(tmp_path / "c.safetensors")
    assert back["t"].device == t.device and bits(back["t"].cpu()) == bits(t.cpu())
    assert bits(back["view"].cpu()) == bits(t[:, 1::2].cpu())
    on_cpu = pyml.load(tmp_path / "c.safetensors", map_location="cpu")
    assert on_cpu["t"].device == pyml.device("cpu") and bits(on_cpu["t"]) == bits(t.cpu())
