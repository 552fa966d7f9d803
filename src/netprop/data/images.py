"""Images and .npy arrays to predict, drawn the way Fashion-MNIST draws its images.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..core.limits import check_memory
from .errors import DataError

def image_to_pixels(path, invert="auto"):
    """A PNG/JPEG as the dataset draws its images: 28×28 grayscale, light object on black, uint8 (784,).

    Colour is converted to grayscale; the image is scaled (keeping its aspect ratio) to fit 28×28
    and centred on black.  Fashion-MNIST shows the article light on a dark background, so a photo
    on a light background (the usual product shot) is inverted: with invert="auto" that happens
    when the border pixels are brighter on average than the middle.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise DataError("reading images needs pillow (pip install pillow)") from None
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 M pixels and refuses above twice that; both are refused here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                a = _gray_levels(img)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: image too large to read safely ({exc})") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None
    gray = Image.fromarray(np.round(a).astype(np.uint8))
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()
    if invert is True or (invert == "auto" and border > a.mean()):
        a = 255.0 - a
        gray = Image.fromarray(a.astype(np.uint8))
    w, h = gray.size
    scale = 28.0 / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = gray.resize(size, Image.LANCZOS)
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(small, ((28 - size[0]) // 2, (28 - size[1]) // 2))
    return np.asarray(canvas, dtype=np.uint8).reshape(784)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


# A .npy for a model trained on pixels holds gray levels 0..255; a little beyond (a resampled image's
# overshoot) is kept, values outside this range are not gray levels at all.
PIXEL_RANGE = (-1.0, 256.0)


def load_predict_inputs(paths, d, pixels=False):
    """Examples to predict from image and .npy files: a list of (label, raw row of d values).

    An image (PNG, JPEG, …) is one example of 784 pixels (image_to_pixels), so d must be 784.
    A .npy holds raw values: one example (d values in any shape, e.g. (28, 28)) labelled by its
    path, or a stack (n, …) of them labelled path[0], path[1], ….  Raises DataError naming the
    file for a missing or unreadable file, a wrong shape, non-numeric, complex or non-finite values,
    and, with pixels=True (a model trained on Fashion-MNIST's gray levels), values outside 0..255.
    """
    items = []
    for path in paths:
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".npy":
            try:
                a = np.load(p, allow_pickle=False, mmap_mode="r")     # the header only, until checked
                check_memory(a.nbytes + 8 * a.size, f"{p}: an array of shape {a.shape}", DataError)
                a = np.array(a)
            except FileNotFoundError:
                raise DataError(f"{p}: no such file") from None
            except (ValueError, OSError) as exc:
                raise DataError(f"{p}: not a readable .npy array ({exc})") from None
            if a.dtype == object or not np.issubdtype(a.dtype, np.number):
                raise DataError(f"{p}: expected a numeric array, got {a.dtype}")
            if np.iscomplexobj(a):          # a network's inputs are real: dropping .imag would be a guess
                raise DataError(f"{p}: holds complex numbers ({a.dtype}); give real values")
            if a.size == d:                      # one example: (784,), (28, 28) or (1, 784)
                rows = a.reshape(1, d)
            elif a.ndim >= 2 and int(np.prod(a.shape[1:])) == d:
                rows = a.reshape(len(a), d)
            else:
                raise DataError(f"{p}: shape {a.shape} does not hold examples of {d} values")
            if len(rows) == 0:
                raise DataError(f"{p}: holds no examples (shape {a.shape})")
            if not np.isfinite(rows).all():
                raise DataError(f"{p}: contains NaN or infinite values")
            if pixels:
                _check_gray_levels(p, rows)
            for i, row in enumerate(rows):
                items.append((f"{p}[{i}]" if len(rows) > 1 else str(p), row))
        elif suffix in IMAGE_SUFFIXES:
            if d != 784:
                raise DataError(f"{p}: images need a model with 784 inputs (28×28); this one has {d}")
            items.append((str(p), image_to_pixels(p)))
        else:
            raise DataError(f"{p}: unsupported file type {suffix or '(none)'}; give PNG/JPEG images or .npy arrays")
    return items


def _check_gray_levels(path, rows):
    """Refuse values that cannot be gray levels 0..255 (PIXEL_RANGE): such an array is in other units
    (raw sensor counts, another scaling), and its prediction would be a confident answer to nothing."""
    lo, hi = float(rows.min()), float(rows.max())
    if lo < PIXEL_RANGE[0] or hi > PIXEL_RANGE[1]:
        raise DataError(f"{path}: values from {lo:g} to {hi:g}, but this model reads pixels 0..255 "
                        f"(gray levels, as Fashion-MNIST's); rescale the array to 0..255")


def _gray_levels(img):
    """An open PIL image as float64 gray levels 0..255, whatever its mode's bit depth.

    convert("L") clips 16- and 32-bit values at 255 (a 16-bit photo becomes all white), so
    those modes are scaled instead: 16-bit by 255/65535, 32-bit integers by their own range,
    floats in [0, 1] by 255.
    """
    if img.mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float64) * (255.0 / 65535.0)
    if img.mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float64)
        if not np.isfinite(a).all():
            raise OSError(f"mode {img.mode} image with NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if img.mode == "F" and lo >= 0 and hi <= 1:
            return a * 255.0
        if lo >= 0 and hi <= 255 and img.mode == "F":
            return a
        if lo >= 0 and hi <= 65535:               # 16-bit PNGs open as mode I in Pillow
            return a * (255.0 / 65535.0)
        return (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.asarray(img.convert("L"), dtype=np.float64)
