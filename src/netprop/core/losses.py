"""The output layer: softmax, and the losses, each one record with the output activation it pairs with.

A ``Loss`` holds everything netprop knows about one loss, so that adding one is one record here:
the output activation ŷ = out(z⁽ᴸ⁾), the loss itself, what its targets are, and how the lecture
writes it.  The losses take the *pre-activation* of the output layer (the logits z⁽ᴸ⁾), not ŷ,
so that they can be computed stably: log-softmax via log-sum-exp never takes the log of a
probability that underflowed to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

@dataclass(frozen=True)
class Loss:
    """One loss with its output layer; each pairs the two so that ∂f/∂z⁽ᴸ⁾ = (ŷ − y)/n, the lecture's δ_L.

    output(z): ŷ from the logits z⁽ᴸ⁾ (n, c); output_name: its name in the derivation's formulas.
    function(logits, Y): the mean loss from the logits and dense targets Y (n, c).
    class_targets: targets are classes (integer labels or one-hot rows), not real numbers.
    formula: the loss of one example as the lecture writes it; description: the output and loss in words.
    """

    name: str
    output: Callable
    output_name: str
    function: Callable
    class_targets: bool
    formula: str
    description: str


def softmax(logits):
    """Row-wise softmax of (n, c) logits (or one (c,) vector); stable for any finite input."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits):
    """Row-wise log ŷ, computed as z - logsumexp(z) so it is finite for logits of any size."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, Y, y_hat=None):
    """Mean cross-entropy f = -(1/n) Σ_i Σ_k Y_ik log ŷ_ik, with ŷ = softmax(logits).

    logits: (n, c).  Y: one-hot rows (n, c) (or any probability rows), or integer labels (n,),
    for which the sum over k is the one term log ŷ_i[label_i].  y_hat: softmax(logits) where the
    caller has it already (the forward pass does): the labels' terms are then read off it, unless
    one of them underflowed to 0, where log-softmax of the logits stays exact.
    """
    n = logits.shape[0]
    if Y.ndim == 1:
        rows = np.arange(n)
        if y_hat is not None:
            picked = y_hat[rows, Y]
            if picked.min() > 0:
                return float(-np.log(picked).sum() / n)
        return float(-log_softmax(logits)[rows, Y].sum() / n)
    return float(-(Y * log_softmax(logits)).sum() / n)


def mse(y_hat, Y):
    """Half mean squared error f = (1/2n) Σ_i ‖ŷ_i - y_i‖², with ŷ the identity of the logits."""
    n = y_hat.shape[0]
    diff = y_hat - Y
    return float((diff * diff).sum() / (2 * n))


def identity(z):
    """The mse output: ŷ = z⁽ᴸ⁾."""
    return z


LOSSES = {loss.name: loss for loss in (
    Loss("cross_entropy", softmax, "softmax", cross_entropy, class_targets=True,
         formula="−Σ_k y_k log ŷ_k", description="softmax output with cross-entropy"),
    # mse's ŷ is the logits themselves, so the loss from the logits is mse(z, Y)
    Loss("mse", identity, "identity", mse, class_targets=False,
         formula="½ ‖ŷ − y‖²", description="identity output with half squared error"),
)}
"""name → Loss."""
