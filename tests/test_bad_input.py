"""Bad input raises ValueError naming the problem."""

import numpy as np
import pytest

import netprop
from netprop.core import validation as checks


@pytest.fixture
def net():
    return netprop.Network([4, 3, 2], seed=0)


@pytest.mark.parametrize("X, message", [
    (np.ones((2, 5)), "X has 5 features but the network expects 4"),
    (np.array([[1.0, np.nan, 0, 0]]), "NaN or infinite"),
    (np.array([[1.0, np.inf, 0, 0]]), "NaN or infinite"),
    (np.ones((0, 4)), "X is empty"),
    (np.ones((2, 2, 4)), "X must be"),
    (np.array([["a", "b", "c", "d"]]), "numeric"),
])
def test_bad_X(net, X, message):
    with pytest.raises(ValueError, match=message):
        net.forward(X)
    with pytest.raises(ValueError, match=message):
        net.loss(X, [0] * max(len(X), 1))


@pytest.mark.parametrize("y, message", [
    ([0, 2], r"label 2 is outside 0..1"),
    ([-1, 0], r"label -1 is outside 0..1"),
    ([0, 1, 1], "y has 3 labels but X has 2 examples"),
    ([0.5, 1], "integers"),
    (np.ones((2, 3)), r"y must have shape \(2, 2\)"),
    (np.ones((2, 2)), "sum to 1"),
    ([[np.nan, 1], [0, 1]], "NaN or infinite"),
])
def test_bad_y(net, y, message):
    X = np.ones((2, 4))
    with pytest.raises(ValueError, match=message):
        net.loss(X, y)
    with pytest.raises(ValueError, match=message):
        net.backward(net.forward(X), y)


def test_bad_mse_targets():
    net = netprop.Network([4, 3, 2], loss="mse")
    with pytest.raises(ValueError, match=r"y must have shape \(3, 2\)"):
        net.loss(np.ones((3, 4)), np.ones(3))


@pytest.mark.parametrize("kwargs, message", [
    (dict(layer_sizes=[4]), "at least 2"),
    (dict(layer_sizes=[4, 0, 2]), "positive integer"),
    (dict(layer_sizes=[4, 2.5, 2]), "positive integer"),
    (dict(layer_sizes="abc"), "integers"),
    (dict(layer_sizes=[4, 2], activation="softplus"), "unknown activation 'softplus'"),
    (dict(layer_sizes=[4, 2], loss="hinge"), "unknown loss 'hinge'"),
    (dict(layer_sizes=[4, 2], dtype="int32"), "float32 or float64"),
])
def test_bad_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        netprop.Network(**kwargs)


def test_bad_l2_and_unpack(net):
    with pytest.raises(ValueError, match="l2"):
        net.loss(np.ones((1, 4)), [0], l2=-1)
    with pytest.raises(ValueError, match="23 values"):
        net.unpack(np.zeros(5))


def test_bad_assigned_parameter_shape(net):
    net.weights[0] = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"W1 must have shape \(3, 4\)"):
        checks.parameters(net)
    with pytest.raises(ValueError, match=r"W1 must have shape \(3, 4\)"):
        net.forward(np.ones(4))
