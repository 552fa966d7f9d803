"""The output layer: softmax, and the losses with the output activation each pairs with.

The losses take the *pre-activation* of the output layer (the logits z⁽ᴸ⁾), not ŷ, so that they
can be computed stably: log-softmax via log-sum-exp never takes the log of a probability that
underflowed to 0.
"""

from __future__ import annotations

import numpy as np

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


# Each loss: (output activation turning logits into ŷ, loss from logits and targets).
# Both pair with their output so that ∂f/∂z⁽ᴸ⁾ = (ŷ - y)/n, the lecture's δ_L.
LOSSES = {
    "cross_entropy": (softmax, cross_entropy),
    "mse": (identity, mse),
}
