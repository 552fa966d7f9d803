"""The strict chain (softmax Jacobian as its own factor): every factor is what autograd gives for its label."""

import numpy as np
import pytest
import torch

import netprop
from helpers import torch_activation


def _torch_forward(net, x):
    """z⁽ˡ⁾ and h⁽ˡ⁾ recomputed in torch from the same parameters, as leaves we can differentiate."""
    h = torch.tensor(x)
    zs, hs = [], [h]
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        z = torch.tensor(W) @ h + torch.tensor(b)
        zs.append(z)
        h = torch_activation(net.activation)(z) if l < net.n_layers else z
        hs.append(h)
    return zs, hs


@pytest.mark.parametrize("sizes", [[2, 2, 3], [3, 4, 2, 3], [3, 2, 3, 2, 4]])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_strict_factors_are_autograd_jacobians(sizes, activation):
    rng = np.random.default_rng(7)
    net = netprop.Network(sizes, activation=activation, seed=3, dtype="float64")
    x = rng.normal(size=sizes[0])
    label = 1
    chain = netprop.jacobian_chain(net, x, label, strict=True)
    L = net.n_layers
    zs, hs = _torch_forward(net, x)
    y = torch.zeros(sizes[-1], dtype=torch.float64)
    y[label] = 1.0

    # ∂f/∂ŷ for f(ŷ) = −Σ y_k log ŷ_k, ŷ a leaf: the row −(y ⊘ ŷ)ᵀ
    y_hat = torch.softmax(zs[-1], 0).detach().requires_grad_(True)
    (-(y * torch.log(y_hat)).sum()).backward()
    # ∂ŷ/∂z⁽ᴸ⁾: the softmax's own Jacobian
    softmax_jac = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, 0), zs[-1].detach())

    factors = chain.factors["W1"]
    names = [label for label, _ in factors]
    assert names[0] == "∂f/∂ŷ" and names[1] == f"∂ŷ/∂z{L}"
    assert names[2].startswith(f"∂z{L}/∂h")
    np.testing.assert_allclose(factors[0][1], y_hat.grad.numpy()[None, :], rtol=1e-12)
    np.testing.assert_allclose(factors[1][1], softmax_jac.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(factors[2][1], net.weights[-1])   # ∂z⁽ᴸ⁾/∂h⁽ᴸ⁻¹⁾ = W_L
    # the strict first two factors multiply to the lecture's (ŷ − y)ᵀ
    np.testing.assert_allclose(factors[0][1] @ factors[1][1], (y_hat.detach() - y).numpy()[None, :],
                               atol=1e-14)

    # and the whole chain, reshaped, is the gradient autograd computes for every parameter
    Ws = [torch.tensor(W, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    h = torch.tensor(x)
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        z = W @ h + b
        h = (torch.relu(z) if activation == "relu" else torch.tanh(z)) if l < L else z
    f = -torch.log_softmax(h, 0)[label]
    f.backward()
    for l in range(L):
        np.testing.assert_allclose(chain.weights[l], Ws[l].grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(chain.biases[l], bs[l].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_strict_labels_for_the_lecture_network():
    net = netprop.Network([2, 2, 3], seed=0)
    chain = netprop.jacobian_chain(net, np.array([0.5, -1.0]), 2, strict=True)
    assert [label for label, _ in chain.factors["W1"]] == ["∂f/∂ŷ", "∂ŷ/∂z2", "∂z2/∂h", "∂h/∂z", "∂z/∂W1"]
    assert [label for label, _ in chain.factors["b2"]] == ["∂f/∂ŷ", "∂ŷ/∂z2", "∂z2/∂b2"]
    # a hand check of the first factor: y = e₃, so ∂f/∂ŷ = (0, 0, −1/ŷ₃)
    y_hat = net.forward(np.array([0.5, -1.0])).y_hat
    np.testing.assert_allclose(chain.factors["W1"][0][1], [[0.0, 0.0, -1.0 / y_hat[2]]])


def test_strict_is_the_lecture_chain_for_mse():
    net = netprop.Network([3, 2, 2], loss="mse", seed=1)
    x, y = np.array([0.1, 0.2, -0.3]), np.array([0.5, -0.5])
    lecture, strict = netprop.jacobian_chain(net, x, y), netprop.jacobian_chain(net, x, y, strict=True)
    assert [n for n, _ in lecture.factors["W1"]] == [n for n, _ in strict.factors["W1"]]
    for (_, a), (_, b) in zip(lecture.factors["W1"], strict.factors["W1"]):
        np.testing.assert_array_equal(a, b)


def test_derive_passes_strict_through():
    net = netprop.Network([2, 2, 3], seed=0)
    x = np.array([0.27, -0.46])
    lecture = netprop.derive(net, x, 0).to_dict()["gradients"]["W1"]
    strict = netprop.derive(net, x, 0, strict=True).to_dict()["gradients"]["W1"]
    assert strict["formula"] == "∂f/∂ŷ · ∂ŷ/∂z2 · ∂z2/∂h · ∂h/∂z · ∂z/∂W1"
    assert lecture["formula"] == "∂f/∂ŷ · ∂ŷ/∂h · ∂h/∂z · ∂z/∂W1"
    # the same gradient either way, and the same as the finite differences derive reports
    np.testing.assert_allclose(strict["chain"], lecture["chain"], atol=1e-15)
    np.testing.assert_allclose(strict["chain"], strict["finite_difference"], atol=1e-8)
