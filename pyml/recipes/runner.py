"""`pyml recipes` and `pyml run NAME`: build the recipe's config from the command line, seed, make
the run folder, run, print the results table and write metrics.json next to the plots."""
import dataclasses
import json
import os
import time

from . import get, names
from .base import seed_everything


def list_recipes():
    """Lines 'name  chapter  purpose' for `pyml recipes`."""
    rows = []
    for n in names():
        m = get(n)
        rows.append(f"{n:<22} ch. {m.CHAPTER:<5} {m.PURPOSE}")
    return rows


def make_config(module, quick=False, epochs=None, device="cpu", seed=0, out=None, progress=True, threads=None):
    fields = {f.name for f in dataclasses.fields(module.Config)}
    kw = dict(quick=quick, epochs=epochs, device=device, seed=seed, out=out, progress=progress)
    if threads is not None:  # recipes with a `threads` field run their block with that many engine threads
        kw["threads"] = threads
    return module.Config(**{k: v for k, v in kw.items() if k in fields})


def run_recipe(name, quick=False, epochs=None, device="cpu", seed=0, out="runs", progress=True, threads=None):
    """Run one recipe into out/<name>-<time>/; returns (metrics, run folder)."""
    module = get(name)
    folder = os.path.join(out, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}") if out else None
    config = make_config(module, quick, epochs, device, seed, folder, progress, threads)
    seed_everything(seed)
    t0 = time.perf_counter()
    metrics = module.run(config)
    metrics = dict(metrics, seconds=round(time.perf_counter() - t0, 2))
    print(module.table(metrics) if hasattr(module, "table") else _default_table(metrics))
    if folder:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "metrics.json"), "w") as f:
            json.dump({"recipe": name, "config": dataclasses.asdict(config), "metrics": metrics}, f, indent=1,
                      default=_jsonable)
        print(f"run folder: {folder}")
    return metrics, folder


def _default_table(metrics):
    width = max(len(k) for k in metrics)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in metrics.items())


def _jsonable(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)
