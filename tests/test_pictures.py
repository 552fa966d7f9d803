"""A run's pictures: the curves and confusion matrix drawn with Pillow (charts.py), the first layer's
mosaic, and a training run that never imports matplotlib for them."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netprop.training import charts, plots

C0, C1 = (31, 119, 180), (255, 127, 14)           # matplotlib's first two default colours


def rgb(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def near(image, colour, tolerance=24):
    """Mask of the pixels within tolerance of colour in every channel."""
    return (np.abs(image - np.array(colour)) <= tolerance).all(axis=2)


@pytest.mark.parametrize("lo, hi, kwargs, ticks, decimals", [
    (0.0, 1.0, {}, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 1),          # 1/6 per tick → a step of 0.2
    (0.1518, 0.6226, {}, [0.2, 0.3, 0.4, 0.5, 0.6], 1),         # 0.47/6 = 0.078: 0.05 gives 9 ticks, 0.1 gives 5
    (0.3, 15.7, {"most": 8, "integer": True}, [2, 4, 6, 8, 10, 12, 14], 0),
    (0.5, 1.5, {"integer": True}, [1], 0),                      # one epoch: the step stays a whole number
    (79.5, 92.0, {"most": 5}, [80.0, 82.5, 85.0, 87.5, 90.0], 1),   # 12.5/5: a step of 2.5, which needs a decimal
    (-1.0, 1.0, {"most": 4}, [-1.0, -0.5, 0.0, 0.5, 1.0], 1),
])
def test_nice_ticks_by_hand(lo, hi, kwargs, ticks, decimals):
    got, got_decimals = charts.nice_ticks(lo, hi, **kwargs)
    np.testing.assert_allclose(got, ticks, atol=1e-12)
    assert got_decimals == decimals


def test_tick_labels_use_the_minus_sign_and_no_negative_zero():
    assert charts.label(-0.5, 1) == "\u22120.5"
    assert charts.label(-0.0, 1) == "0.0" and charts.label(-1e-17, 2) == "0.00"
    assert charts.label(2.5, 1) == "2.5"


def test_blues_matches_matplotlibs_colour_map():
    matplotlib = pytest.importorskip("matplotlib")
    reference = matplotlib.colormaps["Blues"]
    for rate in np.linspace(0, 1, 33):
        expected = np.array(reference(rate)[:3]) * 255
        # matplotlib looks the rate up in a table of 256 entries: within one entry's step of the exact value
        assert np.abs(np.array(charts.blues(rate)) - expected).max() <= 2.5, rate
    assert charts.blues(0) == (247, 251, 255) and charts.blues(1) == (8, 48, 107)
    assert charts.blues(0.5) == (107, 174, 214)                 # the middle one of ColorBrewer's nine stops
    assert charts.blues(float("nan")) == charts.blues(0) and charts.blues(7) == charts.blues(1)


def blocks(mask):
    """(first row, last row, first column, last column) of each run of rows and columns mask covers."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))

    def runs(index):
        cuts = np.flatnonzero(np.diff(index) > 1)
        return list(zip(index[np.r_[0, cuts + 1]], index[np.r_[cuts, len(index) - 1]]))
    return runs(rows), runs(cols)


def test_confusion_cells_are_coloured_by_their_share_of_the_row(tmp_path):
    # row 0: half and half (the scale's middle); row 1: all on the diagonal (the darkest)
    plots.plot_confusion(np.array([[5, 5], [0, 10]]), ["shirt", "coat"], tmp_path / "cm.png")
    image = rgb(tmp_path / "cm.png")
    (half_rows,), half_cols = blocks(near(image, charts.blues(0.5), 0))
    (dark_rows,), (dark_cols,) = blocks(near(image, charts.blues(1.0), 0))
    (empty_rows,), (empty_cols,) = blocks(near(image, charts.blues(0.0), 0) & ~near(image, (255, 255, 255), 0))
    assert len(half_cols) == 1 and half_cols[0][1] >= dark_cols[0] - 2     # two middle cells side by side, row 0
    assert half_rows[1] < dark_rows[0] and empty_rows[0] > half_rows[1]   # the dark and empty cells below them
    assert empty_cols[1] < dark_cols[0]                                   # 0 coats taken for shirts: bottom left
    cell = dark_rows[1] - dark_rows[0]
    assert abs((dark_cols[1] - dark_cols[0]) - cell) <= 2 and abs((half_cols[0][1] - half_cols[0][0]) - 2 * cell) <= 3
    # the counts are written in each cell: white on the dark cell, black on the light ones
    dark = image[dark_rows[0]:dark_rows[1], dark_cols[0]:dark_cols[1]]
    assert (dark.min(axis=2) > 200).sum() > 10
    light = image[empty_rows[0]:empty_rows[1], empty_cols[0]:empty_cols[1]]
    assert (light.max(axis=2) < 120).sum() > 10


def test_confusion_of_many_classes_keeps_its_cells_and_drops_counts_that_do_not_fit(tmp_path):
    k = 60
    matrix = np.diag(np.full(k, 100000))
    plots.plot_confusion(matrix, [f"class number {i} with a long name" for i in range(k)], tmp_path / "cm.png")
    image = rgb(tmp_path / "cm.png")
    (rows,), (cols,) = blocks(near(image, charts.blues(1.0), 0))     # the diagonal's cells touch corner to corner
    cell = (rows[1] - rows[0] + 1) / k
    assert abs((cols[1] - cols[0] + 1) / k - cell) < 0.1 and cell >= 10
    for i in range(k):                    # the diagonal dark, the cell right of it light, every count left out
        y, x = rows[0] + int((i + 0.5) * cell), cols[0] + int((i + 0.5) * cell)
        assert tuple(image[y, x]) == charts.blues(1.0), i
        assert not (image[y - 3:y + 4, x - 3:x + 4].min(axis=2) > 200).any(), i
        if i + 1 < k:
            assert tuple(image[y, x + int(cell)]) == charts.blues(0.0), i
    assert image.shape[0] < 1400 and image.shape[1] < 1400


def centre_row(mask, columns):
    return np.flatnonzero(mask[:, columns].any(axis=1)).mean()


def test_curves_show_each_series_in_its_colour_going_the_way_it_went(tmp_path):
    history = [{"epoch": k, "train_loss": 1.0 / k, "val_loss": 0.5 + 0.02 * k,
                "train_accuracy": 0.5 + 0.03 * k, "val_accuracy": 0.9 - 0.01 * k} for k in range(1, 11)]
    plots.plot_curves(history, tmp_path / "curves.png")
    image = rgb(tmp_path / "curves.png")
    assert image.shape == (420, 1100, 3)
    assert near(image, charts.GRID, 0).sum() > 2000        # the light grey grid
    # inside each panel, away from its legend: the loss's legend is top right, the accuracy's bottom right
    loss, accuracy = image[40:355, 90:400], image[40:355, 640:950]
    early, late = slice(0, 60), slice(250, 310)
    train, val = near(loss, C0), near(loss, C1)
    assert centre_row(train, early) < centre_row(train, late)      # training loss falls: lower on the right
    assert centre_row(val, early) > centre_row(val, late)          # validation loss rises
    train, val = near(accuracy, C0), near(accuracy, C1)
    assert centre_row(train, early) > centre_row(train, late)      # training accuracy rises
    assert centre_row(val, early) < centre_row(val, late)


def test_curves_of_one_epoch_or_with_a_non_finite_value_are_drawn(tmp_path):
    one = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.6, "train_accuracy": 0.8, "val_accuracy": 0.8}]
    plots.plot_curves(one, tmp_path / "one.png")
    two = one + [{"epoch": 2, "train_loss": float("inf"), "val_loss": 0.5, "train_accuracy": 0.9,
                  "val_accuracy": float("nan")}]
    plots.plot_curves(two, tmp_path / "two.png")
    for name in ("one.png", "two.png"):
        image = rgb(tmp_path / name)
        assert near(image, C0).any() and near(image, C1).any()


def test_a_training_run_does_not_import_matplotlib(tmp_path):
    flags = ["train", "--subset", "300", "--epochs", "1", "--hidden", "8", "--quiet", "--out", str(tmp_path / "run")]
    script = f"import sys\nfrom netprop.cli.app import main\nmain({flags!r})\nprint('matplotlib' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src")))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
    for name in ("curves.png", "first_layer.png", "first_layer_change.png", "confusion.png"):
        assert Image.open(tmp_path / "run" / name).size[0] > 200


def test_the_first_layer_picture_colours_each_weight_by_its_tiles_largest(tmp_path):
    from PIL import Image

    W1 = np.zeros((2, 784))
    W1[0, 0], W1[0, 1], W1[0, 2] = 4.0, -2.0, 1.0      # tile 0 scaled by 4: red, light blue (−½), light red (¼)
    W1[1, 0] = -0.5                                    # tile 1 scaled by 0.5: pure blue; its other weights white
    plots.plot_first_layer(W1, tmp_path / "w1.png", zoom=1)
    rgb = np.asarray(Image.open(tmp_path / "w1.png").convert("RGB")).astype(int)
    top = np.flatnonzero((rgb == 89).all(axis=2).any(axis=1))[0]     # the first row showing the gap's grey
    left = np.flatnonzero((rgb[top] == 89).all(axis=1))[0] - 28      # the gap is right of tile 0
    tile0, tile1 = rgb[top:top + 28, left:left + 28], rgb[top:top + 28, left + 30:left + 58]
    # 255·(1 − |v|) in the two channels the colour turns off, to the palette's 119 steps a side
    assert tile0[0, 0].tolist() == [255, 0, 0]
    assert tile0[0, 1].tolist() == [round(255 * (1 - 59 / 119)), round(255 * (1 - 59 / 119)), 255]   # −½ → entry 60
    assert tile0[0, 2].tolist() == [255, round(255 * (1 - 30 / 119)), round(255 * (1 - 30 / 119))]
    assert tile1[0, 0].tolist() == [0, 0, 255]
    assert (tile1[1:] == 255).all() and (tile0[5:] == 255).all()


def test_confusion_of_thousands_of_classes_is_drawn_at_a_bounded_size(tmp_path):
    k = 2000         # a table's labels may reach 9,999: a cell each made a 12,000-pixel picture of 1,000
    matrix = np.diag(np.arange(1, k + 1))
    matrix[0, 1] = 1                           # row 0: half on the diagonal, half one to the right
    plots.plot_confusion(matrix, [str(i) for i in range(k)], tmp_path / "cm.png")
    image = rgb(tmp_path / "cm.png")
    assert max(image.shape[:2]) <= charts.CELLS_SIDE + 100
    (rows,), (cols,) = blocks(near(image, charts.blues(0.0), 0) & ~near(image, (255, 255, 255), 0))
    cells = image[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1]
    # 2,000 classes on 600 pixels: each pixel averages 10/3 cells a side; the diagonal is darker than the rest
    diagonal = np.array([cells[i, i] for i in range(len(cells))]).mean(axis=0)
    off = cells[len(cells) // 2, :len(cells) // 4].mean(axis=0)
    assert diagonal.sum() < off.sum() - 150


def test_curves_of_values_past_floats_range_or_steps_are_still_drawn(tmp_path):
    def history(train, val):
        return [{"epoch": e, "train_loss": train, "val_loss": val, "train_accuracy": 1.0, "val_accuracy": 1.0}
                for e in (1, 2)]
    for k, (a, b) in enumerate([(1.7e308, 0.5), (0.0, 5e-324), (1e308, 1e308 * (1 + 1e-15)), (3e7, 1e7)]):
        plots.plot_curves(history(a, b), tmp_path / f"c{k}.png")
        assert rgb(tmp_path / f"c{k}.png").shape == (420, 1100, 3)
    assert charts.nice_ticks(0.0, float("inf"))[0] == [0.0]
    assert charts.label(3e7, 0) == "3e+07" and charts.label(-2.5e7, 0) == "\u22122.5e+07"


def test_the_legend_moves_off_the_points_it_would_hide(tmp_path):
    # validation loss rising to the top right, where the loss panel's legend goes first
    history = [{"epoch": k, "train_loss": 1.0 / k, "val_loss": 0.3 + 0.05 * k,
                "train_accuracy": 0.9, "val_accuracy": 0.9} for k in range(1, 16)]
    plots.plot_curves(history, tmp_path / "curves.png")
    loss = rgb(tmp_path / "curves.png")[40:355, 90:535]
    frame = near(loss, (204, 204, 204), 6)            # the legend's grey frame
    rows, cols = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
    assert rows.min() > 150                           # not the top right the rising line passes through
    assert cols.max() < 250                           # nor the bottom right, where the training loss fell
    # every validation point is visible: orange in the last column of markers
    assert near(loss[:, 415:435], C1).any()        # epoch 15's column


def test_a_line_breaks_where_a_value_is_not_finite(tmp_path):
    history = [{"epoch": k, "train_loss": 0.5, "val_loss": float("nan") if k == 3 else 0.5,
                "train_accuracy": 0.9, "val_accuracy": 0.9} for k in range(1, 6)]
    plots.plot_curves(history, tmp_path / "curves.png")
    loss = rgb(tmp_path / "curves.png")[40:355, 90:535]
    orange = near(loss, C1, 40)
    gap = np.flatnonzero(orange.any(axis=0))
    assert np.diff(gap).max() > 60                    # no orange between epochs 2 and 4
