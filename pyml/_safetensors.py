"""The safetensors container: dtype tags, header encoding, strict header parsing, tensor bytes.

Layout: u64 little-endian header length N, N bytes of UTF-8 JSON (space-padded to a multiple of 8),
then the data buffer; each header entry gives dtype, shape and [begin, end) offsets into the buffer.
The parser trusts nothing: every violation raises CheckpointError (a ValueError) with a plain message,
so the caller can prefix the file name. bfloat16 has no NumPy dtype; its bits travel as uint16.
"""
import json
import struct

import numpy as np

from . import _dtype as D

# pyml dtype <-> safetensors tag, with the little-endian NumPy dtype of the stored bytes
_TAGS = ((D.bool_, "BOOL", "u1"), (D.uint8, "U8", "u1"), (D.int8, "I8", "i1"), (D.int16, "I16", "<i2"),
         (D.int32, "I32", "<i4"), (D.int64, "I64", "<i8"), (D.float16, "F16", "<f2"),
         (D.bfloat16, "BF16", "<u2"), (D.float32, "F32", "<f4"), (D.float64, "F64", "<f8"),
         (D.complex64, "C64", "<c8"), (D.complex128, "C128", "<c16"))  # (C128: pyml's own tag)
TAG_OF = {dt: tag for dt, tag, _ in _TAGS}
DTYPE_OF = {tag: dt for dt, tag, _ in _TAGS}
WIRE_OF = {tag: np.dtype(w) for _, tag, w in _TAGS}

METADATA = "__metadata__"
_MAX_NDIM = 64  # NumPy's limit; pyml tensors are built from NumPy arrays
_MAX_BYTES = 2 ** 63 - 1


class CheckpointError(ValueError):
    """A file that is not a valid safetensors checkpoint."""


class Entry:
    """One tensor of the header: name, safetensors dtype tag, shape, byte range in the buffer."""
    __slots__ = ("name", "tag", "shape", "begin", "end")

    def __init__(self, name, tag, shape, begin, end):
        self.name, self.tag, self.shape, self.begin, self.end = name, tag, shape, begin, end


# ---------------------------------------------------------------------------- writing
def host_array(t):
    """A C-contiguous little-endian NumPy array holding t's values as stored on disk (bfloat16: flat)."""
    t = t.detach().cpu()
    if t.dtype is D.bfloat16:
        # widening bfloat16 -> float32 is exact (the bits shift left by 16), so the top half is the raw value
        wide = np.ascontiguousarray(t.float().numpy()).astype("<f4", copy=False).reshape(-1)
        return (wide.view("<u4") >> 16).astype("<u2")
    return np.ascontiguousarray(t.numpy()).astype(WIRE_OF[TAG_OF[t.dtype]], copy=False)


def nbytes_of(t):
    return t.numel() * t.dtype.itemsize


def encode_header(entries, metadata):
    """The 8-byte length prefix plus the JSON header for entries laid out in order."""
    header = {METADATA: metadata}
    for e in entries:
        header[e.name] = {"dtype": e.tag, "shape": list(e.shape), "data_offsets": [e.begin, e.end]}
    text = json.dumps(header, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"a key or string can't be encoded as UTF-8 ({err.reason}): "
                         f"{err.object[max(err.start - 20, 0):err.end + 20]!r}") from None
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


# ---------------------------------------------------------------------------- reading
def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise CheckpointError(f"a JSON object repeats the key {k!r}")
        out[k] = v
    return out


def decode_json(raw, what):
    """Parse UTF-8 JSON text strictly: no NaN/Infinity, no repeated keys."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{what} is not valid UTF-8 (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{what} is not valid JSON: {err}") from None
    except RecursionError:
        raise CheckpointError(f"{what} is nested too deeply") from None
    except CheckpointError as err:
        raise CheckpointError(f"{what}: {err}") from None


def _reject_constant(name):
    raise CheckpointError(f"the JSON contains the non-standard constant {name}")


def read_prefix(f, size):
    """Read and parse the header of a file of `size` bytes at f's position -> (entries, metadata, data_size)."""
    if size < 8:
        raise CheckpointError(f"file is too short ({size} bytes) to hold the 8-byte header length")
    (n,) = struct.unpack("<Q", _read_exact(f, 8))
    if n > size - 8:
        raise CheckpointError(f"header length {n} runs past the end of the file ({size} bytes)")
    header = decode_json(_read_exact(f, n), "header")
    entries, metadata = parse_header(header)
    data_size = size - 8 - n
    check_layout(entries, data_size)
    return entries, metadata, data_size


def _read_exact(f, n):
    buf = bytearray(n)
    got = _fill(f, memoryview(buf))
    if got != n:
        raise CheckpointError(f"file ended early: wanted {n} bytes, got {got}")
    return bytes(buf)


def parse_header(header):
    if not isinstance(header, dict):
        raise CheckpointError(f"header must be a JSON object, got {type(header).__name__}")
    metadata = header.get(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError("__metadata__ must be an object mapping strings to strings")
    entries = [_parse_entry(k, v) for k, v in header.items() if k != METADATA]
    return entries, metadata


def _is_count(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _parse_entry(name, info):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"tensor {name!r}: entry must be an object with exactly the keys dtype, shape, "
                              f"data_offsets, got {info!r:.200}")
    tag, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(tag, str) or tag not in DTYPE_OF:
        raise CheckpointError(f"tensor {name!r}: unsupported dtype {tag!r:.40}; pyml reads {', '.join(DTYPE_OF)}")
    if not isinstance(shape, list) or len(shape) > _MAX_NDIM or not all(_is_count(d) for d in shape):
        raise CheckpointError(f"tensor {name!r}: shape must be a list of at most {_MAX_NDIM} non-negative ints, "
                              f"got {shape!r:.200}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise CheckpointError(f"tensor {name!r}: data_offsets must be [begin, end] with 0 <= begin <= end, "
                              f"got {offsets!r:.200}")
    _check_size(name, tag, shape, offsets)
    return Entry(name, tag, tuple(shape), offsets[0], offsets[1])


def _check_size(name, tag, shape, offsets):
    numel, extent = 1, DTYPE_OF[tag].itemsize
    for d in shape:
        numel *= d
        extent *= max(d, 1)
    want = numel * DTYPE_OF[tag].itemsize
    if offsets[1] - offsets[0] != want:
        raise CheckpointError(f"tensor {name!r}: data_offsets {offsets} hold {offsets[1] - offsets[0]} bytes, "
                              f"but dtype {tag} and shape {shape} need {want}")
    if extent > _MAX_BYTES:
        raise CheckpointError(f"tensor {name!r}: shape {shape} is too large to index")


def check_layout(entries, data_size):
    """The byte ranges must tile the data buffer exactly: no overlap, no hole, nothing after the last one."""
    at = 0
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):
        if e.begin != at:
            kind = "overlaps the previous tensor" if e.begin < at else f"leaves a gap after byte {at}"
            raise CheckpointError(f"tensor {e.name!r}: data_offsets [{e.begin}, {e.end}] {kind}")
        at = e.end
    if at != data_size:
        what = "past the end of the file" if at > data_size else f"followed by {data_size - at} unused bytes"
        raise CheckpointError(f"the tensors need a data buffer of {at} bytes, but it has {data_size} ({what})")


def read_array(f, entry):
    """Read one entry's bytes (f positioned at its begin) into a fresh, aligned, native-order NumPy array
    (BOOL as np.bool_, BF16 as its raw uint16 bits)."""
    wire = WIRE_OF[entry.tag]
    arr = np.empty(entry.shape, dtype=wire)
    got = _fill(f, memoryview(arr.reshape(-1).view(np.uint8)))
    if got != arr.nbytes:
        raise CheckpointError(f"tensor {entry.name!r}: file ended early ({got} of {arr.nbytes} bytes)")
    if entry.tag == "BOOL":
        if arr.size and arr.max() > 1:
            raise CheckpointError(f"tensor {entry.name!r}: BOOL values must be bytes 0 or 1, got {int(arr.max())}")
        return arr.view(np.bool_)
    return arr.astype(wire.newbyteorder("="), copy=False)


def _fill(f, view):
    """Read into view until it is full or the file ends; returns the byte count read."""
    done = 0
    while done < len(view):
        if hasattr(f, "readinto"):
            n = f.readinto(view[done:])
        else:
            raw = f.read(len(view) - done) or b""
            view[done:done + len(raw)] = raw
            n = len(raw)
        if not n:
            break
        done += n
    return done
