"""Where a training step's time goes: matrix products against element-wise work, netprop against JAX.

Two tables, each measured under every OpenBLAS kernel setting (--kernels, as in bench_epoch.py:
one child process per setting, this process's environment unchanged):

1. The first layer's two products at the configuration's shapes, the bulk of a wide network's
   epoch: forward z = W1 xᵀ and ∇W1 = δᵀx (the n × d minibatch x, δ of the hidden layer), once
   through NumPy's OpenBLAS exactly as netprop's step calls them (W @ x.T, and _blas.gemm_tn on
   the column-major δ), once compiled by XLA (x @ W1ᵀ and δᵀx, one jitted function each), in
   GFLOP/s.  XLA does not use OpenBLAS: its figure moves with the machine's load only.
2. netprop's step, phase by phase, in ms per minibatch (the fastest of an epoch's minibatches):
   the minibatch gather; forward, backward (δ) and update, each split into its matrix products
   (the same products timed alone on the same shapes) and the rest (element-wise work: bias,
   relu, softmax, ŷ − y, relu', the optimizer's arithmetic, and the Python around it); and the
   Trainer's loss and accuracy bookkeeping.  These are NumPy's step (step.py); where Numba is
   there, the Trainer's step is the compiled one (compiled_step.py), timed whole beside it.  And
   JAX's whole compiled step and its products alone (XLA), so that each library's element-wise
   share can be read off.

    python benchmarks/profile_step.py                                      # 784-512-10x256:adam
    python benchmarks/profile_step.py --config 784-1024-10x128:momentum --kernels Haswell,unset
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from common import (blas_description, blas_kernel, child_cpus, describe_setting, fashion_mnist_float32, machine,
                    run_child, table)
from epoch_peers import LR, MOMENTUM, SEED, netprop_trainer


def best_seconds(function, repeats):
    """The shortest wall time of function() over repeats calls, after one untimed call.

    The shortest, not the median: on a shared machine a call is only ever slowed by other work, and
    a profile asks what each piece costs, not how the load moved.
    """
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def first_layer_products(X, sizes, batch, repeats):
    """{product: GFLOP/s}: the first layer's forward and ∇W products through NumPy and through XLA."""
    import jax
    import jax.numpy as jnp

    from netprop.training._blas import gemm_tn

    rng = np.random.default_rng(SEED)
    n, d, m = batch, sizes[0], sizes[1]
    x = np.ascontiguousarray(X[rng.permutation(len(X))[:n]])
    W = (rng.standard_normal((m, d)) * 0.05).astype(np.float32)
    delta = np.asfortranarray(rng.standard_normal((n, m)).astype(np.float32))   # column-major, as the step's δ
    grad = np.empty_like(W)
    flops = 2 * n * d * m
    forward_xla = jax.jit(lambda x, W: x @ W.T)
    grad_xla = jax.jit(lambda delta, x: delta.T @ x)
    xj, Wj, dj = jnp.asarray(x), jnp.asarray(W), jnp.asarray(delta)
    seconds = {
        "forward z = W1 xᵀ: NumPy": best_seconds(lambda: W @ x.T, repeats),
        "forward z = W1 xᵀ: XLA": best_seconds(lambda: forward_xla(xj, Wj).block_until_ready(), repeats),
        "∇W1 = δᵀx: NumPy (gemm_tn)": best_seconds(lambda: gemm_tn(delta, x, grad), repeats),
        "∇W1 = δᵀx: XLA": best_seconds(lambda: grad_xla(dj, xj).block_until_ready(), repeats),
    }
    return {name: flops / s / 1e9 for name, s in seconds.items()}


class PhaseClock:
    """Seconds per phase, one entry per minibatch: clock.time("phase", f, *args) runs f and records it."""

    def __init__(self):
        self.seconds = {}

    def time(self, phase, function, *args):
        started = time.perf_counter()
        result = function(*args)
        self.seconds.setdefault(phase, []).append(time.perf_counter() - started)
        return result

    def best_ms(self):
        return {phase: 1e3 * min(times) for phase, times in self.seconds.items()}


def products_alone(clock, net, x, deltas, inputs, beta):
    """The step's matrix products alone, on its own arrays: forward W hᵀ, backward W δ, ∇W = δᵀh."""
    from netprop.training._blas import gemm_tn

    def forward():
        h = x
        for W in net.weights:
            h = (W @ h.T).T

    def backward():
        return [(net.weights[l].T @ deltas[l].T).T for l in range(1, net.n_layers)]

    buffers = [np.empty_like(W) for W in net.weights]

    def gradients():
        for delta, h, out in zip(deltas, inputs, buffers):
            gemm_tn(delta, h, out, 1.0, beta)

    clock.time("forward: products", forward)
    clock.time("backward δ: products", backward)
    clock.time("update: ∇W products", gradients)


def minibatch(X, y, one_hot, idx):
    """What the Trainer slices for a step: the rows, their labels, and the one-hot targets."""
    return X[idx], y[idx], one_hot[y[idx]]


def bookkeeping(cache, labels):
    """The Trainer's per-step loss and count of correct predictions, as NumPy's step has them."""
    from netprop.training import step

    return step.score(cache, labels)


def compiled_step(compiled, X, y, idx, lr):
    """The Trainer's step where Numba is there (compiled_step.py): the minibatch, then one call."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        compiled(X[idx], y[idx], lr)


def trainer_step(net, opt, params, X, y, one_hot, idx, lr):
    """The body of the Trainer's loop for one minibatch with NumPy's step, as fit.py runs it without
    Numba (and without the progress callback)."""
    from netprop.training import step

    xb, yb, Y = minibatch(X, y, one_hot, idx)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        cache = step.train_step(net, opt, xb, Y, lr, 0.0, params)
        bookkeeping(cache, yb)


def step_phases(X, y, sizes, batch, optimizer, epochs):
    """ms per minibatch (the fastest) of each phase of netprop's step, of its whole step, and of JAX's.

    The libraries take turns minibatch by minibatch, so that a change in the machine's load falls on
    all of them alike.
    """
    import jax_peer

    from netprop.training import step

    trainer = netprop_trainer(X, y, sizes, batch, optimizer)
    net, opt, one_hot, params = trainer.net, trainer.optimizer, trainer.one_hot, trainer.params
    beta = MOMENTUM if optimizer == "momentum" else 0.0
    training = jax_peer.Training(*jax_peer.initial_weights(sizes), X, y, batch, optimizer, LR[optimizer])
    products = jax_peer.jax_products_epochs(X, y, sizes, batch, optimizer)
    rng = np.random.default_rng(SEED)
    clock = PhaseClock()
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for start in range(0, len(X) - batch + 1, batch):             # full minibatches only
            clock.time("JAX whole step", training.one_step, perm[start:start + batch].astype(np.int32))
            clock.time("XLA products alone", products.one_step, perm[start:start + batch].astype(np.int32))
            xb, yb, Y = clock.time("minibatch: X[idx], one-hot", minibatch, X, y, one_hot, perm[start:start + batch])
            cache = clock.time("forward: all", step.forward, net, xb)
            deltas = clock.time("backward δ: all", step.deltas, net, cache, Y)
            inputs = [xb] + cache.h
            clock.time("update: all", opt.update_from_deltas, params, deltas, inputs, LR[optimizer])
            clock.time("loss and accuracy", bookkeeping, cache, yb)
            products_alone(clock, net, xb, deltas, inputs, beta)
            clock.time("the Trainer step, whole", trainer_step, net, opt, params, X, y, one_hot,
                       perm[start:start + batch], LR[optimizer])
            if trainer.compiled is not None:
                clock.time("the compiled step, whole", compiled_step, trainer.compiled, X, y,
                           perm[start:start + batch], LR[optimizer])
    return clock.best_ms()


def child(args):
    from bench_epoch import parse_config

    sizes, batch, optimizer = parse_config(args.config)
    X, y, _, _ = fashion_mnist_float32()
    X, y = X[:args.examples], y[:args.examples]
    gflops = first_layer_products(X, sizes, batch, args.repeats)
    phases = step_phases(X, y, sizes, batch, optimizer, args.epochs)
    jax = {name: phases.pop(name) for name in ("JAX whole step", "XLA products alone")}
    print(json.dumps({"kernel": blas_kernel(), "blas": blas_description(), "gflops": gflops, "phases": phases,
                      "jax": jax}))


PHASES = ("minibatch: X[idx], one-hot", "forward", "backward δ", "update", "loss and accuracy")


def phase_rows(runs, settings):
    """Rows (phase, ms per minibatch under each setting): products and the rest of each phase."""
    rows = []
    for phase in PHASES:
        parts = ["all"] if phase in ("forward", "backward δ", "update") else [None]
        for part in (("products", "rest") if parts[0] else (None,)):
            row = [phase if part is None else f"{phase}: {'matrix products' if part == 'products' else 'the rest'}"]
            for setting in settings:
                ms = runs[setting]["phases"]
                if part is None:
                    value = ms[phase]
                else:
                    products = ms[f"{phase}: products" if phase != "update" else "update: ∇W products"]
                    value = products if part == "products" else ms[f"{phase}: all"] - products
                row.append(f"{value:.3f}")
            rows.append(row)
    total = ["netprop: sum of the phases"] + [f"{sum_phases(runs[s]['phases']):.3f}" for s in settings]
    whole = ["netprop: the NumPy step (train_step and the score), whole"] + [
        f"{runs[s]['phases']['the Trainer step, whole']:.3f}" for s in settings]
    compiled = ["netprop: the compiled step (the Trainer's with Numba), whole"] + [
        f"{runs[s]['phases']['the compiled step, whole']:.3f}" if "the compiled step, whole" in runs[s]["phases"]
        else "no Numba" for s in settings]
    jax = [[name] + [f"{runs[s]['jax'][name]:.3f}" for s in settings] for name in runs[settings[0]]["jax"]]
    return rows + [total, whole, compiled] + jax


def sum_phases(ms):
    return sum(ms[p] for p in ("minibatch: X[idx], one-hot", "forward: all", "backward δ: all", "update: all",
                               "loss and accuracy"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="784-512-10x256:adam", help="SIZESxBATCH:OPTIMIZER (default: "
                                                                      "netprop train's, 784-512-10x256:adam)")
    parser.add_argument("--kernels", default="as-is,unset", help="kernel settings, as in bench_epoch.py")
    parser.add_argument("--examples", type=int, default=48_000, help="training images per epoch (default 48,000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of minibatches per measurement (default 2)")
    parser.add_argument("--repeats", type=int, default=200, help="calls per product timed (default 200)")
    parser.add_argument("--cpus", type=int, default=0, help="CPUs per child, as in bench_epoch.py (default: all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from bench_epoch import parse_config

    sizes, batch, _ = parse_config(args.config)
    settings = args.kernels.split(",")
    argv = [os.path.abspath(__file__), "--child", "--config", args.config, "--examples", str(args.examples),
            "--epochs", str(args.epochs), "--repeats", str(args.repeats)]
    runs = {}
    for setting in settings:
        print(f"{args.config}, {setting} ...", file=sys.stderr, flush=True)
        runs[setting] = run_child(argv, setting, child_cpus(args.cpus))
    labels = [runs[s]["kernel"] if [runs[t]["kernel"] for t in settings].count(runs[s]["kernel"]) == 1
              else f"{s}: {runs[s]['kernel']}" for s in settings]
    print(f"machine: {machine()}; {args.config}, {args.examples} images, {len(child_cpus(args.cpus))} CPUs per child")
    for setting in settings:
        print(f"{setting}: {describe_setting(setting)} -> {runs[setting]['blas']}")
    print(f"\nThe first layer's products, {batch} × {sizes[0]} by {sizes[0]} × {sizes[1]}, GFLOP/s "
          f"(the fastest of {args.repeats} calls):\n")
    names = list(runs[settings[0]]["gflops"])
    print(table([[name] + [f"{runs[s]['gflops'][name]:.0f}" for s in settings] for name in names],
                ["product"] + [f"{label}" for label in labels]))
    steps = args.examples // batch
    print(f"\nms per minibatch of {batch} (the fastest of {args.epochs} epochs of {steps} minibatches):\n")
    print(table(phase_rows(runs, settings), ["phase"] + [f"{label}" for label in labels]))


if __name__ == "__main__":
    main()
