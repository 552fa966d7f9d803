"""A derivation's inputs: the seeded defaults of `netprop derive`, or a parameters file."""

from __future__ import annotations


import numpy as np

from ...core.network import Network
from ...storage.schema import load_json
from .compute import check_size


class ParamsError(ValueError):
    """A parameters file that cannot be read as a network and one example; the message names the file."""


def seeded_inputs(sizes, activation="relu", loss="cross_entropy", seed=0):
    """(net, x, y) for a derivation: a seeded network, x with two decimals, a seeded label or target.

    sizes: [d, …, c] within check_size's limits. x: (d,) uniform in [-1, 1]; y: a label in 0..c-1 for
    cross-entropy, a (c,) target in [-1, 1] for mse.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"a network needs at least two layer sizes, got {sizes}")
    check_size(sizes)
    net = Network(sizes, activation=activation, loss=loss, seed=seed)
    rng = np.random.default_rng(seed)
    # two decimals: x is typed by hand in the lecture, and short numbers keep the block matrices readable
    x = np.round(rng.uniform(-1, 1, size=sizes[0]), 2)
    c = sizes[-1]
    y = int(rng.integers(0, c)) if loss == "cross_entropy" else np.round(rng.uniform(-1, 1, c), 2)
    return net, x, y


def load_params(path, activation="relu", loss="cross_entropy"):
    """(net, x, y) from a JSON file with x, y, weights and biases, as ``Derivation.to_json`` writes them.

    weights[l]: (out, in) nested lists; biases[l]: (out,); x: (d,); y: a label or (c,) vector.
    The file's "network" entry, if any, overrides activation and loss. Raises ParamsError naming
    what is wrong (and ValueError from check_size for a network too large to derive).
    """
    spec = load_json(path, str(path), ParamsError)      # its size and nesting depth bounded first
    if not isinstance(spec, dict) or not {"weights", "biases", "x", "y"} <= set(spec):
        raise ParamsError(f"{path}: needs the keys x, y, weights and biases")
    try:
        weights = [np.asarray(W, dtype=np.float64) for W in spec["weights"]]
        biases = [np.asarray(b, dtype=np.float64) for b in spec["biases"]]
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"{path}: weights and biases must be numeric arrays ({exc})") from None
    for key, arrays in (("weights", weights), ("biases", biases)):
        if not all(np.isfinite(a).all() for a in arrays):
            raise ParamsError(f"{path}: {key} hold NaN or infinite values")
    if not weights or len(weights) != len(biases) or any(W.ndim != 2 for W in weights):
        raise ParamsError(f"{path}: weights must be a non-empty list of matrices, one bias vector each")
    sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
    for l, (W, b) in enumerate(zip(weights, biases), start=1):
        if W.shape[1] != sizes[l - 1]:
            raise ParamsError(f"{path}: W{l} has shape {W.shape} but layer {l - 1} has {sizes[l - 1]} units "
                              f"(W{l} must be ({sizes[l]}, {sizes[l - 1]}))")
        if b.shape != (sizes[l],):
            raise ParamsError(f"{path}: b{l} has shape {b.shape}, expected ({sizes[l]},)")
    network = spec.get("network") or {}
    if not isinstance(network, dict):
        raise ParamsError(f"{path}: network must be an object with activation and loss")
    check_size(sizes)
    net = Network(sizes, activation=network.get("activation", activation), loss=network.get("loss", loss))
    net.weights, net.biases = weights, biases
    try:
        x = np.asarray(spec["x"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"{path}: x must be numeric ({exc})") from None
    if not np.isfinite(x).all():
        raise ParamsError(f"{path}: x holds NaN or infinite values")
    if x.shape != (sizes[0],):
        raise ParamsError(f"{path}: x has shape {x.shape}, expected ({sizes[0]},)")
    return net, x, spec["y"]
