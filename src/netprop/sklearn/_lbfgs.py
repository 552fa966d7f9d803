"""The function SciPy's L-BFGS-B minimises for the estimators: the objective and its gradient at a flat θ.

L-BFGS-B calls it once per function evaluation, each time on the whole training set.  On
scikit-learn's small data sets (iris, wine: about 150 examples) one evaluation is ~100 µs of
forward and backward propagation, so what the call costs around them (setting the parameters from
θ, packing the gradient, the Python between) is a share of the fit worth cutting.  Here every
parameter is a view of one flat vector, set from θ by one copy, and ∇W is written by BLAS straight
into the gradient vector SciPy receives.  The arithmetic is the estimator's own (_forward,
_deltas, _loss, step.gradients_from_deltas), so the fitted parameters are the same to the bit.
"""

from __future__ import annotations

import copy

import numpy as np

from ..training.step import gradients_from_deltas, scratch


def _logits(z):
    """The output layer of the network the objective propagates through: none, z⁽ᴸ⁾ itself."""
    return z


def softmax_and_log(z):
    """(softmax(z), log_softmax(z)) for logits z (n, c), the numbers of core/losses.py's two functions
    op for op, sharing their first four operations (shift by the row maximum, exp, row sum)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    return e / total, shifted - np.log(total)


class Objective:
    """f(θ) and ∇f(θ) for one L-BFGS fit of ``estimator`` on (X, Y, sample_weight).

    While it lives, the estimator's ``coefs_`` and ``intercepts_`` and its Network's W and b are
    views of ``theta`` (the order of ``Network.pack``: W1 (out, in) row-major, b1, W2, b2, …), so
    that a callback which reads them (predict, score) sees the parameters L-BFGS is at.  The forward
    pass goes through a twin of that Network (the same parameters and activation) whose output
    layer is left to the objective: for softmax, whose loss needs log ŷ, the two come from one exp.
    """

    def __init__(self, estimator, net, X, Y, sample_weight):
        params = net.parameters()
        self.theta = np.concatenate([p.ravel() for p in params])     # in the network's dtype
        bounds = np.cumsum([0] + [p.size for p in params]).tolist()
        self.slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.shapes = [W.shape for W in net.weights]
        self.weights = [self.theta[s].reshape(shape) for s, shape in zip(self.slices[0::2], self.shapes)]
        self.biases = [self.theta[s] for s in self.slices[1::2]]
        net.weights, net.biases = list(self.weights), list(self.biases)
        estimator.coefs_ = [W.T for W in self.weights]
        estimator.intercepts_ = list(self.biases)
        self.net = copy.copy(net)              # the twin: its own lists of the same arrays
        self.net.output = _logits
        self.softmax = estimator.out_activation_ == "softmax"
        self.estimator = estimator
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.buffers = {}                      # z, h, δ (step.scratch): the same arrays on every call
        # ∇W straight into SciPy's vector where it is float64 too; a float32 net's goes through scratch
        self.direct = net.dtype == np.float64

    def __call__(self, theta):
        """(f, ∇f) at theta: a float and a new float64 vector (SciPy keeps the gradients it is given)."""
        self.theta[...] = theta                # every parameter at once (cast for a float32 network)
        est, net, Y = self.estimator, self.net, self.Y
        cache = est._forward(net, self.X, self.buffers)
        losses = None
        if self.softmax:                       # −Σ_k y_k log ŷ_k, as _example_losses computes it
            cache.y_hat, log_y_hat = softmax_and_log(cache.z[-1])
            losses = -(Y * log_y_hat).sum(axis=1)
        deltas, total = est._deltas(net, cache, Y, self.sample_weight, self.buffers)
        loss = est._loss(net, cache, Y, self.sample_weight, total, losses)
        grad = np.empty(self.theta.size)
        weight_slices = self.slices[0::2]
        if self.direct:
            out = [grad[s].reshape(shape) for s, shape in zip(weight_slices, self.shapes)]
        else:
            out = [scratch(self.buffers, ("grad", l), W.shape, W.dtype) for l, W in enumerate(self.weights)]
        grads = gradients_from_deltas(deltas, [self.X] + cache.h, self.weights, est.alpha / total, out)
        if not self.direct:
            for s, gW in zip(weight_slices, grads.weights):
                grad[s] = gW.reshape(-1)
        for s, gb in zip(self.slices[1::2], grads.biases):
            grad[s] = gb
        return loss, grad

    def finish(self, theta):
        """Set the parameters to theta (L-BFGS's answer) and give the estimator contiguous copies of its own."""
        self.theta[...] = theta
        est = self.estimator
        est.coefs_ = [np.ascontiguousarray(W.T) for W in self.weights]
        est.intercepts_ = [b.copy() for b in self.biases]
