"""Decoders for autoregressive models (course ch. 6-7) and CTC outputs (ch. 5).

A model is seen through one function, step_fn(prefix) -> log-probs: prefix is an int64 (B, t)
tensor of the tokens so far (the start token included) and the result is (B, V) log-probabilities
of the next token. greedy_decode takes the best token each step, beam_search keeps the beam_width
best prefixes, sample_decode draws (temperature, top-k, nucleus). All three return (tokens, scores):
tokens (B, t0 + n) int64 with the start prefix, rows that ended early padded with eos; scores (B,)
float64 sums of the chosen tokens' log-probs (beam_search: the length-penalised ranking score).
ctc_greedy_decode turns per-frame CTC outputs into label sequences (best path, collapse, drop blanks).
"""
import math

import pyml

__all__ = ["greedy_decode", "beam_search", "sample_decode", "ctc_collapse", "ctc_greedy_decode"]


# ------------------------------------------------------------------------------ argument checks
def _start_prefix(bos, op):
    """bos as an int64 (B, t0) prefix: an int (B=1), B ints (one start token per row) or a 2-D tensor."""
    if isinstance(bos, bool):
        raise TypeError(f"{op}: bos must be an int, a sequence of ints or an int64 tensor, got bool")
    if isinstance(bos, int):
        return pyml.tensor([[bos]], dtype=pyml.int64)
    if isinstance(bos, (list, tuple)):
        bos = pyml.tensor(list(bos), dtype=pyml.int64)
    if not isinstance(bos, pyml.Tensor):
        raise TypeError(f"{op}: bos must be an int, a sequence of ints or an int64 tensor, got {type(bos).__name__}")
    if bos.is_floating_point() or bos.dtype == pyml.bool:
        raise TypeError(f"{op}: bos must hold integer token ids, got dtype {bos.dtype}")
    if bos.dim() not in (1, 2) or bos.numel() == 0:
        raise ValueError(f"{op}: bos must be (B,) start tokens or a (B, t0) prefix with B, t0 >= 1, got shape "
                         f"{tuple(bos.shape)}")
    return (bos.reshape(-1, 1) if bos.dim() == 1 else bos).long()


def _check_int(value, op, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return value


def _check_common(step_fn, eos, max_len, op):
    if not callable(step_fn):
        raise TypeError(f"{op}: step_fn must be callable (prefix (B, t) -> log-probs (B, V)), got "
                        f"{type(step_fn).__name__}")
    _check_int(eos, op, "eos", 0)
    _check_int(max_len, op, "max_len", 0)


def _next_log_probs(step_fn, prefix, eos, op):
    """step_fn's (rows, V) output as float64, after checking its shape against the prefix."""
    with pyml.no_grad():
        out = step_fn(prefix)
    if not isinstance(out, pyml.Tensor) or out.dim() != 2 or out.shape[0] != prefix.shape[0]:
        shape = tuple(out.shape) if isinstance(out, pyml.Tensor) else type(out).__name__
        raise ValueError(f"{op}: step_fn must return (B, V) log-probs for a ({prefix.shape[0]}, t) prefix, got "
                         f"{shape}")
    if eos >= out.shape[1]:
        raise IndexError(f"{op}: eos ({eos}) must be a token id below the vocabulary size {out.shape[1]}")
    return out.detach().double().cpu()           # bookkeeping on the CPU; the prefix stays on its device


# --------------------------------------------------------------------------------------- greedy
def greedy_decode(step_fn, bos, eos, max_len):
    """Append the most probable next token until every row has produced eos or max_len tokens were
    added. Returns (tokens (B, t0 + n) int64, scores (B,) float64 summed log-probs)."""
    op = "greedy_decode"
    _check_common(step_fn, eos, max_len, op)
    prefix = _start_prefix(bos, op)
    rows = prefix.shape[0]
    scores = pyml.zeros(rows, dtype=pyml.float64)
    done = pyml.zeros(rows, dtype=pyml.bool)
    for _ in range(max_len):
        best, token = _next_log_probs(step_fn, prefix, eos, op).max(dim=1)
        token = pyml.where(done, pyml.full_like(token, eos), token)
        scores = scores + pyml.where(done, pyml.zeros_like(best), best)
        prefix = pyml.cat([prefix, token.reshape(rows, 1).to(prefix.device)], 1)
        done = done | (token == eos)
        if bool(done.all()):
            break
    return prefix, scores


# ------------------------------------------------------------------------------------------ beam
def _rank(log_prob, length, length_penalty):
    """The score beams compete on: log-prob / length^length_penalty (0: plain log-prob)."""
    if length_penalty == 0:
        return log_prob
    return log_prob / length.clamp(min=1).double() ** length_penalty


def _expand_beams(logp, log_prob, length, done, eos):
    """Every (beam, token) candidate's log-prob and length; a finished beam only continues with eos,
    at no cost and without growing, so it keeps competing with its final score."""
    eos_only = pyml.full((logp.shape[-1],), -math.inf, dtype=pyml.float64)
    eos_only[eos] = 0.0
    logp = pyml.where(done.unsqueeze(-1), eos_only, logp)                   # (B, K, V)
    cand = log_prob.unsqueeze(-1) + logp
    cand_len = pyml.where(done, length, length + 1).unsqueeze(-1).expand(*cand.shape)
    return cand, cand_len


def beam_search(step_fn, bos, eos, beam_width=4, max_len=50, length_penalty=0.0):
    """Keep the beam_width best prefixes per row (by log-prob / length^length_penalty) and return
    the best finished one: (tokens (B, t0 + n) int64, scores (B,) float64 ranking scores; with
    length_penalty=0 they are summed log-probs). step_fn sees B * beam_width rows, row r extending
    the input row r // beam_width (repeat_interleave per-row context such as encoder outputs)."""
    op = "beam_search"
    _check_common(step_fn, eos, max_len, op)
    K = _check_int(beam_width, op, "beam_width", 1)
    if not isinstance(length_penalty, (int, float)) or isinstance(length_penalty, bool):
        raise TypeError(f"{op}: length_penalty must be a number, got {type(length_penalty).__name__}")
    start = _start_prefix(bos, op)
    B = start.shape[0]
    prefix = start.repeat_interleave(K, dim=0)                                 # (B*K, t0)
    # only the first copy of each start prefix is alive, so the K beams do not start as duplicates
    log_prob = pyml.full((B, K), -math.inf, dtype=pyml.float64)
    log_prob[:, 0] = 0.0
    length = pyml.zeros((B, K), dtype=pyml.int64)
    done = pyml.zeros((B, K), dtype=pyml.bool)
    for _ in range(max_len):
        logp = _next_log_probs(step_fn, prefix, eos, op).reshape(B, K, -1)    # (B, K, V)
        V = logp.shape[-1]
        cand, cand_len = _expand_beams(logp, log_prob, length, done, eos)
        rank = _rank(cand, cand_len, length_penalty).reshape(B, K * V)
        picked = rank.topk(K, dim=1).indices                                   # (B, K)
        parent = (pyml.arange(B).reshape(B, 1) * K + picked // V).reshape(-1)  # source row per new beam
        token = picked % V
        prefix = pyml.cat([prefix[parent.to(prefix.device)], token.reshape(-1, 1).to(prefix.device)], 1)
        log_prob = cand.reshape(B, K * V).gather(1, picked)
        length = cand_len.reshape(B, K * V).gather(1, picked)
        done = done.reshape(-1)[parent].reshape(B, K) | (token == eos) | pyml.isinf(log_prob)
        if bool(done.all()):
            break
    final = _rank(log_prob, length, length_penalty)
    best = final.argmax(dim=1)                                                 # (B,)
    rows = (pyml.arange(B) * K + best).to(prefix.device)
    return prefix[rows], final.gather(1, best.reshape(B, 1)).reshape(B)


# -------------------------------------------------------------------------------------- sampling
def _filter_top_k(logits, top_k):
    """Keep the top_k largest logits per row, the rest -inf."""
    if top_k is None or top_k >= logits.shape[-1]:
        return logits
    kth = logits.topk(top_k, dim=-1).values[:, -1:]
    return pyml.where(logits < kth, pyml.full_like(logits, -math.inf), logits)


def _filter_top_p(logits, top_p):
    """Nucleus: keep the smallest set of most probable tokens whose probability reaches top_p."""
    if top_p is None or top_p >= 1.0:
        return logits
    ordered, order = logits.sort(dim=-1, descending=True)
    mass_before = pyml.softmax(ordered, -1).cumsum(-1) - pyml.softmax(ordered, -1)
    drop_sorted = mass_before >= top_p                                         # the first token always stays
    drop = drop_sorted.gather(-1, order.argsort(dim=-1))                       # back to vocabulary order
    return pyml.where(drop, pyml.full_like(logits, -math.inf), logits)


def _check_sampling(temperature, top_k, top_p, generator, op):
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
        raise ValueError(f"{op}: temperature must be a positive number, got {temperature!r}")
    if top_k is not None:
        _check_int(top_k, op, "top_k", 1)
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"{op}: top_p must be in (0, 1], got {top_p!r}")
    if generator is not None and not isinstance(generator, pyml.Generator):
        raise TypeError(f"{op}: generator must be a pyml.Generator, got {type(generator).__name__}")


def sample_decode(step_fn, bos, eos, max_len, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw each next token from softmax(log-probs / temperature), restricted to the top_k tokens and
    then to the top_p nucleus when given. Returns (tokens, scores): scores sum the model's own
    (untempered) log-probs of the drawn tokens."""
    op = "sample_decode"
    _check_common(step_fn, eos, max_len, op)
    _check_sampling(temperature, top_k, top_p, generator, op)
    prefix = _start_prefix(bos, op)
    rows = prefix.shape[0]
    scores = pyml.zeros(rows, dtype=pyml.float64)
    done = pyml.zeros(rows, dtype=pyml.bool)
    for _ in range(max_len):
        logp = _next_log_probs(step_fn, prefix, eos, op)
        logits = _filter_top_p(_filter_top_k(logp / temperature, top_k), top_p)
        token = pyml.multinomial(pyml.softmax(logits, -1), 1, generator=generator).reshape(rows)
        token = pyml.where(done, pyml.full_like(token, eos), token)
        chosen = logp.gather(1, token.reshape(rows, 1)).reshape(rows)
        scores = scores + pyml.where(done, pyml.zeros_like(chosen), chosen)
        prefix = pyml.cat([prefix, token.reshape(rows, 1).to(prefix.device)], 1)
        done = done | (token == eos)
        if bool(done.all()):
            break
    return prefix, scores


# ------------------------------------------------------------------------------------------- CTC
def ctc_collapse(path, blank=0):
    """One CTC alignment to its label sequence: merge runs of equal labels, then drop blanks.
    Works on any labels: ctc_collapse("good null null great null null".split(), "null") ->
    ["good", "great"]; a blank between two equal labels keeps both ([1, 0, 1] -> [1, 1])."""
    labels, previous = [], None
    for label in path:
        if label != previous and label != blank:
            labels.append(label)
        previous = label
    return labels


def ctc_greedy_decode(log_probs, blank=0, input_lengths=None):
    """Best-path CTC decoding: argmax label per frame, then ctc_collapse. log_probs: (T, C) gives one
    list of label ids, (T, N, C) (ctc_loss's layout) a list of N lists; input_lengths (N ints) limits
    each sequence to its valid frames."""
    op = "ctc_greedy_decode"
    if not isinstance(log_probs, pyml.Tensor):
        raise TypeError(f"{op}: log_probs must be a pyml.Tensor, got {type(log_probs).__name__}")
    if log_probs.dim() not in (2, 3):
        raise ValueError(f"{op}: log_probs must be (T, C) or (T, N, C), got shape {tuple(log_probs.shape)}")
    C = log_probs.shape[-1]
    _check_int(blank, op, "blank", 0)
    if blank >= C:
        raise IndexError(f"{op}: blank ({blank}) must be below the number of classes {C}")
    if log_probs.dim() == 2:
        return ctc_collapse(log_probs.argmax(dim=-1).tolist(), blank)
    T, N = log_probs.shape[0], log_probs.shape[1]
    lengths = [T] * N if input_lengths is None else [int(n) for n in input_lengths]
    if len(lengths) != N or any(not 0 <= n <= T for n in lengths):
        raise ValueError(f"{op}: input_lengths must hold N={N} lengths in [0, {T}], got {lengths}")
    best = log_probs.argmax(dim=-1).t().tolist()                               # (N, T)
    return [ctc_collapse(row[:n], blank) for row, n in zip(best, lengths)]
