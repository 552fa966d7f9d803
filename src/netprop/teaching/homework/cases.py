"""The seeded cases a student's functions are called on: small random networks of several depths,
a random network at the module's own sizes, and Fashion-MNIST images at those sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Several depths; the second has hidden layers as wide as the output (where ŷ − y used at a hidden
# layer runs and can be named) and square hidden W's (where W used for Wᵀ runs).
RANDOM_SHAPES = (("1 hidden layer", [6, 5, 4]), ("2 hidden layers", [7, 4, 4, 4]),
                 ("3 hidden layers", [5, 6, 6, 6, 4]))


@dataclass
class Case:
    title: str
    sizes: list
    X: np.ndarray             # (n, d), examples as rows
    labels: np.ndarray        # (n,)
    weights: list             # W (out, in)
    biases: list
    own: bool = False         # at the module's own sizes (no NUM_* changed)

    @property
    def n(self):
        return len(self.X)

    def one_hot(self):
        return np.eye(self.sizes[-1])[self.labels]


def random_case(title, sizes, n, rng, own=False):
    """Random W (wider than the course's start, so that ReLUs switch), random b, x and labels."""
    weights = [rng.uniform(-2, 2, size=(o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0, 0.3, size=o) for o in sizes[1:]]
    X = rng.normal(size=(n, sizes[0]))
    return Case(title, list(sizes), X, rng.integers(0, sizes[-1], size=n), weights, biases, own)


def examples_for(sizes, wanted):
    """A number of examples near wanted that differs from every layer size (so rows and columns differ)."""
    n = wanted
    while n in sizes:
        n += 1
    return n


def image_case(sizes, rng, data_dir=None, wanted=8):
    """Fashion-MNIST test images scaled to [0, 1] at the module's sizes; None without the data."""
    from ...data import FASHION_MNIST_FILES, DataError, find_fashion_mnist, read_idx
    from ...core.network import Network

    try:
        directory = find_fashion_mnist(data_dir, download=False)
        images = read_idx(directory / FASHION_MNIST_FILES["test_images"][0]).reshape(-1, 784)
        labels = read_idx(directory / FASHION_MNIST_FILES["test_labels"][0])
    except (DataError, OSError, ValueError) as exc:
        if data_dir is not None:           # asked for by name: a silent skip would hide the typo
            from .student import CheckError
            raise CheckError(str(exc)) from None
        return None
    n = examples_for(sizes, wanted)
    idx = rng.choice(len(images), size=n, replace=False)
    net = Network(sizes, init="course", seed=int(rng.integers(2 ** 31)))
    return Case(f"{n} Fashion-MNIST images, {'-'.join(map(str, sizes))} with the course's initial weights",
                list(sizes), images[idx] / 255.0, labels[idx].astype(np.int64) % sizes[-1],
                [W.astype(np.float64) for W in net.weights], [b.astype(np.float64) for b in net.biases], True)


def plan(own_sizes, depths, seed, images, data_dir):
    """The cases in the order they run: the module's own sizes first (they establish the conventions),
    then random networks of other sizes where they can be set (depths "any", or "one" hidden layer), then
    images."""
    rng = np.random.default_rng(seed)
    shape = "-".join(map(str, own_sizes))
    cases = [random_case(f"random weights at your sizes {shape}", own_sizes, examples_for(own_sizes, 5), rng,
                         own=True)]
    if depths:
        for title, sizes in RANDOM_SHAPES:
            if sizes != own_sizes and (depths == "any" or len(sizes) == 3):
                cases.append(random_case(f"random {'-'.join(map(str, sizes))} ({title}), 3 examples", sizes, 3, rng))
    if images and own_sizes[0] == 784:
        case = image_case(own_sizes, rng, data_dir)
        if case is not None:
            cases.append(case)
    return cases
