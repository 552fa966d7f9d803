"""Activations with their derivatives, and the output layer's losses.

Each hidden activation is a pair (act, act_prime) defined side by side, so the
derivative the backward pass uses sits next to the function the forward pass
used.  ``act_prime`` takes the pre-activation z, as in the lecture's relu'(z).

The losses take the *pre-activation* of the output layer (the logits z⁽ᴸ⁾),
not ŷ, so that they can be computed stably: log-softmax via log-sum-exp never
takes the log of a probability that underflowed to 0.
"""

from __future__ import annotations

import numpy as np

# --- hidden activations: act(z) and act'(z) ---------------------------------


def relu(z):
    return np.maximum(z, 0)


def relu_prime(z):
    # relu'(0) is taken as 0, as PyTorch does; the kink is a set of measure zero.
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01


def leaky_relu(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z):
    return np.where(z > 0, 1, LEAKY_SLOPE).astype(z.dtype)


def tanh(z):
    return np.tanh(z)


def tanh_prime(z):
    t = np.tanh(z)
    return 1 - t * t


def sigmoid(z):
    # 0.5·(1 + tanh(z/2)) is σ(z) exactly and never overflows, unlike 1/(1+e^-z).
    return 0.5 * (1 + np.tanh(0.5 * z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def identity_activation(z):
    # A linear hidden layer (scikit-learn's "identity"): a bottleneck with no non-linearity.
    return z


def identity_activation_prime(z):
    return np.ones_like(z)


ACTIVATIONS = {
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "tanh": (tanh, tanh_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "identity": (identity_activation, identity_activation_prime),
}

# --- output layer -------------------------------------------------------------


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
