"""nn.AdaptiveLogSoftmaxWithLoss (Grave et al. 2016, "Efficient softmax approximation for GPUs"), as torch.

The head (Linear in_features -> shortlist + n_clusters, bias=head_bias) scores the cutoffs[0] frequent
classes and one logit per tail cluster; tail cluster i is Linear(in, in // div_value^(i+1)) then
Linear(-> cluster size), both bias-free. log p(class) = head log-prob of the class (shortlist) or of its
cluster plus the class's log-prob within the cluster. forward returns (output, loss): each row's target
log-prob and the mean negative log-likelihood. Built out of place (index_copy, cat) so autograd flows.
"""
from collections import namedtuple

import pyml
from .module import Module
from .container import ModuleList, Sequential
from .linear import Linear
from .._functional.activation import log_softmax

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _check_cutoffs(cutoffs, n_classes):
    if len(cutoffs) == 0:
        raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0, got []")
    if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
        raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive integers "
                         f"sorted in an increasing order, where each value is between 1 and n_classes-1 "
                         f"({n_classes - 1}), got {cutoffs}")


def _check_shapes(input, target):
    if target.dim() == 1:
        if input.size(0) != target.size(0):
            raise RuntimeError("AdaptiveLogSoftmaxWithLoss: input and target should have the same size in the batch "
                               f"dimension, got input {tuple(input.shape)}, target {tuple(target.shape)}")
        if input.dim() != 2:
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: 1D target tensor expects 2D input tensors, got input "
                               f"{tuple(input.shape)}")
    elif target.dim() == 0:
        if input.dim() != 1:
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: 0D target tensor expects 1D input tensors, got input "
                               f"{tuple(input.shape)}")
    else:
        raise RuntimeError("AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, multi-target not supported, "
                           f"got target {tuple(target.shape)}")


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax over n_classes split at cutoffs; forward(input, target) -> (output, loss)."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        _check_cutoffs(cutoffs, n_classes)
        factory = {"device": device, "dtype": dtype}
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **factory),
                                        Linear(hsz, osz, bias=False, **factory)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        _check_shapes(input_, target_)
        batched = target_.dim() > 0
        input = input_ if batched else input_.unsqueeze(0)     # (B, in_features)
        target = target_ if batched else target_.unsqueeze(0)  # (B,)
        output = input.new_zeros(target.size(0))
        gather_inds = target.clone()
        used = 0
        bounds = [0] + self.cutoffs
        for i in range(len(bounds) - 1):
            mask = (target >= bounds[i]) & (target < bounds[i + 1])
            rows = mask.nonzero().reshape(-1)
            if rows.numel() == 0:
                continue
            used += rows.numel()
            if i == 0:
                continue  # shortlist rows gather their own class from the head
            gather_inds = gather_inds.index_fill(0, rows, self.shortlist_size + i - 1)
            cluster_logprob = log_softmax(self.tail[i - 1](input.index_select(0, rows)), dim=1)
            local = cluster_logprob.gather(1, (target[mask] - bounds[i]).unsqueeze(1)).squeeze(1)
            output = output.index_copy(0, rows, local)
        if used != target.size(0):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: target values should be in [0, {self.n_classes - 1}], "
                               f"but values in range [{target.min().item()}, {target.max().item()}] were found")
        head_logprob = log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, gather_inds.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        """(B, n_classes) log-probabilities from the input and the head's output."""
        head_logprob = log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return pyml.cat(parts, dim=1)

    def log_prob(self, input):
        """Log-probabilities of all n_classes: (N, in_features) -> (N, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most probable class of each row, (N,); the tails run only for rows whose head argmax is a cluster."""
        head_output = self.head(input)
        output = pyml.argmax(head_output, dim=1)
        not_in_shortlist = output >= self.shortlist_size
        if not bool(not_in_shortlist.any()):
            return output
        if bool(not_in_shortlist.all()):
            return pyml.argmax(self._get_full_log_prob(input, head_output), dim=1)
        log_prob = self._get_full_log_prob(input[not_in_shortlist], head_output[not_in_shortlist])
        output[not_in_shortlist] = pyml.argmax(log_prob, dim=1)
        return output
