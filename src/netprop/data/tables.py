"""Users' own data: .npz with X and y, or a CSV with the label first; labels checked.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..core.limits import check_memory, human_bytes
from .errors import DataError

# Labels are class indices 0..C-1; a stray large label would otherwise ask for that many outputs.
MAX_CLASSES = 10_000


def load_table(path, header=False):
    """(X, y) from a .npz holding arrays X and y, or a CSV whose first column is the label.

    X: (n, d) real numbers, y: (n,) integer labels 0..MAX_CLASSES-1, or None when the file has
    no labels (a .npz without y).  CSV: header=True skips the first row; otherwise the first row
    is skipped only when it is text only (no field is a number), and a first row that mixes
    numbers with something else is an error naming row 1, not a row silently lost.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _load_npz(path)
    elif suffix == ".csv":
        table = _load_csv(path, header)
        if table.shape[1] < 2:
            raise DataError(f"{path}: a CSV needs the label in the first column and at least one feature")
        X, y = table[:, 1:], table[:, 0]
    else:
        raise DataError(f"{path}: unsupported file type {suffix or '(none)'}; use .npz or .csv")
    X = np.asarray(X)
    if X.ndim == 3:
        X = X.reshape(len(X), -1)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: X must be (examples, features) with at least one of each, got shape {X.shape}")
    if np.iscomplexobj(X):
        raise DataError(f"{path}: X is complex ({X.dtype}); netprop takes real numbers (its imaginary "
                        f"part would be lost)")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise DataError(f"{path}: X must be numeric, got {X.dtype}")
    if not np.isfinite(X).all():
        raise DataError(f"{path}: X contains NaN or infinite values")
    if y is not None:
        y = check_labels(np.asarray(y), X.shape[0], path)
    return X, y


def check_labels(y, n, path):
    """y as int64 class indices, checked: one per example, integers in 0..MAX_CLASSES-1."""
    if y.shape != (n,):
        raise DataError(f"{path}: y must hold one label per example ({n}), got shape {y.shape}")
    if np.iscomplexobj(y) or not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        raise DataError(f"{path}: labels must be integers 0, 1, 2, …, got {y.dtype} values")
    if not np.isfinite(y).all() or (y != np.round(y)).any() or (y < 0).any():
        raise DataError(f"{path}: labels must be integers >= 0")
    if y.max() >= MAX_CLASSES:
        raise DataError(f"{path}: label {y.max():.0f} would make {y.max() + 1:.0f} classes; labels are "
                        f"class indices 0..C-1 and netprop takes at most {MAX_CLASSES} classes")
    return y.astype(np.int64)


def _load_npz(path):
    """(X, y or None) from a .npz, each member's declared size checked before it is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for name in ("X.npy", "y.npy"):
                if name in members:
                    _check_npy_member(archive, members[name], path)
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise DataError(f"{path}: a .npz needs an array named X (found {archive.files})")
            X = archive["X"]
            y = archive["y"] if "y" in archive.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return X, y


def _check_npy_member(archive, info, path):
    """Refuse a .npy member whose header declares more bytes than the member holds."""
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(fh)
    if dtype.hasobject:
        raise DataError(f"{path}: {info.filename} holds Python objects; netprop reads numbers only")
    count = 1
    for n in shape:
        count *= n
    declared = count * dtype.itemsize
    if declared > info.file_size:
        raise DataError(f"{path}: {info.filename} declares shape {shape} ({human_bytes(declared)}) but "
                        f"holds {info.file_size} bytes: truncated or corrupt")
    check_memory(declared, f"{path}: {info.filename} of shape {shape}", DataError)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path, header):
    """The CSV as a float64 table (rows, columns); see load_table for the first-row rule."""
    check_memory(8 * path.stat().st_size, f"{path}: its table", DataError)
    try:
        with open(path, encoding="utf-8-sig") as fh:    # utf-8-sig: a byte-order mark is not data
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc})") from None
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the CSV is empty")
    fields = [f.strip() for f in lines[first].split(",")]
    if header or not any(_is_number(f) for f in fields):
        first += 1                          # a header: asked for, or text only
    elif not all(_is_number(f) for f in fields):
        bad = next(f for f in fields if not _is_number(f))
        raise DataError(f"{path}: row {first + 1} does not parse as numbers ({bad!r}); if it is a "
                        f"header, pass --header")
    try:
        table = np.loadtxt(lines[first:], delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: not a numeric CSV ({exc})") from None
    if table.size == 0:
        raise DataError(f"{path}: the CSV has no data rows")
    return table
