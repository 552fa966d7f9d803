"""A run's learning curves and confusion matrix, drawn with Pillow: no matplotlib in `netprop train`.

With matplotlib, the default run's pictures cost more than its reading, standardising and scoring
together: the import (~0.8 s of CPU), each figure's rendering (curves ~0.2 s, the confusion matrix's
hundred labels ~0.3 s) and, to keep that off the critical path, two child processes importing it
beside the training, whose CPU (~2.8 s) the training lost on a 2-core machine (docs/benchmarks.md,
"Pictures without matplotlib").  Here each picture is a few dozen Pillow calls (~30 ms).

Everything is drawn SCALE times larger and reduced with a box filter: the lines and markers come
out antialiased (Pillow draws them aliased), the text as FreeType renders it.  The look follows the
matplotlib figures these replace: the same default colours (Tableau's C0 blue, C1 orange), ticks at
1, 2, 2.5 or 5 times a power of ten, a light grid, the confusion matrix in ColorBrewer's Blues.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SCALE = 2                                   # drawn at twice the size, then reduced: antialiasing
BLACK, WHITE, GRID, FRAME = (0, 0, 0), (255, 255, 255), (230, 230, 230), (40, 40, 40)
SERIES = {"training": ((31, 119, 180), "o"), "validation": ((255, 127, 14), "s")}   # matplotlib's C0, C1
# ColorBrewer's 9-class sequential "Blues" (Cynthia Brewer, colorbrewer2.org), light to dark: the
# stops matplotlib's "Blues" colour map interpolates linearly.
BLUES = np.array([(247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214),
                  (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107)], dtype=np.float64)
MINUS = "\u2212"
LABELLED = 60                               # the most classes a confusion matrix names and counts
CELLS_SIDE = 600                            # the most pixels a side of a larger one's cells


def font(size):
    """DejaVu Sans at size pixels: matplotlib's typeface, from its own files (without importing it);
    Pillow's default font where they are not found."""
    from importlib.util import find_spec

    from PIL import ImageFont

    spec = find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            return ImageFont.truetype(str(Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def write_png(image, path):
    """A Pillow image to path as PNG, atomically (a reader never sees half a file), compressed lightly:
    every picture of a run is written here."""
    from ..storage.models import atomic_write

    with atomic_write(Path(path)) as fh:
        image.save(fh, format="PNG", compress_level=1)


def nice_ticks(lo, hi, most=6, integer=False):
    """Tick values in [lo, hi], at most `most` of them (at least one where lo ≤ hi), spaced 1, 2, 2.5 or
    5 times a power of ten (whole numbers only, when integer); and the decimals their labels need."""
    span = hi - lo
    flat = ([lo], 0 if integer or float(lo).is_integer() else 2)
    if not (math.isfinite(span) and span / most > 1e-300):      # one value, or a span floats cannot step
        return flat
    magnitude = 10.0 ** math.floor(math.log10(span / most))
    for m in (1, 2, 2.5, 5, 10):
        step = m * magnitude
        if (not integer or step >= 1 and float(step).is_integer()) and span / step <= most:
            break
    step = max(step, 1.0) if integer else step
    if max(abs(lo), abs(hi)) / step > 1e15:                     # steps below the values' own precision
        return flat
    first = math.ceil(lo / step - 1e-9)
    ticks = [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
    decimals = 0 if integer else max(0, -math.floor(math.log10(step) + 1e-9) + (m == 2.5))
    return ticks, decimals


def label(value, decimals):
    """value as a tick label: `decimals` places, or 3 significant digits where that is long (1e+07)."""
    text = f"{value:.{decimals}f}"
    if len(text) > 7:
        text = f"{value:.3g}"
    return MINUS + text[1:] if text.startswith("-") and text.strip("-0.e+") else text.lstrip("-")


def blues_array(rates):
    """ColorBrewer's Blues at each rate in [0, 1] (NaN: the lightest), interpolated as matplotlib does:
    uint8 RGB, one more axis than rates."""
    x = np.clip(np.nan_to_num(np.asarray(rates, dtype=np.float64), nan=0.0), 0.0, 1.0) * (len(BLUES) - 1)
    k = np.minimum(x.astype(int), len(BLUES) - 2)
    return np.rint(BLUES[k] + (x - k)[..., None] * (BLUES[k + 1] - BLUES[k])).astype(np.uint8)


def blues(rate):
    """blues_array for one rate, as an (r, g, b) tuple."""
    return tuple(int(c) for c in blues_array(rate))


class Canvas:
    """An RGB picture of width × height pixels, drawn on at SCALE times that; save() reduces and writes it."""

    def __init__(self, width, height):
        from PIL import Image, ImageDraw

        self.image = Image.new("RGB", (width * SCALE, height * SCALE), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.fonts = {}

    def font(self, size):
        if size not in self.fonts:
            self.fonts[size] = font(size * SCALE)
        return self.fonts[size]

    def text(self, xy, text, size, fill=BLACK, anchor="mm", angle=0):
        """text at xy (unscaled pixels), placed by a Pillow anchor; angle in degrees, counter-clockwise."""
        x, y = xy[0] * SCALE, xy[1] * SCALE
        if not angle:
            self.draw.text((x, y), text, fill=fill, font=self.font(size), anchor=anchor)
            return
        from PIL import Image, ImageDraw

        left, top, right, bottom = self.font(size).getbbox(text, anchor="ls")
        stamp = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        ImageDraw.Draw(stamp).text((1 - left, 1 - top), text, fill=255, font=self.font(size), anchor="ls")
        stamp = stamp.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        w, h = stamp.size
        dx = {"l": 0, "m": w // 2, "r": w}[anchor[0]]       # which edge of the turned text lies at xy
        dy = {"t": 0, "m": h // 2, "b": h}[anchor[1]]
        self.image.paste(Image.new("RGB", stamp.size, fill), (int(x - dx), int(y - dy)), stamp)

    def text_size(self, text, size):
        """(width, height) of text in unscaled pixels."""
        left, top, right, bottom = self.font(size).getbbox(text)
        return (right - left) / SCALE, (bottom - top) / SCALE

    def line(self, points, fill, width=1.0):
        self.draw.line([(x * SCALE, y * SCALE) for x, y in points], fill=fill, width=max(1, round(width * SCALE)),
                       joint="curve")

    def rectangle(self, box, fill=None, outline=None, width=1.0):
        x0, y0, x1, y1 = (v * SCALE for v in box)
        self.draw.rectangle((x0, y0, x1, y1), fill=fill, outline=outline, width=max(1, round(width * SCALE)))

    def marker(self, xy, kind, fill, radius=3.5):
        x, y, r = xy[0] * SCALE, xy[1] * SCALE, radius * SCALE
        if kind == "o":
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        else:
            r *= 0.9
            self.draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)

    def save(self, path):
        write_png(self.image.reduce(SCALE) if SCALE > 1 else self.image, path)   # box filter: SCALE² pixels averaged


class Panel:
    """A plot's axes: the box (left, top, right, bottom) in pixels showing data x in xlim, y in ylim."""

    def __init__(self, canvas, box, xlim, ylim):
        self.canvas, self.box, self.xlim, self.ylim = canvas, box, xlim, ylim

    def at(self, x, y):
        (left, top, right, bottom), (x0, x1), (y0, y1) = self.box, self.xlim, self.ylim
        return (left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top))

    def axes(self, title, xlabel, ylabel, integer_x=False):
        """Grid, frame, ticks with their labels, axis labels and title."""
        c, (left, top, right, bottom) = self.canvas, self.box
        xticks, xdec = nice_ticks(*self.xlim, most=8, integer=integer_x)
        yticks, ydec = nice_ticks(*self.ylim, most=6)
        for x in xticks:
            px = self.at(x, self.ylim[0])[0]
            c.line([(px, top), (px, bottom)], GRID)
            c.line([(px, bottom), (px, bottom + 4)], FRAME)
            c.text((px, bottom + 7), label(x, xdec), 12, anchor="mt")
        widest = 0
        for y in yticks:
            py = self.at(self.xlim[0], y)[1]
            c.line([(left, py), (right, py)], GRID)
            c.line([(left - 4, py), (left, py)], FRAME)
            c.text((left - 7, py), label(y, ydec), 12, anchor="rm")
            widest = max(widest, c.text_size(label(y, ydec), 12)[0])
        c.rectangle(self.box, outline=FRAME, width=1)
        c.text(((left + right) / 2, bottom + 26), xlabel, 13, anchor="mt")
        c.text((left - 14 - widest, (top + bottom) / 2), ylabel, 13, anchor="rm", angle=90)
        c.text(((left + right) / 2, top - 10), title, 14, anchor="ms")

    def series(self, xs, ys, fill, kind):
        """Lines through the finite points, broken where a value is not finite; each point marked
        (o: circle, s: square).  Returns the points drawn, in pixels."""
        points, run = [], []
        for x, y in zip(xs, ys):
            if np.isfinite(y):
                run.append(self.at(x, y))
                continue
            points += run
            run = self._draw_run(run, fill)
        points += run
        self._draw_run(run, fill)
        for p in points:
            self.canvas.marker(p, kind, fill)
        return points

    def _draw_run(self, run, fill):
        if len(run) > 1:
            self.canvas.line(run, fill, width=1.5)
        return []

    def legend(self, names, points, corners=("upper right", "lower right", "upper left", "lower left")):
        """A box listing the series by name, in the first of the panel's corners that covers the fewest
        of points (matplotlib's loc="best", over the corners)."""
        c, (left, top, right, bottom) = self.canvas, self.box
        width = 44 + max(c.text_size(n, 12)[0] for n in names)
        height = 8 + 18 * len(names)

        def box(corner):
            x0 = right - 8 - width if corner.endswith("right") else left + 8
            y0 = top + 8 if corner.startswith("upper") else bottom - 8 - height
            return x0, y0

        def covered(corner):
            x0, y0 = box(corner)
            return sum(x0 - 6 <= x <= x0 + width + 6 and y0 - 6 <= y <= y0 + height + 6 for x, y in points)

        x0, y0 = box(min(corners, key=covered))
        c.rectangle((x0, y0, x0 + width, y0 + height), fill=WHITE, outline=(204, 204, 204), width=1)
        for k, name in enumerate(names):
            fill, kind = SERIES[name]
            y = y0 + 13 + 18 * k
            c.line([(x0 + 8, y), (x0 + 32, y)], fill, width=1.5)
            c.marker((x0 + 20, y), kind, fill)
            c.text((x0 + 38, y), name, 12, anchor="lm")


def limits(values, integer=False):
    """(lo, hi) around the finite values with 5 % of their span each side (matplotlib's margins)."""
    finite = [float(v) for v in values if np.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if hi == lo:
        pad = 0.5 if integer else max(abs(lo) * 0.05, 0.05)
        return (lo - pad, hi + pad)
    pad = 0.05 * (hi - lo)
    if not math.isfinite(pad):                                  # a span past float's range: no margin
        return (lo, hi)
    return (lo - pad, hi + pad)


def plot_curves(history, path):
    """Loss and accuracy per epoch, training and validation, side by side (1100 × 420 pixels)."""
    epochs = [r["epoch"] for r in history]
    canvas = Canvas(1100, 420)
    panels = [("loss", "mean cross-entropy", "train_loss", "val_loss", 1.0, ("upper right", "lower right")),
              ("accuracy", "accuracy (%)", "train_accuracy", "val_accuracy", 100.0, ("lower right", "upper right"))]
    for k, (title, ylabel, train_key, val_key, factor, corners) in enumerate(panels):
        train = [factor * r[train_key] for r in history]
        val = [factor * r[val_key] for r in history]
        panel = Panel(canvas, (550 * k + 85, 36, 550 * k + 535, 360), limits(epochs, integer=True),
                      limits(train + val))
        panel.axes(title, "epoch", ylabel, integer_x=True)
        points = panel.series(epochs, train, *SERIES["training"]) + panel.series(epochs, val, *SERIES["validation"])
        panel.legend(["training", "validation"], points, corners + ("upper left", "lower left"))
    canvas.save(path)


def plot_confusion(matrix, class_names, path, title="test confusion matrix"):
    """Counts of (true class, predicted class), each cell coloured by its share of its row.

    Up to LABELLED classes each cell shows its count (where it fits) and each row and column its
    class's name; beyond that the names and counts could not be read, and the cells are drawn
    alone, at most CELLS_SIDE pixels a side."""
    matrix = np.asarray(matrix)
    k = len(matrix)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    if k > LABELLED:
        _plot_confusion_cells(rates, path, title)
        return
    names = [" ".join(n.split()) for n in map(str, class_names)]          # one line each
    names = [n if len(n) <= 24 else n[:23] + "…" for n in names]
    cell = max(12, min(46, 460 // max(k, 1)))
    size = max(6, min(12, cell // 4))                           # the counts' and class names' text
    probe = Canvas(1, 1)
    widest = max((probe.text_size(n, size + 1)[0] for n in names), default=0)
    # DejaVu's digits are equally wide: the largest count is the widest
    count_fits = probe.text_size(str(int(matrix.max(initial=0))), size)[0] <= cell - 2
    left = int(widest) + 44
    top = 40
    drop = int(0.71 * (widest + size + 1)) + 12                  # a 45°-turned name's height
    width = max(left + k * cell + 24, int(widest * 0.71) + 40, 260)
    canvas = Canvas(width, top + k * cell + drop + 30)
    for i in range(k):
        for j in range(k):
            x0, y0 = left + j * cell, top + i * cell
            canvas.rectangle((x0, y0, x0 + cell, y0 + cell), fill=blues(rates[i, j]))
            if count_fits:
                canvas.text((x0 + cell / 2, y0 + cell / 2), str(int(matrix[i, j])), size,
                            fill=WHITE if rates[i, j] > 0.5 else BLACK)
    canvas.rectangle((left, top, left + k * cell, top + k * cell), outline=FRAME, width=1)
    bottom = top + k * cell
    for j, name in enumerate(names):
        tick = left + j * cell + cell / 2
        canvas.line([(tick, bottom), (tick, bottom + 4)], FRAME)
        canvas.text((tick + 3, bottom + 6), name, size + 1, anchor="rt", angle=45)
        canvas.line([(left - 4, top + j * cell + cell / 2), (left, top + j * cell + cell / 2)], FRAME)
        canvas.text((left - 7, top + j * cell + cell / 2), name, size + 1, anchor="rm")
    canvas.text((left + k * cell / 2, bottom + drop + 6), "predicted", 13, anchor="mt")
    canvas.text((12, top + k * cell / 2), "true", 13, anchor="lm", angle=90)
    canvas.text((left + k * cell / 2, top - 12), title, 14, anchor="ms")
    canvas.save(path)


def _plot_confusion_cells(rates, path, title):
    """plot_confusion beyond LABELLED classes: the cells as one image, classes 0 … k−1 in order."""
    from PIL import Image

    k = len(rates)
    side = min(k * max(1, CELLS_SIDE // k), CELLS_SIDE)
    cells = Image.fromarray(blues_array(rates), mode="RGB")
    cells = cells.resize((side * SCALE, side * SCALE),
                         Image.Resampling.NEAREST if side >= k else Image.Resampling.BOX)
    left, top = 44, 40
    canvas = Canvas(left + side + 24, top + side + 44)
    canvas.image.paste(cells, (left * SCALE, top * SCALE))
    canvas.rectangle((left, top, left + side, top + side), outline=FRAME, width=1)
    canvas.text((left + side / 2, top + side + 12), f"predicted (classes 0 … {k - 1} left to right)", 13, anchor="mt")
    canvas.text((12, top + side / 2), "true", 13, anchor="lm", angle=90)
    canvas.text((left + side / 2, top - 12), title, 14, anchor="ms")
    canvas.save(path)
