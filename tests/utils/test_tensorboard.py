"""pyml.utils.tensorboard.SummaryWriter: the same calls made on torch's SummaryWriter and on pyml's, both
event files read back with TensorBoard's own EventAccumulator; scalars, histograms (several bin rules and
max_bins), images (CHW/HWC/HW, float and uint8, batches), text and add_scalars runs must read the same.
Also the TFRecord checksum against the CRC-32C check value, and bad image arguments."""
import io
import os

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import pyml
from pyml.utils.tensorboard import SummaryWriter, crc32c

ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}


def _read(path):
    ea = EventAccumulator(str(path), size_guidance=ALL)
    ea.Reload()
    return ea


def _both(tmp_path, calls):
    out = []
    for W, sub in ((TorchWriter, "torch"), (SummaryWriter, "pyml")):
        with W(str(tmp_path / sub)) as w:
            calls(w)
        out.append(_read(tmp_path / sub))
    return out


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283 and crc32c(b"") == 0


def test_scalars_read_the_same(tmp_path):
    values = [3.5, np.float32(2.25), pyml.tensor(1.5), pyml.tensor([0.125]), -7, 1e-30]

    def calls(w):
        for step, v in enumerate(values):
            w.add_scalar("loss/train", v if not isinstance(v, pyml.Tensor) else float(v.item()), step * 10)
        w.add_scalar("lr", 0.01, 3, walltime=1234.5)
    ref, ours = _both(tmp_path, calls)
    assert ours.Tags()["scalars"] == ref.Tags()["scalars"]
    for tag in ("loss/train", "lr"):
        assert [(e.step, e.value) for e in ours.Scalars(tag)] == [(e.step, e.value) for e in ref.Scalars(tag)]
    assert ours.Scalars("lr")[0].wall_time == 1234.5


def test_pyml_tensors_are_accepted_directly(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("x", pyml.tensor(0.75), 1)
        w.add_histogram("h", pyml.randn(50), 1)
    ea = _read(tmp_path)
    assert ea.Scalars("x")[0].value == 0.75 and ea.Histograms("h")[0].histogram_value.num == 50


@pytest.mark.parametrize("bins,max_bins", [("tensorflow", None), (7, None), ("auto", None), ("tensorflow", 40),
                                           (100, 9)])
def test_histograms_read_the_same(tmp_path, bins, max_bins):
    g = np.random.default_rng(0)
    values = np.concatenate([g.standard_normal(997), [40.0, -3e3, 0.0]])
    ref, ours = _both(tmp_path, lambda w: w.add_histogram("w", values, 5, bins=bins, max_bins=max_bins))
    a, b = ours.Histograms("w")[0], ref.Histograms("w")[0]
    assert a.step == b.step == 5
    for field in ("min", "max", "num", "sum", "sum_squares", "bucket_limit", "bucket"):
        np.testing.assert_allclose(np.asarray(getattr(a.histogram_value, field)),
                                   np.asarray(getattr(b.histogram_value, field)), rtol=1e-12, err_msg=field)


def _pixels(event):
    return np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))


@pytest.mark.parametrize("shape,fmt,dtype", [((3, 5, 7), "CHW", np.float64), ((5, 7, 3), "HWC", np.float32),
                                             ((5, 7), "HW", np.float64), ((1, 4, 6), "CHW", np.uint8),
                                             ((4, 2, 3), "HWC", np.uint8)])
def test_images_read_the_same(tmp_path, shape, fmt, dtype):
    g = np.random.default_rng(1)
    img = g.integers(0, 256, shape).astype(np.uint8) if dtype == np.uint8 else (g.random(shape) * 1.2 - 0.1).astype(dtype)
    ref, ours = _both(tmp_path, lambda w: w.add_image("img", img, 2, dataformats=fmt))
    a, b = ours.Images("img")[0], ref.Images("img")[0]
    assert (a.width, a.height, a.step) == (b.width, b.height, b.step)
    np.testing.assert_array_equal(_pixels(a), _pixels(b))


@pytest.mark.parametrize("n,c,fmt", [(5, 3, "NCHW"), (11, 1, "NCHW"), (3, 3, "NHWC")])
def test_image_batches_read_the_same(tmp_path, n, c, fmt):
    g = np.random.default_rng(2)
    batch = g.random((n, c, 4, 6) if fmt == "NCHW" else (n, 4, 6, c)).astype(np.float32)
    ref, ours = _both(tmp_path, lambda w: w.add_images("grid", batch, 0, dataformats=fmt))
    np.testing.assert_array_equal(_pixels(ours.Images("grid")[0]), _pixels(ref.Images("grid")[0]))


def test_text_and_scalars_runs_read_the_same(tmp_path):
    def calls(w):
        w.add_text("notes", "epoch 1: **fine**", 1)
        for s in range(3):
            w.add_scalars("loss", {"train": 1.0 / (s + 1), "val": 2.0 / (s + 1)}, s)
    ref, ours = _both(tmp_path, calls)
    tag = "notes/text_summary"
    assert ours.Tensors(tag)[0].tensor_proto.string_val == ref.Tensors(tag)[0].tensor_proto.string_val
    assert ours.SummaryMetadata(tag).plugin_data.plugin_name == ref.SummaryMetadata(tag).plugin_data.plugin_name
    runs = sorted(d for d in os.listdir(tmp_path / "pyml") if (tmp_path / "pyml" / d).is_dir())
    assert runs == sorted(d for d in os.listdir(tmp_path / "torch") if (tmp_path / "torch" / d).is_dir())
    for run in runs:
        a, b = _read(tmp_path / "pyml" / run), _read(tmp_path / "torch" / run)
        assert [(e.step, e.value) for e in a.Scalars("loss")] == [(e.step, e.value) for e in b.Scalars("loss")]


def test_figure(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    with SummaryWriter(str(tmp_path)) as w:
        w.add_figure("fig", fig, 0)
    im = _read(tmp_path).Images("fig")[0]
    assert (im.width, im.height) == (100, 50) and _pixels(im).shape == (50, 100, 4)


def test_bad_images(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(ValueError, match=r"add_image: dataformats 'CHW' does not describe an image of shape \(4, 5\)"):
            w.add_image("x", np.zeros((4, 5)))
        with pytest.raises(ValueError, match="add_image: images need 1, 3 or 4 channels, got 2"):
            w.add_image("x", np.zeros((2, 4, 5)))
        with pytest.raises(ValueError, match="add_images: dataformats must be NCHW or NHWC"):
            w.add_images("x", np.zeros((2, 4, 5)))
        with pytest.raises(ValueError, match="add_histogram: the values are empty"):
            w.add_histogram("h", np.zeros(0))
