"""Seconds per epoch: netprop vs PyTorch (CPU), JAX (jit) and scikit-learn, under two OpenBLAS kernels.

Each configuration trains a network 784-…-10 (relu, softmax, mean cross-entropy) with its row's
optimizer (SGD, momentum 0.9, or Adam), constant learning rate, on 48,000 Fashion-MNIST training
images in float32 (the size of `netprop train`'s training split, so that s/epoch compares with
history.csv), a fresh shuffle each epoch.  The peers are in epoch_peers.py and jax_peer.py; JAX
runs the whole step (forward, autodiff backward, update) compiled by XLA, and its compile time is
reported apart, never in an epoch.

Every table is measured twice in this one command, once per kernel setting (--kernels): by
default with the environment as it is and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (the
kernel OpenBLAS picks for this CPU).  Each configuration runs in a child process per setting, the
settings alternating in order from one configuration to the next; this process's own environment
is never changed.  The table names the kernel threadpoolctl reports in each child.

Within a child, all libraries run in `--cycles` cycles: in each, every library trains a block of
1 + `--epochs` consecutive epochs (the first not counted), the order reversed from one cycle to the
next, so that each meets the same background load.  s/epoch is the median over the cycles;
"netprop ÷ this" is the median of the ratios taken within each cycle (below 1: netprop is faster),
with their range, which shows how much the machine's load moved.

Three rows time only each epoch's matrix products (the same shapes and minibatches, nothing else),
through NumPy's BLAS as netprop calls it, through PyTorch's kernels and compiled by XLA: a floor
under any implementation built on that library.

Before timing, each child checks that netprop and JAX compute the same thing: one epoch of each
from netprop's initial weights over the same minibatches, in float64, must end at the same loss on
those images (SAME_LOSS_RTOL); the float32 epochs' difference is shown beside it.  A mismatch is
printed and the command fails.

    python benchmarks/bench_epoch.py                       # every row of docs/benchmarks.md's table
    python benchmarks/bench_epoch.py --quick               # the same rows, a quarter of the images, 2 cycles
    python benchmarks/bench_epoch.py --configs 784-512-10x256:adam --cycles 6 --skip sklearn
    python benchmarks/bench_epoch.py --kernels Haswell,unset   # force a kernel where nothing sets one
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from common import (blas_description, blas_kernel, child_cpus, describe_setting, fashion_mnist_float32, machine,
                    run_child, sgemm_peak, table)
from epoch_peers import LR, PEERS, SEED, SKIP_WORDS, ignore_event, netprop_trainer

EXAMPLES = 48_000
QUICK = {"examples": 12_000, "cycles": 2}

# (layer sizes, batch, optimizer): the course's tuning range, deeper nets, and netprop train's default
CONFIGS = ("784-30-10x16:sgd,784-50-50-50-10x16:sgd,784-40-40-40-40-10x64:sgd,784-128-10x64:adam,"
           "784-128-10x64:momentum,784-1024-10x128:momentum,784-512-10x256:adam")

# The check trains both in float64, where two libraries that sum in different orders still agree
# to some 1e-15 after an epoch (measured: 2e-16 for 784-50-50-50-10, SGD).  In float32 they can part
# ways for good: a hidden unit's z within rounding of 0 (7e-7 on minibatch 281 of 784-50-50-50-10,
# SGD) passes relu in one library and not in the other, and the epochs end 0.4 % apart; that
# difference is reported beside the check, not judged.  Another computation (β1 = 0.8 for 0.9, μ =
# 0.8 for 0.9, a float32 bias correction) moves the float64 loss by 1e-6 or more.
SAME_LOSS_RTOL = 1e-9
# The check's epoch runs on the first images only: four more epochs (two libraries, two precisions)
# per configuration and kernel, and a quarter of the training split already takes every path.
CHECK_EXAMPLES = 12_000


def parse_config(spec):
    """"784-512-10x256:adam" -> ([784, 512, 10], 256, "adam")."""
    net, _, optimizer = spec.partition(":")
    sizes, batch = net.lower().split("x")
    optimizer = optimizer or "momentum"
    if optimizer not in LR:
        raise SystemExit(f"unknown optimizer {optimizer!r} in {spec!r}; use sgd, momentum or adam")
    return [int(s) for s in sizes.split("-")], int(batch), optimizer


def flops_per_epoch(n, sizes):
    """Forward z = h Wᵀ, ∇W = δᵀ h, and δ Wᵀ for every layer but the first: 2 flops per multiply-add."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = sum(a * b for a, b in pairs) * 2 + sum(a * b for a, b in pairs[1:])
    return 2 * n * macs


def mean_cross_entropy64(params, X, y, chunk=4096):
    """The mean cross-entropy of the network [(W, b), …] on (X, y), computed in float64."""
    total = 0.0
    for start in range(0, len(X), chunk):
        h = X[start:start + chunk].astype(np.float64)
        for W, b in params[:-1]:
            h = np.maximum(h @ W.T.astype(np.float64) + b, 0)
        W, b = params[-1]
        z = h @ W.T.astype(np.float64) + b
        top = z.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
        total += float((log_sum - z[np.arange(len(z)), y[start:start + chunk]]).sum())
    return total / len(X)


def same_computation(X, y, sizes, batch, optimizer, dtype="float64"):
    """netprop and JAX trained one epoch in dtype from the same weights over the same minibatches.

    Returns the loss on (X, y) before, after netprop's epoch, after JAX's, and the two results'
    relative difference.
    """
    import jax
    import jax_peer

    X = X.astype(dtype)
    with jax.enable_x64(dtype == "float64"):
        return _same_computation(X, y, sizes, batch, optimizer, dtype, jax_peer)


def _same_computation(X, y, sizes, batch, optimizer, dtype, jax_peer):
    trainer = netprop_trainer(X, y, sizes, batch, optimizer, dtype)
    start = [(W.copy(), b.copy()) for W, b in zip(trainer.net.weights, trainer.net.biases)]
    # the order the Trainer's first epoch draws: its generator is default_rng(seed), and an
    # epoch's first draw is the permutation
    perm = np.random.default_rng(SEED).permutation(len(X))
    trainer.train_epoch(1, ignore_event)
    training = jax_peer.Training([W for W, _ in start], [b for _, b in start], X, y, batch, optimizer, LR[optimizer])
    training.epoch(perm)
    netprop_loss = mean_cross_entropy64(list(zip(trainer.net.weights, trainer.net.biases)), X, y)
    jax_loss = mean_cross_entropy64(training.numpy_params(), X, y)
    return {"before": mean_cross_entropy64(start, X, y), "netprop": netprop_loss, "jax": jax_loss,
            "relative": abs(netprop_loss - jax_loss) / abs(jax_loss)}


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(epoch, clock):
    """Seconds of one epoch by clock: wall time, or the CPU time of the process (every thread's)."""
    started = clock()
    epoch()
    return clock() - started


def measure(X, y, spec, cycles, epochs, skip, clock=time.perf_counter):
    """{library: [s/epoch of each cycle]}, the JAX step's compile seconds (or None) for one configuration."""
    sizes, batch, optimizer = parse_config(spec)
    runners = {name: make(X, y, sizes, batch, optimizer) for name, (make, words) in PEERS.items()
               if not skip.intersection(words)}
    # Each cycle runs every library once: a block of 1 + `epochs` consecutive epochs, the first not
    # counted (another library's idle thread pool may still be spinning).  Cycles alternate their
    # order, so that slow drifts in the machine's load fall on every library alike; the ratios are
    # taken within each cycle (minutes apart at most) and then summarised.
    results = {name: [] for name in runners}
    names = list(runners)
    for c in range(cycles):
        for name in (names if c % 2 == 0 else names[::-1]):
            runners[name]()
            results[name].append(statistics.median(timed(runners[name], clock) for _ in range(epochs)))
    compile_seconds = getattr(runners.get("JAX (jit)"), "compile_seconds", None)
    return results, compile_seconds


def child(args):
    """Measure the configurations under this process's kernel; print one JSON line."""
    import torch

    from netprop.training import _kernels

    kernels = "Numba" if _kernels.available() else "NumPy (no Numba)"

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    X, y, _, _ = fashion_mnist_float32()
    X, y = X[:args.examples], y[:args.examples]
    skip = set(filter(None, args.skip.split(",")))
    configs = {}
    for spec in args.configs.split(","):
        sizes, batch, optimizer = parse_config(spec)
        Xc, yc = X[:CHECK_EXAMPLES], y[:CHECK_EXAMPLES]
        check = None if "jax" in skip else {dtype: same_computation(Xc, yc, sizes, batch, optimizer, dtype)
                                            for dtype in ("float64", "float32")}
        results, compile_seconds = measure(X, y, spec, args.cycles, args.epochs, skip, CLOCKS[args.clock])
        configs[spec] = {"results": results, "compile_seconds": compile_seconds, "check": check}
    versions = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if "jax" not in skip:
        import jax
        versions["jax"] = jax.__version__
    print(json.dumps({"kernel": blas_kernel(), "blas": blas_description(), "peak": sgemm_peak(),
                      "kernels": kernels, "versions": versions, "examples": len(X), "configs": configs}))


def ratio_text(ratios):
    ratios = sorted(ratios)
    return f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})"


def epoch_rows(runs, settings, examples):
    """The main table: per configuration and library, s/epoch, GFLOP/s and netprop ÷ this under each setting."""
    rows = []
    for spec in runs[settings[0]]:
        sizes, batch, optimizer = parse_config(spec)
        flops = flops_per_epoch(examples, sizes)
        for name in runs[settings[0]][spec]["results"]:
            row = ["-".join(map(str, sizes)), batch, optimizer, name]
            for setting in settings:
                results = runs[setting][spec]["results"]
                t = statistics.median(results[name])
                ratio = "1" if name == "netprop" else \
                    ratio_text(a / b for a, b in zip(results["netprop"], results[name]))
                row += [f"{t:.3f}", f"{flops / t / 1e9:.1f}", ratio]
            rows.append(row)
    return rows


def best_peer_rows(runs, settings):
    """Per configuration and setting: the fastest peer that trains (not a products-only row) and netprop ÷ it."""
    rows = []
    for spec in runs[settings[0]]:
        sizes, batch, optimizer = parse_config(spec)
        row = ["-".join(map(str, sizes)), batch, optimizer]
        for setting in settings:
            results = runs[setting][spec]["results"]
            peers = [name for name in results if name != "netprop" and not name.endswith("only")]
            if not peers:
                row += ["", ""]
                continue
            best = min(peers, key=lambda name: statistics.median(results[name]))
            row += [best, ratio_text(a / b for a, b in zip(results["netprop"], results[best]))]
        rows.append(row)
    return rows


def check_rows(runs, settings):
    """Per configuration and setting: JAX's compile seconds and the same-computation check; and whether all passed."""
    rows, passed = [], True
    for spec in runs[settings[0]]:
        sizes, batch, optimizer = parse_config(spec)
        row = ["-".join(map(str, sizes)), batch, optimizer]
        for setting in settings:
            entry = runs[setting][spec]
            check = entry["check"]
            if check is None:
                row += ["", "", "", ""]
                continue
            exact, single = check["float64"], check["float32"]
            ok = exact["relative"] <= SAME_LOSS_RTOL
            passed &= ok
            row += [f"{entry['compile_seconds']:.2f}", f"{exact['before']:.4f} → {exact['netprop']:.9f} / "
                    f"{exact['jax']:.9f}", f"{exact['relative']:.1e}" + ("" if ok else " MISMATCH"),
                    f"{single['relative']:.1e}"]
        rows.append(row)
    return rows, passed


def report(runs, settings, args):
    """Print the header and the three tables; return whether every same-computation check passed."""
    print(f"machine: {machine()}; {args.examples} images per epoch, {args.cycles} cycles of 1 + {args.epochs} "
          f"epochs per library; {len(child_cpus(args.cpus))} CPUs per child; {args.clock} time")
    kernels = [next(iter(runs[setting].values()))["kernel"] for setting in settings]
    labels = [kernel if kernels.count(kernel) == 1 else f"{setting}: {kernel}"
              for setting, kernel in zip(settings, kernels)]
    for setting in settings:
        first = runs[setting][next(iter(runs[setting]))]
        peaks = [entry["peak"] for entry in runs[setting].values()]
        versions = first["versions"]
        print(f"{setting}: {describe_setting(setting)} -> NumPy BLAS {first['blas']}; "
              f"sgemm peak (2048² float32) {statistics.median(peaks):.1f} GFLOP/s")
    print(f"PyTorch {versions['torch']} ({versions['torch_threads']} threads), JAX {versions.get('jax', '-')}, "
          f"netprop's element-wise kernels: {first['kernels']}")
    if len(set(kernels)) < len(kernels):
        print(f"note: the settings {', '.join(settings)} ran the same kernel ({kernels[0]}): the environment "
              f"sets no other; --kernels Haswell,unset compares with the Haswell kernel")
    print()
    headers = ["network", "batch", "optimizer", "library"]
    for label in labels:
        headers += [f"{label} s/epoch", f"{label} GFLOP/s", f"{label} netprop ÷ this (range)"]
    print(table(epoch_rows(runs, settings, args.examples), headers))
    print("\nnetprop ÷ the fastest peer (PyTorch, JAX, scikit-learn) under each kernel:\n")
    headers = ["network", "batch", "optimizer"]
    for label in labels:
        headers += [f"{label}: fastest peer", f"{label}: netprop ÷ it (range)"]
    print(table(best_peer_rows(runs, settings), headers))
    rows, passed = check_rows(runs, settings)
    if any(cell for row in rows for cell in row[3:]):
        print(f"\nJAX's compile seconds (not in any epoch), and the same computation: on the first "
              f"{min(CHECK_EXAMPLES, args.examples):,} images, the loss at the start → after one epoch of netprop "
              f"/ of JAX in float64, from the same weights over the same minibatches (must agree within "
              f"{SAME_LOSS_RTOL:g}); the same epoch in float32 for comparison (not judged: see SAME_LOSS_RTOL):\n")
        headers = ["network", "batch", "optimizer"]
        for label in labels:
            headers += [f"{label}: compile s", f"{label}: float64 loss start → netprop / JAX",
                        f"{label}: rel. diff", f"{label}: float32 rel. diff"]
        print(table(rows, headers))
    return passed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=CONFIGS,
                        help="comma-separated SIZESxBATCH:OPTIMIZER, e.g. 784-512-10x256:adam (default: "
                             "docs/benchmarks.md's rows)")
    parser.add_argument("--cycles", type=int, help="cycles over the libraries, alternating their order "
                                                   f"(default 3; {QUICK['cycles']} with --quick)")
    parser.add_argument("--epochs", type=int, default=1,
                        help="timed epochs per library in each cycle, after one untimed (default 1)")
    parser.add_argument("--examples", type=int, help=f"training images per epoch (default {EXAMPLES:,}; "
                                                     f"{QUICK['examples']:,} with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="every row, both kernels, in a few minutes: fewer images and cycles")
    parser.add_argument("--kernels", default="as-is,unset",
                        help="comma-separated kernel settings, one column each: as-is (the environment as it "
                             "is), unset (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed), or an OpenBLAS core "
                             "type to force, e.g. Haswell (default: as-is,unset)")
    parser.add_argument("--skip", default="",
                        help="comma-separated peers to skip: torch, jax, sklearn, floor (the products-only rows)")
    parser.add_argument("--cpus", type=int, default=0,
                        help="run each child on this many of the machine's CPUs, so every library uses that many "
                             "threads (default: all; 1 keeps a shared machine's load from stalling BLAS threads)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="what an epoch's seconds are: wall time (default), or cpu, the CPU time of the child "
                             "process (all its threads): with --cpus 1 on a machine shared with other work, the "
                             "time each library computed rather than how long it waited for the CPU")
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cycles = args.cycles or (QUICK["cycles"] if args.quick else 3)
    args.examples = args.examples or (QUICK["examples"] if args.quick else EXAMPLES)
    unknown = set(filter(None, args.skip.split(","))) - set(SKIP_WORDS)
    if unknown:
        parser.error(f"unknown --skip {', '.join(sorted(unknown))}; use {', '.join(SKIP_WORDS)}")
    if args.cycles < 1 or args.epochs < 1 or args.cpus < 0 or not 1 <= args.examples <= 60_000:
        parser.error("--cycles and --epochs must be >= 1, --cpus >= 0, --examples 1 to 60,000")
    for spec in args.configs.split(","):
        parse_config(spec)
    return args


def main():
    args = parse_args()
    if args.child:
        child(args)
        return
    settings = args.kernels.split(",")
    common = ["--cycles", str(args.cycles), "--epochs", str(args.epochs), "--examples", str(args.examples),
              "--skip", args.skip, "--clock", args.clock]
    runs = {setting: {} for setting in settings}
    for i, spec in enumerate(args.configs.split(",")):
        for setting in (settings if i % 2 == 0 else settings[::-1]):
            print(f"{spec}, {setting} ...", file=sys.stderr, flush=True)
            out = run_child([os.path.abspath(__file__), "--child", "--configs", spec, *common], setting,
                            child_cpus(args.cpus))
            runs[setting][spec] = {**out.pop("configs")[spec], **out}   # the child's kernel, versions, peak with it
    runs = {setting: {spec: runs[setting][spec] for spec in args.configs.split(",")} for setting in settings}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": {s: describe_setting(s) for s in settings}, "runs": runs}, f, indent=1)
    if not report(runs, settings, args):
        raise SystemExit("netprop and JAX did not compute the same thing (MISMATCH above): the timings compare "
                         "different computations")


if __name__ == "__main__":
    main()
