"""Fashion-MNIST: find it on disk, or download it and verify the published MD5 sums.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import read_idx

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
    import urllib.error                     # here, not at the top: training from local files never needs it
    import urllib.request

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
    """(X_train, y_train, X_test, y_test) as uint8 arrays: X (n, 784), y (n,).

    The four files are read on two threads (zlib decompresses without holding the GIL): the test
    set and the labels while the training images, most of the time, decompress.
    """
    from concurrent.futures import ThreadPoolExecutor

    directory = find_fashion_mnist(data_dir, download=download, progress=progress)

    def read(key):
        name = FASHION_MNIST_FILES[key][0]
        path = directory / name
        if not path.is_file():
            path = directory / name[:-3]
        array = read_idx(path)
        if array.shape != EXPECTED_SHAPES[key] or array.dtype != np.uint8:
            raise DataError(f"{path}: expected uint8 {EXPECTED_SHAPES[key]} for Fashion-MNIST, "
                            f"got {array.dtype} {array.shape}")
        return array

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="netprop-read") as pool:
        arrays = dict(zip(FASHION_MNIST_FILES, pool.map(read, FASHION_MNIST_FILES)))
    for key in ("train_labels", "test_labels"):
        if arrays[key].max() > 9:
            raise DataError(f"{directory}: {key.replace('_', ' ')} hold a label above 9")
    return (arrays["train_images"].reshape(60000, 784), arrays["train_labels"],
            arrays["test_images"].reshape(10000, 784), arrays["test_labels"])
