"""netprop's numbers for one case (float64), and the same computation carrying one known mistake.

The reference is netprop's Network (the lecture's equations); each variant is a plain NumPy
re-computation with one line changed the way students change it, used to recognise that mistake.
"""

from __future__ import annotations

import numpy as np

from ...core.activations import ACTIVATIONS
from ...core.losses import softmax
from ...core.network import Network

# Variants recomputed in full (the mistake changes δ on its way down, so every block below it).
VARIANTS = ("prime_on_h", "act_not_prime", "no_prime", "softmax_axis", "no_propagation", "w_not_transposed",
            "l2_on_biases", "act_swapped", "prime_as_act")
# Variants whose forward pass differs from netprop's: the loss and the forward's quantities can carry them
# ("prime_as_act"'s forward is "act_swapped"'s: the hidden layers' blocks tell them apart, see naming.settle).
FORWARD_VARIANTS = ("softmax_axis", "act_swapped")


def reference(weights, biases, X, Y, activation, l2):
    """(loss, zs, hs, y_hat, {"W1": ∇W1, …, "b1": …}) from netprop's Network, examples as rows."""
    net = Network([weights[0].shape[1]] + [W.shape[0] for W in weights], activation=activation, seed=0)
    net.weights = [W.copy() for W in weights]
    net.biases = [b.copy() for b in biases]
    loss, grads = net.gradients(X, Y, l2)
    cache = net.forward(X)
    return float(loss), list(cache.z), list(cache.h), cache.y_hat, grads.named()


def cross_entropy(weights, biases, X, Y, activation):
    """The data part of the lecture's loss: mean over the examples of −Σ_k y_k log ŷ_k."""
    return reference(weights, biases, X, Y, activation, 0.0)[0]


def variant(weights, biases, X, Y, activation, l2, mistake):
    """(loss, y_hat, {name: gradient block}, zs, hs) of the computation carrying one mistake, or None where
    it cannot run on these shapes (ŷ − y at a hidden layer of another width, W for Wᵀ on a non-square W).

    "act_swapped" (the bodies of act and act' exchanged) changes both passes: h = act'(z) on the way
    up, δ ⊙ act(z) on the way down; "prime_as_act" (act' called where act belongs) only the first."""
    act, act_prime = ACTIVATIONS[activation].function, ACTIVATIONS[activation].derivative
    up = act_prime if mistake in ("act_swapped", "prime_as_act") else act          # h = up(z)
    if mistake == "act_swapped":
        act, act_prime = act_prime, act
    n, L = len(X), len(weights)
    h, zs, hs = X, [], [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W.T + b
        zs.append(z)
        if l < L - 1:
            h = up(z)
            hs.append(h)
    y_hat = softmax(zs[-1].T).T if mistake == "softmax_axis" else softmax(zs[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -float((Y * np.log(y_hat)).sum()) / n + 0.5 * l2 * sum(float((W * W).sum()) for W in weights)
    delta = (y_hat - Y) / n
    output_delta, grads = delta, {}
    for l in reversed(range(L)):
        grads[f"W{l + 1}"] = delta.T @ hs[l] + l2 * weights[l]
        grads[f"b{l + 1}"] = delta.sum(axis=0) + (l2 * biases[l] if mistake == "l2_on_biases" else 0.0)
        if l == 0:
            break
        back = _propagated(delta, output_delta, weights[l], zs[l - 1].shape, mistake)
        if back is None:
            return None
        delta = back * _derivative(mistake, activation, zs[l - 1], hs[l], act, act_prime)
    return loss, y_hat, grads, zs, hs[1:]


def _propagated(delta, output_delta, W, shape, mistake):
    """δ W (rows: the lecture's Wᵀ δ), or what the mistake uses instead; None where it cannot run."""
    if mistake == "no_propagation":
        return output_delta if output_delta.shape == shape else None
    if mistake == "w_not_transposed":
        return delta @ W.T if W.shape[0] == W.shape[1] else None
    return delta @ W


def _derivative(mistake, activation, z, h, act, act_prime):
    if mistake.startswith("prime_of:"):
        return ACTIVATIONS[mistake[len("prime_of:"):]].derivative(z)
    if mistake == "prime_on_h":
        return act_prime(h)
    if mistake == "act_not_prime":
        return act(z)
    if mistake == "no_prime":
        return np.ones_like(z)
    return act_prime(z)


def other_activations(activation):
    return tuple(f"prime_of:{a}" for a in ACTIVATIONS if a != activation)
