"""SummaryWriter, as torch.utils.tensorboard: scalars, histograms, images, text and matplotlib figures written
as TensorBoard event files (`tensorboard --logdir runs` shows them), with no dependency.

An event file is a sequence of TFRecords (length, masked CRC-32C of the length, the serialised Event
protobuf, masked CRC-32C of the data). The few protobuf messages involved (Event, Summary, Value,
HistogramProto, Image, TensorProto, SummaryMetadata) are encoded here field by field. Records are appended
and flushed every flush_secs, on flush() and on close(); a reader sees whole records only.
"""
import functools
import os
import socket
import struct
import time
import zlib
from datetime import datetime

import numpy as np

__all__ = ["SummaryWriter"]


# ------------------------------------------------------------------------------ protobuf and TFRecord
def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64 values: two's complement, ten bytes
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _int(field, v):
    return _key(field, 0) + _varint(int(v))


def _double(field, v):
    return _key(field, 1) + struct.pack("<d", v)


def _float(field, v):
    return _key(field, 5) + struct.pack("<f", v)


def _bytes(field, b):
    b = b.encode() if isinstance(b, str) else b
    return _key(field, 2) + _varint(len(b)) + b


def _packed_doubles(field, values):
    return _bytes(field, struct.pack(f"<{len(values)}d", *values))


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), the checksum of TFRecord framing."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(data):
    c = crc32c(data)
    return ((c >> 15 | c << 17) + 0xA282EAD8) & 0xFFFFFFFF


def _record(data):
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", _masked(head)) + data + struct.pack("<I", _masked(data))


def _event(wall_time, step=None, summary=None, file_version=None):
    out = _double(1, wall_time)
    if step is not None:
        out += _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version)
    if summary is not None:
        out += _bytes(5, summary)
    return out


# ------------------------------------------------------------------------------ summary values
def _value(tag, field, payload, metadata=None):
    out = _bytes(1, tag)
    if metadata is not None:
        out += _bytes(9, metadata)
    if field == 2:
        return out + _float(2, payload)
    return out + _bytes(field, payload)


def _plugin(name, content=b""):
    return _bytes(1, _bytes(1, name) + _bytes(2, content))  # SummaryMetadata.plugin_data


def _numpy(x):
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "cpu"):
        x = x.cpu()
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def _scalar(v):
    """A Python number, or the first element of a tensor / array, as a float."""
    return float(v) if isinstance(v, (int, float)) else float(_numpy(v).reshape(-1)[0])


@functools.lru_cache(maxsize=1)
def _tensorflow_bins():
    """TensorFlow's default histogram edges: +-1e-12 * 1.1^k up to 1e20, and 0 (built once)."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return np.array([-x for x in reversed(pos)] + [0.0] + pos)


def _histogram(values, bins, max_bins):
    values = _numpy(values).astype(np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("add_histogram: the values are empty")
    edges = _tensorflow_bins() if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, limits = np.histogram(values, bins=edges)
    if max_bins is not None and len(counts) > max_bins:  # merge runs of len(counts) // max_bins buckets
        k = len(counts) // max_bins
        counts = np.concatenate([counts, np.zeros((-len(counts)) % k, counts.dtype)]).reshape(-1, k).sum(1)
        limits = np.concatenate([limits[:-1:k], limits[-1:]])
    # TensorBoard keeps only right edges: the support's buckets plus one empty bucket on the left, whose
    # right edge is the support's left edge
    nz = np.nonzero(counts)[0]
    first, last = int(nz[0]), int(nz[-1])
    counts = np.concatenate([[0], counts[:last + 1]]) if first == 0 else counts[first - 1:last + 1]
    right = limits[first:last + 2]
    out = (_double(1, values.min()) + _double(2, values.max()) + _double(3, values.size) + _double(4, values.sum())
           + _double(5, float(np.dot(values, values))))
    return out + _packed_doubles(6, right.tolist()) + _packed_doubles(7, counts.astype(np.float64).tolist())


def _png(hwc):
    """PNG bytes of an (H, W, C) uint8 array, C = 1 (grey), 3 (RGB) or 4 (RGBA)."""
    h, w, c = hwc.shape
    colour = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + hwc[y].tobytes() for y in range(h))  # filter type 0 on every row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _to_hwc(img, dataformats):
    """An image in `dataformats` (CHW, HWC, HW, ...) -> (H, W, 3 or 4) uint8, as TensorBoard shows it: one
    channel is repeated to grey RGB; floats in [0, 1] are scaled by 255 and clipped."""
    a = _numpy(img)
    fmt = dataformats.upper()
    if sorted(fmt) not in (sorted("CHW"), sorted("HW")) or a.ndim != len(fmt):
        raise ValueError(f"add_image: dataformats {dataformats!r} does not describe an image of shape {a.shape}")
    if "C" not in fmt:
        a, fmt = a[..., None], fmt + "C"
    a = np.transpose(a, [fmt.index(d) for d in "HWC"])
    if a.shape[2] == 1:
        a = np.concatenate([a] * 3, axis=2)
    if a.shape[2] not in (3, 4):
        raise ValueError(f"add_image: images need 1, 3 or 4 channels, got {a.shape[2]}")
    if a.dtype != np.uint8:
        a = (a.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def _image(hwc):
    h, w, c = hwc.shape
    return _int(1, h) + _int(2, w) + _int(3, c) + _bytes(4, _png(hwc))


def _grid(nchw, ncols=8):
    """A batch (N, C, H, W) as one (C, H * rows, W * cols) image, up to ncols tiles a row."""
    n, c, h, w = nchw.shape
    cols = min(n, ncols)
    rows = -(-n // cols)
    out = np.zeros((c, rows * h, cols * w), nchw.dtype)
    for i in range(n):
        r, k = divmod(i, cols)
        out[:, r * h:(r + 1) * h, k * w:(k + 1) * w] = nchw[i]
    return out


# ------------------------------------------------------------------------------ the writer
class _EventFile:
    def __init__(self, log_dir, suffix=""):
        os.makedirs(log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{id(self) % 100000}"
        self.path = os.path.join(log_dir, name + suffix)
        self.f = open(self.path, "ab")
        self.write(_event(time.time(), file_version="brain.Event:2"))
        self.f.flush()

    def write(self, event):
        self.f.write(_record(event))

    def flush(self):
        if not self.f.closed:
            self.f.flush()
            os.fsync(self.f.fileno())

    def close(self):
        if not self.f.closed:
            self.flush()
            self.f.close()


class SummaryWriter:
    """Write TensorBoard summaries to log_dir (default runs/<date>_<host><comment>)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir, self.flush_secs, self._suffix = str(log_dir), flush_secs, filename_suffix
        self._file = _EventFile(self.log_dir, filename_suffix)
        self._children = {}
        self._last_flush = time.time()

    def get_logdir(self):
        return self.log_dir

    def _add(self, value, step, walltime, file=None):
        summary = _bytes(1, value)  # Summary.value (repeated)
        (file or self._file).write(_event(time.time() if walltime is None else walltime, step, summary))
        if time.time() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._add(_value(tag, 2, _scalar(scalar_value)), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each scalar goes to its own run log_dir/<main_tag>_<tag>, so TensorBoard overlays them."""
        for tag, v in tag_scalar_dict.items():
            d = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            if d not in self._children:
                self._children[d] = _EventFile(d, self._suffix)
            self._add(_value(main_tag, 2, _scalar(v)), global_step, walltime, self._children[d])

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        self._add(_value(tag, 5, _histogram(values, bins, max_bins)), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._add(_value(tag, 4, _image(_to_hwc(img_tensor, dataformats))), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        a = _numpy(img_tensor)
        fmt = dataformats.upper()
        if fmt not in ("NCHW", "NHWC") or a.ndim != 4:
            raise ValueError(f"add_images: dataformats must be NCHW or NHWC for a 4-D batch, got {dataformats!r} "
                             f"and shape {a.shape}")
        nchw = a if fmt == "NCHW" else a.transpose(0, 3, 1, 2)
        self._add(_value(tag, 4, _image(_to_hwc(_grid(nchw), "CHW"))), global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        import io
        buf = io.BytesIO()
        figure.savefig(buf, format="png")
        if close:
            import matplotlib.pyplot as plt
            plt.close(figure)
        from matplotlib.image import imread
        buf.seek(0)
        rgba = (imread(buf, format="png") * 255 + 0.5).astype(np.uint8)
        self._add(_value(tag, 4, _image(rgba)), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        shape = _bytes(2, _int(1, 1))  # TensorShapeProto.dim = [1]
        tensor = _int(1, 7) + _bytes(2, shape) + _bytes(8, text_string)  # DT_STRING, string_val
        self._add(_value(f"{tag}/text_summary", 8, tensor, _plugin("text")), global_step, walltime)

    def flush(self):
        self._file.flush()
        for f in self._children.values():
            f.flush()
        self._last_flush = time.time()

    def close(self):
        self._file.close()
        for f in self._children.values():
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
