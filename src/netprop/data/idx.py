"""IDX files (the format Fashion-MNIST and MNIST ship in): read, bounded by the file's size, and write.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..core.limits import check_memory
from .errors import DataError
from .gunzip import GzipReader

# deflate cannot compress better than about 1032:1, so a .gz file of n bytes holds at most this
# many times n bytes of IDX data; a header declaring more is refused before reading the body.
_DEFLATE_MAX_RATIO = 1032


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (raw or gzip) into an ndarray, checking magic, type, dimensions and size.

    The size the header declares is checked against the file's size (raw) or what its
    compressed bytes can hold (gzip) and against the memory available, before the body is
    allocated; the body is then read straight into the array's memory, so a 47 MB file needs
    47 MB (and a gzip file, 8 MB more while it is decompressed: gunzip.py).
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            file_size = os.fstat(raw.fileno()).st_size
        with open(path, "rb") as fh:
            return _read_idx_stream(GzipReader(fh) if compressed else fh, path, file_size, compressed)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as exc:   # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: not a readable IDX file ({exc})") from None


def _read_idx_stream(fh, path, file_size, compressed):
    """The array in an IDX stream (fh at its start): magic number, dimensions, then the data, each checked
    against the file's size before anything is allocated; compressed says file_size is not the data's."""
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
        n = fh.readinto(view[got:])
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
