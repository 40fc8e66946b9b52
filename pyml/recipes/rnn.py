"""Chapter 5, recurrent neural networks: memory, LSTM gates, exploding/vanishing gradients, slot
filling, CTC and sequence-to-sequence.

The recipe first reproduces the chapter's hand-worked numbers exactly: a linear RNN with all weights 1,
an LSTM cell with hand-set gate weights (outputs 0, 0, 0, 7, 0), and the scalar recurrence whose
output after 1000 steps is w^999 (w = 1.01 explodes to ~20752, 0.99 vanishes to ~4.4e-5) with the
gradient 999 w^998 from autograd; gradient clipping by norm and by value tames such gradients.
Then it trains a bidirectional LSTM tagger for slot filling on a synthetic travel grammar (a city is
an arrival or a departure depending on the verb, which can come after the city), checks
pyml.nn.functional.ctc_loss against a brute-force sum over every alignment, and trains an
encoder-decoder RNN with attention to reverse digit strings.
"""
import itertools
import time
from dataclasses import dataclass

import pyml
from pyml import nn
from pyml.decoding import ctc_collapse, ctc_greedy_decode
from pyml.metrics import token_accuracy
from pyml.models import RNNTagger, Seq2SeqRNN
from pyml.utils.data import DataLoader, TensorDataset

from . import _sequence_tasks as tasks
from . import _slot_grammar as grammar
from .base import BaseConfig, format_table, seed_everything

NAME = "rnn"
CHAPTER = "5"
PURPOSE = "RNN/LSTM exact traces, exploding gradients + clipping, bi-LSTM slot filling, CTC, seq2seq RNN"


@dataclass
class Config(BaseConfig):
    train_sentences: int = 3000
    test_sentences: int = 600
    embedding_dim: int = 32
    hidden_size: int = 64
    batch_size: int = 32
    lr: float = 0.01
    tagger_epochs: int = 6
    seq2seq_steps: int = 800
    seq2seq_max_len: int = 6


def _sizes(config):
    """The run's sizes: the quick run trains on less data, for fewer steps."""
    if config.quick:
        sizes = dict(train=600, test=200, epochs=3, seq_steps=150, seq_len=4)
    else:
        sizes = dict(train=config.train_sentences, test=config.test_sentences, epochs=config.tagger_epochs,
                     seq_steps=config.seq2seq_steps, seq_len=config.seq2seq_max_len)
    if config.epochs is not None:
        sizes["epochs"] = config.epochs
    return sizes


# ------------------------------------------------------------------------- exact traces (TEXTBOOK ch. 5)
def toy_linear_rnn():
    """Two inputs, two memory units, two outputs, every weight 1, no bias, memory starting at 0; a
    ReLU Elman RNN is linear on these positive values. Inputs [1,1], [1,1], [2,2]."""
    rnn = nn.RNN(2, 2, nonlinearity="relu", bias=False)
    readout = nn.Linear(2, 2, bias=False)
    for w in (rnn.weight_ih_l0, rnn.weight_hh_l0, readout.weight):
        nn.init.ones_(w)
    x = pyml.tensor([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]]).reshape(3, 1, 2)     # (T, B, I)
    with pyml.no_grad():
        memory, _ = rnn(x)
        return readout(memory).reshape(3, 2).tolist()


def course_lstm(inputs):
    """The chapter's hand-set LSTM cell: cell input z = x1, input gate sigmoid(100 x2 - 10), forget
    gate sigmoid(100 x2 + 10), output gate sigmoid(100 x3 - 10); g and h are linear; c0 = 0."""
    c, outputs = pyml.tensor(0.0, dtype=pyml.float64), []
    for x1, x2, x3 in inputs:
        z_in, z_i, z_f, z_o = (pyml.tensor(v, dtype=pyml.float64) for v in
                               (x1, 100 * x2 - 10, 100 * x2 + 10, 100 * x3 - 10))
        c = z_in * z_i.sigmoid() + c * z_f.sigmoid()
        outputs.append((c * z_o.sigmoid()).item())
    return outputs


def long_recurrence(w, steps=1000):
    """h_1 = 1 (the only input), h_t = w h_{t-1}: after `steps` steps y = w^(steps-1). Returns y and
    dy/dw from autograd through the whole unrolled graph."""
    weight = pyml.tensor(w, dtype=pyml.float64, requires_grad=True)
    h = pyml.tensor(1.0, dtype=pyml.float64)
    for _ in range(steps - 1):
        h = weight * h
    h.backward()
    return h.item(), weight.grad.item()


def clipping_demo(exploding_grad):
    """clip_grad_norm_ rescales all gradients together to the max norm (direction kept);
    clip_grad_value_ clamps each entry. Gradients [3, 4] and [12] have global norm 13."""
    a, b, w = (nn.Parameter(pyml.zeros(n, dtype=pyml.float64)) for n in (2, 1, 1))
    a.grad, b.grad = pyml.tensor([3.0, 4.0], dtype=pyml.float64), pyml.tensor([12.0], dtype=pyml.float64)
    norm = nn.utils.clip_grad_norm_([a, b], max_norm=6.5)
    by_norm = a.grad.tolist() + b.grad.tolist()
    a.grad, b.grad = pyml.tensor([3.0, 4.0], dtype=pyml.float64), pyml.tensor([12.0], dtype=pyml.float64)
    nn.utils.clip_grad_value_([a, b], clip_value=5.0)
    w.grad = pyml.tensor([exploding_grad], dtype=pyml.float64)
    nn.utils.clip_grad_norm_([w], max_norm=1.0)
    return {"clip_total_norm": norm.item(), "clip_by_norm_6.5": by_norm, "clip_by_value_5": a.grad.tolist() +
            b.grad.tolist(), "clipped_exploding_grad": w.grad.item()}


def exact_checks():
    trace = course_lstm([(3, 1, 0), (4, 1, 0), (2, 0, 0), (1, 0, 1), (3, -1, 0)])
    out = {"toy_rnn_outputs": toy_linear_rnn(), "lstm_trace": trace, "lstm_trace_rounded": [round(v) for v in trace]}
    for w in (1.01, 0.99, 1.0):
        y, grad = long_recurrence(w)
        out[f"w{w}_y"], out[f"w{w}_grad"], out[f"w{w}_grad_formula"] = y, grad, 999 * w ** 998
    out.update(clipping_demo(out["w1.01_grad"]))
    return out


# ------------------------------------------------------------------------------------------------- CTC
def brute_force_ctc(log_probs, target, blank=0):
    """-log of the summed probability of every alignment (all C^T label paths) that collapses to target;
    differentiable through pyml autograd."""
    T, C = log_probs.shape
    paths = [p for p in itertools.product(range(C), repeat=T) if ctc_collapse(p, blank) == list(target)]
    index = pyml.tensor(paths, dtype=pyml.int64)                              # (P, T)
    per_path = log_probs.t().unsqueeze(0).expand(len(paths), C, T).gather(1, index.unsqueeze(1)).sum(dim=(1, 2))
    return -pyml.logsumexp(per_path, dim=0), len(paths)


def ctc_checks(generator):
    """ctc_loss (value and gradient) against the brute-force sum on tiny random inputs."""
    cases = [(4, 3, [1, 2]), (4, 3, [1, 1]), (5, 3, [2]), (4, 3, []), (5, 4, [3, 1, 3]), (6, 4, [1, 2, 3])]
    worst_loss = worst_grad = 0.0
    alignments = []
    for T, C, target in cases:
        logits = pyml.randn(T, C, generator=generator, dtype=pyml.float64)
        lp = logits.log_softmax(dim=-1).detach().requires_grad_()
        ours = nn.functional.ctc_loss(lp.unsqueeze(1), pyml.tensor([target], dtype=pyml.int64).reshape(1, -1),
                                      [T], [len(target)], reduction="sum")
        ref_lp = lp.detach().requires_grad_()
        ref, n_paths = brute_force_ctc(ref_lp, target)
        ours.backward()
        ref.backward()
        worst_loss = max(worst_loss, abs(ours.item() - ref.item()))
        worst_grad = max(worst_grad, (lp.grad - ref_lp.grad).abs().max().item())
        alignments.append(n_paths)
    words = ["null", "good", "great"]
    frames = [1, 0, 0, 2, 0, 0]                          # good null null great null null
    onehot = pyml.nn.functional.one_hot(pyml.tensor(frames), 3).double() * 10
    decoded = [words[i] for i in ctc_greedy_decode(onehot.log_softmax(dim=-1), blank=0)]
    return {"ctc_max_abs_loss_diff": worst_loss, "ctc_max_abs_grad_diff": worst_grad, "ctc_alignments": alignments,
            "ctc_collapse": " ".join(ctc_collapse("good null null great null null".split(), "null")),
            "ctc_greedy": " ".join(decoded)}


# ------------------------------------------------------------------------------------------ slot filling
def _slot_data(sizes, seed):
    train_s = grammar.make_sentences(sizes["train"], seed)
    test_s = grammar.make_sentences(sizes["test"], seed + 1)
    vocab = grammar.vocabulary(train_s)
    length = max(len(s) for s in train_s + test_s)
    return grammar.encode(train_s, vocab, length), grammar.encode(test_s, vocab, length), vocab, test_s


def _tag_loss(logits, tags):
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=0)


def _token_acc(logits, tags):
    return token_accuracy(logits, tags, ignore_index=0)


def train_tagger(config, sizes, data, vocab, bidirectional, generator):
    (x_train, y_train), (x_test, y_test) = data
    model = RNNTagger(len(vocab), len(grammar.TAGS), config.embedding_dim, config.hidden_size,
                      bidirectional=bidirectional, padding_idx=0).to(config.device)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=config.batch_size, shuffle=True,
                        generator=generator)
    optimizer = pyml.optim.Adam(model.parameters(), lr=config.lr)
    pyml.train.fit(model, _tag_loss, optimizer, loader, epochs=sizes["epochs"], metrics=(_token_acc,),
                   grad_clip=5.0, progress=config.progress)
    model.eval()
    with pyml.no_grad():
        logits = model(x_test.to(config.device)).cpu()
    return logits.argmax(dim=-1), y_test


def slot_filling(config, sizes, generator):
    """Bidirectional vs left-to-right LSTM tagger (the latter only in the full run): token accuracy,
    accuracy on city words, and on city words whose role word comes after them."""
    train, test, vocab, test_sentences = _slot_data(sizes, config.seed)
    late = pyml.zeros(len(test_sentences), dtype=pyml.bool)       # rows whose role word follows the city
    late[pyml.tensor(grammar.verb_after_city(test_sentences), dtype=pyml.int64)] = True
    out = {}
    for bidirectional in ((True,) if config.quick else (True, False)):
        name = "bilstm" if bidirectional else "lstm"
        pred, tags = train_tagger(config, sizes, (train, test), vocab, bidirectional, generator)
        hit, city = (pred == tags).double(), grammar.city_positions(tags)
        out[f"slot_{name}_token_acc"] = token_accuracy(pred, tags, ignore_index=0)
        out[f"slot_{name}_city_acc"] = hit[city].mean().item()
        out[f"slot_{name}_verb_after_city_acc"] = hit[city & late.unsqueeze(1)].mean().item()
    out["slot_vocab"], out["slot_train_sentences"] = len(vocab), sizes["train"]
    return out


# ------------------------------------------------------------------------------------ seq2seq reversal
def seq2seq_reverse(config, sizes, generator):
    """Encoder-decoder GRU with attention reversing 2..max_len-digit strings; greedy decoding."""
    train_pairs = tasks.make_pairs("reverse", 4000, 2, sizes["seq_len"], config.seed + 2)
    test_pairs = tasks.make_pairs("reverse", 300, 2, sizes["seq_len"], config.seed + 3)
    model = Seq2SeqRNN(tasks.VOCAB, tasks.VOCAB, embedding_dim=32, hidden_size=64, cell="gru", attention=True,
                       pad_idx=tasks.PAD).to(config.device)
    optimizer = pyml.optim.Adam(model.parameters(), lr=0.01)
    losses = tasks.train(model, train_pairs, sizes["seq_steps"], 64, optimizer, generator, device=config.device,
                         progress=config.progress)
    result = tasks.evaluate(model, test_pairs, device=config.device)
    return {"seq2seq_first_loss": losses[0], "seq2seq_last_loss": sum(losses[-10:]) / 10,
            "seq2seq_reverse_seq_acc": result["sequence_accuracy"]}


# ------------------------------------------------------------------------------------------------- run
def run(config):
    seed_everything(config.seed)
    generator = pyml.Generator().manual_seed(config.seed)
    sizes = _sizes(config)
    start = time.perf_counter()
    metrics = exact_checks()
    metrics.update(ctc_checks(generator))
    metrics.update(slot_filling(config, sizes, generator))
    metrics.update(seq2seq_reverse(config, sizes, generator))
    metrics["train_seconds"] = time.perf_counter() - start
    return metrics


def table(metrics):
    exact = [{"check": "toy linear RNN outputs", "pyml": str(metrics["toy_rnn_outputs"]),
              "course": "[[4, 4], [12, 12], [32, 32]]"},
             {"check": "hand-set LSTM outputs", "pyml": str(metrics["lstm_trace_rounded"]),
              "course": "[0, 0, 0, 7, 0]"},
             {"check": "1.01^999 / 0.99^999", "pyml": f"{metrics['w1.01_y']:.1f} / {metrics['w0.99_y']:.3g}",
              "course": "~20752 / ~4.4e-05"},
             {"check": "d/dw at 1.01 (autograd vs 999 w^998)",
              "pyml": f"{metrics['w1.01_grad']:.6g}", "course": f"{metrics['w1.01_grad_formula']:.6g}"},
             {"check": "exploding gradient clipped to norm 1", "pyml": f"{metrics['clipped_exploding_grad']:.4g}",
              "course": "1"},
             {"check": "CTC loss vs brute force (max diff)", "pyml": f"{metrics['ctc_max_abs_loss_diff']:.2g}",
              "course": "0"},
             {"check": "CTC greedy decode", "pyml": metrics["ctc_greedy"], "course": "good great"}]
    learned = [{"model": k.replace("slot_", "").replace("_token_acc", ""), "token acc": metrics[k],
                "city acc": metrics[k.replace("token", "city")],
                "verb-after-city acc": metrics[k.replace("token", "verb_after_city")]}
               for k in metrics if k.startswith("slot_") and k.endswith("_token_acc")]
    seq = f"seq2seq GRU reverse: sequence accuracy {metrics['seq2seq_reverse_seq_acc']:.4f}"
    return "\n\n".join([format_table(exact), format_table(learned), seq])
