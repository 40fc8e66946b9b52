"""The progress display (plain lines when not a terminal, in-place redraws on one) and plot_history."""
import io
import re
import sys

import pytest

import pyml
from pyml import nn
from pyml.train import fit, plot_history, ProgressBar, EarlyStopping

from train_helpers import blobs, mlp, loaders, Scripted


def _fit(epochs=2, **kw):
    pyml.manual_seed(0)
    x, y = blobs(40)
    model = mlp()
    train, val = loaders(x, y, batch_size=8)  # 5 batches per epoch
    return fit(model, nn.CrossEntropyLoss(), pyml.optim.SGD(model.parameters(), lr=0.1), train, val,
               epochs=epochs, **kw)


def test_plain_lines_when_not_a_tty(capsys):
    h = _fit(epochs=3)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 4
    for e, line in enumerate(lines[:3]):
        assert line.startswith(f"epoch {e + 1}/3  5/5  ")
        assert f"loss {h['loss'][e]:.4f}  accuracy {h['accuracy'][e]:.4f}" in line
        assert f"val_loss {h['val_loss'][e]:.4f}  val_accuracy {h['val_accuracy'][e]:.4f}" in line
        assert re.search(r"lr 0\.1  \d+ samples/s$", line)
    assert lines[3].startswith("trained 3 epochs in ")
    assert lines[3].endswith(f"val_accuracy {h['val_accuracy'][-1]:.4f}")


def test_summary_names_the_stop_reason(capsys):
    _fit(epochs=5, callbacks=[Scripted("val_loss", [1, 2, 3, 4, 5]), EarlyStopping(patience=1)])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("trained 2 epochs") and "(early stopping: val_loss did not improve for 1 epochs" in last


def test_no_output_without_progress(capsys):
    _fit(progress=False)
    assert capsys.readouterr().out == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_redraws_in_place_on_a_terminal():
    term = _Terminal()
    _fit(epochs=2, callbacks=[ProgressBar(stream=term, refresh=0.0)])
    out = term.getvalue()
    epochs = out.split("\n")
    assert len(epochs) == 4 and epochs[-1] == "" and epochs[2].startswith("trained 2 epochs")
    for e in range(2):
        frames = epochs[e].split("\r")[1:]
        assert len(frames) == 6  # one per batch, then the completed epoch line
        assert [f.split("  ")[1].strip() for f in frames[:5]] == [f"{i}/5" for i in range(1, 6)]
        assert all("samples/s" in f and "loss" in f for f in frames)
        assert "val_loss" in frames[-1] and "val_loss" not in frames[0]
        for before, after in zip(frames, frames[1:]):  # each redraw covers all of the previous text
            assert len(after) >= len(before.rstrip())


def test_plot_history_writes_a_png(tmp_path):
    h = _fit(progress=False, metrics=("accuracy", "top2"))
    path = plot_history(h, str(tmp_path / "sub" / "curves.png"))
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 2 * height  # three panels side by side: loss, accuracy, top2


def test_plot_history_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="matplotlib is needed"):
        plot_history({"loss": [1.0]}, str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_plot_history_bad_input(tmp_path):
    with pytest.raises(TypeError, match="history"):
        plot_history([1.0], str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="no loss or metric"):
        plot_history({"lr": [0.1]}, str(tmp_path / "x.png"))
