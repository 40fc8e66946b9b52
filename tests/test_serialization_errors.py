"""pyml.load on broken files and pyml.save when things go wrong.

Every truncation and every byte-inverted header of a real checkpoint, and a table of hand-crafted
bad headers and bad structures, must raise ValueError("pyml.load: <file>: ..."), and random bit flips
must never raise anything else. A save that fails (unsaveable object, failing write, failing rename)
must leave the previous checkpoint byte-identical and no temp file behind.
"""
import collections
import io
import json
import os
import struct

import numpy as np
import pytest

import pyml
import pyml.serialization as ser

F32_ONE = np.float32(1.5).tobytes()


def craft(header, data=b"", length=None):
    """A file: u64 little-endian header length, the header (JSON-encoded unless bytes), the data."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def with_structure(structure, tensors=None, data=None, version="1"):
    """A file holding one float32 tensor 't' (unless tensors/data say otherwise) and a pyml structure."""
    header = {"__metadata__": {"pyml.format": version, "pyml.structure": json.dumps(structure)}}
    header.update(tensors if tensors is not None else {"t": entry("F32", [1], 0, 4)})
    return craft(header, F32_ONE if data is None else data)


def load_bytes(raw):
    return pyml.load(io.BytesIO(raw))


def small_checkpoint(tmp_path):
    path = tmp_path / "small.safetensors"
    pyml.save({"w": pyml.arange(3, dtype=pyml.float32), "b": [pyml.tensor(7), None]}, path)
    return path, path.read_bytes()


# ---------------------------------------------------------------------------- damaged files
def test_every_truncation_raises_value_error(tmp_path):
    _, raw = small_checkpoint(tmp_path)
    cut_file = tmp_path / "cut.safetensors"
    for cut in range(len(raw)):
        cut_file.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=r"^pyml\.load: .*cut\.safetensors: "):
            pyml.load(cut_file)


def test_every_inverted_header_byte_raises_value_error(tmp_path):
    _, raw = small_checkpoint(tmp_path)
    n = struct.unpack("<Q", raw[:8])[0]
    for i in range(8 + n):  # an inverted ASCII byte is never valid UTF-8; an inverted length never fits
        bad = bytearray(raw)
        bad[i] ^= 0xFF
        with pytest.raises(ValueError, match=r"^pyml\.load: "):
            load_bytes(bytes(bad))


def test_random_bit_flips_give_value_error_or_a_result(tmp_path, rng):
    _, raw = small_checkpoint(tmp_path)
    outcomes = set()
    for _ in range(400):
        bad = bytearray(raw)
        i = int(rng.integers(len(raw)))
        bad[i] ^= 1 << int(rng.integers(8))
        try:
            outcomes.add(type(load_bytes(bytes(bad))).__name__)
        except ValueError as err:
            assert str(err).startswith("pyml.load: ")
            outcomes.add("ValueError")
    assert "ValueError" in outcomes


BAD_FILES = [
    ("empty", b"", "too short"),
    ("seven bytes", b"\x02\x00\x00\x00\x00\x00\x00", "too short"),
    ("length past end", craft(b"{}", length=1000), "past the end of the file"),
    ("max length", craft(b"{}", length=2 ** 64 - 1), "past the end of the file"),
    ("not utf-8", craft(b'{"a\xff": 1}'), "not valid UTF-8"),
    ("not json", craft(b"{nope}   "), "not valid JSON"),
    ("json list", craft([]), "must be a JSON object"),
    ("NaN constant", craft(b'{"a": NaN}'), "non-standard constant NaN"),
    ("repeated key", craft(b'{"t": 1, "t": 2}'), "repeats the key 't'"),
    ("entry not object", craft({"t": 5}), "exactly the keys"),
    ("entry missing key", craft({"t": {"dtype": "F32", "shape": [1]}}), "exactly the keys"),
    ("entry extra key", craft({"t": dict(entry("F32", [1], 0, 4), x=1)}, F32_ONE), "exactly the keys"),
    ("unknown dtype", craft({"t": entry("F8_E4M3", [1], 0, 1)}, b"\0"), "unsupported dtype 'F8_E4M3'"),
    ("dtype not string", craft({"t": entry(["F32"], [1], 0, 4)}, F32_ONE), "unsupported dtype"),
    ("negative dim", craft({"t": entry("F32", [-1], 0, 4)}, F32_ONE), "non-negative ints"),
    ("bool dim", craft({"t": entry("F32", [True], 0, 4)}, F32_ONE), "non-negative ints"),
    ("float dim", craft({"t": entry("F32", [1.0], 0, 4)}, F32_ONE), "non-negative ints"),
    ("shape not list", craft({"t": entry("F32", 1, 0, 4)}, F32_ONE), "non-negative ints"),
    ("65 dims", craft({"t": entry("F32", [1] * 65, 0, 4)}, F32_ONE), "at most 64"),
    ("huge shape", craft({"t": entry("U8", [0, 2 ** 62, 2 ** 62], 0, 0)}), "too large"),
    ("size mismatch", craft({"t": entry("F32", [2], 0, 4)}, F32_ONE), "need 8"),
    ("reversed offsets", craft({"t": entry("U8", [0], 4, 0)}, F32_ONE), "0 <= begin <= end"),
    ("three offsets", craft({"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}}, b"\0"), "begin, end"),
    ("negative offset", craft({"t": entry("U8", [1], -1, 0)}, b"\0"), "0 <= begin <= end"),
    ("overlap", craft({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 2, 6)}, bytes(6)), "overlaps"),
    ("gap", craft({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, bytes(12)), "gap after byte 4"),
    ("data past end", craft({"t": entry("F32", [2], 0, 8)}, F32_ONE), "past the end of the file"),
    ("trailing garbage", craft({"t": entry("F32", [1], 0, 4)}, F32_ONE + b"xx"), "2 unused bytes"),
    ("metadata value", craft({"__metadata__": {"k": 1}}), "mapping strings to strings"),
    ("metadata list", craft({"__metadata__": []}), "mapping strings to strings"),
    ("BOOL byte 2", craft({"t": entry("BOOL", [2], 0, 2)}, b"\x00\x02"), "BOOL values must be bytes 0 or 1"),
]

BAD_STRUCTURES = [
    ("structure not json", {"__metadata__": {"pyml.format": "1", "pyml.structure": "{bad"}}, "not valid JSON"),
    ("format 2", with_structure({"$": "tensor", "name": "t"}, version="2"), "unknown pyml checkpoint format '2'"),
    ("unknown tag", with_structure({"$": "set", "items": []}), "unknown structure node"),
    ("bare array", with_structure([1, 2]), "unknown structure node"),
    ("names missing tensor", with_structure({"$": "tensor", "name": "nope"}), "does not hold"),
    ("unused tensor", with_structure(3), "does not mention the tensors \\['t'\\]"),
    ("items not array", with_structure({"$": "list", "items": {}}), "needs 'items'"),
    ("item not pair", with_structure({"$": "dict", "items": [[1]]}), "key, value"),
    ("list as key", with_structure({"$": "dict", "items": [[{"$": "list", "items": []}, 1]]}),
     "plain value or a tuple"),
    ("tensor as key", with_structure({"$": "dict", "items": [[{"$": "tensor", "name": "t"}, 1]]}), "plain value"),
    ("repeated dict key", with_structure({"$": "dict", "items": [[1, 2], [1, 3]]}), "repeats the key 1"),
    ("bad float", with_structure({"$": "float", "value": "1.5"}), "nan, inf or -inf"),
    ("tensor name int", with_structure({"$": "tensor", "name": 3}), "malformed"),
    ("bad flag", with_structure({"$": "tensor", "name": "t", "requires_grad": 1}), "malformed"),
    ("bad device", with_structure({"$": "tensor", "name": "t", "device": "tpu:0"}), "invalid saved device"),
    ("int requires grad", with_structure({"$": "tensor", "name": "t", "requires_grad": True},
                                         {"t": entry("I32", [1], 0, 4)}), "only floating point"),
    ("attrs on dict", with_structure({"$": "dict", "items": [], "attrs": {"x": 1}}), "attrs"),
    ("dunder attr", with_structure({"$": "OrderedDict", "items": [], "attrs": {"__class__": 1}}), "attrs"),
]


@pytest.mark.parametrize("name,raw,match", BAD_FILES + BAD_STRUCTURES, ids=[c[0] for c in BAD_FILES + BAD_STRUCTURES])
def test_bad_files_raise_value_error(name, raw, match, tmp_path):
    if isinstance(raw, dict):
        raw = craft(raw)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=r"^pyml\.load: .*bad\.safetensors: .*" + match):
        pyml.load(path)
    with pytest.raises(ValueError, match=r"^pyml\.load: "):
        load_bytes(raw)


def test_too_deep_structure_raises_value_error():
    deep = '{"$": "list", "items": [' * 100000 + "]}" * 100000
    raw = craft({"__metadata__": {"pyml.format": "1", "pyml.structure": deep}})
    with pytest.raises(ValueError, match="nested too deeply"):
        load_bytes(raw)


def test_crafted_valid_file_loads():
    """The crafting helpers make loadable files, so the failures above are about the one broken part."""
    assert load_bytes(with_structure({"$": "list", "items": [{"$": "tensor", "name": "t"}]}))[0].item() == 1.5
    assert load_bytes(craft({"t": entry("BOOL", [2], 0, 2)}, b"\x00\x01"))["t"].tolist() == [False, True]


# ---------------------------------------------------------------------------- failed saves
def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)}


@pytest.fixture
def old_checkpoint(tmp_path):
    path = tmp_path / "model.safetensors"
    pyml.save({"w": pyml.ones(3), "step": 1}, path)
    return path, snapshot(tmp_path)


class Foo:
    pass


def _with_attr(obj, name, value):
    setattr(obj, name, value)
    return obj


@pytest.mark.parametrize("obj,match", [
    ({"model": {"x": lambda: 0}}, r"cannot save object of type function at \['model'\]\['x'\]"),
    (pyml.nn.Linear(2, 2), "cannot save object of type Linear at the top level"),
    ([1, (2, Foo())], r"type Foo at \[1\]\[1\]"),
    ({"s": {1, 2}}, r"type set at \['s'\]"),
    ({"a": np.float32(1.0)}, "type float32"),
    ({"a": np.zeros(2)}, "type ndarray"),
    ({"opt": {Foo(): 1}}, r"dict key of type Foo at \['opt'\]"),
    (type("Odd", (collections.OrderedDict,), {})(), "type Odd at the top level"),
    (_with_attr(collections.OrderedDict(a=1), "__weird__", 2), "attribute '__weird__' of the OrderedDict"),
])
def test_unsaveable_objects_fail_before_writing(obj, match, old_checkpoint, tmp_path):
    path, before = old_checkpoint
    with pytest.raises(TypeError, match="^pyml.save: .*" + match):
        pyml.save(obj, path)
    assert snapshot(tmp_path) == before
    with pytest.raises(TypeError):
        pyml.save(obj, tmp_path / "new.safetensors")
    assert snapshot(tmp_path) == before


def test_cycles_deep_nesting_and_bad_strings_fail_before_writing(old_checkpoint, tmp_path):
    path, before = old_checkpoint
    loop = [1]
    loop.append({"again": loop})
    deep = []
    for _ in range(5000):
        deep = [deep]
    for obj, match in ((loop, r"container at \[1\]\['again'\] contains itself"), (deep, "nested too deeply"),
                       ({"k": "\ud800"}, "UTF-8")):
        with pytest.raises(ValueError, match="^pyml.save: .*" + match):
            pyml.save(obj, path)
    assert snapshot(tmp_path) == before


def test_failed_rename_keeps_old_file(old_checkpoint, tmp_path, monkeypatch):
    path, before = old_checkpoint

    def broken_replace(src, dst):
        assert os.path.getsize(src) > 0  # the new checkpoint was fully written first
        raise OSError("disk says no")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk says no"):
        pyml.save({"w": pyml.zeros(5)}, path)
    assert snapshot(tmp_path) == before


def test_failure_midway_through_writing_keeps_old_file(old_checkpoint, tmp_path, monkeypatch):
    path, before = old_checkpoint
    real, seen = ser.host_array, []

    def failing_host_array(t):
        if seen:  # the header and the first tensor are already in the temp file
            seen.append(sorted(set(os.listdir(tmp_path)) - set(before)))
            raise RuntimeError("device lost")
        seen.append(None)
        return real(t)
    monkeypatch.setattr(ser, "host_array", failing_host_array)
    with pytest.raises(RuntimeError, match="device lost"):
        pyml.save({"a": pyml.ones(4), "b": pyml.ones(4)}, path)
    assert len(seen[1]) == 1 and seen[1][0].endswith(".tmp")
    assert snapshot(tmp_path) == before


def test_interrupted_save_keeps_old_file(old_checkpoint, tmp_path, monkeypatch):
    path, before = old_checkpoint

    def interrupt(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        pyml.save({"w": pyml.zeros(5)}, path)
    assert snapshot(tmp_path) == before


def test_save_keeps_mode_and_writes_through_symlinks(old_checkpoint, tmp_path):
    path, _ = old_checkpoint
    os.chmod(path, 0o640)
    pyml.save({"w": pyml.zeros(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    link = tmp_path / "latest.safetensors"
    os.symlink(path.name, link)
    pyml.save({"step": 2}, link)
    assert os.path.islink(link) and pyml.load(path) == {"step": 2}
    umask = os.umask(0)
    os.umask(umask)
    pyml.save(1, tmp_path / "fresh.safetensors")
    assert os.stat(tmp_path / "fresh.safetensors").st_mode & 0o777 == 0o666 & ~umask


def test_file_object_and_bytes_path_saves_match_path_save(old_checkpoint, tmp_path):
    path, _ = old_checkpoint
    buf = io.BytesIO()
    pyml.save({"w": pyml.ones(3), "step": 1}, buf)
    assert buf.getvalue() == path.read_bytes()
    pyml.save({"w": pyml.ones(3), "step": 1}, os.fsencode(tmp_path / "b.safetensors"))
    assert (tmp_path / "b.safetensors").read_bytes() == path.read_bytes()
    assert pyml.load(os.fsencode(tmp_path / "b.safetensors"))["step"] == 1


def test_bad_arguments(old_checkpoint):
    path, _ = old_checkpoint
    # torch scripts pass weights_only=False to load full checkpoints; a pyml checkpoint holds nothing to
    # unpickle, so it loads the same
    same = pyml.load(path, weights_only=False)
    assert same["step"] == 1 and pyml.equal(same["w"], pyml.load(path, weights_only=True)["w"])
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        pyml.load(path, weights_only="yes")
    with pytest.raises(TypeError, match="f must be a path"):
        pyml.save(1, 123)
    with pytest.raises(TypeError, match="f must be a path"):
        pyml.load(123)
    with open(path, "r") as text, pytest.raises(TypeError, match=r"binary mode \('rb'\)"):
        pyml.load(text)
    with open(path.parent / "t.txt", "w") as text, pytest.raises(TypeError, match=r"binary mode \('wb'\)"):
        pyml.save(1, text)
    with pytest.raises(TypeError, match="map_location must be"):
        pyml.load(path, map_location=3)
    with pytest.raises(ValueError, match="bad map_location device 'gpu'"):
        pyml.load(path, map_location="gpu")
    assert pyml.load(path, weights_only=True)["step"] == 1
