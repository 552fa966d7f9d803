"""The loss landscape around an SGD trajectory: snapshots on disk, a plane through them, the loss on a grid.

The course's picture: record the parameter vector θ every k steps while training, find the plane
that holds most of the path (PCA of the visited θ's: ``fit_transform`` gives each snapshot's
coordinates (a, b), ``inverse_transform`` maps (a, b) back to θ = θ₀ + a·d₁ + b·d₂), evaluate the
loss on a grid of (a, b) in that plane, and draw the path across the surface.  PCA of a path shows
only where SGD went; the filter-normalised random directions of Li et al., "Visualizing the Loss
Landscape of Neural Nets" (NeurIPS 2018) show the surroundings of the final θ instead.

The grid is cheap because the first layer's product is linear along the plane::

    X (W1⁰ + a D1 + b E1)ᵀ = P0 + a P1 + b P2      (three products, computed once)

so each grid point costs element-wise work plus the small later layers.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..storage.models import atomic_write, save_arrays, write_json
from ..storage.run_directory import (LANDSCAPE_ARRAYS, LANDSCAPE_CONTOUR, LANDSCAPE_FILES, LANDSCAPE_SUMMARY,
                                     LANDSCAPE_SURFACE, REPORT, SNAPSHOT_GLOB, SNAPSHOT_PATTERN, TRAJECTORY,
                                     TRAJECTORY_META, snapshot_name, snapshot_scale_name)

DIRECTIONS = ("pca", "random")
# Snapshots after the first are stored as their change from the one before in 8 bits, one float32
# scale per block of this many parameters: 1 + 1/16 bytes a parameter instead of float32's 4 (about a
# quarter of the disk).  The change is taken from the previous snapshot as read back, so rounding
# does not pile up along the path: every θ read back is within max|change| / 254 of its block of the
# recorded one, and a change between two snapshots is a small part of the whole path.
QUANT_BLOCK = 64


# --- recording the trajectory ------------------------------------------------------------


def snapshot_interval(total_steps, max_snapshots):
    """k: record every k-th step so that steps 0, k, 2k, … and the last step make at most max_snapshots."""
    if max_snapshots < 3:
        raise ValueError(f"max_snapshots must be >= 3, got {max_snapshots}")
    return max(1, math.ceil(total_steps / (max_snapshots - 2)))


class TrajectoryRecorder:
    """A fit() callback writing θ = net.pack() to directory/step-NNNNNNNN.npy every k steps.

    Records step 0 (before the first update), every k-th step and the last step of the run, so a
    run of total_steps keeps at most max_snapshots snapshots whatever its length.  Step 0 is θ₀ in
    full; every later one is its change from the previous snapshot as read back, quantised
    (quantise_delta: step-N.npy the int8 codes, step-N.scale.npy the scales).  Each file is written
    atomically, the scales first; a resumed run rewrites the same steps with the same values.
    """

    def __init__(self, directory, net, total_steps, total_epochs, max_snapshots=200, options=None):
        self.directory = Path(directory)
        self.net = net
        self.total_epochs = total_epochs
        self.every = snapshot_interval(total_steps, max_snapshots)
        self.step = None
        self.directory.mkdir(parents=True, exist_ok=True)
        write_json(self.directory / TRAJECTORY_META, {
            "every": self.every, "max_snapshots": max_snapshots, "total_steps": total_steps,
            "layer_sizes": net.layer_sizes, "activation": net.activation,
            "layout": "netprop pack(): W1, b1, W2, b2, ... each W (out, in) row-major",
            "options": options or {}})

    def record(self, step):
        theta = self.net.pack()
        path = self.directory / snapshot_name(step)
        if step == 0:
            self.previous = theta.astype(np.float64)
            with atomic_write(path) as fh:
                np.save(fh, theta)
            return
        if getattr(self, "previous", None) is None:   # a resumed run: the last snapshot before this step
            earlier = [p for s, p in snapshot_files(self.directory) if s < step]
            self.previous = Trajectory(earlier).snapshot(len(earlier) - 1)
        codes, scales = quantise_delta(theta, self.previous)
        with atomic_write(_scale_path(path)) as fh:
            np.save(fh, scales)
        with atomic_write(path) as fh:
            np.save(fh, codes)
        self.previous = self.previous + codes * _scales_for(scales, 0, codes.size)     # as Trajectory reads it

    def __call__(self, event, **info):
        if event == "epoch_start" and info["epoch"] == 1:
            self.record(0)
        elif event == "batch":
            self.step = info["step"]
            if self.step % self.every == 0:
                self.record(self.step)
        elif event == "epoch_end" and self.step is not None and self.step % self.every and (
                info["record"]["epoch"] == self.total_epochs or info["stopped"]):
            self.record(self.step)       # the end of the path, where the run stopped


def quantise_delta(theta, previous, block=QUANT_BLOCK):
    """(int8 codes (P,), float32 scales (⌈P/block⌉,)) of θ − previous: each block's values in steps of
    max|θ − previous| / 127 over the block, rounded to the nearest step."""
    delta = np.asarray(theta, dtype=np.float64) - np.asarray(previous, dtype=np.float64)
    padded = np.zeros(-(-delta.size // block) * block)
    padded[:delta.size] = delta
    blocks = padded.reshape(-1, block)
    scales = (np.abs(blocks).max(axis=1) / 127).astype(np.float32)
    safe = np.where(scales > 0, scales, 1).astype(np.float64)
    codes = np.clip(np.rint(blocks / safe[:, None]), -127, 127).astype(np.int8)
    return codes.reshape(-1)[:delta.size], scales


def _scale_path(path):
    return Path(path).with_name(snapshot_scale_name(Path(path).name))


def _scales_for(scales, lo, hi, block=QUANT_BLOCK):
    """The float64 scale of each parameter lo … hi−1, from the per-block scales."""
    first = lo // block
    per_block = np.asarray(scales[first:-(-hi // block)], dtype=np.float64)
    return np.repeat(per_block, block)[lo - first * block:hi - first * block]


class Trajectory:
    """The snapshots of one path, in step order, read back in blocks of parameters.

    A snapshot is a whole θ (step 0, or a file an earlier netprop wrote) or int8 codes of the change
    from the snapshot before it (TrajectoryRecorder): θₖ = θₖ₋₁ + codes · scale, summed in float64 in
    step order.  Files are memory-mapped; a block reads only its part of each.
    """

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        self.files = [self._open(p) for p in self.paths]
        self.size = self.files[0][0].size if self.files else 0
        for path, (a, _) in zip(self.paths, self.files):
            if a.shape != (self.size,):
                raise ValueError(f"{path}: holds shape {a.shape}, but {self.paths[0].name} holds {self.size} "
                                 f"parameters: the snapshots do not all hold the same number of parameters")
        if self.files and self.files[0][1] is not None:
            raise ValueError(f"{self.paths[0]}: holds a change from an earlier snapshot, which is missing")

    @staticmethod
    def _open(path):
        try:
            a = np.load(path, mmap_mode="r")
            scales = np.load(_scale_path(path), mmap_mode="r") if a.dtype == np.int8 else None
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable snapshot ({exc})") from None
        if a.ndim != 1:
            raise ValueError(f"{path}: holds shape {a.shape}, not a flat parameter vector")
        if scales is not None and scales.shape != (-(-a.size // QUANT_BLOCK),):
            raise ValueError(f"{path}: its scales ({_scale_path(path).name}) do not match its {a.size} values")
        return a, scales

    def __len__(self):
        return len(self.files)

    def block(self, lo, hi):
        """θ[lo:hi] of every snapshot: (m, hi − lo) float64."""
        out = np.empty((len(self.files), hi - lo))
        for k, (a, scales) in enumerate(self.files):
            if scales is None:
                out[k] = a[lo:hi]
            else:
                out[k] = out[k - 1] + a[lo:hi] * _scales_for(scales, lo, hi)
        return out

    def snapshot(self, k, step=None):
        """The whole θ of snapshot k, (P,) float64, read in blocks of `step` parameters."""
        step = step or _block_rows(len(self.files))
        theta = np.empty(self.size)
        for s in range(0, self.size, step):
            theta[s:s + step] = self.block(s, min(s + step, self.size))[k]
        return theta


def snapshot_files(directory):
    """[(step, path), …] of the recorded snapshots in directory, in step order."""
    found = []
    for path in Path(directory).glob(SNAPSHOT_GLOB):
        match = SNAPSHOT_PATTERN.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


# --- the plane ------------------------------------------------------------------------------


@dataclass
class Plane:
    """θ(a, b) = origin + a·d1 + b·d2 in netprop's pack() layout (P,), and the trajectory in it.

    coords:     (m, 2) the snapshots' (a, b); for PCA their exact projections (fit_transform),
                for random directions their least-squares projections onto the plane
    explained:  for PCA, the fraction of the trajectory's variance along d1 and d2
    """

    origin: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    coords: np.ndarray
    directions: str
    explained: tuple | None = None

    def inverse_transform(self, ab):
        """θ for (a, b) pairs: (k, 2) -> (k, P), or (2,) -> (P,)."""
        ab = np.asarray(ab, dtype=np.float64)
        return self.origin + ab[..., :1] * self.d1 + ab[..., 1:2] * self.d2

    def transform(self, theta):
        """(a, b) of θ (P,) or (k, P): its least-squares position in the plane (orthogonal projection for PCA)."""
        D = np.stack([self.d1, self.d2])                       # (2, P)
        rhs = (np.asarray(theta, dtype=np.float64) - self.origin) @ D.T
        return np.linalg.solve(D @ D.T, rhs.T).T


def _block_rows(m):
    """Parameters per block when streaming m snapshots: about 32 MB of float64 at a time."""
    return max(1024, 4_000_000 // max(m, 1))


def _load_snapshot(path):
    """One snapshot file memory-mapped (whole θ or int8 codes), or ValueError naming the file that cannot be read."""
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable snapshot ({exc})") from None


def load_snapshots(paths):
    """θ of every snapshot of a path (the files of snapshot_files, in step order): (m, P) float64."""
    trajectory = Trajectory(paths)
    return trajectory.block(0, trajectory.size)


def _whole_snapshot(trajectory, k, size):
    """Snapshot k of a Trajectory as a float64 (size,) array, or ValueError naming its file."""
    path = trajectory.paths[k]
    if trajectory.size != size:
        raise ValueError(f"{path}: holds {trajectory.size} parameters, but the run's network has {size}")
    theta = trajectory.snapshot(k)
    if not np.isfinite(theta).all():
        raise ValueError(f"{path}: holds NaN or infinite parameters")
    return theta


def pca_plane(paths):
    """PCA of the snapshots (m files of θ, (P,) each) with two components, read from disk in blocks.

    The m × m Gram matrix of the centred snapshots gives the components without holding the
    m × P matrix: d_j = Θcᵀ u_j / √λ_j, and snapshot i's coordinate is √λ_j · u_ij.
    """
    m = len(paths)
    if m < 3:
        raise ValueError(f"the trajectory has {m} snapshots; a plane needs at least 3")
    trajectory = Trajectory(paths)
    P = trajectory.size
    mean = np.zeros(P)
    G = np.zeros((m, m))
    step = _block_rows(m)
    for s in range(0, P, step):
        block = trajectory.block(s, min(s + step, P))                           # (m, block)
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            # a NaN here reaches the eigensolver as "did not converge"
            raise ValueError(f"{paths[int(np.argmax(bad))]}: holds NaN or infinite parameters")
        mean[s:s + step] = block.mean(axis=0)
        block -= mean[s:s + step]
        G += block @ block.T
    lam, U = np.linalg.eigh(G)
    lam, U = lam[::-1], U[:, ::-1]                       # largest first
    lam = np.clip(lam, 0.0, None)
    if lam[1] <= 1e-24 * max(lam[0], 1e-300):
        raise ValueError("the trajectory lies on a line (its second principal component is 0); "
                         "use random directions instead")
    components = np.zeros((2, P))
    for s in range(0, P, step):
        block = trajectory.block(s, min(s + step, P)) - mean[s:s + step]
        components[:, s:s + step] = (U[:, :2].T @ block) / np.sqrt(lam[:2])[:, None]
    coords = U[:, :2] * np.sqrt(lam[:2])
    # A sign for each axis that does not depend on the eigensolver: the path runs towards +a, +b.
    for j in range(2):
        if coords[-1, j] < coords[0, j]:
            coords[:, j] *= -1
            components[j] *= -1
    total = lam.sum()
    return Plane(mean, components[0], components[1], coords, "pca",
                 (float(lam[0] / total), float(lam[1] / total)))


def filter_normalised_direction(net, theta, rng):
    """A Gaussian direction (P,) in pack() layout, each row of each W scaled to that row's norm in θ.

    Li et al. (2018): a neuron's incoming weights ("filter") get a random direction of the same
    norm, so that the plot's scale is that of the weights; bias directions are 0.
    """
    parts, offset = [], 0
    for fan_in, fan_out in zip(net.layer_sizes[:-1], net.layer_sizes[1:]):
        W = theta[offset:offset + fan_out * fan_in].reshape(fan_out, fan_in)
        D = rng.normal(size=W.shape)
        D *= np.linalg.norm(W, axis=1, keepdims=True) / np.linalg.norm(D, axis=1, keepdims=True)
        parts += [D.ravel(), np.zeros(fan_out)]
        offset += fan_out * fan_in + fan_out
    return np.concatenate(parts)


def random_plane(net, paths, seed=0):
    """The plane through the last snapshot θ* spanned by two filter-normalised random directions."""
    trajectory = Trajectory(paths)
    final = _whole_snapshot(trajectory, len(paths) - 1, net.n_parameters)
    rng = np.random.default_rng(seed)
    d1 = filter_normalised_direction(net, final, rng)
    d2 = filter_normalised_direction(net, final, rng)
    D = np.stack([d1, d2])
    rhs = np.zeros((len(paths), 2))
    step = _block_rows(len(paths))
    for s in range(0, trajectory.size, step):         # Plane.transform of every snapshot, block by block
        block = trajectory.block(s, min(s + step, trajectory.size))
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise ValueError(f"{paths[int(np.argmax(bad))]}: holds NaN or infinite parameters")
        rhs += (block - final[s:s + step]) @ D[:, s:s + step].T
    return Plane(final, d1, d2, np.linalg.solve(D @ D.T, rhs.T).T, "random")


# --- the loss on the plane ----------------------------------------------------------------------


def _layers(vector, layer_sizes):
    """[(W1, b1), (W2, b2), …] views of a pack()-layout vector."""
    out, offset = [], 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = vector[offset:offset + fan_out * fan_in].reshape(fan_out, fan_in)
        offset += fan_out * fan_in
        out.append((W, vector[offset:offset + fan_out]))
        offset += fan_out
    return out


class PlaneLoss:
    """f(a, b) = loss of θ(a, b) on (X, y): mean cross-entropy + (l2/2)·Σ‖W‖², fast along the plane.

    net:    gives the architecture and activation (its own weights are not used)
    plane:  origin, d1, d2 in pack() layout
    X:      (n, d) inputs; labels: (n,) integers
    dtype:  float64 (the test's exactness) or float32 (half the memory traffic per grid point)
    """

    def __init__(self, net, plane, X, labels, l2=0.0, dtype=np.float64):
        """Set up the loss on the plane θ = centre + α·d1 + β·d2 for net on (X, labels): the directions, the
        buffers each grid point reuses, and whether relu's in-place fast path applies."""
        if net.loss_name != "cross_entropy":
            raise ValueError("the loss landscape is drawn for cross-entropy networks")
        self.act = net.act
        self.relu = net.activation == "relu"
        self.l2 = float(l2)
        self.dtype = np.dtype(dtype)
        sizes = net.layer_sizes
        base, u, v = (_layers(np.asarray(p, dtype=self.dtype), sizes) for p in (plane.origin, plane.d1, plane.d2))
        X = np.asarray(X, dtype=self.dtype)
        self.labels = np.asarray(labels)
        self.rows = np.arange(len(self.labels))
        # The first layer along the plane: z⁽¹⁾ = X(W1⁰ + aD1 + bE1)ᵀ + (b1⁰ + a·db1 + b·eb1)
        #                                       = P0 + a·P1 + b·P2, the biases folded into the P's.
        (W0, b0), (D, db), (E, eb) = base[0], u[0], v[0]
        self.P0, self.P1, self.P2 = X @ W0.T + b0, X @ D.T + db, X @ E.T + eb
        # The later layers' W (out, in) kept as contiguous Wᵀ (in, out): h Wᵀ is then one plain product.
        self.later = [tuple(np.ascontiguousarray(W.T) for W in (p[0], q[0], r[0])) + (p[1], q[1], r[1])
                      for p, q, r in zip(base[1:], u[1:], v[1:])]
        self._z = np.empty_like(self.P0)
        # Σ‖W⁰ + aD + bE‖² as a quadratic in (a, b): its six coefficients, summed over layers.
        dots = lambda A, B: sum(float(np.vdot(p[0], q[0])) for p, q in zip(A, B))
        self.sq = (dots(base, base), dots(base, u), dots(base, v), dots(u, u), dots(u, v), dots(v, v))

    def _rest(self, z, a, b):
        """The loss from the first layer's pre-activation z (n, m1), which is overwritten."""
        for W0t, Dt, Et, b0, db, eb in self.later:
            h = np.maximum(z, 0.0, out=z) if self.relu else self.act(z)      # h = act(z)
            z = h @ (W0t + a * Dt + b * Et)                                   # z = W h + b
            z += b0 + a * db + b * eb
        logits = z.astype(np.float64, copy=False)
        top = logits.max(axis=1)
        # mean cross-entropy = mean over examples of log Σ_k exp z_k − z_label (shifted by the max)
        data = float((np.log(np.exp(logits - top[:, None]).sum(axis=1)) + top - logits[self.rows, self.labels]).mean())
        if not self.l2:
            return data
        s00, s0u, s0v, suu, suv, svv = self.sq
        norm2 = s00 + 2 * a * s0u + 2 * b * s0v + a * a * suu + 2 * a * b * suv + b * b * svv
        return data + 0.5 * self.l2 * norm2

    def __call__(self, a, b):
        """f(a, b) for one point of the plane."""
        z = np.multiply(self.P1, a, out=self._z)
        z += self.P0
        z += b * self.P2
        return self._rest(z, a, b)

    def grid(self, alphas, betas):
        """f on the grid: (len(betas), len(alphas)), row j for b = betas[j], column i for a = alphas[i].

        Along a row b is fixed, so P0 + b·P2 is formed once per row and each point adds a·P1 to it.
        The products left per point are skinny (n × m by m × c); one BLAS thread does them fastest.
        """
        from threadpoolctl import threadpool_limits

        out = np.empty((len(betas), len(alphas)))
        with threadpool_limits(1, user_api="blas"):
            for j, b in enumerate(betas):
                row = self.P2 * self.dtype.type(b)
                row += self.P0
                for i, a in enumerate(alphas):
                    z = np.multiply(self.P1, self.dtype.type(a), out=self._z)
                    z += row
                    out[j, i] = self._rest(z, a, b)
        return out


def grid_axes(coords, resolution, margin, include=None):
    """alphas, betas (resolution,) spanning the trajectory's extent plus margin × its span on each side.

    include: (lo, hi) that each axis must also cover (random directions: the unit square around θ*).
    """
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    if include is not None:
        lo, hi = np.minimum(lo, include[0]), np.maximum(hi, include[1])
    span = np.maximum(hi - lo, 1e-12)
    lo, hi = lo - margin * span, hi + margin * span
    return np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)


# --- the run's pictures ---------------------------------------------------------------------------


@dataclass
class LandscapeResult:
    """What landscape_for_run computed and wrote."""

    directions: str
    snapshots: int
    steps: list
    explained: tuple | None
    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    coords: np.ndarray
    path_loss: np.ndarray
    grid_seconds: float
    examples: int
    files: list = field(default_factory=list)


def landscape_for_run(run_dir, net, X, labels, directions="pca", resolution=25, subset=2000, margin=0.25,
                      l2=0.0, seed=0):
    """The loss landscape of the run in run_dir from its trajectory/ snapshots; writes the pictures.

    net:      the run's Network (architecture and activation)
    X:        (n, d) the preprocessed training split; labels (n,): a fixed seeded subset of `subset`
              rows is used for every grid point
    Writes landscape.safetensors, landscape.json, landscape_surface.png, landscape_contour.png and a
    "Loss landscape" section at the end of report.md.  Returns a LandscapeResult.
    """
    from . import plots

    if directions not in DIRECTIONS:
        raise ValueError(f"unknown directions {directions!r}; choose one of {', '.join(DIRECTIONS)}")
    if resolution < 2:
        raise ValueError(f"the grid needs at least 2 points a side, got {resolution}")
    if subset < 1:
        raise ValueError(f"the subset needs at least 1 example, got {subset}")
    run_dir = Path(run_dir)
    found = snapshot_files(run_dir / TRAJECTORY)
    if not found:
        raise ValueError(f"{run_dir}: no trajectory snapshots in {TRAJECTORY}/ (train with --landscape "
                         f"to record them)")
    steps, paths = [s for s, _ in found], [p for _, p in found]
    P = _load_snapshot(paths[0]).size
    if P != net.n_parameters:
        raise ValueError(f"{run_dir}: the snapshots hold {P} parameters but the network has {net.n_parameters}")
    plane = pca_plane(paths) if directions == "pca" else random_plane(net, paths, seed)
    rows = np.random.default_rng(seed).choice(len(X), size=min(subset, len(X)), replace=False)
    rows.sort()
    f = PlaneLoss(net, plane, X[rows], labels[rows], l2=l2, dtype=net.dtype)    # runs train in float32
    alphas, betas = grid_axes(plane.coords, resolution, margin,
                              include=((-1.0, -1.0), (1.0, 1.0)) if directions == "random" else None)
    started = time.perf_counter()
    loss = f.grid(alphas, betas)
    grid_seconds = time.perf_counter() - started
    path_loss = np.array([f(a, b) for a, b in plane.coords])
    result = LandscapeResult(directions, len(paths), steps, plane.explained, alphas, betas, loss,
                             plane.coords, path_loss, grid_seconds, len(rows))

    what = _axis_names(plane)
    save_arrays(run_dir / LANDSCAPE_ARRAYS,
                {"alphas": alphas, "betas": betas, "loss": loss, "coords": plane.coords,
                 "path_loss": path_loss, "steps": np.asarray(steps, dtype=np.int64)},
                {"directions": directions, "explained": plane.explained})
    write_json(run_dir / LANDSCAPE_SUMMARY, {
        "directions": directions, "snapshots": len(paths), "first_step": steps[0], "last_step": steps[-1],
        "explained_variance": plane.explained, "grid": [resolution, resolution], "examples": len(rows),
        "margin": margin, "l2": l2, "seed": seed, "grid_seconds": grid_seconds,
        "loss_min": float(loss.min()), "loss_max": float(loss.max()),
        "path_loss_start": float(path_loss[0]), "path_loss_end": float(path_loss[-1])})
    title = _title(result)
    plots.plot_landscape_surface(alphas, betas, loss, plane.coords, path_loss, run_dir / LANDSCAPE_SURFACE,
                                 what, title)
    plots.plot_landscape_contour(alphas, betas, loss, plane.coords, run_dir / LANDSCAPE_CONTOUR, what, title)
    _write_report_section(run_dir / REPORT, result)
    result.files = [*LANDSCAPE_FILES, REPORT]
    return result


def _axis_names(plane):
    if plane.directions == "pca":
        return (f"PC1 ({100 * plane.explained[0]:.1f} % of the path's variance)",
                f"PC2 ({100 * plane.explained[1]:.1f} %)")
    return ("random direction 1 (filter-normalised)", "random direction 2 (filter-normalised)")


def _title(result):
    where = ("PCA plane of the SGD path" if result.directions == "pca"
             else "filter-normalised random plane through the final θ")
    return f"training loss on {result.examples} examples, {where}"


REPORT_HEADING = "## Loss landscape"


def _write_report_section(report_path, result):
    """Append (or replace) the landscape section at the end of report.md."""
    text = report_path.read_text() if report_path.exists() else ""
    start = text.find("\n" + REPORT_HEADING)
    if start >= 0:
        following = text.find("\n## ", start + 1)
        text = text[:start] + (text[following:] if following >= 0 else "\n")
    lines = [REPORT_HEADING, ""]
    if result.directions == "pca":
        e1, e2 = result.explained
        lines.append(f"The parameter vector was recorded {result.snapshots} times (steps {result.steps[0]} to "
                     f"{result.steps[-1]}). Its two principal components explain {100 * e1:.1f} % and "
                     f"{100 * e2:.1f} % of the path's variance ({100 * (e1 + e2):.1f} % together); the "
                     f"surface is the training loss in that plane, on a fixed subset of {result.examples} "
                     f"training examples, and the path is each snapshot's projection onto it.")
    else:
        lines.append(f"The plane through the final parameters spanned by two filter-normalised random "
                     f"directions (Li et al., NeurIPS 2018); the {result.snapshots} recorded snapshots are "
                     f"drawn at their least-squares positions in it (the path itself mostly leaves this plane). "
                     f"Training loss on a fixed subset of {result.examples} training examples.")
    lines += ["", f"Loss along the projected path: {result.path_loss[0]:.4f} at the start, "
              f"{result.path_loss[-1]:.4f} at the end; on the {len(result.alphas)}×{len(result.betas)} grid "
              f"from {result.loss.min():.4f} to {result.loss.max():.4f} ({result.grid_seconds:.1f} s).", "",
              f"![loss surface with the SGD path]({LANDSCAPE_SURFACE})", "",
              f"![contour map with the SGD path]({LANDSCAPE_CONTOUR})", ""]
    with atomic_write(report_path, "w") as fh:
        fh.write(text.rstrip("\n") + "\n\n" + "\n".join(lines))


@dataclass
class LandscapeOptions:
    """What `netprop train --landscape` asks of run.train_run: record the path, then draw it.

    train_run calls recorder() before training and after_run() once the run's report is written.
    """

    directions: str = "pca"
    resolution: int = 25
    subset: int = 2000
    margin: float = 0.25
    max_snapshots: int = 200
    result: LandscapeResult | None = None

    def check_steps(self, total_steps):
        """Refuse, before training, a run too short for its plane: PCA needs 3 snapshots (steps 0, …, last)."""
        if self.directions == "pca" and total_steps + 1 < 3:
            raise ValueError(f"--landscape: this run takes {total_steps} step, which keeps 2 snapshots; the PCA "
                             f"plane needs at least 3 (train more epochs or with a smaller --batch-size, or "
                             f"use --landscape-directions random)")

    def recorder(self, out_dir, net, total_steps, total_epochs):
        """The fit() callback that writes the snapshots into out_dir/trajectory/."""
        options = {"directions": self.directions, "resolution": self.resolution, "subset": self.subset,
                   "margin": self.margin, "max_snapshots": self.max_snapshots}
        return TrajectoryRecorder(Path(out_dir) / TRAJECTORY, net, total_steps, total_epochs, self.max_snapshots,
                                  options)

    @classmethod
    def of_run(cls, out_dir):
        """The options a run was started with (for --resume), or None when it records no trajectory."""
        meta = Path(out_dir) / TRAJECTORY / TRAJECTORY_META
        if not meta.is_file():
            return None
        try:
            return cls(**json.loads(meta.read_text()).get("options", {}))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{meta}: not a trajectory description ({exc})") from None

    def after_run(self, out_dir, net, X, labels, config):
        """Compute and draw the landscape of the finished run."""
        self.result = landscape_for_run(out_dir, net, X, labels, self.directions, self.resolution, self.subset,
                                        self.margin, l2=config.l2, seed=config.seed)
        return self.result


def summary(result):
    """One line for the terminal."""
    parts = [f"{result.snapshots} snapshots"]
    if result.explained:
        parts.append(f"PC1 {100 * result.explained[0]:.1f} % + PC2 {100 * result.explained[1]:.1f} % of the "
                     f"path's variance")
    parts.append(f"{len(result.alphas)}×{len(result.betas)} grid on {result.examples} examples in "
                 f"{result.grid_seconds:.1f} s")
    return "loss landscape (" + result.directions + "): " + ", ".join(parts)

