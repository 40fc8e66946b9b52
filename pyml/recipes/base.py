"""What every recipe shares: the common config fields, the seeded start, small table/plot helpers.

A recipe's Config subclasses BaseConfig (a dataclass) and adds its own hyper-parameters; `quick`
asks for the reduced run the tests use (< 30 s on a 2-core CPU). `out` is the run folder the runner
made (plots, checkpoints); None when a test calls run() directly and wants no files.
"""
import os
from dataclasses import dataclass
from typing import Optional

import pyml


@dataclass
class BaseConfig:
    quick: bool = False
    epochs: Optional[int] = None     # None: the recipe's own default (quick or full)
    device: str = "cpu"
    seed: int = 0
    out: Optional[str] = None        # run folder for plots and checkpoints; None: write nothing
    progress: bool = True            # progress bars while training


def seed_everything(seed):
    """pyml's global generator (NumPy's global state is never used by recipes: pass generators)."""
    pyml.manual_seed(seed)


def out_path(config, filename):
    """Path inside the run folder, or None when the config writes no files."""
    if config.out is None:
        return None
    os.makedirs(config.out, exist_ok=True)
    return os.path.join(config.out, filename)


def format_table(rows, columns=None, floatfmt="{:.4g}"):
    """A plain-text table from a list of dicts (columns: keys of the first row by default)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])
    cells = [[c for c in columns]] + [[_fmt(r.get(c, ""), floatfmt) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v, floatfmt):
    return floatfmt.format(v) if isinstance(v, float) else str(v)
