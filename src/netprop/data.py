"""Data: IDX files, Fashion-MNIST (find, download, verify), users' .npz/.csv, splits, preprocessing, images.

Nothing here knows about networks or training.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .limits import check_memory, human_bytes

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# The dataset's official address and the MD5 sums its README publishes for the four files
# (github.com/zalandoresearch/fashion-mnist, "Get the Data").
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
}
# Debian's package re-compresses the files (same IDX contents, other .gz bytes), so files found
# on disk are checked by their IDX structure; the MD5s guard downloads.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
EXPECTED_SHAPES = {"train_images": (60000, 28, 28), "train_labels": (60000,),
                   "test_images": (10000, 28, 28), "test_labels": (10000,)}


# Labels are class indices 0..C-1; a stray large label would otherwise ask for that many outputs.
MAX_CLASSES = 10_000
# deflate cannot compress better than about 1032:1, so a .gz file of n bytes holds at most this
# many times n bytes of IDX data; a header declaring more is refused before reading the body.
_DEFLATE_MAX_RATIO = 1032


class DataError(ValueError):
    """A data file or data set that cannot be used; the message names the file and the problem."""


# --- IDX --------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (raw or gzip) into an ndarray, checking magic, type, dimensions and size.

    The size the header declares is checked against the file's size (raw) or what its
    compressed bytes can hold (gzip) and against the memory available, before the body is
    allocated; the body is then read straight into the array's memory in chunks, so a 47 MB
    file needs 47 MB.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            file_size = os.fstat(raw.fileno()).st_size
        with (gzip.open if compressed else open)(path, "rb") as fh:
            return _read_idx_stream(fh, path, file_size, compressed)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as exc:   # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: not a readable IDX file ({exc})") from None


def _read_idx_stream(fh, path, file_size, compressed):
    magic = fh.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(magic)} bytes)")
    zero1, zero2, type_code, ndim = magic
    if zero1 != 0 or zero2 != 0:
        raise DataError(f"{path}: bad magic number {magic.hex()} (an IDX file starts with 00 00)")
    if type_code not in _IDX_TYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    dims = fh.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated header ({4 + len(dims)} bytes, need {4 + 4 * ndim})")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(_IDX_TYPES[type_code])
    count = 1
    for n in shape:                         # Python integers: no overflow, however large the header
        count *= n
    expected = count * dtype.itemsize
    declared = f"header says {'x'.join(map(str, shape))} values ({expected} bytes)"
    header_bytes = 4 + 4 * ndim
    if not compressed and expected != file_size - header_bytes:
        got = file_size - header_bytes
        raise DataError(f"{path}: {declared} but the file holds {got}: "
                        f"{'truncated' if got < expected else 'trailing data'}")
    if compressed and expected > _DEFLATE_MAX_RATIO * file_size:
        raise DataError(f"{path}: {declared}, more than {file_size} compressed bytes can hold: "
                        f"truncated or corrupt")
    check_memory(expected, f"{path}: {declared}", DataError)
    body = bytearray(expected)
    view, got = memoryview(body), 0
    while got < expected:
        n = fh.readinto(view[got:got + (1 << 20)])
        if not n:
            break
        got += n
    trailing = fh.read(1) if got == expected else b""
    if got != expected or trailing:
        raise DataError(
            f"{path}: {declared} but the file holds "
            f"{'fewer' if got < expected else 'more'}: {'truncated' if got < expected else 'trailing data'}"
        )
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    if dtype.itemsize > 1:                  # IDX is big-endian: convert to native order
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path, array):
    """Write an array as an uncompressed IDX file (gzip-compressed when path ends in .gz)."""
    array = np.asarray(array)
    code = {np.dtype(v).newbyteorder("=").name: k for k, v in _IDX_TYPES.items()}.get(array.dtype.name)
    if code is None:
        raise ValueError(f"IDX has no type for dtype {array.dtype}")
    body = array.astype(np.dtype(_IDX_TYPES[code]).newbyteorder(">")).tobytes()
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + body
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(raw)


# --- Fashion-MNIST: find, download, verify ---------------------------------------


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netprop" / "fashion-mnist"


def candidate_dirs(data_dir=None):
    """Where Fashion-MNIST is looked for, in order."""
    dirs = []
    if data_dir:
        dirs.append(("--data-dir", Path(data_dir)))
    if os.environ.get("NETPROP_DATA"):
        dirs.append(("$NETPROP_DATA", Path(os.environ["NETPROP_DATA"])))
    dirs.append(("user cache", default_cache_dir()))
    dirs.append(("Debian package dataset-fashion-mnist", DEBIAN_DIR))
    return dirs


def _has_all_files(directory):
    return all((directory / name).is_file() or (directory / name[:-3]).is_file()
               for name, _ in FASHION_MNIST_FILES.values())


def md5sum(path):
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_fashion_mnist(dest, base_url=FASHION_MNIST_URL, timeout=60, progress=None):
    """Download the four files into dest, each checked against its published MD5.

    Each file is written to a temporary file in dest and renamed into place only when whole
    and verified: an interrupted or corrupt transfer leaves nothing behind under the real name.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, md5 in FASHION_MNIST_FILES.values():
        target = dest / name
        if target.is_file() and md5sum(target) == md5:
            continue
        url = base_url.rstrip("/") + "/" + name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                got = 0
                while block := resp.read(1 << 16):
                    out.write(block)
                    got += len(block)
                    if progress is not None:
                        progress(name, got, int(length) if length else None)
            if length is not None and got != int(length):
                raise DataError(f"{url}: transfer cut short ({got} of {length} bytes)")
            actual = md5sum(tmp)
            if actual != md5:
                raise DataError(f"{url}: MD5 {actual} does not match the published {md5}")
            os.replace(tmp, target)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataError(f"could not download {url}: {reason}") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def find_fashion_mnist(data_dir=None, download=True, base_url=None, progress=None):
    """The directory holding the four Fashion-MNIST files, downloading them if none has them.

    Looks, in order, in data_dir, $NETPROP_DATA, the user cache and Debian's
    /usr/share/datasets/fashion-mnist; then downloads into the user cache.
    """
    dirs = candidate_dirs(data_dir)
    if data_dir and not _has_all_files(Path(data_dir)):
        raise DataError(f"--data-dir {data_dir} does not hold the four Fashion-MNIST IDX files "
                        f"({', '.join(n for n, _ in FASHION_MNIST_FILES.values())})")
    for _, directory in dirs:
        if _has_all_files(directory):
            return directory
    cache = default_cache_dir()
    looked = "; ".join(f"{where}: {d}" for where, d in dirs)
    if not download:
        raise DataError(f"Fashion-MNIST not found (looked in {looked})")
    url = base_url or os.environ.get("NETPROP_DATA_URL") or FASHION_MNIST_URL
    try:
        download_fashion_mnist(cache, url, progress=progress)
    except DataError as exc:
        raise DataError(
            f"Fashion-MNIST not found (looked in {looked}) and the download failed: {exc}. "
            f"Fix: install Debian's package dataset-fashion-mnist (apt-get install "
            f"dataset-fashion-mnist), or put the four files in {cache} (or pass --data-dir)"
        ) from None
    return cache


def load_fashion_mnist(data_dir=None, download=True, progress=None):
    """(X_train, y_train, X_test, y_test) as uint8 arrays: X (n, 784), y (n,)."""
    directory = find_fashion_mnist(data_dir, download=download, progress=progress)
    arrays = {}
    for key, (name, _) in FASHION_MNIST_FILES.items():
        path = directory / name
        if not path.is_file():
            path = directory / name[:-3]
        array = read_idx(path)
        if array.shape != EXPECTED_SHAPES[key] or array.dtype != np.uint8:
            raise DataError(f"{path}: expected uint8 {EXPECTED_SHAPES[key]} for Fashion-MNIST, "
                            f"got {array.dtype} {array.shape}")
        arrays[key] = array
    for key in ("train_labels", "test_labels"):
        if arrays[key].max() > 9:
            raise DataError(f"{directory}: {key.replace('_', ' ')} hold a label above 9")
    return (arrays["train_images"].reshape(60000, 784), arrays["train_labels"],
            arrays["test_images"].reshape(10000, 784), arrays["test_labels"])


# --- users' own data ------------------------------------------------------------------


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


# --- splits and preprocessing ------------------------------------------------------------


def stratified_split(y, fraction, seed):
    """Indices (train, validation): `fraction` of each class goes to validation, chosen with seed."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx)))
        if len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


@dataclass
class Preprocessing:
    """x ↦ (x − mean) / std per feature, the statistics computed on the training split only.

    kind "features" (users' tables): a feature's own std, 1 for a constant feature.
    kind "pixels" (images): each pixel's own std, but at least a tenth of the average pixel std.
    Border pixels are almost always black, so their std is tiny; without the floor one stray
    bright pixel there (a photo given to predict) would become an input in the hundreds.
    On Fashion-MNIST this per-pixel scaling reached a higher validation accuracy than one
    mean and std for all pixels (README, "Choosing the defaults").
    """

    kind: str
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X, kind, rows=None, chunk=4096):
        """Statistics of X[rows] (n, d), accumulated in float64 over chunks (no float64 copy of X).

        Two passes, the mean first and then the spread around it, each feature scaled by its
        largest |value| on the way: E[x²] − mean² in one pass loses every digit of a small spread
        on a large offset (1e9 + N(0, 10²) gave std 0), and squares overflow from about 1e154.
        """
        if kind not in ("pixels", "features"):
            raise ValueError(f"unknown preprocessing kind {kind!r}")
        X = np.asarray(X)
        n, d = (X.shape[0] if rows is None else len(rows)), X.shape[1]

        def blocks():
            for start in range(0, n, chunk):
                block = X[start:start + chunk] if rows is None else X[rows[start:start + chunk]]
                yield block.astype(np.float64)

        size = np.zeros(d)
        for block in blocks():
            np.maximum(size, np.abs(block).max(axis=0), out=size)
        size[size == 0] = 1.0
        total = np.zeros(d)
        for block in blocks():
            total += (block / size).sum(axis=0)
        mean = total / n * size
        spread = np.zeros(d)
        for block in blocks():
            spread += (((block - mean) / size) ** 2).sum(axis=0)
        std = np.sqrt(spread / n) * size
        if kind == "pixels":
            std = np.maximum(std, 0.1 * std.mean()) if std.mean() > 0 else np.ones(d)
        else:
            std[std <= 1e-10 * np.maximum(np.abs(mean), 1.0)] = 1.0      # constant (up to rounding)
        return cls(kind, mean, std)

    def apply(self, X, dtype=np.float32, rows=None, chunk=2048):
        """(X[rows] − mean) / std in dtype, computed in float64 chunk by chunk and rounded once.

        In float64 a small spread on a large offset survives the subtraction (in float32,
        1e9 + N(0, 10²) rounds to steps of 64); the chunks keep the float64 copy small.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected (n, {self.mean.shape[0]}) inputs, got shape {X.shape}")
        n = X.shape[0] if rows is None else len(rows)
        out = np.empty((n, X.shape[1]), dtype=dtype)
        scale = 1.0 / self.std
        for start in range(0, n, chunk):
            block = X[start:start + chunk] if rows is None else X[rows[start:start + chunk]]
            centred = block - self.mean
            centred *= scale
            out[start:start + chunk] = centred
        return out


# --- images for predict ----------------------------------------------------------------


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


def load_predict_inputs(paths, d):
    """Examples to predict from image and .npy files: a list of (label, raw row of d values).

    An image (PNG, JPEG, …) is one example of 784 pixels (image_to_pixels), so d must be 784.
    A .npy holds raw values: one example (d values in any shape, e.g. (28, 28)) labelled by its
    path, or a stack (n, …) of them labelled path[0], path[1], ….  Raises DataError naming the
    file for a missing or unreadable file, a wrong shape, non-numeric or non-finite values.
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
            for i, row in enumerate(rows):
                items.append((f"{p}[{i}]" if len(rows) > 1 else str(p), row))
        elif suffix in IMAGE_SUFFIXES:
            if d != 784:
                raise DataError(f"{p}: images need a model with 784 inputs (28×28); this one has {d}")
            items.append((str(p), image_to_pixels(p)))
        else:
            raise DataError(f"{p}: unsupported file type {suffix or '(none)'}; give PNG/JPEG images or .npy arrays")
    return items


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
