"""fast.py's training step against independent references and against network.py's reference path.

torch.optim fed by autograd is the independent witness; network.py's forward/backward followed by
the optimizer's plain step() is the reference the fast path must equal to rounding.
"""

import numpy as np
import pytest

import netprop
from helpers import TORCH_OPTIMIZER_NAMES, torch_activation, torch_optimizer
from netprop.training import step as fast
from netprop.core.activations import ACTIVATIONS
from netprop.core.losses import LOSSES
from netprop.training.optimizers import OPTIMIZERS, Optimizer, make_optimizer

torch = pytest.importorskip("torch")

# every registered activation, each with one of the losses in turn
ACTIVATION_LOSS_PAIRS = [(a, list(LOSSES)[i % len(LOSSES)]) for i, a in enumerate(ACTIVATIONS)]



@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize("blas", ["direct", "numpy"])
def test_train_step_matches_torch_training_a_network(name, l2, blas, monkeypatch):
    """Training steps as Trainer takes them (δ per layer, ∇W = δᵀh fused into the update) against
    torch.optim fed by autograd, with weight decay on the weights only (netprop's l2); once with
    every product and update as a direct BLAS call, once with _blas's NumPy fallbacks."""
    import netprop
    from netprop.training import _blas

    if blas == "numpy":
        monkeypatch.setattr(_blas, "_FUNCTIONS", None)
    elif not _blas.available():
        pytest.skip("this NumPy does not bundle scipy-openblas")
    else:
        monkeypatch.setattr(_blas, "DIRECT_FROM", 1)      # these small arrays go to BLAS too

    F = torch.nn.functional
    rng = np.random.default_rng(5)
    net = netprop.Network([6, 9, 7, 4], seed=3)
    X = rng.normal(size=(16, 6))
    labels = rng.integers(0, 4, size=16)
    Y = np.eye(4)[labels]
    params = net.parameters()
    ours = make_optimizer(name, params)
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    theirs = torch_optimizer(name, [{"params": t_params[0::2], "weight_decay": l2},
                                    {"params": t_params[1::2], "weight_decay": 0.0}])
    for step in range(5):
        lr = 0.1 / (1 + step)
        rows = rng.choice(16, size=8, replace=False)
        fast.train_step(net, ours, X[rows], Y[rows], lr, l2, params)

        for group in theirs.param_groups:
            group["lr"] = lr
        theirs.zero_grad()
        h = torch.tensor(X[rows])
        for l in range(3):
            h = F.linear(h, t_params[2 * l], t_params[2 * l + 1])
            h = F.relu(h) if l < 2 else h
        F.cross_entropy(h, torch.tensor(labels[rows])).backward()
        theirs.step()
        for p, t in zip(params, t_params):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def use_kernels(kind, monkeypatch):
    """Run a test with the compiled kernels (skipped where Numba is absent) or with NumPy alone."""
    from netprop.training import _kernels

    if kind == "numpy":
        monkeypatch.setattr(_kernels, "get", lambda: None)
    elif not _kernels.available():
        pytest.skip("Numba is not installed (pip install netprop[fast])")
    else:
        monkeypatch.setattr(_kernels, "WORTH_FROM", 1)      # these small arrays go to the kernels too


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_fused_update_equals_plain_step_in_float32(name, kernels, monkeypatch):
    """The fused float32 update against ∇W formed on its own, then the plain step (the same δ).

    (In float32 Adam turns rounding-level differences of near-zero gradients into steps of ±lr, so
    the comparison with network.py's reference path is made in float64, below.)  With the compiled
    kernels, the plain side is still NumPy: optimizer.step."""
    use_kernels(kernels, monkeypatch)
    import netprop

    rng = np.random.default_rng(6)
    nets = [netprop.Network([784, 400, 10], seed=0, dtype="float32") for _ in range(2)]
    X = rng.normal(size=(64, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=64)]
    params = [n.parameters() for n in nets]
    fused, plain = (make_optimizer(name, p) for p in params)
    for _ in range(4):
        fast.train_step(nets[0], fused, X, Y, 0.01, 1e-3, params[0])
        cache = fast.forward(nets[1], X)
        grads = fast.gradients_from_deltas(fast.deltas(nets[1], cache, Y), [X] + cache.h, nets[1].weights, 1e-3)
        plain.step(params[1], grads.weights_and_biases(), 0.01)
    initial = netprop.Network([784, 400, 10], seed=0, dtype="float32")
    for a, b in zip(*params):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    moved = [np.abs(a - s).max() for a, s in zip(params[0][0::2], initial.weights)]
    assert min(moved) > 1e-4                       # both really trained: the comparison is not vacuous



@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("activation, loss", ACTIVATION_LOSS_PAIRS)
@pytest.mark.parametrize("blas", ["direct", "numpy"])
@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_train_step_equals_reference_path_in_float64(name, activation, loss, blas, kernels, monkeypatch):
    """Every optimizer, activation and loss: fast.train_step leaves the same parameters (to 1e-12)
    as Network.forward + Network.backward + optimizer.step, with l2, over several steps; with and
    without the compiled kernels."""
    from netprop.training import _blas

    use_kernels(kernels, monkeypatch)
    if blas == "numpy":
        monkeypatch.setattr(_blas, "_FUNCTIONS", None)
    elif _blas.available():
        monkeypatch.setattr(_blas, "DIRECT_FROM", 1)
    rng = np.random.default_rng(7)
    nets = [netprop.Network([5, 8, 6, 3], activation=activation, loss=loss, seed=1) for _ in range(2)]
    X = rng.normal(size=(12, 5))
    Y = np.eye(3)[rng.integers(0, 3, size=12)] if loss == "cross_entropy" else rng.normal(size=(12, 3))
    fast_opt, ref_opt = (make_optimizer(name, n.parameters()) for n in nets)
    for _ in range(4):
        rows = rng.choice(12, size=7, replace=False)
        cache = fast.train_step(nets[0], fast_opt, X[rows], Y[rows], 0.05, 0.01)
        ref_cache = nets[1].forward(X[rows])
        ref_opt.step(nets[1].parameters(), nets[1].backward(ref_cache, Y[rows], 0.01).weights_and_biases(), 0.05)
        np.testing.assert_allclose(cache.y_hat, ref_cache.y_hat, rtol=1e-12, atol=1e-15)
        assert fast.data_loss(nets[0], cache, Y[rows]) == pytest.approx(
            nets[1].loss_from_cache(ref_cache, Y[rows]), rel=1e-12)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    start = netprop.Network([5, 8, 6, 3], activation=activation, seed=1)
    assert np.abs(nets[0].weights[0] - start.weights[0]).max() > 1e-3     # it really trained


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_fast_cache_is_column_major_and_equal_to_forward(kernels, monkeypatch):
    """The layout the products use: (n, out) arrays stored one example per column."""
    use_kernels(kernels, monkeypatch)
    net = netprop.Network([784, 64, 10], seed=0, dtype="float32")
    X = np.random.default_rng(0).normal(size=(32, 784)).astype(np.float32)
    cache, ref = fast.forward(net, X), net.forward(X)
    assert cache.z[0].shape == (32, 64) and cache.z[0].flags.f_contiguous
    for a, b in zip(cache.z + cache.h + [cache.y_hat], ref.z + ref.h + [ref.y_hat]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_every_registered_optimizer_has_a_torch_witness():
    """The tests above loop over the registry and look each name up here: a new optimizer needs its
    torch.optim counterpart, or its update is checked against nothing independent."""
    assert set(OPTIMIZERS) == set(TORCH_OPTIMIZER_NAMES)


class RMSprop(Optimizer):
    """An optimizer written as a user adds one: a name, step() and nothing else (PyTorch's rule:
    v ← α v + (1−α) g²,  θ ← θ − lr·g / (√v + ε))."""

    name = "rmsprop"

    def __init__(self, params, alpha=0.99, eps=1e-8):
        self.alpha, self.eps = alpha, eps
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads, lr):
        for p, g, v in zip(params, grads, self.v):
            v *= self.alpha
            v += (1 - self.alpha) * g * g
            p -= lr * g / (np.sqrt(v) + self.eps)


def test_an_optimizer_added_as_one_class_trains_everywhere(monkeypatch):
    """One class in the registry is enough: make_optimizer, TrainConfig, the training step (through
    the base class's update_from_deltas) and scikit-learn's solver all take it, and the training step
    moves the parameters as torch.optim.RMSprop fed by autograd does."""
    from netprop.sklearn import MLPClassifier
    from netprop.training.fit import TrainConfig

    monkeypatch.setitem(OPTIMIZERS, "rmsprop", RMSprop)
    assert TrainConfig(optimizer="rmsprop").optimizer == "rmsprop"
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    net = netprop.Network([5, 7, 3], activation="tanh", seed=2)
    X = rng.normal(size=(10, 5))
    labels = rng.integers(0, 3, size=10)
    params = net.parameters()
    ours = make_optimizer("rmsprop", params)
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    theirs = torch.optim.RMSprop([{"params": t_params[0::2], "weight_decay": 0.01},
                                  {"params": t_params[1::2], "weight_decay": 0.0}], lr=0.01)
    for _ in range(4):
        fast.train_step(net, ours, X, np.eye(3)[labels], 0.01, 0.01, params)
        theirs.zero_grad()
        z = F.linear(torch.tanh(F.linear(torch.tensor(X), t_params[0], t_params[1])), t_params[2], t_params[3])
        F.cross_entropy(z, torch.tensor(labels)).backward()
        theirs.step()
    for p, t in zip(params, t_params):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-13)

    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="rmsprop", max_iter=3, random_state=0)
    with pytest.warns(Warning):                                   # 3 epochs: scikit-learn's ConvergenceWarning
        clf.fit(X, labels)
    assert len(clf.loss_curve_) == 3 and clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_scoring_logits_are_torchs_forward_pass(activation):
    """step.logits (validation and test scoring: activations written over z) against torch's forward."""
    net = netprop.Network([30, 40, 20, 7], activation=activation, seed=2)
    X = np.random.default_rng(5).normal(size=(300, 30))
    buffers = {}
    for _ in range(2):                       # the second call reuses the first's memory
        z = fast.logits(net, X, buffers)
    h = torch.from_numpy(X)
    act = torch_activation(activation)
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        h = h @ torch.from_numpy(W).T + torch.from_numpy(b)
        if l < net.n_layers:
            h = act(h)
    np.testing.assert_allclose(z, h.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z, net.forward(X).z[-1], rtol=1e-12, atol=1e-12)    # the lecture's forward


# --- the compiled step (compiled_step.py, _step_kernel.py) and the compiled score -------------------

def compiled_kernels():
    from netprop.training import _kernels

    if not _kernels.available():
        pytest.skip("Numba is not installed (pip install netprop[fast])")
    return _kernels.get()


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("sizes", [[5, 3], [6, 9, 4], [6, 9, 7, 5, 4]])
def test_compiled_step_trains_as_torch_does(name, sizes):
    """The compiled step, against torch.optim fed by autograd (the independent witness): the same
    parameters after five minibatches, with l2 on the weights, in float64; its loss and correct count
    are torch's cross-entropy and argmax on the logits before each update."""
    from netprop.training.compiled_step import CompiledStep

    kernels = compiled_kernels()
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    net = netprop.Network(sizes, seed=4)
    X = rng.normal(size=(20, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=20).astype(np.uint8)
    params = net.parameters()
    step = CompiledStep.for_training(net, make_optimizer(name, params), kernels)
    assert step is not None
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    theirs = torch_optimizer(name, [{"params": t_params[0::2], "weight_decay": 0.03},
                                    {"params": t_params[1::2], "weight_decay": 0.0}])
    for k in range(5):
        lr = 0.2 / (1 + k)
        rows = rng.choice(20, size=8, replace=False)
        loss, correct = step(np.ascontiguousarray(X[rows]), labels[rows], lr, 0.03)

        for group in theirs.param_groups:
            group["lr"] = lr
        theirs.zero_grad()
        h = torch.tensor(X[rows])
        for l in range(len(sizes) - 1):
            h = F.linear(h, t_params[2 * l], t_params[2 * l + 1])
            h = F.relu(h) if l < len(sizes) - 2 else h
        target = torch.tensor(labels[rows].astype(np.int64))
        torch_loss = F.cross_entropy(h, target)
        assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
        assert correct == int((h.argmax(dim=1) == target).sum())
        torch_loss.backward()
        theirs.step()
    for p, t in zip(params, t_params):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-11, atol=1e-13)
    assert np.abs(params[0] - netprop.Network(sizes, seed=4).weights[0]).max() > 1e-2     # it trained


@pytest.mark.parametrize("name, momentum", [("sgd", 0.9), ("momentum", 0.9), ("momentum", 0.0), ("adam", 0.9)])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
def test_compiled_step_equals_train_step_and_score(name, momentum, dtype, rtol):
    """The compiled step against step.train_step then step.score (NumPy alone), on a 784-64-32-10
    network: parameters, optimizer state, loss and correct count after six minibatches."""
    compiled_step_against_numpy(name, momentum, dtype, rtol)


@pytest.mark.slow
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
def test_compiled_step_through_a_blas_of_32_bit_integers(dtype, rtol, monkeypatch):
    """The compiled step's products through scipy-openblas32, whose sizes and leading dimensions
    _step_kernel._gemm narrows to 32 bits (a version of the step compiled for that width)."""
    from helpers import openblas32_functions

    from netprop.training import _blas

    monkeypatch.setattr(_blas, "_FUNCTIONS", openblas32_functions())
    assert _blas.gemm_address(dtype)[1].dtype == np.int32
    compiled_step_against_numpy("adam", 0.9, dtype, rtol)


def compiled_step_against_numpy(name, momentum, dtype, rtol):
    """Six minibatches of a 784-64-32-10 network by the compiled step and by step.train_step then
    step.score: the same parameters, optimizer state, loss and correct count, to rtol."""
    from netprop.training.compiled_step import CompiledStep

    kernels = compiled_kernels()
    rng = np.random.default_rng(12)
    nets = [netprop.Network([784, 64, 32, 10], seed=5, dtype=dtype) for _ in range(2)]
    X = rng.normal(size=(96, 784)).astype(dtype)
    labels = rng.integers(0, 10, size=96)
    optimizers = [make_optimizer(name, n.parameters(), momentum) for n in nets]
    step = CompiledStep.for_training(nets[0], optimizers[0], kernels)
    assert step is not None
    for _ in range(6):
        rows = np.sort(rng.choice(96, size=32, replace=False))
        loss, correct = step(X[rows], labels[rows], 0.01, 1e-3)
        cache = fast.train_step(nets[1], optimizers[1], X[rows], np.eye(10, dtype=dtype)[labels[rows]], 0.01, 1e-3)
        ref_loss, ref_correct = fast.score(cache, labels[rows])
        assert loss == pytest.approx(ref_loss, rel=rtol) and correct == ref_correct
    # (rounding measured against each array's scale: a velocity element that sums gradients of both
    # signs to near 0 keeps the absolute rounding of its terms)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    for a, b in zip(optimizers[0].state().values(), optimizers[1].state().values()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_compiled_step_applies_only_where_it_computes_the_same():
    """None, and the Trainer's NumPy step, for what relu_softmax_step does not compute: another
    activation or loss, nesterov, an optimizer registered elsewhere (even a subclass of a built-in
    one), no Numba, parameters not C-contiguous."""
    from netprop.training.compiled_step import CompiledStep
    from netprop.training.optimizers import Adam

    kernels = compiled_kernels()
    relu = netprop.Network([4, 5, 3], seed=0)
    assert CompiledStep.for_training(relu, make_optimizer("adam", relu.parameters()), kernels) is not None
    assert CompiledStep.for_training(relu, make_optimizer("adam", relu.parameters()), None) is None
    assert CompiledStep.for_training(relu, make_optimizer("nesterov", relu.parameters()), kernels) is None
    for other in (netprop.Network([4, 5, 3], activation="tanh", seed=0),
                  netprop.Network([4, 5, 3], loss="mse", seed=0)):
        assert CompiledStep.for_training(other, make_optimizer("sgd", other.parameters()), kernels) is None

    class Clipped(Adam):
        def step(self, params, grads, lr):
            super().step(params, [np.clip(g, -1, 1) for g in grads], lr)

    assert CompiledStep.for_training(relu, Clipped(relu.parameters()), kernels) is None
    relu.weights[0] = np.asfortranarray(relu.weights[0])
    assert CompiledStep.for_training(relu, make_optimizer("sgd", relu.parameters()), kernels) is None


def test_compiled_step_edge_values_as_numpy_has_them():
    """The cases where the rules are subtle, against step.score by hand: a label whose ŷ underflows to
    0 (its log from z by log-sum-exp: 1000, not inf), ties (the first largest counts, as argmax),
    and NaN in an input, which must reach the loss (the Trainer stops on it)."""
    from netprop.training.compiled_step import CompiledStep

    kernels = compiled_kernels()
    net = netprop.Network([2, 3], seed=0)
    net.weights[0][...] = [[1000.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    net.biases[0][...] = 0.0
    step = CompiledStep.for_training(net, make_optimizer("sgd", net.parameters()), kernels)
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss, correct = step(x.copy(), np.array([1, 2]), 1e-300)
    # row 0: z = (1000, 0, 0), label 1: −log ŷ = 1000 + log(1 + 2e−1000) = 1000;  row 1: z = 0, a
    # three-way tie, label 2: log 3, and argmax is 0 (the first), so not correct
    assert loss == pytest.approx((1000.0 + np.log(3)) / 2, rel=1e-15)
    assert correct == 0
    loss, correct = step(np.array([[np.nan, 0.0]]), np.array([0]), 1e-3)
    assert np.isnan(loss)

    # relu(−inf) = 0, as np.maximum gives it: an overflowed product is not a NaN
    flat = netprop.Network([2, 2, 3], seed=0)
    flat.weights[0][...] = [[1e308, 0.0], [0.0, 1.0]]
    step = CompiledStep.for_training(flat, make_optimizer("sgd", flat.parameters()), kernels)
    loss, _ = step(np.array([[-1e308, 1.0]]), np.array([0]), 1e-3)
    assert np.isfinite(loss) and np.isfinite(flat.weights[1]).all()

    # a minibatch that does not fit is refused, not read out of bounds
    with pytest.raises(ValueError, match="2 features"):
        step(np.zeros((4, 3)), np.zeros(4, dtype=np.int64), 1e-3)

    # relu'(0) = 0, as functions.relu_prime and PyTorch take it: a hidden unit with z exactly 0
    # passes no gradient down, so the first layer does not move
    deep = netprop.Network([2, 2, 3], seed=0)
    deep.biases[0][...] = 0.0
    first = [deep.weights[0].copy(), deep.biases[0].copy()]
    step = CompiledStep.for_training(deep, make_optimizer("sgd", deep.parameters()), kernels)
    step(np.zeros((4, 2)), np.array([0, 1, 2, 0]), 0.5)
    np.testing.assert_array_equal(deep.weights[0], first[0])
    np.testing.assert_array_equal(deep.biases[0], first[1])
    assert np.abs(deep.biases[1]).max() > 0                  # the top layer did move


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_score_equals_numpy_score(dtype):
    """step.score with the compiled kernel against NumPy's (losses.cross_entropy and argmax), with
    one row whose label's ŷ underflowed to 0 and ties in another."""
    kernels = compiled_kernels()
    rng = np.random.default_rng(13)
    net = netprop.Network([20, 16, 10], seed=1, dtype=dtype)
    x = rng.normal(size=(40, 20)).astype(dtype)
    cache = fast.forward(net, x)
    labels = rng.integers(0, 10, size=40).astype(np.uint8)
    cache.z[-1][0] = 0
    cache.z[-1][0, 3] = 200 if dtype == "float32" else 2000    # ŷ[0, label] is 0 in this precision
    cache.z[-1][1] = 1.0                                       # a ten-way tie
    cache.y_hat = netprop.core.losses.softmax(cache.z[-1])
    labels[0] = 5
    assert cache.y_hat[0, 5] == 0
    ours, numpys = fast.score(cache, labels, kernels), fast.score(cache, labels)
    assert ours[1] == numpys[1]
    assert ours[0] == pytest.approx(numpys[0], rel=1e-6 if dtype == "float32" else 1e-13)


def test_the_trainer_takes_the_compiled_step_and_lands_where_numpy_does(monkeypatch):
    """An epoch of the Trainer with Numba (the compiled step) and without (NumPy alone) in float64:
    the same history figures and parameters to rounding, so the path taken changes no result."""
    from netprop.training import _kernels
    from netprop.training.fit import TrainConfig, Trainer

    kernels = compiled_kernels()
    rng = np.random.default_rng(14)
    X = rng.normal(size=(5000, 12))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 1)
    config = TrainConfig(hidden=[16], epochs=1, batch_size=50, lr=0.01, optimizer="adam", l2=1e-3, seed=3)
    compiled = Trainer(netprop.Network([12, 16, 3], seed=3), X, y, config)
    assert compiled.compiled is not None
    monkeypatch.setattr(_kernels, "get", lambda: None)
    plain = Trainer(netprop.Network([12, 16, 3], seed=3), X, y, config)
    assert plain.compiled is None and kernels is not None
    results = [trainer.train_epoch(1, lambda *a, **k: None)[:3] for trainer in (compiled, plain)]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    for a, b in zip(compiled.params, plain.params):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("activation, optimizer", [("relu", "adam"), ("relu", "momentum"), ("tanh", "nesterov")])
def test_warm_up_loads_what_the_run_will_call(activation, optimizer):
    """train_run's warm-up exercises the step the run's config takes (the compiled one where it
    applies, train_step and score elsewhere), with the IDX files' uint8 labels, so that the run's
    first epoch loads nothing; and it runs for configs the compiled step does not take."""
    from netprop.training.fit import TrainConfig
    from netprop.training.train_run import exercise_kernels

    kernels = compiled_kernels()
    exercise_kernels(TrainConfig(activation=activation, optimizer=optimizer))
    loaded = [(str(s[2].dtype), str(s[3].dtype)) for s in kernels["relu_softmax_step"].signatures]
    if activation == "relu":
        assert ("float32", "uint8") in loaded          # x and the labels, as a Fashion-MNIST run has them


def test_labels_outside_the_outputs_are_refused_before_training():
    """A label ≥ the number of outputs (or negative) is refused when the Trainer is made, on either
    path: one-hot rows would fail mid-epoch, and the compiled step must never index by it."""
    from netprop.training.fit import TrainConfig, Trainer

    X = np.zeros((10, 4))
    for bad in (3, -1):
        y = np.zeros(10, dtype=np.int64)
        y[4] = bad
        with pytest.raises(ValueError, match=r"labels must be 0 … 2 .* got -?\d+ … \d+"):
            Trainer(netprop.Network([4, 5, 3], seed=0), X, y, TrainConfig(hidden=[5]))
    with pytest.raises(ValueError, match="labels must be integers 0 … 2, got float64 values"):
        Trainer(netprop.Network([4, 5, 3], seed=0), X, np.zeros(10), TrainConfig(hidden=[5]))


def test_the_warm_up_lowers_the_switch_interval_and_overlapping_ones_restore_it():
    import sys

    from netprop.training import _kernels

    before = sys.getswitchinterval()
    quick = pytest.approx(min(before, 2e-4), rel=1e-3)    # held in whole microseconds
    _kernels._quick_handoffs(True)
    _kernels._quick_handoffs(True)                        # a second run's warm-up while the first loads
    assert sys.getswitchinterval() == quick
    _kernels._quick_handoffs(False)
    assert sys.getswitchinterval() == quick               # the other is still loading
    _kernels._quick_handoffs(False)
    assert sys.getswitchinterval() == pytest.approx(before, rel=1e-3)
