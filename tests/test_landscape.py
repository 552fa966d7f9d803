"""The loss landscape: snapshots on disk, the PCA plane (against scikit-learn), the fast grid (against net.loss)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import synthetic_npz
from netprop import Network
from netprop.storage.run_directory import TRAJECTORY
from netprop.training.landscape import (
    QUANT_BLOCK,
    Plane,
    PlaneLoss,
    TrajectoryRecorder,
    filter_normalised_direction,
    landscape_for_run,
    pca_plane,
    random_plane,

    load_snapshots,
    snapshot_files,
)
from netprop.training.fit import TrainConfig, fit


def train_with_snapshots(tmp_path, sizes, activation="relu", epochs=4, batch_size=8, max_snapshots=40, n=96,
                         seed=0):
    """A float64 net trained by fit() on blobs, its path recorded through fit()'s callback."""
    rng = np.random.default_rng(seed)
    c = sizes[-1]
    centres = rng.normal(size=(c, sizes[0]))
    y = np.arange(n) % c
    X = centres[y] + rng.normal(size=(n, sizes[0]))
    net = Network(sizes, activation=activation, seed=seed)
    config = TrainConfig(hidden=sizes[1:-1], activation=activation, epochs=epochs, batch_size=batch_size, lr=0.1,
                         optimizer="sgd", schedule="constant", seed=seed)
    steps = -(-n // batch_size) * epochs
    recorder = TrajectoryRecorder(tmp_path / TRAJECTORY, net, steps, epochs, max_snapshots)
    params = [p for W, b in zip(net.weights, net.biases) for p in (W, b)]
    last = {}

    def callback(event, **info):
        recorder(event, **info)
        if event == "epoch_end":
            last["theta"] = np.concatenate([p.ravel() for p in params])   # before fit() restores the best epoch
    fit(net, X, y, X[:16], y[:16], config, callback=callback)
    return net, X, y, last["theta"], steps


def loss_at(net, theta, X, y, l2=0.0):
    other = net.copy()
    other.unpack(theta)
    return other.loss(X, y, l2)


@pytest.mark.parametrize("sizes, activation, l2", [([6, 3], "relu", 0.0), ([6, 5, 4], "relu", 0.0),
                                                    ([6, 5, 5, 3], "tanh", 0.05)])
def test_grid_values_equal_net_loss(rng, sizes, activation, l2):
    net = Network(sizes, activation=activation, seed=1)
    P = net.n_parameters
    plane = Plane(net.pack(), rng.normal(size=P) * 0.3, rng.normal(size=P) * 0.3, np.zeros((0, 2)), "pca")
    X = rng.normal(size=(40, sizes[0]))
    y = rng.integers(0, sizes[-1], size=40)
    f = PlaneLoss(net, plane, X, y, l2=l2)
    alphas, betas = np.linspace(-1, 1.5, 4), np.linspace(-0.5, 2, 3)
    grid = f.grid(alphas, betas)
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            expected = loss_at(net, plane.origin + a * plane.d1 + b * plane.d2, X, y, l2)
            assert abs(grid[j, i] - expected) <= 1e-9 * abs(expected)


@pytest.mark.parametrize("sizes", [[5, 3], [5, 6, 3]])     # softmax regression (convex), a small relu net
def test_final_point_of_the_path(tmp_path, sizes):
    net, X, y, final, _ = train_with_snapshots(tmp_path, sizes)
    found = snapshot_files(tmp_path / TRAJECTORY)
    last = load_snapshots([p for _, p in found])[-1]
    # the last snapshot is where SGD stopped, to within half a step of its 8-bit code (one scale per block)
    scales = np.repeat(np.load(found[-1][1].with_name(found[-1][1].stem + ".scale.npy")), QUANT_BLOCK)
    assert (np.abs(last - final) <= scales[:final.size] / 2 * (1 + 1e-9) + 1e-15).all()
    plane = pca_plane([p for _, p in found])
    a, b = plane.coords[-1]
    assert np.allclose(plane.transform(last), (a, b), rtol=1e-9, atol=1e-12)
    value = PlaneLoss(net, plane, X, y)(a, b)
    assert abs(value - loss_at(net, plane.inverse_transform((a, b)), X, y)) <= 1e-9 * value


@pytest.mark.slow
def test_pca_agrees_with_scikit_learn(tmp_path):
    from sklearn.decomposition import PCA

    train_with_snapshots(tmp_path, [5, 6, 3])
    paths = [p for _, p in snapshot_files(tmp_path / TRAJECTORY)]
    thetas = load_snapshots(paths)
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(thetas)
    plane = pca_plane(paths)
    signs = np.sign((coords * plane.coords).sum(axis=0))       # PCA's components have no fixed sign
    assert np.allclose(plane.coords, coords * signs, rtol=1e-8, atol=1e-10)
    assert np.allclose(plane.explained, pca.explained_variance_ratio_, rtol=1e-8)
    assert np.allclose(plane.inverse_transform(plane.coords), pca.inverse_transform(coords), atol=1e-10)


def test_a_planar_path_is_reproduced_exactly(tmp_path, rng):
    P, m = 300, 30
    c, u, v = rng.normal(size=P), rng.normal(size=P), rng.normal(size=P)
    t = np.linspace(0, 3, m)
    thetas = c + np.outer(np.cos(t) * t, u) + np.outer(np.sin(2 * t), v)      # a curve inside one plane
    paths = []
    for k, theta in enumerate(thetas):
        paths.append(tmp_path / f"step-{k:08d}.npy")
        np.save(paths[-1], theta)
    plane = pca_plane(paths)
    assert np.allclose(plane.inverse_transform(plane.coords), thetas, rtol=0, atol=1e-11)
    assert abs(sum(plane.explained) - 1) < 1e-12


def test_snapshot_count_stays_bounded_on_a_long_run(tmp_path):
    _, _, _, _, steps = train_with_snapshots(tmp_path, [4, 3], epochs=25, batch_size=1, max_snapshots=25, n=64)
    assert steps == 1600
    found = snapshot_files(tmp_path / TRAJECTORY)
    assert len(found) <= 25
    assert found[0][0] == 0 and found[-1][0] == steps
    every = json.loads((tmp_path / TRAJECTORY / "meta.json").read_text())["every"]
    assert all(s % every == 0 for s, _ in found[:-1]) and every == 70      # ceil(1600 / 23)


def test_random_directions_are_filter_normalised(rng):
    net = Network([7, 5, 3], seed=0)
    theta = net.pack()
    d = filter_normalised_direction(net, theta, rng)
    other = net.copy()
    other.unpack(d)
    for W, D, b in zip(net.weights, other.weights, other.biases):
        assert np.allclose(np.linalg.norm(D, axis=1), np.linalg.norm(W, axis=1), rtol=1e-12)
        assert not np.allclose(D / np.linalg.norm(D), W / np.linalg.norm(W))
        assert np.all(b == 0)


def test_random_plane_goes_through_the_final_parameters(tmp_path):
    net, X, y, final, _ = train_with_snapshots(tmp_path, [5, 6, 3])
    paths = [p for _, p in snapshot_files(tmp_path / TRAJECTORY)]
    plane = random_plane(net, paths, seed=3)
    last = load_snapshots(paths)[-1]                     # where SGD stopped, as its 8-bit change reads back
    assert np.array_equal(plane.origin, last) and np.allclose(last, final, rtol=0, atol=1e-2 * np.abs(final).max())
    assert np.allclose(plane.coords[-1], 0, atol=1e-12)
    assert abs(PlaneLoss(net, plane, X, y)(0.0, 0.0) - loss_at(net, last, X, y)) < 1e-12


@pytest.mark.slow
def test_pictures_and_report_section_are_written(tmp_path):
    net, X, y, _, _ = train_with_snapshots(tmp_path, [5, 6, 3])
    (tmp_path / "report.md").write_text("# a run\n\n## Results\n\nsome numbers\n")
    for directions in ("random", "pca"):
        result = landscape_for_run(tmp_path, net, X, y, directions=directions, resolution=6, subset=50)
    for name in ("landscape_surface.png", "landscape_contour.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "report.md").read_text()
    assert report.count("## Loss landscape") == 1 and "some numbers" in report
    assert "landscape_surface.png" in report and "principal components explain" in report
    info = json.loads((tmp_path / "landscape.json").read_text())
    assert info["snapshots"] == result.snapshots and info["examples"] == 50 and result.loss.shape == (6, 6)
    # the grid covers the path, with a margin
    assert result.alphas[0] < result.coords[:, 0].min() and result.alphas[-1] > result.coords[:, 0].max()


def test_no_snapshots_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no trajectory snapshots in trajectory/ \\(train with --landscape"):
        landscape_for_run(tmp_path, Network([4, 3]), np.zeros((5, 4)), np.zeros(5, dtype=int))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_train_landscape_then_landscape_command(tmp_path):
    data = synthetic_npz(tmp_path / "d.npz", n=300, d=784, classes=3)
    out = tmp_path / "run"
    proc = run_cli("train", "--data", str(data), "--hidden", "8", "--epochs", "2", "--batch-size", "16",
                   "--landscape", "--landscape-snapshots", "12", "--landscape-grid", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "loss landscape (pca):" in proc.stdout and "PC1" in proc.stdout
    assert len(snapshot_files(out / TRAJECTORY)) <= 12
    assert "## Loss landscape" in (out / "report.md").read_text()
    from netprop.training.landscape import LandscapeOptions
    assert LandscapeOptions.of_run(out) == LandscapeOptions(max_snapshots=12, resolution=5)   # what --resume uses
    proc = run_cli("landscape", str(out), "--directions", "random", "--grid", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["directions"] == "random"
    plain = tmp_path / "plain"
    assert run_cli("train", "--data", str(data), "--hidden", "4", "--epochs", "1", "--out", str(plain),
                   "--quiet").returncode == 0
    proc = run_cli("landscape", str(plain))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no trajectory snapshots" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.slow          # a training run drawn twice; the grid and path tests stay
def test_quantised_snapshots_keep_the_picture_on_a_quarter_of_the_disk(tmp_path, monkeypatch):
    """Snapshots after θ₀ are stored as 8-bit changes: at most a third of float32's bytes, and the grid
    within 1e-3 of the loss recomputed in float64 from the exact path (PCA by SVD, net.loss at each point)."""
    exact = {}
    real_record = TrajectoryRecorder.record

    def record_exactly(self, step):
        exact[step] = self.net.pack().astype(np.float64)
        real_record(self, step)

    monkeypatch.setattr(TrajectoryRecorder, "record", record_exactly)
    rng = np.random.default_rng(4)
    sizes, n, epochs, batch = [100, 64, 10], 400, 6, 32
    centres = rng.normal(size=(sizes[-1], sizes[0]))
    y = np.arange(n) % sizes[-1]
    X = (centres[y] + 1.5 * rng.normal(size=(n, sizes[0]))).astype(np.float32)
    net = Network(sizes, seed=0, dtype="float32")
    steps = -(-n // batch) * epochs
    recorder = TrajectoryRecorder(tmp_path / TRAJECTORY, net, steps, epochs, max_snapshots=40)
    config = TrainConfig(hidden=sizes[1:-1], epochs=epochs, batch_size=batch, lr=0.02, optimizer="momentum",
                         schedule="constant")
    fit(net, X, y, X[:50], y[:50], config, callback=recorder)
    result = landscape_for_run(tmp_path, net, X, y, resolution=5, subset=n)

    files = [p for p in (tmp_path / TRAJECTORY).iterdir() if p.name.startswith("step-")]
    float32_bytes = len(exact) * (4 * net.n_parameters + 128)        # one float32 .npy per snapshot before
    assert sum(p.stat().st_size for p in files) <= float32_bytes / 3

    thetas = np.array([exact[s] for s in sorted(exact)])
    mean = thetas.mean(axis=0)
    _, _, Vt = np.linalg.svd(thetas - mean, full_matrices=False)
    coords = (thetas - mean) @ Vt[:2].T
    signs = np.where(coords[-1] < coords[0], -1.0, 1.0)                 # the path runs towards +a, +b
    d1, d2 = Vt[0] * signs[0], Vt[1] * signs[1]
    assert np.allclose(result.coords, coords * signs, atol=2e-3 * np.abs(coords).max())
    reference = Network(sizes, seed=0)
    recomputed = np.empty_like(result.loss)
    for j, b in enumerate(result.betas):
        for i, a in enumerate(result.alphas):
            reference.unpack(mean + a * d1 + b * d2)
            recomputed[j, i] = reference.loss(X.astype(np.float64), y)
    assert np.abs(result.loss - recomputed).max() <= 1e-3
