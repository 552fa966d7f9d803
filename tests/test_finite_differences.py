"""Every gradient against central finite differences written out here, independent of netprop.gradcheck."""

import numpy as np
import pytest

import netprop
from netprop.core.activations import ACTIVATIONS
from conftest import close_rel


def central_differences(net, X, y, l2, eps=1e-5):
    """(f(θ + ε eᵢ) − f(θ − ε eᵢ)) / 2ε for each entry θᵢ of the packed parameter vector."""
    theta = net.pack()
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        net.unpack(theta + step)
        f_plus = net.loss(X, y, l2)
        net.unpack(theta - step)
        f_minus = net.loss(X, y, l2)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    net.unpack(theta)
    return grad


def packed(grads):
    return np.concatenate([p.ravel() for W, b in zip(grads.weights, grads.biases) for p in (W, b)])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("sizes", [[4, 3], [5, 4, 3], [6, 5, 4, 3], [3, 4, 4, 4, 2]])
@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_backward_matches_central_differences(activation, loss, sizes, l2):
    rng = np.random.default_rng(len(sizes) * 7 + int(l2 * 10))
    net = netprop.Network(sizes, activation=activation, loss=loss, seed=1)
    X = rng.normal(size=(5, sizes[0]))
    y = rng.integers(0, sizes[-1], size=5) if loss == "cross_entropy" else rng.normal(size=(5, sizes[-1]))
    numeric = central_differences(net, X, y, l2)
    analytic = packed(net.backward(net.forward(X), y, l2))
    assert close_rel(analytic, numeric, 1e-6)


def test_gradcheck_reports_small_errors_per_parameter(rng):
    net = netprop.Network([7, 6, 5, 3], activation="tanh", seed=2)
    X = rng.normal(size=(4, 7))
    y = rng.integers(0, 3, size=4)
    result = netprop.gradcheck(net, X, y, l2=0.1)
    assert list(result.errors) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert result.passed and result.max_error < 1e-6
    # gradcheck's numbers are the test's own central differences
    numeric = central_differences(net, X, y, 0.1, eps=1e-6)
    theirs = np.concatenate([result.numerical[k].ravel() for k in result.errors])
    assert np.allclose(theirs, numeric, rtol=1e-6, atol=1e-9)


def test_gradcheck_catches_a_wrong_gradient(rng, monkeypatch):
    """A gradient check that cannot fail is no check: plant a bug in backward and watch it fail."""
    net = netprop.Network([5, 4, 3], seed=0)
    X = rng.normal(size=(3, 5))
    y = np.array([0, 1, 2])
    real_backward = netprop.Network.backward

    def backward_missing_mean(self, cache, y, l2=0.0):
        grads = real_backward(self, cache, y, l2)
        grads.weights[0] = grads.weights[0] * 3       # forgot to divide by n
        return grads

    monkeypatch.setattr(netprop.Network, "backward", backward_missing_mean)
    result = netprop.gradcheck(net, X, y)
    assert not result.passed
    assert result.errors["W1"] > 0.1 and result.errors["W2"] < 1e-6


def test_rel_error_by_hand():
    assert netprop.rel_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    # ‖(0, 1)‖ / (‖(3, 4)‖ + ‖(3, 5)‖) = 1 / (5 + √34)
    assert netprop.rel_error([3.0, 4.0], [3.0, 5.0]) == pytest.approx(1 / (5 + 34 ** 0.5))
    assert netprop.rel_error([0.0], [0.0]) == 0.0
