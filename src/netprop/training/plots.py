"""PNG pictures of a run: learning curves, the first layer's weights, the confusion matrix, a sweep's trials.

A training run's four pictures are drawn with NumPy and Pillow (the curves and the confusion matrix
in charts.py), so that `netprop train` never imports matplotlib; a sweep's trials and the loss
landscape, drawn once for a command that takes minutes, use matplotlib.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import charts
from .charts import plot_confusion, plot_curves  # noqa: F401  (a run's pictures, drawn with Pillow)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    from ..storage.models import atomic_write

    with atomic_write(Path(path)) as fh:
        # zlib's fastest level: a quarter less time on the first layer's mosaic for 9 % more bytes
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight", pil_kwargs={"compress_level": 1})


def first_layer_mosaic(W1, image_shape=(28, 28), max_tiles=256, columns=16):
    """The rows of W1 as image tiles in one array, each scaled to [−1, 1] by its largest |weight|.

    Returns (mosaic, units shown); gaps between tiles are NaN (drawn as background).
    """
    units = min(len(W1), max_tiles)
    cols = min(columns, units)
    rows = math.ceil(units / cols)
    h, w = image_shape
    gap = 2
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k in range(units):
        tile = W1[k].reshape(image_shape).astype(np.float64)
        scale = np.abs(tile).max() or 1.0
        r, c = divmod(k, cols)
        top, left = r * (h + gap), c * (w + gap)
        mosaic[top:top + h, left:left + w] = tile / scale
    return mosaic, units


# A first-layer picture is a 256-colour PNG (a third of the bytes to encode of RGB): 2·119 + 1 colours
# from blue through white to red, 16 greys for the title's antialiased text, and the gaps' grey.
BWR_LEVELS = 119
TEXT_GREYS = 16
FIRST_GREY = 2 * BWR_LEVELS + 1
GAP = FIRST_GREY + TEXT_GREYS         # the last entry, 255


def first_layer_palette():
    """The pictures' 256 RGB entries: blue (0, 0, 255) through white to red (255, 0, 0), linear
    (matplotlib's "bwr"), then TEXT_GREYS greys from black to white, then the gaps' dark grey (0.35)."""
    v = np.arange(FIRST_GREY) / BWR_LEVELS - 1.0                   # −1 … +1
    fade = np.rint(255 * (1 - np.abs(v)))                           # the channels a colour turns off
    bwr = np.stack([np.where(v < 0, fade, 255), fade, np.where(v > 0, fade, 255)], axis=1)
    greys = np.repeat(np.rint(np.linspace(0, 255, TEXT_GREYS))[:, None], 3, axis=1)
    return np.vstack([bwr, greys, [[89, 89, 89]]]).astype(np.uint8)


def bwr_indices(values):
    """Values in [−1, 1] as first_layer_palette's entries (NaN: GAP)."""
    index = np.rint((np.clip(np.nan_to_num(values), -1.0, 1.0) + 1.0) * BWR_LEVELS).astype(np.uint8)
    index[np.isnan(values)] = GAP
    return index


def plot_first_layer(W1, path, image_shape=(28, 28), max_tiles=256, what="First-layer weights W1", zoom=3):
    """Each row of W1 (one hidden unit's weights on the input pixels) as an image tile.

    Every tile has its own symmetric colour scale: red positive, blue negative, white zero.
    `what` names the matrix in the title (the change W1 − W1 at initialisation is drawn the same way).
    The picture is only pixels and a title, so it is drawn with NumPy and Pillow as a 256-colour
    PNG, each weight a zoom × zoom square: about a sixth of matplotlib's time (docs/design.md).
    """
    from PIL import Image, ImageDraw

    mosaic, units = first_layer_mosaic(W1, image_shape, max_tiles)
    tiles = Image.fromarray(bwr_indices(mosaic), mode="P")
    tiles = tiles.resize((mosaic.shape[1] * zoom, mosaic.shape[0] * zoom), Image.Resampling.NEAREST)
    shown = f"first {units} of {len(W1)}" if units < len(W1) else f"all {units}"
    title = f"{what}, {shown} hidden units (red +, blue −)"
    font = charts.font(16)
    margin = 10
    width = max(tiles.width, font.getbbox(title)[2]) + 2 * margin
    top = font.getbbox("Wg")[3] + 2 * margin                     # the title's band
    text = Image.new("L", (width, top), 255)
    ImageDraw.Draw(text).text((width // 2, margin), title, fill=0, font=font, anchor="mt")
    grey = np.rint(np.asarray(text) * ((TEXT_GREYS - 1) / 255)).astype(np.uint8) + FIRST_GREY
    picture = Image.new("P", (width, top + tiles.height + margin), FIRST_GREY + TEXT_GREYS - 1)   # white
    picture.putpalette(first_layer_palette().ravel().tolist())
    picture.paste(Image.fromarray(grey, mode="P"), (0, 0))
    picture.paste(tiles, ((width - tiles.width) // 2, top))
    charts.write_png(picture, path)


def plot_trials(board, path):
    """A sweep's leaderboard as bars (best first) beside validation accuracy by learning rate.

    board: trial results best first (tune.leaderboard), each with trial, val_accuracy, lr,
    hidden and status; diverged trials get a bar but no point.
    """
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax1.bar(range(len(board)), [100 * r["val_accuracy"] for r in board], color="#4c72b0")
    ax1.set_xticks(range(len(board)), [str(r["trial"]) for r in board], fontsize=7)
    ax1.set(xlabel="trial (best first)", ylabel="validation accuracy (%)", title="leaderboard")
    ok = [r for r in board if r["status"] == "ok"]
    if ok:
        sc = ax2.scatter([r["lr"] for r in ok], [100 * r["val_accuracy"] for r in ok],
                         c=[r["hidden"][0] for r in ok], cmap="viridis")
        fig.colorbar(sc, ax=ax2, label="hidden units")
    ax2.set_xscale("log")
    ax2.set(xlabel="learning rate", ylabel="validation accuracy (%)", title="accuracy by learning rate")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    lo = min((100 * r["val_accuracy"] for r in ok), default=0)
    ax1.set_ylim(max(0, lo - 5), 100)
    _save(fig, path)
    plt.close(fig)


def plot_landscape_surface(alphas, betas, loss, coords, path_loss, path, axis_names, title):
    """The loss over a plane as a 3-D surface, with the SGD path drawn on it (start ○, end ★).

    alphas (k,), betas (j,), loss (j, k); coords (m, 2) the path's (a, b); path_loss (m,) its loss in the plane.
    """
    plt = _pyplot()
    A, B = np.meshgrid(alphas, betas)
    fig = plt.figure(figsize=(8, 6.2))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(A, B, loss, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True, zorder=1)
    ax.plot(coords[:, 0], coords[:, 1], path_loss, "-", color="red", linewidth=2, zorder=3, label="SGD path")
    ax.scatter(*coords[0], path_loss[0], color="white", edgecolor="black", s=50, zorder=4, label="start")
    ax.scatter(*coords[-1], path_loss[-1], color="red", marker="*", s=160, edgecolor="black", zorder=4, label="end")
    ax.set_xlabel(axis_names[0], fontsize=8)
    ax.set_ylabel(axis_names[1], fontsize=8)
    ax.set_zlabel("loss")
    ax.set_title(title, fontsize=9)
    ax.view_init(elev=35, azim=-60)
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, path)
    plt.close(fig)


def plot_landscape_contour(alphas, betas, loss, coords, path, axis_names, title):
    """Contours of the loss over a plane with the SGD path, its start (○) and end (★) marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.8))
    levels = np.quantile(loss, np.linspace(0, 1, 30))
    levels = np.unique(levels)
    filled = ax.contourf(alphas, betas, loss, levels=levels if len(levels) > 2 else 20, cmap="viridis")
    ax.contour(alphas, betas, loss, levels=filled.levels, colors="k", linewidths=0.3, alpha=0.5)
    fig.colorbar(filled, ax=ax, label="loss", format="%.3g")
    ax.plot(coords[:, 0], coords[:, 1], ".-", color="red", linewidth=1.5, markersize=3, label="SGD path")
    ax.plot(*coords[0], "o", color="white", markeredgecolor="black", markersize=8, label="start")
    ax.plot(*coords[-1], "*", color="red", markeredgecolor="black", markersize=15, label="end")
    ax.set(xlabel=axis_names[0], ylabel=axis_names[1])
    ax.set_title(title, fontsize=9)
    ax.legend(loc="best", fontsize=8)
    _save(fig, path)
    plt.close(fig)
