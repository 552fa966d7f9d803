"""The explicit Jacobian chain equals backward propagation, factor by factor as the lecture writes it."""

import numpy as np
import pytest

import netprop
from netprop.core.activations import ACTIVATIONS


@pytest.mark.parametrize("sizes", [[3, 2, 3], [2, 2, 3], [5, 4, 3], [4, 3, 3, 2], [3, 4, 2, 3, 2]])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_chain_equals_backward(sizes, activation, loss):
    rng = np.random.default_rng(sum(sizes))
    net = netprop.Network(sizes, activation=activation, loss=loss, seed=4)
    x = rng.normal(size=sizes[0])
    y = 1 if loss == "cross_entropy" else rng.normal(size=sizes[-1])
    chain = netprop.jacobian_chain(net, x, y)
    grads = net.backward(net.forward(x), y)
    for l in range(net.n_layers):
        assert np.abs(chain.weights[l] - grads.weights[l]).max() <= 1e-12
        assert np.abs(chain.biases[l] - grads.biases[l]).max() <= 1e-12


def test_lecture_factors_for_W1():
    net = netprop.Network([3, 2, 3], seed=0)
    x = np.array([0.5, -1.0, 2.0])
    chain = netprop.jacobian_chain(net, x, 2)
    labels = [label for label, _ in chain.factors["W1"]]
    assert labels == ["∂f/∂ŷ", "∂ŷ/∂h", "∂h/∂z", "∂z/∂W1"]
    (_, dy), (_, dh), (_, dz), (_, dW) = chain.factors["W1"]
    cache = net.forward(x)
    np.testing.assert_array_equal(dy, (cache.y_hat - np.eye(3)[2])[None, :])   # (ŷ − y)ᵀ
    np.testing.assert_array_equal(dh, net.weights[1])                         # W2
    np.testing.assert_array_equal(dz, np.diag((cache.z[0] > 0).astype(float)))  # diag(relu'(z))
    # m × (m·d) with xᵀ on the diagonal blocks, zeros elsewhere
    assert dW.shape == (2, 6)
    np.testing.assert_array_equal(dW, [[0.5, -1.0, 2.0, 0, 0, 0], [0, 0, 0, 0.5, -1.0, 2.0]])
    assert [label for label, _ in chain.factors["b2"]] == ["∂f/∂ŷ", "∂ŷ/∂b2"]
    assert chain.products["W1"].shape == (1, 6)


def test_deeper_factor_names():
    net = netprop.Network([3, 4, 4, 2], seed=0)
    chain = netprop.jacobian_chain(net, np.ones(3), 0)
    assert [label for label, _ in chain.factors["W1"]] == [
        "∂f/∂ŷ", "∂ŷ/∂h2", "∂h2/∂z2", "∂z2/∂h1", "∂h1/∂z1", "∂z1/∂W1"]
    assert [label for label, _ in chain.factors["W2"]] == ["∂f/∂ŷ", "∂ŷ/∂h2", "∂h2/∂z2", "∂z2/∂W2"]


def test_chain_needs_one_example():
    net = netprop.Network([3, 2, 3], seed=0)
    with pytest.raises(ValueError, match="one example"):
        netprop.jacobian_chain(net, np.ones((2, 3)), [0, 1])
