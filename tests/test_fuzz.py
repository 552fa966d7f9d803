"""Seeded fuzzers (slow tier): mutated model directories and IDX files load exactly or fail cleanly.

Each mutation (bit flips, truncations, insertions, JSON field edits, header edits) must end in
one of two ways: a load equal to what an independent reading of the mutated bytes says, or
netprop's own error type with a message.  Never another exception, never a hang (an interval
timer bounds each case), never a large allocation (tracemalloc's peak, which NumPy's arrays
report to, and the process's peak resident size are both bounded).
"""

import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

import netprop
from netprop.data import DataError, Preprocessing, read_idx
from netprop.storage.models import ModelFileError, TrainedModel

MUTATIONS = int(os.environ.get("NETPROP_FUZZ_MUTATIONS", "3000"))
SEED = int(os.environ.get("NETPROP_FUZZ_SEED", "13"))      # CI runs the default; other seeds by hand
MiB = 1 << 20
CASE_SECONDS = 10


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"one case ran longer than {CASE_SECONDS} s")


class Bounded:
    """Within the block: an interval timer per case (timed), tracemalloc on, and the process's peak
    resident size noted; afterwards .peak and .rss_growth hold the figures to assert on."""

    def __enter__(self):
        self.previous = signal.signal(signal.SIGALRM, _alarm)
        self.rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        self.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.rss_before
        return False


def timed(fn, *args, **kwargs):
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# --- byte-level mutations ------------------------------------------------------------------


def flip(rng, blob, lo=0, hi=None):
    blob = bytearray(blob)
    hi = len(blob) if hi is None else min(hi, len(blob))
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(lo, hi)
        blob[k] ^= 1 << rng.randrange(8)
    return bytes(blob)


def truncate(rng, blob):
    return blob[:rng.randrange(len(blob))]


def insert(rng, blob):
    k = rng.randrange(len(blob) + 1)
    return blob[:k] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + blob[k:]


# --- model directories ---------------------------------------------------------------------

JUNK = [None, -1, 0, 1, 3, 6, 2 ** 31, 10 ** 12, 2 ** 64, -2.5, 1e308, "", "x", "relu", "float16", True,
        [], {}, [[[[]]]], [1, 2], ["a"], {"kind": "features"}, "0" * 64]


def json_paths(value, path=()):
    """Every path (tuple of keys and indices) into a JSON value, the value itself included."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_paths(v, path + (k,))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from json_paths(v, path + (k,))


def edit_json(rng, obj):
    """obj with one field replaced by junk, deleted, or a key added; obj itself is left as it was."""
    obj = json.loads(json.dumps(obj))
    path = rng.choice([p for p in json_paths(obj) if p])
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.2 and isinstance(parent, dict):
        parent[rng.choice(["extra", "__metadata__", "W9"])] = rng.choice(JUNK)
    else:
        parent[path[-1]] = json.loads(json.dumps(rng.choice(JUNK)))
    return obj


def config_hash(config):
    """config_sha256 worked out here: SHA-256 of the JSON without it, keys sorted, no spaces."""
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def edit_safetensors_header(rng, blob):
    """The safetensors file with one field of its JSON header edited (shape, dtype, offsets, metadata)."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    text = json.dumps(edit_json(rng, header)).encode()
    return len(text).to_bytes(8, "little") + text + blob[8 + n:]


def mutate_model(rng, files):
    """(mutated files, how): how is "bytes" (hashes as saved) or "resealed" (hashes recomputed)."""
    files = dict(files)
    kind = rng.choice(["flip", "flip", "truncate", "insert", "config", "config", "header"])
    if kind in ("flip", "truncate", "insert"):
        name = rng.choice(["model.safetensors", "config.json"])
        files[name] = {"flip": flip, "truncate": truncate, "insert": insert}[kind](rng, files[name])
        return files, "bytes"
    config = json.loads(files["config.json"])
    if kind == "header":
        files["model.safetensors"] = edit_safetensors_header(rng, files["model.safetensors"])
    else:
        config = edit_json(rng, config)
    reseal = rng.random() < 0.6 and isinstance(config, dict)
    if reseal:          # past the hashes, so that the checks behind them are reached too
        config["model_sha256"] = hashlib.sha256(files["model.safetensors"]).hexdigest()
        config["config_sha256"] = config_hash(config)
    files["config.json"] = json.dumps(config, indent=rng.choice([None, 2])).encode()
    return files, "resealed" if reseal else "bytes"


def same_model(a, b):
    return (a.net.layer_sizes == b.net.layer_sizes and a.net.activation == b.net.activation
            and a.net.loss_name == b.net.loss_name and a.net.dtype == b.net.dtype
            and a.class_names == b.class_names
            and all(np.array_equal(x, y) for x, y in zip(a.net.weights + a.net.biases,
                                                          b.net.weights + b.net.biases))
            and (a.preprocessing is None) == (b.preprocessing is None)
            and (a.preprocessing is None or (np.array_equal(a.preprocessing.mean, b.preprocessing.mean)
                                             and np.array_equal(a.preprocessing.std, b.preprocessing.std))))


@pytest.mark.slow
def test_fuzz_model_directories(tmp_path):
    rng = random.Random(SEED)
    net = netprop.Network([6, 5, 3], seed=0, dtype="float32")
    TrainedModel(net, Preprocessing("features", np.arange(6.0), np.full(6, 2.0)), ["a", "b", "c"]).save(tmp_path / "m")
    files = {name: (tmp_path / "m" / name).read_bytes() for name in ("model.safetensors", "config.json")}
    reference = netprop.load(tmp_path / "m")
    work = tmp_path / "w"
    outcomes = {"refused": 0, "identical": 0, "valid edit": 0}
    with Bounded() as bounds:
        for case in range(MUTATIONS):
            mutated, how = mutate_model(rng, files)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            for name, blob in mutated.items():
                (work / name).write_bytes(blob)
            try:
                model = timed(netprop.load, work)
            except ModelFileError as exc:
                assert str(exc).startswith(str(work)), (case, str(exc))
                outcomes["refused"] += 1
                continue
            if same_model(model, reference):
                outcomes["identical"] += 1
                continue
            # a load that differs is only right when hashes were recomputed: then it must be what the
            # mutated files say, and a model netprop would have saved (finite, shapes from config.json)
            assert how == "resealed", (case, how)
            config = json.loads(mutated["config.json"])
            assert model.net.layer_sizes == config["network"]["layer_sizes"], case
            assert model.class_names == config.get("class_names"), case
            assert all(np.isfinite(p).all() for p in model.net.weights + model.net.biases), case
            outcomes["valid edit"] += 1
    print(f"\n{MUTATIONS} model mutations: {outcomes}; peak traced {bounds.peak / MiB:.1f} MiB, "
          f"peak resident size grew {bounds.rss_growth / MiB:.1f} MiB")
    assert outcomes["refused"] > MUTATIONS // 2 and outcomes["identical"] > 0
    assert bounds.peak < 16 * MiB and bounds.rss_growth < 100 * MiB


# --- IDX files -----------------------------------------------------------------------------

# IDX type codes and their big-endian dtypes, from the format's description (yann.lecun.com/exdb/mnist)
IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array, code):
    return (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(IDX_TYPES[code]).tobytes())


def decode_idx(blob):
    """The array an IDX file's bytes hold, decoded here without netprop, or None if they hold none."""
    if blob[:2] == b"\x1f\x8b":
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError, zlib.error):
            return None
    if len(blob) < 4 or blob[0] or blob[1] or blob[2] not in IDX_TYPES or blob[3] == 0:
        return None
    ndim = blob[3]
    if len(blob) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", blob[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_TYPES[blob[2]])
    body = blob[4 + 4 * ndim:]
    count = 1
    for n in shape:
        count *= n
    if len(body) != count * dtype.itemsize:
        return None
    return np.frombuffer(body, dtype).reshape(shape)


def mutate_idx(rng, raw):
    """Raw IDX bytes mutated; gzip-compressed before or after the mutation, or left raw."""
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    kind = rng.choice(["flip header", "flip header", "flip", "truncate", "insert", "dim", "dim", "type"])
    if kind == "flip header":
        blob = flip(rng, raw, 0, header_end)
    elif kind == "flip":
        blob = flip(rng, raw)
    elif kind == "truncate":
        blob = truncate(rng, raw)
    elif kind == "insert":
        blob = insert(rng, raw)
    elif kind == "dim":             # a declared size anywhere from 0 to 2^32 - 1
        k = rng.randrange(ndim)
        value = rng.choice([0, 1, 2 ** 32 - 1, 2 ** 31, rng.randrange(2 ** 32), rng.randrange(64)])
        blob = raw[:4 + 4 * k] + struct.pack(">I", value) + raw[8 + 4 * k:]
    else:
        blob = raw[:2] + bytes([rng.randrange(256), rng.choice([raw[3], rng.randrange(256)])]) + raw[4:]
    where = rng.random()
    if where < 0.3:
        blob = gzip.compress(blob, mtime=0)                   # the mutation inside the compressed stream
    elif where < 0.45:
        blob = rng.choice([flip, truncate, insert])(rng, gzip.compress(raw, mtime=0))   # the stream itself
    return blob


@pytest.mark.slow
def test_fuzz_idx_files(tmp_path):
    rng = random.Random(SEED)
    gen = np.random.default_rng(SEED)
    sources = [(idx_bytes(gen.integers(0, 256, size=(7, 5, 3)), 0x08)),
               (idx_bytes(gen.integers(-128, 128, size=(9,)), 0x09)),
               (idx_bytes(gen.integers(-3000, 3000, size=(4, 6)), 0x0B)),
               (idx_bytes(gen.integers(-10 ** 6, 10 ** 6, size=(2, 2, 2, 2)), 0x0C)),
               (idx_bytes(gen.normal(size=(10,)), 0x0D)),
               (idx_bytes(gen.normal(size=(3, 3)), 0x0E))]
    path = tmp_path / "fuzzed-idx-ubyte"
    outcomes = {"refused": 0, "read": 0}
    with Bounded() as bounds:
        for case in range(MUTATIONS):
            blob = mutate_idx(rng, rng.choice(sources))
            path.write_bytes(blob)
            expected = decode_idx(blob)
            try:
                got = timed(read_idx, path)
            except DataError as exc:
                assert str(exc).startswith(str(path)), (case, str(exc))
                assert expected is None, (case, str(exc))
                outcomes["refused"] += 1
                continue
            assert expected is not None, case
            assert got.shape == expected.shape and got.dtype == expected.dtype.newbyteorder("="), case
            np.testing.assert_array_equal(got, expected)
            outcomes["read"] += 1
    print(f"\n{MUTATIONS} IDX mutations: {outcomes}; peak traced {bounds.peak / MiB:.1f} MiB, "
          f"peak resident size grew {bounds.rss_growth / MiB:.1f} MiB")
    assert outcomes["refused"] > MUTATIONS // 2 and outcomes["read"] > 0
    assert bounds.peak < 8 * MiB and bounds.rss_growth < 100 * MiB
