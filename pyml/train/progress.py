"""A dependency-free progress display for fit().

On a terminal one line per epoch is redrawn in place with a carriage return as batches finish
(batch i/n, elapsed seconds, running loss and metrics, samples/s), then completed with the epoch's
validation numbers. When stdout is a file or a pipe (logs, CI, pytest's capture) redrawing would only
litter the output, so each epoch prints one plain line. A summary line closes the run.
"""
import sys
import time

from .callbacks import Callback

__all__ = ["ProgressBar", "format_logs", "overall_rate"]

_SKIP = ("lr", "epoch_time", "samples_per_s")


def format_logs(logs):
    """'loss 0.1234  accuracy 0.9500  val_loss ...' for the numbers worth reading at a glance."""
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k not in _SKIP)


def overall_rate(samples_per_s):
    """Samples/s over several epochs of equal size: total samples over total time (a harmonic mean)."""
    rates = [r for r in samples_per_s if r > 0]
    return len(rates) / sum(1.0 / r for r in rates) if rates else 0.0


class ProgressBar(Callback):
    """Prints training progress; `stream` defaults to sys.stdout as it is when training starts.
    refresh: the least time in seconds between two redraws of the line on a terminal."""

    def __init__(self, stream=None, refresh=0.1):
        self.stream, self.refresh = stream, refresh
        self._out, self._tty, self._width, self._drawn = None, False, 0, 0.0

    def on_train_begin(self, state):
        self._out = self.stream if self.stream is not None else sys.stdout
        self._tty = bool(getattr(self._out, "isatty", lambda: False)())

    def on_epoch_begin(self, state):
        self._drawn = 0.0

    def _head(self, state, batch):
        total = "?" if state.num_batches is None else state.num_batches
        width = len(str(total))
        return f"epoch {state.epoch + 1}/{state.epochs}  {batch:>{width}}/{total}"

    def on_batch_end(self, state):
        now = time.perf_counter()
        last = state.num_batches is not None and state.batch + 1 == state.num_batches
        if not self._tty or (now - self._drawn < self.refresh and not last):
            return
        self._drawn = now
        elapsed = now - state.epoch_start
        rate = state.samples / elapsed if elapsed > 0 else 0.0
        self._redraw(f"{self._head(state, state.batch + 1)}  {elapsed:.1f}s  {format_logs(state.running)}  "
                     f"{rate:.0f} samples/s")

    def _redraw(self, line):
        self._out.write("\r" + line.ljust(self._width))
        self._out.flush()
        self._width = len(line)

    def on_epoch_end(self, state):
        logs = state.logs
        line = (f"{self._head(state, state.batch + 1)}  {logs['epoch_time']:.1f}s  {format_logs(logs)}  "
                f"lr {logs['lr']:.3g}  {logs['samples_per_s']:.0f} samples/s")
        if self._tty:
            self._redraw(line)
            self._out.write("\n")
            self._width = 0
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def on_train_end(self, state):
        h = state.history
        done = len(h.get("loss", ()))
        seconds = sum(h.get("epoch_time", ()))
        rate = overall_rate(h.get("samples_per_s", ()))
        final = format_logs({k: v[-1] for k, v in h.items() if v}) if done else "no epochs run"
        note = f" ({state.stop_reason})" if state.stop_reason else ""
        self._out.write(f"trained {done} epochs in {seconds:.1f}s, {rate:.0f} samples/s; final {final}{note}\n")
        self._out.flush()
