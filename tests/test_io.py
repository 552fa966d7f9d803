"""Save/load round trip; mismatched, tampered and foreign files are refused; writes are atomic."""

import hashlib
import json

import numpy as np
import pytest

import netprop
from netprop.data import Preprocessing
from netprop.storage.models import ModelFileError, TrainedModel, atomic_write, save_arrays, sha256


def reseal(config):
    """config_sha256 recomputed by hand: SHA-256 of the JSON without it, keys sorted, no spaces."""
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    config["config_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    return config


@pytest.fixture
def saved(tmp_path):
    net = netprop.Network([6, 5, 3], seed=0, dtype="float32")
    TrainedModel(net, Preprocessing("features", np.arange(6.0), np.full(6, 2.0)), ["a", "b", "c"]).save(tmp_path / "m")
    return net, tmp_path / "m"


def test_round_trip(saved):
    net, path = saved
    model = netprop.load(path)
    back = model.net
    assert back.layer_sizes == [6, 5, 3] and back.dtype == np.float32
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.preprocessing.mean, np.arange(6.0))
    assert model.class_names == ["a", "b", "c"]
    X = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_array_equal(net.predict_proba(X), back.predict_proba(X))
    # raw inputs go through the saved preprocessing: (x − mean)/std, worked out here
    raw = np.arange(6.0)[None, :] + 2.0 * X
    np.testing.assert_allclose(model.predict_proba(raw), net.predict_proba(X), rtol=1e-6)


def test_tampered_file_is_refused(saved):
    _, path = saved
    blob = bytearray((path / "model.safetensors").read_bytes())
    blob[-3] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="SHA-256"):
        netprop.load(path)


def test_mismatched_shapes_are_refused(saved):
    _, path = saved
    save_arrays(path / "model.safetensors", {
        "W1": np.zeros((4, 6), np.float32), "b1": np.zeros(5, np.float32),
        "W2": np.zeros((3, 5), np.float32), "b2": np.zeros(3, np.float32),
        "preprocessing.mean": np.zeros(6), "preprocessing.std": np.ones(6)})
    config = json.loads((path / "config.json").read_text())
    config["model_sha256"] = sha256(path / "model.safetensors")
    (path / "config.json").write_text(json.dumps(reseal(config)))
    with pytest.raises(ModelFileError, match=r"W1 has shape \(4, 6\), config.json expects \(5, 6\)"):
        netprop.load(path)


def test_foreign_and_missing_files(tmp_path, saved):
    _, path = saved
    (path / "model.safetensors").write_bytes(b"\x80\x04 not safetensors, maybe a pickle" + bytes(300))
    config = json.loads((path / "config.json").read_text())
    config.pop("model_sha256")
    (path / "config.json").write_text(json.dumps(reseal(config)))
    with pytest.raises(ModelFileError, match="has no model_sha256 to verify"):
        netprop.load(path)
    with pytest.raises(ModelFileError, match="not a valid safetensors file"):
        netprop.load(path, trust_unverified=True)
    with pytest.raises(ModelFileError, match="not a directory"):
        netprop.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="missing config.json"):
        netprop.load(tmp_path / "empty")
    (path / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="config.json: not valid JSON"):
        netprop.load(path)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
