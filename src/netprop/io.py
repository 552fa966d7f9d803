"""Saving and loading: safetensors for arrays, JSON for configuration, every write atomic.

No pickle anywhere: loading a model or checkpoint reads arrays and JSON, never code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .network import Network

FORMAT_VERSION = 1


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


def save_arrays(path, arrays, metadata=None):
    """A safetensors file, written atomically; metadata is a JSON-able dict stored in its header."""
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    meta = {"netprop": json.dumps(metadata, default=_json_default)} if metadata is not None else None
    blob = save(arrays, metadata=meta)
    with atomic_write(path) as fh:
        fh.write(blob)


def load_arrays(path):
    """(arrays, metadata) from a safetensors file written by save_arrays."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    try:
        arrays = load(blob)
        header_len = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + header_len])
        meta = header.get("__metadata__") or {}
        metadata = json.loads(meta["netprop"]) if "netprop" in meta else None
    except (SafetensorError, ValueError, KeyError, OSError) as exc:
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from None
    return arrays, metadata


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def versions():
    import numpy

    from ._version import __version__
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
    write_json(directory / "config.json", config)
    return directory


def load_model(directory):
    """The TrainedModel saved in directory: its Network, preprocessing and class names.

    Every array is checked against config.json (names, shapes, finite values) and the file
    against the SHA-256 recorded when it was saved; any mismatch is refused.
    """
    from .data import Preprocessing

    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: not a directory (expected a run directory from netprop train)")
    config_path, model_path = directory / "config.json", directory / "model.safetensors"
    for p in (config_path, model_path):
        if not p.is_file():
            raise ModelFileError(f"{directory}: missing {p.name} (is this a netprop run directory?)")
    try:
        config = json.loads(config_path.read_text())
        spec = config["network"]
        sizes = spec["layer_sizes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{config_path}: not a valid netprop config ({exc})") from None
    expected_hash = config.get("model_sha256")
    if expected_hash and sha256(model_path) != expected_hash:
        raise ModelFileError(f"{model_path}: contents do not match the SHA-256 in config.json "
                             f"(the file was changed or corrupted after saving)")
    arrays, _ = load_arrays(model_path)
    try:
        net = Network(sizes, activation=spec["activation"], loss=spec["loss"],
                      dtype=spec.get("dtype", "float32"))
    except (ValueError, KeyError) as exc:
        raise ModelFileError(f"{config_path}: bad network description ({exc})") from None
    expected = {}
    for l in range(net.n_layers):
        expected[f"W{l + 1}"] = (sizes[l + 1], sizes[l])
        expected[f"b{l + 1}"] = (sizes[l + 1],)
    if config.get("preprocessing"):
        expected["preprocessing.mean"] = (sizes[0],)
        expected["preprocessing.std"] = (sizes[0],)
    if set(arrays) != set(expected):
        raise ModelFileError(f"{model_path}: holds arrays {sorted(arrays)}, config.json expects "
                             f"{sorted(expected)}")
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ModelFileError(f"{model_path}: {name} has shape {arrays[name].shape}, "
                                 f"config.json expects {shape}")
        if not np.isfinite(arrays[name]).all():
            raise ModelFileError(f"{model_path}: {name} contains NaN or infinite values")
    net.weights = [arrays[f"W{l + 1}"].astype(net.dtype) for l in range(net.n_layers)]
    net.biases = [arrays[f"b{l + 1}"].astype(net.dtype) for l in range(net.n_layers)]
    preprocessing = None
    if config.get("preprocessing"):
        std = arrays["preprocessing.std"].astype(np.float64)
        if (std <= 0).any():
            raise ModelFileError(f"{model_path}: preprocessing.std must be positive")
        preprocessing = Preprocessing(config["preprocessing"].get("kind", "features"),
                                      arrays["preprocessing.mean"].astype(np.float64), std)
    names = config.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) != sizes[-1]):
        raise ModelFileError(f"{config_path}: class_names must list {sizes[-1]} names")
    return TrainedModel(net, preprocessing, names, config)
