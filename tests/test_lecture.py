"""The lecture's closed forms, written out by hand, and one example computed on paper."""

import math

import numpy as np
import pytest

import netprop


def test_closed_forms_for_one_example(rng):
    d, m, c = 6, 5, 4
    net = netprop.Network([d, m, c], seed=7)
    W1, b1, W2, b2 = net.weights[0], net.biases[0], net.weights[1], net.biases[1]
    x = rng.normal(size=d)
    y = np.eye(c)[2]

    # forward, as on the slide
    z = W1 @ x + b1
    h = np.maximum(z, 0)
    s = W2 @ h + b2
    y_hat = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    f = -np.sum(y * np.log(y_hat))

    # backward, the lecture's simplified forms
    grad_W2 = np.outer(y_hat - y, h)                 # (ŷ − y) hᵀ
    grad_b2 = y_hat - y                              # ŷ − y
    g = ((y_hat - y) @ W2) * (z > 0)                 # gᵀ = ((ŷ − y)ᵀ W2) ⊙ relu'(zᵀ)
    grad_W1 = np.outer(g, x)                         # g xᵀ
    grad_b1 = g                                      # g

    cache = net.forward(x)
    np.testing.assert_allclose(cache.z[0], z, rtol=1e-13)
    np.testing.assert_allclose(cache.h[0], h, rtol=1e-13)
    np.testing.assert_allclose(cache.y_hat, y_hat, rtol=1e-13)
    assert net.loss(x, 2) == pytest.approx(f, rel=1e-13)

    grads = net.backward(cache, y)
    np.testing.assert_allclose(grads.weights[1], grad_W2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads.biases[1], grad_b2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads.weights[0], grad_W1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads.biases[0], grad_b1, rtol=1e-12, atol=1e-15)


def test_a_2_2_2_network_computed_on_paper():
    # x = (1, 2); W1 = [[1, 0], [0, -1]], b1 = 0  →  z = (1, −2), h = (1, 0)
    # W2 = I, b2 = 0  →  W2 h + b2 = (1, 0), ŷ = (e, 1)/(e + 1), label 0
    # f = −log(e/(e+1)) = log(1 + e⁻¹)
    # ŷ − y = (−1/(e+1), 1/(e+1)) = (−a, a) with a = 1/(e+1)
    # ∇W2 = (ŷ − y) hᵀ = [[−a, 0], [a, 0]];   ∇b2 = (−a, a)
    # gᵀ = ((ŷ − y)ᵀ W2) ⊙ relu'(z) = (−a, a) ⊙ (1, 0) = (−a, 0)
    # ∇W1 = g xᵀ = [[−a, −2a], [0, 0]];      ∇b1 = (−a, 0)
    net = netprop.Network([2, 2, 2])
    net.weights = [np.array([[1.0, 0.0], [0.0, -1.0]]), np.eye(2)]
    net.biases = [np.zeros(2), np.zeros(2)]
    x = np.array([1.0, 2.0])
    a = 1 / (math.e + 1)

    assert net.loss(x, 0) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-15)
    grads = net.backward(net.forward(x), 0)
    np.testing.assert_allclose(grads.weights[1], [[-a, 0], [a, 0]], rtol=1e-15)
    np.testing.assert_allclose(grads.biases[1], [-a, a], rtol=1e-15)
    np.testing.assert_allclose(grads.weights[0], [[-a, -2 * a], [0, 0]], rtol=1e-15)
    np.testing.assert_allclose(grads.biases[0], [-a, 0], rtol=1e-15)


def test_minibatch_gradient_is_the_mean_of_per_example_gradients(rng):
    net = netprop.Network([5, 4, 3], activation="sigmoid", seed=3)
    X = rng.normal(size=(6, 5))
    y = rng.integers(0, 3, size=6)
    batch = net.backward(net.forward(X), y)
    singles = [net.backward(net.forward(X[i]), y[i]) for i in range(6)]
    for l in range(2):
        np.testing.assert_allclose(batch.weights[l], np.mean([s.weights[l] for s in singles], 0),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(batch.biases[l], np.mean([s.biases[l] for s in singles], 0),
                                   rtol=1e-12, atol=1e-15)


def test_l2_adds_l2_times_W_to_weights_only(rng):
    net = netprop.Network([4, 3, 2], seed=0)
    X, y = rng.normal(size=(3, 4)), np.array([0, 1, 1])
    plain = net.backward(net.forward(X), y)
    reg = net.backward(net.forward(X), y, l2=0.5)
    for l in range(2):
        np.testing.assert_allclose(reg.weights[l] - plain.weights[l], 0.5 * net.weights[l], atol=1e-15)
        np.testing.assert_array_equal(reg.biases[l], plain.biases[l])
    penalty = 0.25 * sum((W ** 2).sum() for W in net.weights)
    assert net.loss(X, y, l2=0.5) - net.loss(X, y) == pytest.approx(penalty, rel=1e-12)


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_huge_logits_give_finite_loss_and_gradients(big):
    # logits (big, −big, 0): label 0 has loss max(0, −2·big)… computed by hand below.
    net = netprop.Network([1, 3])
    net.weights = [np.array([[big], [-big], [0.0]])]
    net.biases = [np.zeros(3)]
    x = np.array([1.0])
    for label in range(3):
        logits = np.array([big, -big, 0.0])
        expected = logits.max() - logits[label]   # −log softmax: exact when one logit dominates
        assert net.loss(x, label) == pytest.approx(expected, rel=1e-12)
        grads = net.backward(net.forward(x), label)
        assert all(np.isfinite(g).all() for g in grads.weights + grads.biases)
    cache = net.forward(x)
    assert np.isfinite(cache.y_hat).all() and cache.y_hat.sum() == pytest.approx(1.0)


def test_initialisation():
    relu_net = netprop.Network([784, 256, 128, 10], seed=0)
    # He: std of W1 is √(2/784)
    assert relu_net.weights[0].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert (relu_net.biases[0] == 0.01).all() and (relu_net.biases[1] == 0.01).all()
    assert (relu_net.biases[2] == 0).all()
    tanh_net = netprop.Network([300, 100, 10], activation="tanh", seed=0)
    limit = np.sqrt(6 / 400)                    # Glorot uniform on [−limit, limit]
    assert np.abs(tanh_net.weights[0]).max() <= limit
    assert tanh_net.weights[0].std() == pytest.approx(limit / np.sqrt(3), rel=0.03)
    assert (tanh_net.biases[0] == 0).all()
    again = netprop.Network([784, 256, 128, 10], seed=0)
    assert np.array_equal(relu_net.pack(), again.pack())
    assert not np.array_equal(netprop.Network([784, 256, 10], seed=1).weights[0],
                              netprop.Network([784, 256, 10], seed=2).weights[0])
