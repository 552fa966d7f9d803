"""Saving and loading: safetensors for arrays, JSON for configuration, every write atomic.

No pickle anywhere: loading a model or checkpoint reads arrays and JSON, never code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:                 # Windows: no flock; directory_lock says so
    fcntl = None

from . import schema
from ..core.limits import check_memory, human_bytes
from ..core.network import Network

FORMAT_VERSION = 1
# safetensors stores a JSON header before the arrays; netprop's are a few KiB
MAX_SAFETENSORS_HEADER = 1 << 20


@dataclass
class TrainedModel:
    """A trained Network with what it was trained with: how raw inputs become its x, class names.

    net:            the Network (its forward and backward are the lecture's)
    preprocessing:  data.Preprocessing fitted on the training split, or None (inputs used as given)
    class_names:    one name per output, or None
    config:         config.json as saved (network, training settings, versions, hash)
    """

    net: Network
    preprocessing: object = None
    class_names: list = None
    config: dict = field(default_factory=dict)

    def prepare(self, X):
        """Raw inputs (n, d) as the network takes them: preprocessed, in the network's dtype."""
        X = np.asarray(X)
        if self.preprocessing is None:
            return X.astype(self.net.dtype, copy=False)
        return self.preprocessing.apply(X, self.net.dtype)

    def predict_proba(self, X):
        """ŷ for raw inputs (n, d): class probabilities, columns in the order of class_names."""
        return self.net.predict_proba(self.prepare(X))

    def predict(self, X):
        """The most probable class index for each row of raw inputs X."""
        return np.argmax(self.predict_proba(X), axis=-1)

    def names(self):
        """class_names, or "0", "1", … when the model has none."""
        return self.class_names or [str(k) for k in range(self.net.layer_sizes[-1])]

    def save(self, directory, extra_config=None):
        """Write model.safetensors and config.json into directory (see load_model)."""
        return save_model(self, directory, extra_config)


class ModelFileError(ValueError):
    """A model or checkpoint that cannot be loaded; the message names the file and the problem."""


class DirectoryBusyError(ValueError):
    """Another netprop process holds the lock on an output directory."""


@contextlib.contextmanager
def directory_lock(directory):
    """Hold an exclusive OS lock (flock) on directory while the block runs; refuse if another holds it.

    The lock is on the directory itself, so nothing is left behind, and the kernel drops it when
    the process dies (kill -9 included): a crashed run never leaves a stale lock.
    """
    directory = Path(directory)
    if fcntl is None:               # documented in the README: no lock where the OS has no flock
        yield directory
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DirectoryBusyError(f"{directory}: another netprop process is writing there right now; "
                                     f"wait for it to end or choose another directory") from None
        yield directory
    finally:
        os.close(fd)          # closing the descriptor releases the lock


# atomic_write's temporaries: "." + the target's name + mkstemp's 8 random characters + ".tmp"
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def clean_stale_temporaries(directory):
    """Delete the temporary files of writes interrupted in directory (kill -9); returns their names.

    Call it only while holding directory_lock: then no write of another process is in flight.
    """
    removed = []
    for p in Path(directory).iterdir():
        if _TEMPORARY.fullmatch(p.name) and p.is_file() and not p.is_symlink():
            p.unlink()
            removed.append(p.name)
    return sorted(removed)


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Write to a temporary file beside path, then rename it over path: readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)           # mkstemp makes 0600; give the file the usual mode
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, obj):
    with atomic_write(path, "w") as fh:
        json.dump(obj, fh, indent=2, default=_json_default)
        fh.write("\n")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def arrays_digest(arrays, metadata_json):
    """SHA-256 over every array's name, dtype, shape and bytes (sorted by name) and the metadata text."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(memoryview(a.reshape(-1).view(np.uint8)))
    h.update(metadata_json.encode())
    return h.hexdigest()


def save_arrays(path, arrays, metadata=None):
    """A safetensors file, written atomically; metadata is a JSON-able dict stored in its header.

    The header also carries a checksum of the arrays and metadata ("sha256"), which load_arrays
    verifies: one flipped bit anywhere is refused instead of resumed or loaded.
    """
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    meta_json = json.dumps(metadata, default=_json_default) if metadata is not None else ""
    meta = {"sha256": arrays_digest(arrays, meta_json)}
    if metadata is not None:
        meta["netprop"] = meta_json
    blob = save(arrays, metadata=meta)
    with atomic_write(path) as fh:
        fh.write(blob)


def load_arrays(path, require_checksum=False):
    """(arrays, metadata) from a safetensors file written by save_arrays, its checksum verified.

    require_checksum: refuse a file without one (checkpoints); otherwise a file without one is
    read as it is (model.safetensors is covered by config.json's hash instead).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(path)
    try:
        size = path.stat().st_size
        check_memory(size, f"{path}: reading its {human_bytes(size)}", ModelFileError)
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    try:
        header_len = int.from_bytes(blob[:8], "little")
        if len(blob) < 8 or header_len > min(MAX_SAFETENSORS_HEADER, len(blob) - 8):
            raise ValueError(f"header length {header_len} does not fit the file's {len(blob)} bytes")
        arrays = load(blob)              # safetensors checks the header's structure and offsets
        header = schema.parse_json(blob[8:8 + header_len].decode("utf-8"), str(path), ModelFileError)
        meta = header.get("__metadata__") or {}
        meta_json = meta.get("netprop", "")
        metadata = schema.parse_json(meta_json, str(path), ModelFileError) if meta_json else None
    except (SafetensorError, ValueError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from None
    expected = meta.get("sha256")
    if expected is None:
        if require_checksum:
            raise ModelFileError(f"{path}: has no checksum (written by an older netprop or not by "
                                 f"netprop at all), so it cannot be verified")
    elif arrays_digest(arrays, meta_json) != expected:
        raise ModelFileError(f"{path}: contents do not match its checksum (the file was changed or "
                             f"corrupted after it was written)")
    return arrays, metadata


def sha256(path, block=1 << 20):
    """SHA-256 of a file's bytes, read a block at a time (memory stays at one block)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def config_digest(config):
    """SHA-256 of config.json's content without its own config_sha256 field, in canonical form.

    Canonical: keys sorted, no spaces, so that the digest depends on the values and not on how
    the file was indented.  Covers model_sha256 too, so a config cannot be edited or corrupted
    without the change being noticed.
    """
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    body = json.loads(json.dumps(body, default=_json_default))
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def versions():
    import numpy

    from .._version import __version__
    return {"netprop": __version__, "numpy": numpy.__version__, "python": platform.python_version()}


def network_config(net):
    return {"layer_sizes": net.layer_sizes, "activation": net.activation, "loss": net.loss_name,
            "dtype": net.dtype.name}


def save_model(model, directory, extra_config=None):
    """Write model.safetensors and config.json into directory (created if needed).

    model: a TrainedModel, or a bare Network (saved with no preprocessing or class names).
    """
    if isinstance(model, Network):
        model = TrainedModel(model)
    net = model.net
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, p in net.named_parameters().items():
        arrays[name] = p
    config = {"format_version": FORMAT_VERSION, "network": network_config(net),
              "class_names": model.class_names, "preprocessing": None, "versions": versions()}
    if model.preprocessing is not None:
        arrays["preprocessing.mean"] = model.preprocessing.mean
        arrays["preprocessing.std"] = model.preprocessing.std
        config["preprocessing"] = {"kind": model.preprocessing.kind,
                                   "formula": "x' = (x - mean) / std"}
    if extra_config:
        config.update(extra_config)
    save_arrays(directory / "model.safetensors", arrays)
    config["model_sha256"] = sha256(directory / "model.safetensors")
    config["config_sha256"] = config_digest(config)
    write_json(directory / "config.json", config)
    return directory


def load_model(directory, trust_unverified=False):
    """The TrainedModel saved in directory: its Network, preprocessing and class names.

    config.json is parsed with its depth bounded, checked field by field and against its own
    SHA-256 (config_sha256); model.safetensors against the SHA-256 recorded in it (model_sha256),
    its size against the shapes config.json declares before anything is allocated, then every
    array against config.json (names, shapes, finite values).  Any mismatch is refused with a
    ModelFileError.  A config without the two hashes (an older netprop, or removed by hand) is
    refused too, unless trust_unverified=True says to load it anyway.
    """
    from ..data import Preprocessing

    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: not a directory (expected a run directory from netprop train)")
    config_path, model_path = directory / "config.json", directory / "model.safetensors"
    for p in (config_path, model_path):
        if not p.is_file():
            raise ModelFileError(f"{directory}: missing {p.name} (is this a netprop run directory?)")
    config = schema.load_json(config_path, error=ModelFileError, max_bytes=16 << 20)
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_path}: not a valid netprop config (expected a JSON object)")
    missing = [k for k in ("config_sha256", "model_sha256") if k not in config]
    if missing and not trust_unverified:
        raise ModelFileError(f"{config_path}: has no {' or '.join(missing)} to verify the model with; "
                             f"load it only if you trust where it came from (--trust-unverified, "
                             f"or trust_unverified=True)")
    if "config_sha256" in config and config_digest(config) != config["config_sha256"]:
        raise ModelFileError(f"{config_path}: contents do not match its config_sha256 (the file was "
                             f"changed or corrupted after saving)")
    schema.check_model_config(config, str(config_path), ModelFileError)
    spec = config["network"]
    sizes = spec["layer_sizes"]
    dtype = np.dtype(spec.get("dtype") or "float32")
    expected = {}
    for l in range(len(sizes) - 1):
        expected[f"W{l + 1}"] = (sizes[l + 1], sizes[l])
        expected[f"b{l + 1}"] = (sizes[l + 1],)
    if config.get("preprocessing"):
        expected["preprocessing.mean"] = (sizes[0],)
        expected["preprocessing.std"] = (sizes[0],)
    # Sizes come from a file: compare them with the arrays' file before allocating anything.
    values = sum(int(np.prod(shape, dtype=object)) for shape in expected.values())
    size = model_path.stat().st_size
    if not values * 4 <= size <= 8 + MAX_SAFETENSORS_HEADER + values * 8:
        raise ModelFileError(f"{model_path}: {size} bytes, but the layer sizes in config.json "
                             f"({'-'.join(map(str, sizes))}) need {values} values "
                             f"({human_bytes(values * 4)} to {human_bytes(values * 8)})")
    check_memory(2 * values * dtype.itemsize + size, f"{config_path}: a {'-'.join(map(str, sizes))} network",
                 ModelFileError)
    expected_hash = config.get("model_sha256")
    if expected_hash and sha256(model_path) != expected_hash:
        raise ModelFileError(f"{model_path}: contents do not match the SHA-256 in config.json "
                             f"(the file was changed or corrupted after saving)")
    arrays, _ = load_arrays(model_path)
    if set(arrays) != set(expected):
        raise ModelFileError(f"{model_path}: holds arrays {sorted(arrays)}, config.json expects "
                             f"{sorted(expected)}")
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ModelFileError(f"{model_path}: {name} has shape {arrays[name].shape}, "
                                 f"config.json expects {shape}")
        if not np.issubdtype(arrays[name].dtype, np.floating):
            raise ModelFileError(f"{model_path}: {name} has dtype {arrays[name].dtype}, expected floats")
        if not np.isfinite(arrays[name]).all():
            raise ModelFileError(f"{model_path}: {name} contains NaN or infinite values")
    net = Network(sizes, activation=spec["activation"], loss=spec["loss"], dtype=dtype.name)
    net.weights = [arrays[f"W{l + 1}"].astype(net.dtype) for l in range(net.n_layers)]
    net.biases = [arrays[f"b{l + 1}"].astype(net.dtype) for l in range(net.n_layers)]
    preprocessing = None
    if config.get("preprocessing"):
        std = arrays["preprocessing.std"].astype(np.float64)
        if (std <= 0).any():
            raise ModelFileError(f"{model_path}: preprocessing.std must be positive")
        preprocessing = Preprocessing(config["preprocessing"]["kind"],
                                      arrays["preprocessing.mean"].astype(np.float64), std)
    names = config.get("class_names")
    return TrainedModel(net, preprocessing, names, config)
