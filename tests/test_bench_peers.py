"""The benchmarks' JAX peer and kernel machinery compute what they claim (issue 22).

bench_epoch.py's ratios compare netprop with a JAX training step; they mean something only if that
step trains the same network with the same optimizer.  Here the JAX step is held to PyTorch's
autograd and torch.optim (an independent implementation of the same rules), the benchmark's own
same-computation check is shown to pass for the real peer and to fail for a peer that differs, and
the kernel settings are shown to change only the child's environment.  No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("jax") is None:      # looked for, not imported: the tests that use it are slow
    pytest.skip("could not import 'jax'", allow_module_level=True)
torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_epoch  # noqa: E402
import common  # noqa: E402
import jax_peer  # noqa: E402


def small_problem(rng, n=10, sizes=(6, 5, 4, 3)):
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=n)
    weights = [(rng.standard_normal((b, a)) * 0.5).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    biases = [(rng.standard_normal(b) * 0.1).astype(np.float32) for b in sizes[1:]]
    return X, y, weights, biases


def torch_epoch(X, y, weights, biases, perm, batch, optimizer, lr):
    """The same epoch through PyTorch: nn.Linear layers with relu, CrossEntropyLoss, torch.optim."""
    layers = []
    for W, b in zip(weights, biases):
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9 if optimizer == "momentum" else 0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for start in range(0, len(X), batch):
        idx = torch.from_numpy(perm[start:start + batch])
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
        opt.step()
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in model if isinstance(m, torch.nn.Linear)]


@pytest.mark.slow                                   # XLA compiles a step per minibatch shape
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_jax_step_trains_as_pytorch_does(optimizer, rng):
    """Three minibatches (4, 4 and the remainder 2) of the compiled JAX step against torch.optim."""
    X, y, weights, biases = small_problem(rng)
    perm = rng.permutation(len(X))
    lr = 0.05
    training = jax_peer.Training(weights, biases, X, y, 4, optimizer, lr)
    training.epoch(perm)
    expected = torch_epoch(X, y, weights, biases, perm, 4, optimizer, lr)
    for (W, b), (W_ref, b_ref), W0 in zip(training.numpy_params(), expected, weights):
        assert np.abs(W - W0).max() > 1e-3                      # the step moved the weights at all
        np.testing.assert_allclose(W, W_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, b_ref, rtol=1e-5, atol=1e-6)


def test_float64_loss_is_pytorchs_cross_entropy(rng):
    X, y, weights, biases = small_problem(rng, n=30)
    model_params = list(zip(weights, biases))
    h = torch.from_numpy(X).double()
    for W, b in model_params[:-1]:
        h = torch.relu(h @ torch.from_numpy(W).double().T + torch.from_numpy(b).double())
    W, b = model_params[-1]
    logits = h @ torch.from_numpy(W).double().T + torch.from_numpy(b).double()
    expected = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
    assert bench_epoch.mean_cross_entropy64(model_params, X, y, chunk=7) == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_same_computation_check_passes_for_the_peer_and_fails_for_another(optimizer, rng, monkeypatch):
    """netprop's Trainer and the JAX peer agree after an epoch; a JAX step with another constant does not."""
    X = rng.standard_normal((1000, 20)).astype(np.float32)
    y = (X @ rng.standard_normal((20, 10))).argmax(axis=1)     # labels a network can learn
    same = bench_epoch.same_computation(X, y, [20, 16, 10], 16, optimizer)
    assert same["netprop"] < 0.8 * same["before"]               # one epoch (63 minibatches) trained
    assert same["relative"] <= bench_epoch.SAME_LOSS_RTOL
    if optimizer == "momentum":
        monkeypatch.setattr(jax_peer, "MOMENTUM", 0.8)
    else:
        monkeypatch.setattr(jax_peer, "ADAM_BETAS", (0.8, 0.999))
    other = bench_epoch.same_computation(X, y, [20, 16, 10], 16, optimizer)
    assert other["relative"] > bench_epoch.SAME_LOSS_RTOL


def test_flops_per_epoch_by_hand():
    # 784-512-10, one image: forward 784·512 + 512·10 multiply-adds, ∇W as many, δ through W2 512·10
    assert bench_epoch.flops_per_epoch(1, [784, 512, 10]) == 2 * (2 * (784 * 512 + 512 * 10) + 512 * 10)


def test_kernel_settings_change_only_the_childs_environment():
    base = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576", "PATH": "/bin"}
    assert common.kernel_environment("as-is", base) == base
    assert common.kernel_environment("unset", base) == {"PATH": "/bin"}
    assert common.kernel_environment("SkylakeX", base) == {**base, "OPENBLAS_CORETYPE": "SkylakeX"}
    assert base["OPENBLAS_CORETYPE"] == "Haswell"               # the caller's dict is left alone
    assert common.describe_setting("unset", base) == "OPENBLAS_CORETYPE unset, OPENBLAS_L2_SIZE unset"


def test_child_runs_on_the_cpus_given():
    before = dict(os.environ)
    code = "import json, os; print('progress'); print(json.dumps(sorted(os.sched_getaffinity(0))))"
    first = common.child_cpus(1)
    assert common.run_child(["-c", code], "as-is", first) == first
    assert dict(os.environ) == before


def test_child_failure_stops_with_its_status():
    with pytest.raises(SystemExit, match="exit status 3"):
        common.run_child(["-c", "raise SystemExit(3)"], "as-is")


def test_bad_arguments_name_the_problem(capsys):
    with pytest.raises(SystemExit):
        bench_epoch.parse_args(["--skip", "tensorflow"])
    assert "unknown --skip tensorflow" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="unknown optimizer 'rmsprop'"):
        bench_epoch.parse_args(["--configs", "784-10x16:rmsprop"])
