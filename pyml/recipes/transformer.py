"""Chapter 7, the Transformer: an encoder-decoder that learns copy, reverse, sort and multi-digit
addition from examples, decoded greedily or by beam search.

The recipe first checks the chapter's exact numbers: on the vocabulary {A, B} greedy decoding takes
A, B, B (probability 0.6^3 = 0.216) while B, B, B has 0.4 * 0.9 * 0.9 = 0.324, which a beam of width 2
finds; and the warmup schedule lr = d^-0.5 min(s^-0.5, s w^-1.5) peaks at 6.99e-4 at step 4000 for
d = 512. It then trains TransformerSeq2Seq on each task (with that schedule) and reports sequence
accuracy, BLEU and greedy vs beam on the trained model; compares teacher forcing with scheduled
sampling; and contrasts autoregressive decoding (one decoder pass per token) with a
non-autoregressive model that predicts the length first and then every token in one pass.
"""
import math
import time
from dataclasses import dataclass

import pyml
from pyml import nn
from pyml.decoding import beam_search, greedy_decode
from pyml.metrics import bleu, sequence_accuracy
from pyml.models import TransformerSeq2Seq
from pyml.models.transformer import NonAutoregressiveSeq2Seq
from pyml.optim.lr_scheduler import TransformerWarmupLR

from . import _sequence_tasks as tasks
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "transformer"
CHAPTER = "7"
PURPOSE = "seq2seq Transformer on copy/reverse/sort/addition; greedy vs beam, scheduled sampling, NAT, BLEU"


@dataclass
class Config(BaseConfig):
    d_model: int = 64
    nhead: int = 4
    layers: int = 2
    dim_feedforward: int = 128
    dropout: float = 0.0
    batch_size: int = 64
    warmup_steps: int = 200
    lr_factor: float = 0.5
    min_len: int = 3
    max_len: int = 8              # digits per source (copy, reverse, sort)
    add_digits: int = 3           # digits per operand (addition)
    beam_width: int = 3
    train_pairs: int = 10000
    test_pairs: int = 500


def _sizes(config):
    """Steps per task and the model size; the quick run trains only the copy task, briefly."""
    if config.quick:
        s = dict(tasks={"copy": 150}, ss_steps=30, nat_steps=120, d_model=32, layers=1, ff=64, max_len=5,
                 train=2000, test=200, warmup=60)
    else:
        s = dict(tasks={"copy": 1500, "reverse": 1500, "sort": 1500, "addition": 2500}, ss_steps=1000,
                 nat_steps=800, d_model=config.d_model, layers=config.layers, ff=config.dim_feedforward,
                 max_len=config.max_len, train=config.train_pairs, test=config.test_pairs, warmup=config.warmup_steps)
    if config.epochs is not None:  # one "epoch" = 100 steps here: these tasks stream fresh batches
        s["tasks"] = {t: 100 * config.epochs for t in s["tasks"]}
    return s


# ------------------------------------------------------------------------- greedy vs beam, exactly
A, B, END, START = 0, 1, 2, 3
_AB_TREE = {(): (0.6, 0.4), (A,): (0.4, 0.6), (B,): (0.1, 0.9), (A, A): (0.5, 0.5), (A, B): (0.4, 0.6),
            (B, A): (0.5, 0.5), (B, B): (0.1, 0.9)}


def ab_step(prefix):
    """The chapter's next-token distributions over {A, B} (then the end token after 3 tokens)."""
    rows = []
    for row in prefix.tolist():
        made = tuple(row[1:])
        probs = (0.0, 0.0, 1.0) if len(made) >= 3 or END in made else _AB_TREE[made] + (0.0,)
        rows.append([math.log(p) if p > 0 else -math.inf for p in probs])
    return pyml.tensor(rows, dtype=pyml.float64)


def greedy_vs_beam_example():
    def spell(tokens):
        return "".join("AB"[t] for t in tokens[0].tolist()[1:] if t in (A, B))
    g_tokens, g_score = greedy_decode(ab_step, START, END, 5)
    b_tokens, b_score = beam_search(ab_step, START, END, beam_width=2, max_len=5)
    return {"ab_greedy_path": spell(g_tokens), "ab_greedy_prob": math.exp(g_score.item()),
            "ab_beam_path": spell(b_tokens), "ab_beam_prob": math.exp(b_score.item())}


# ------------------------------------------------------------------------------ the warmup schedule
def warmup_schedule(config, d_model=512, warmup=4000, steps=20000):
    """TransformerWarmupLR's rate at every step 1..steps against the formula; the peak and its step."""
    optimizer = pyml.optim.Adam([nn.Parameter(pyml.zeros(1))], lr=1.0)
    scheduler = TransformerWarmupLR(optimizer, d_model=d_model, warmup_steps=warmup)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    formula = [d_model ** -0.5 * min(s ** -0.5, s * warmup ** -1.5) for s in range(1, steps + 1)]
    peak = max(range(steps), key=rates.__getitem__)
    path = out_path(config, "warmup_schedule.png")
    if path:
        _plot_curve(rates, "step", "learning rate", f"d_model={d_model}, warmup={warmup}", path)
    return {"warmup_lr_step1": rates[0], "warmup_lr_step4000": rates[3999], "warmup_peak_step": peak + 1,
            "warmup_peak_lr": rates[peak], "warmup_max_formula_diff": max(abs(a - b) for a, b in zip(rates, formula))}


def _plot_curve(values, xlabel, ylabel, title, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(5, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(range(1, len(values) + 1), values)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")


# -------------------------------------------------------------------------------------- training
def build_model(config, sizes):
    return TransformerSeq2Seq(tasks.VOCAB, tasks.VOCAB, d_model=sizes["d_model"], nhead=config.nhead,
                              num_encoder_layers=sizes["layers"], num_decoder_layers=sizes["layers"],
                              dim_feedforward=sizes["ff"], dropout=config.dropout, max_len=64, pad_idx=tasks.PAD,
                              tie_weights=True, share_embeddings=True).to(config.device)


def paper_optimizer(model, config, sizes):
    """Adam (beta2 0.98, as in the paper) driven by the warmup schedule, stepped every batch."""
    optimizer = pyml.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    return optimizer, TransformerWarmupLR(optimizer, d_model=model.d_model, warmup_steps=sizes["warmup"],
                                          factor=config.lr_factor)


def train_model(model, pairs, steps, config, sizes, generator, sampling_max=0.0, sampling_generator=None):
    optimizer, scheduler = paper_optimizer(model, config, sizes)
    return tasks.train(model, pairs, steps, config.batch_size, optimizer, generator, scheduler=scheduler,
                       sampling_max=sampling_max, device=config.device, progress=config.progress,
                       sampling_generator=sampling_generator)


def task_data(task, config, sizes, offset):
    longest = config.add_digits if task == "addition" else sizes["max_len"]
    train = tasks.make_pairs(task, sizes["train"], config.min_len, longest, config.seed + offset)
    test = tasks.make_pairs(task, sizes["test"], config.min_len, longest, config.seed + offset + 100)
    return train, test


def _bleu(outputs, pairs):
    return bleu([tasks.as_text(o) for o in outputs], [[tasks.as_text(t)] for _, t in pairs], smooth=True)


def learn_task(task, config, sizes, generator, offset):
    """Train on one task; greedy and beam results on its test pairs."""
    train, test = task_data(task, config, sizes, offset)
    model = build_model(config, sizes)
    if config.progress:
        print(f"{task}:")
    losses = train_model(model, train, sizes["tasks"][task], config, sizes, generator)
    greedy = tasks.evaluate(model, test, device=config.device)
    beam = tasks.evaluate(model, test, beam_width=config.beam_width, device=config.device)
    return model, {f"{task}_seq_acc": greedy["sequence_accuracy"], f"{task}_beam_seq_acc": beam["sequence_accuracy"],
                   f"{task}_greedy_log_prob": greedy["mean_log_prob"], f"{task}_beam_log_prob": beam["mean_log_prob"],
                   f"{task}_bleu": _bleu(greedy["outputs"], test), f"{task}_first_loss": losses[0],
                   f"{task}_last_loss": sum(losses[-10:]) / 10}


# ------------------------------------------------------------------ teacher forcing vs sampling
def scheduled_sampling(config, sizes, generator):
    """The same initial model and batches trained with teacher forcing and with scheduled sampling (up
    to 25% of the decoder inputs replaced by the model's own predictions); greedy accuracy of each."""
    task = "copy" if config.quick else "reverse"
    train, test = task_data(task, config, sizes, 50)
    out = {"ss_task": task}
    seed = int(pyml.randint(0, 2 ** 31, (1,), generator=generator).item())
    for name, rate in (("teacher_forcing", 0.0), ("scheduled_sampling", 0.25)):
        pyml.manual_seed(seed)                                          # the same initial weights for both
        batches, coins = pyml.Generator().manual_seed(seed), pyml.Generator().manual_seed(seed + 1)
        model = build_model(config, sizes)
        losses = train_model(model, train, sizes["ss_steps"], config, sizes, batches, sampling_max=rate,
                             sampling_generator=coins)
        out[f"{name}_seq_acc"] = tasks.evaluate(model, test, device=config.device)["sequence_accuracy"]
        out[f"{name}_first_loss"], out[f"{name}_last_loss"] = losses[0], sum(losses[-10:]) / 10
    return out


# --------------------------------------------------------------------- autoregressive vs not
def _nat_batch(pairs, device):
    src, _, _ = tasks.batch(pairs, device)
    length = max(len(t) for _, t in pairs)
    tgt = pyml.tensor([t + [tasks.PAD] * (length - len(t)) for _, t in pairs], dtype=pyml.int64).to(device)
    lengths = pyml.tensor([len(t) for _, t in pairs], dtype=pyml.int64).to(device)
    return src, tgt, lengths


def train_nat(model, pairs, steps, config, sizes, generator):
    """Token cross-entropy at the gold length plus the length predictor's cross-entropy."""
    optimizer, scheduler = paper_optimizer(model, config, sizes)
    model.train()
    for _ in range(steps):
        rows = pyml.randint(0, len(pairs), (config.batch_size,), generator=generator).tolist()
        src, tgt, lengths = _nat_batch([pairs[i] for i in rows], config.device)
        logits, length_logits = model(src, tgt.shape[1])
        loss = tasks.sequence_loss(logits, tgt) + nn.functional.cross_entropy(length_logits, lengths)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def autoregressive_vs_not(at_model, config, sizes, generator):
    """A non-autoregressive model (length predictor + one parallel decoder pass) against the trained
    autoregressive copy model: accuracy, BLEU and decoding time on the same test sources."""
    train, test = task_data("copy", config, sizes, 0)
    model = NonAutoregressiveSeq2Seq(tasks.VOCAB, tasks.VOCAB, sizes["max_len"], d_model=sizes["d_model"],
                                     nhead=config.nhead, num_encoder_layers=sizes["layers"],
                                     num_decoder_layers=sizes["layers"], dim_feedforward=sizes["ff"],
                                     dropout=config.dropout, pad_idx=tasks.PAD).to(config.device)
    train_nat(model, train, sizes["nat_steps"], config, sizes, generator)
    model.eval()
    src, _, _ = tasks.batch(test, config.device)
    at_model.eval()
    nat_out, nat_time = _timed(lambda: model.generate(src))
    (at_tokens, _), at_time = _timed(lambda: at_model.generate(src, tasks.BOS, tasks.EOS, sizes["max_len"] + 1))
    at_out = [tasks.strip(row) for row in at_tokens.tolist()]
    gold = [t for _, t in test]
    return {"nat_seq_acc": sequence_accuracy(nat_out, gold), "nat_length_acc": sum(
            len(o) == len(t) for o, t in zip(nat_out, gold)) / len(gold), "nat_bleu": _bleu(nat_out, test),
            "nat_decode_seconds": nat_time, "at_seq_acc": sequence_accuracy(at_out, gold),
            "at_decode_seconds": at_time}


# ------------------------------------------------------------------------------------------- run
def run(config):
    seed_everything(config.seed)
    generator = pyml.Generator().manual_seed(config.seed)
    sizes = _sizes(config)
    start = time.perf_counter()
    metrics = greedy_vs_beam_example()
    metrics.update(warmup_schedule(config))
    models = {}
    for offset, task in enumerate(sizes["tasks"]):
        models[task], results = learn_task(task, config, sizes, generator, offset)
        metrics.update(results)
    metrics.update(scheduled_sampling(config, sizes, generator))
    metrics.update(autoregressive_vs_not(models["copy"], config, sizes, generator))
    metrics["train_seconds"] = time.perf_counter() - start
    return metrics


def table(metrics):
    exact = [{"check": "greedy on {A,B}", "pyml": f"{metrics['ab_greedy_path']} {metrics['ab_greedy_prob']:.4f}",
              "course": "ABB 0.216"},
             {"check": "beam width 2", "pyml": f"{metrics['ab_beam_path']} {metrics['ab_beam_prob']:.4f}",
              "course": "BBB 0.324"},
             {"check": "warmup peak (d=512)", "pyml": f"{metrics['warmup_peak_lr']:.4g} at step "
              f"{metrics['warmup_peak_step']}", "course": "6.99e-4 at step 4000"}]
    task_rows = [{"task": t, "greedy seq acc": metrics[f"{t}_seq_acc"], "beam seq acc": metrics[f"{t}_beam_seq_acc"],
                  "greedy logp": metrics[f"{t}_greedy_log_prob"], "beam logp": metrics[f"{t}_beam_log_prob"],
                  "BLEU": metrics[f"{t}_bleu"]} for t in tasks.TASKS if f"{t}_seq_acc" in metrics]
    compare = [{"model": f"teacher forcing ({metrics['ss_task']})", "seq acc": metrics["teacher_forcing_seq_acc"],
                "decode s": ""},
               {"model": f"scheduled sampling ({metrics['ss_task']})", "seq acc": metrics["scheduled_sampling_seq_acc"],
                "decode s": ""},
               {"model": "autoregressive (copy)", "seq acc": metrics["at_seq_acc"],
                "decode s": metrics["at_decode_seconds"]},
               {"model": "non-autoregressive (copy)", "seq acc": metrics["nat_seq_acc"],
                "decode s": metrics["nat_decode_seconds"]}]
    return "\n\n".join(format_table(t) for t in (exact, task_rows, compare))
