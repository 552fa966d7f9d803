"""Numerical gradient check: central finite differences against backward propagation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


def rel_error(a, b):
    """‖a - b‖ / (‖a‖ + ‖b‖), the relative error of two gradients; 0 when both are zero, nan when
    either holds a NaN or an infinity (so that no tolerance accepts it)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    # The ratio does not change with a common scale; dividing by the largest entry first keeps
    # the norms' squares from overflowing for entries above about 1e154.
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    if scale == 0:
        return 0.0
    a, b = a / scale, b / scale
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def numerical_gradient(f, params, eps=1e-6, progress=None):
    """Central differences (f(p + ε) - f(p - ε)) / 2ε for every entry of every array in params.

    f: a function of no arguments that reads the arrays in ``params`` (perturbed in place).
    params: list of float64 arrays; each entry is restored exactly after its two evaluations.
    progress: optional callable(k) called after each k entries.
    """
    grads = []
    for p in params:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            f_plus = f()
            flat[i] = old - eps
            f_minus = f()
            flat[i] = old
            gflat[i] = (f_plus - f_minus) / (2 * eps)
            if progress is not None:
                progress(1)
        grads.append(g)
    return grads


@dataclass
class GradcheckResult:
    """Relative error per named parameter (W1, b1, W2, …) and the largest of them."""

    errors: dict
    max_error: float
    max_abs_error: float
    threshold: float
    analytic: dict = field(repr=False, default_factory=dict)
    numerical: dict = field(repr=False, default_factory=dict)

    @property
    def passed(self):
        return self.max_error <= self.threshold


def gradcheck(net, X, y, l2=0.0, eps=1e-6, threshold=1e-6, progress=None):
    """Compare backward propagation with central finite differences, in float64.

    Parameters
    ----------
    net : Network (copied to float64; the original is not touched)
    X : (n, d) or (d,); y : targets as ``Network.loss`` takes them; l2 : L2 strength.
    eps : the finite-difference step.  threshold : the largest relative error that passes.
    progress : optional callable(k), called as parameter entries are done (for a progress bar).

    Returns
    -------
    GradcheckResult: ``errors`` {"W1": ‖∇_bp - ∇_fd‖/(‖∇_bp‖+‖∇_fd‖), …}, ``max_error``.
    """
    net64 = net.copy(dtype="float64")
    X = np.asarray(X, dtype=np.float64)
    analytic = net64.backward(net64.forward(X), y, l2).named()
    params = list(net64.named_parameters().values())
    numerical = numerical_gradient(lambda: net64.loss(X, y, l2), params, eps, progress)
    numerical = dict(zip(net64.parameter_names(), numerical))
    errors = {name: rel_error(analytic[name], numerical[name]) for name in analytic}
    max_abs = float(np.max([np.max(np.abs(analytic[k] - numerical[k])) for k in analytic]))
    return GradcheckResult(errors=errors, max_error=float(np.max(list(errors.values()))), max_abs_error=max_abs,
                           threshold=threshold, analytic=analytic, numerical=numerical)


# --- the networks `netprop gradcheck` checks ----------------------------------------------


class GradcheckCase(NamedTuple):
    """One network to check, with its minibatch: label (for the report), net, X (n, d), y."""

    label: str
    net: object
    X: np.ndarray
    y: np.ndarray


def gradcheck_cases(sizes=None, hidden=32, lecture_only=False, examples=4, activation="relu",
                    loss="cross_entropy", seed=0):
    """The networks to check: a small random one, then the lecture's 784-H-10.

    sizes : layer sizes of the random network (default 20, 10, 5); given sizes replace the
        lecture's network too.  hidden : H of 784-H-10.  lecture_only : skip the random one.
    examples : n, the minibatch size.  One seeded generator draws every X and y in turn.
    Returns a list of GradcheckCase (X: (n, sizes[0]) or (n, 784); y as Network.loss takes it).
    """
    from ..core.limits import check_memory, network_bytes
    from ..core.network import Network

    rng = np.random.default_rng(seed)
    cases = []
    if sizes is not None or not lecture_only:
        random_sizes = sizes or [20, 10, 5]
        check_memory(network_bytes(random_sizes, 8, copies=5, batch=examples),
                     f"--sizes {','.join(map(str, random_sizes))} --examples {examples}")
        net = Network(random_sizes, activation=activation, loss=loss, seed=seed)
        X = rng.normal(size=(examples, random_sizes[0]))
        y = random_targets(rng, net, examples)
        cases.append(GradcheckCase("random " + "-".join(map(str, random_sizes)), net, X, y))
    if sizes is None:
        check_memory(network_bytes([784, hidden, 10], 8, copies=5, batch=examples),
                     f"--hidden {hidden} --examples {examples}")
        net = Network([784, hidden, 10], activation=activation, loss=loss, seed=seed)
        X, y, source = lecture_examples(rng, net, examples)
        cases.append(GradcheckCase(f"lecture 784-{hidden}-10 ({source})", net, X, y))
    return cases


def random_targets(rng, net, n):
    """n targets for net drawn from rng: labels in 0..c-1 for cross-entropy, (n, c) normals for MSE."""
    c = net.layer_sizes[-1]
    if net.loss_name == "cross_entropy":
        return rng.integers(0, c, size=n)
    return rng.normal(size=(n, c))


def lecture_examples(rng, net, n):
    """(X (n, 784), y, what they are) for the 784-input network.

    Fashion-MNIST images scaled to [0, 1] when the data set is installed (no download for a
    gradient check), else random pixel intensities with random targets.
    """
    from ..data import DataError, load_fashion_mnist

    try:
        X, y, _, _ = load_fashion_mnist(download=False)
    except DataError:
        X = rng.uniform(0.0, 1.0, size=(n, 784))
        return X, random_targets(rng, net, n), "random pixels"
    idx = rng.choice(len(X), size=n, replace=False)
    targets = y[idx] if net.loss_name == "cross_entropy" else np.eye(10)[y[idx]]
    return X[idx] / 255.0, targets, f"{n} Fashion-MNIST images"
