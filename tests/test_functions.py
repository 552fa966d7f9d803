"""The one cross-entropy, each way it is called, against torch.nn.functional.cross_entropy."""

import numpy as np
import pytest

from netprop.core.losses import cross_entropy, softmax

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("scale", [1.0, 200.0])          # 200: some ŷ underflow to 0 in float32
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_labels_one_hot_and_read_off_y_hat(scale, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(9, 5)) * scale).astype(dtype)
    labels = rng.integers(0, 5, size=9)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits, dtype=torch.float64),
                                                 torch.tensor(labels)).item()
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    y_hat = softmax(logits)
    if scale > 1:
        assert (y_hat[np.arange(9), labels] == 0).any()   # the case read-off cannot take: log 0
    for value in (cross_entropy(logits, labels), cross_entropy(logits, np.eye(5, dtype=dtype)[labels]),
                  cross_entropy(logits, labels, y_hat)):
        assert np.isfinite(value)
        assert value == pytest.approx(expected, rel=rtol)


# --- the registries: every record against torch ------------------------------------------------

from helpers import torch_activation  # noqa: E402
from netprop.core.activations import ACTIVATIONS, activation_named  # noqa: E402
from netprop.core.losses import LOSSES  # noqa: E402


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_and_its_derivative_match_torch(name):
    """function(z) against torch's activation, derivative(z) against autograd of it, off the kinks."""
    record = ACTIVATIONS[name]
    z = np.linspace(-6, 6, 241)
    z = z[np.abs(z) > 1e-9]                                  # relu'(0) is a convention, not a value
    t = torch.tensor(z, requires_grad=True)
    h = torch_activation(name)(t)
    h.sum().backward()
    np.testing.assert_allclose(record.function(z), h.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(record.derivative(z), t.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert record.function(z.astype(np.float32)).dtype == np.float32
    assert record.derivative(z.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_starts_from_the_initialisation_its_record_names(name):
    """He: normal with std √(2/fan_in); Glorot: uniform on ±√(6/(fan_in + fan_out)); hidden biases
    as the record says, output biases 0."""
    import netprop

    record = ACTIVATIONS[name]
    net = netprop.Network([400, 300, 10], activation=name, seed=0)
    W = net.weights[0]
    if record.init == "he":
        assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
        assert np.abs(W).max() > np.sqrt(6 / 700)           # a normal's tails pass Glorot's bound
    else:
        assert record.init == "glorot"
        assert np.abs(W).max() <= np.sqrt(6 / 700)
        assert W.std() == pytest.approx(np.sqrt(6 / 700) / np.sqrt(3), rel=0.02)
    assert (net.biases[0] == record.hidden_bias).all() and (net.biases[1] == 0).all()


def test_activation_aliases():
    assert activation_named("logistic") is ACTIVATIONS["sigmoid"]
    assert activation_named("relu") is ACTIVATIONS["relu"]
    with pytest.raises(KeyError):
        activation_named("softplus")


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_torchs_and_its_gradient_is_y_hat_minus_y_over_n(name):
    """Each record's output and loss against torch, and ∂f/∂z⁽ᴸ⁾ (autograd) = (ŷ − y)/n, the δ_L that
    every backward pass in netprop starts from."""
    F = torch.nn.functional
    record = LOSSES[name]
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 4))
    Y = np.eye(4)[rng.integers(0, 4, size=6)] if record.class_targets else rng.normal(size=(6, 4))
    z = torch.tensor(logits, requires_grad=True)
    torch_output = {"softmax": lambda t: torch.softmax(t, dim=1), "identity": lambda t: t}[record.output_name]
    if name == "cross_entropy":
        f = F.cross_entropy(z, torch.tensor(Y))
    else:
        f = 0.5 * F.mse_loss(z, torch.tensor(Y), reduction="sum") / 6
    f.backward()
    y_hat = record.output(logits)
    np.testing.assert_allclose(y_hat, torch_output(z).detach().numpy(), rtol=1e-12)
    assert record.function(logits, Y) == pytest.approx(f.item(), rel=1e-12)
    np.testing.assert_allclose((y_hat - Y) / 6, z.grad.numpy(), rtol=1e-10, atol=1e-15)
