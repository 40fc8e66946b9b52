"""Toy sequence-to-sequence tasks (copy, reverse, sort, multi-digit addition) and the small
training/evaluation loop the RNN and Transformer recipes share.

Tokens: 0 padding, 1 start (bos), 2 end (eos), 3..12 the digits 0..9, 13 '+'. A pair is (source ids,
target ids) without bos/eos; batch() adds them: the decoder reads [bos] + target (teacher forcing)
and learns to output target + [eos]. Scheduled sampling replaces some decoder inputs with the
model's own predictions from a first, teacher-forced pass (the parallel form used for Transformers).
"""
import random
import time

import pyml
from pyml import nn
from pyml.metrics import sequence_accuracy, token_accuracy

PAD, BOS, EOS, DIGIT0, PLUS = 0, 1, 2, 3, 13
VOCAB = 14
TASKS = ("copy", "reverse", "sort", "addition")


def _number(rng, max_digits):
    digits = rng.randint(1, max_digits)
    return rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits)


def _digits(value):
    return [DIGIT0 + int(c) for c in str(value)]


def make_pairs(task, n, min_len, max_len, seed):
    """n (source, target) id lists for the task; sources have min_len..max_len digits (addition:
    two numbers of 1..max_len digits each)."""
    if task not in TASKS:
        raise ValueError(f"make_pairs: task must be one of {TASKS}, got {task!r}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        if task == "addition":
            a, b = _number(rng, max_len), _number(rng, max_len)
            pairs.append((_digits(a) + [PLUS] + _digits(b), _digits(a + b)))
            continue
        src = [DIGIT0 + rng.randrange(10) for _ in range(rng.randint(min_len, max_len))]
        tgt = {"copy": src, "reverse": src[::-1], "sort": sorted(src)}[task]
        pairs.append((src, list(tgt)))
    return pairs


def _pad(rows, length):
    return pyml.tensor([r + [PAD] * (length - len(r)) for r in rows], dtype=pyml.int64)


def batch(pairs, device="cpu"):
    """(src (N, S), tgt_in (N, T + 1) = [bos] + target, tgt_out (N, T + 1) = target + [eos]), padded."""
    src = [s for s, _ in pairs]
    tgt = [t for _, t in pairs]
    S, T = max(len(s) for s in src), max(len(t) for t in tgt) + 1
    out = _pad(src, S), _pad([[BOS] + t for t in tgt], T), _pad([t + [EOS] for t in tgt], T)
    return tuple(x.to(device) for x in out)


def sequence_loss(logits, tgt_out, label_smoothing=0.0):
    """Mean cross-entropy over the non-padding target positions."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD,
                                       label_smoothing=label_smoothing)


def mix_own_predictions(model, src, tgt_in, p, generator):
    """Scheduled sampling: each decoder input after bos becomes, with probability p, the token the
    model predicts there from the gold prefix (computed without gradient); padding stays."""
    with pyml.no_grad():
        predicted = model(src, tgt_in).argmax(dim=-1)                     # (N, T): guesses for tgt_in[:, 1:]
    use = pyml.rand(tgt_in.shape[0], tgt_in.shape[1] - 1, generator=generator, device=src.device) < p
    use = use & (tgt_in[:, 1:] != PAD)
    mixed = pyml.where(use, predicted[:, :-1], tgt_in[:, 1:])
    return pyml.cat([tgt_in[:, :1], mixed], 1)


def train(model, pairs, steps, batch_size, optimizer, generator, scheduler=None, sampling_max=0.0, grad_clip=1.0,
          label_smoothing=0.0, device="cpu", progress=False, sampling_generator=None):
    """`steps` optimizer steps on random batches drawn with `generator`; sampling_max > 0 ramps
    scheduled sampling linearly from 0 to that probability (coin flips from sampling_generator, by
    default the same generator). Returns the per-step losses."""
    model.train()
    losses, start = [], time.perf_counter()
    for step in range(steps):
        rows = pyml.randint(0, len(pairs), (batch_size,), generator=generator).tolist()
        src, tgt_in, tgt_out = batch([pairs[i] for i in rows], device)
        if sampling_max > 0:
            p = sampling_max * step / max(steps - 1, 1)
            tgt_in = mix_own_predictions(model, src, tgt_in, p, sampling_generator or generator)
        loss = sequence_loss(model(src, tgt_in), tgt_out, label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
        if progress and (step + 1) % max(steps // 5, 1) == 0:
            print(f"  step {step + 1}/{steps}  loss {sum(losses[-20:]) / len(losses[-20:]):.4f}  "
                  f"{time.perf_counter() - start:.1f}s")
    return losses


def strip(tokens):
    """Generated ids (bos first) -> the target ids before the first eos."""
    out = []
    for t in tokens[1:]:
        if t == EOS:
            break
        out.append(t)
    return out


def evaluate(model, pairs, beam_width=1, batch_size=256, device="cpu"):
    """Decode every source (greedy or beam) and score it: sequence and token accuracy (teacher-forced),
    mean log-prob of the decoded sequences, and the outputs themselves."""
    model.eval()
    outputs, scores, tf_acc = [], [], []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        src, tgt_in, tgt_out = batch(chunk, device)
        longest = max(len(t) for _, t in chunk) + 2
        tokens, score = model.generate(src, BOS, EOS, longest, beam_width=beam_width)
        outputs += [strip(row) for row in tokens.tolist()]
        scores += score.tolist()
        with pyml.no_grad():
            tf_acc.append(token_accuracy(model(src, tgt_in), tgt_out, ignore_index=PAD) * len(chunk))
    return {"sequence_accuracy": sequence_accuracy(outputs, [t for _, t in pairs]),
            "teacher_forced_token_accuracy": sum(tf_acc) / len(pairs),
            "mean_log_prob": sum(scores) / len(scores), "outputs": outputs}


def as_text(ids):
    """Ids as space-separated symbols (digits and '+'), e.g. for BLEU."""
    return " ".join("+" if t == PLUS else str(t - DIGIT0) for t in ids if t >= DIGIT0)
