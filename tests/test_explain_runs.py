"""The run view's JSON API (netprop.explain.runs) on a real tiny training run.

Numbers are checked against the run's own files read here (model arrays, checkpoint metadata,
metrics.json) and a forward pass written out in NumPy float64 in this file.
"""

import base64
import json
import os
import queue
import threading

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from run_view_helpers import finish_from, make_app, write_partial_checkpoint  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import netprop  # noqa: E402
from netprop.data import load_fashion_mnist  # noqa: E402
from netprop.storage.models import load_arrays  # noqa: E402


@pytest.fixture(scope="module")
def client(run_dir):  # noqa: F811
    with TestClient(make_app(run_dir)) as c:
        yield c


@pytest.fixture(scope="module")
def test_set():
    _, _, X, y = load_fashion_mnist(download=False)
    return X, y


def forward_by_hand(model, pixels):
    """The lecture's forward pass for one raw image, in float64, from the saved arrays alone."""
    x = (pixels.astype(np.float64) - model.preprocessing.mean) / model.preprocessing.std
    W1, b1, W2, b2 = (a.astype(np.float64) for a in (model.net.weights[0], model.net.biases[0],
                                                      model.net.weights[1], model.net.biases[1]))
    z1 = W1 @ x + b1
    h1 = np.maximum(z1, 0)
    z2 = W2 @ h1 + b2
    e = np.exp(z2 - z2.max())
    return x, z1, h1, z2, e / e.sum()


def decode(payload, dtype, shape):
    return np.frombuffer(base64.b64decode(payload), dtype=dtype).reshape(shape)


def test_summary_reports_the_runs_history_and_metrics(client, run_dir):
    s = client.get("/api/run/summary").json()
    _, meta = load_arrays(run_dir / "checkpoint.safetensors")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert s["status"] == "finished"
    assert s["layer_sizes"] == [784, 8, 10] and s["activation"] == "relu"
    assert s["epochs_done"] == 2 and s["epochs_planned"] == 2
    assert s["class_names"][0] == "T-shirt/top" and len(s["class_names"]) == 10
    assert s["metrics"] == metrics
    assert s["best_epoch"] == metrics["best_epoch"]
    assert [r["epoch"] for r in s["history"]] == [1, 2]
    for got, saved in zip(s["history"], meta["state"]["history"]):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert got[key] == saved[key]
    # history.csv rounds to 6 significant digits; it and the checkpoint agree to that
    rows = (run_dir / "history.csv").read_text().splitlines()[1:]
    assert float(rows[1].split(",")[3]) == pytest.approx(s["history"][1]["val_loss"], rel=1e-5)
    assert s["config"]["hidden"] == [8] and s["config"]["batch_size"] == 30
    assert s["data"] == {"kind": "fashion-mnist", "name": "Fashion-MNIST", "subset": 300, "test_data": True}


def test_first_layer_is_the_models_W1(client, run_dir):
    W1 = netprop.load(run_dir).net.weights[0]
    t = client.get("/api/run/first_layer").json()
    assert (t["units"], t["shown"], t["inputs"], t["image_shape"]) == (8, 8, 784, [28, 28])
    np.testing.assert_array_equal(decode(t["data"], "<f4", (8, 784)), W1)
    t = client.get("/api/run/first_layer?limit=3").json()
    assert t["shown"] == 3
    np.testing.assert_array_equal(decode(t["data"], "<f4", (3, 784)), W1[:3])


def test_first_layer_change_subtracts_the_seeded_start(client, run_dir):
    W1 = netprop.load(run_dir).net.weights[0]
    start = netprop.Network([784, 8, 10], activation="relu", seed=0, dtype="float32").weights[0]
    t = client.get("/api/run/first_layer_change").json()
    change = decode(t["data"], "<f4", (8, 784))
    np.testing.assert_allclose(change, W1 - start, rtol=0, atol=1e-7)
    assert np.abs(change).max() > 1e-4          # training did move W1


def test_confusion_matrix_counts_the_models_test_predictions(client, run_dir, test_set):
    X, y = test_set
    model = netprop.load(run_dir)
    pred = np.argmax(model.predict_proba(X), axis=1)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(y, pred):
        expected[t, p] += 1
    c = client.get("/api/run/confusion").json()
    np.testing.assert_array_equal(np.array(c["matrix"]), expected)
    assert c["total"] == 10000 and c["correct"] == int(np.trace(expected))
    # the run's own report scored the test set once, the same way
    assert c["accuracy"] == pytest.approx(json.loads((run_dir / "metrics.json").read_text())["test_accuracy"],
                                          abs=2e-4)


def test_test_images_are_the_raw_test_set(client, run_dir, test_set):
    X, y = test_set
    page = client.get("/api/run/test_images?offset=9990&limit=50").json()
    assert (page["total"], page["offset"], page["count"]) == (10000, 9990, 10)
    np.testing.assert_array_equal(decode(page["pixels"], np.uint8, (10, 784)), X[9990:])
    assert page["labels"] == y[9990:].tolist()
    assert page["predicted"] == netprop.load(run_dir).predict(X[9990:]).tolist()


@pytest.mark.parametrize("index", [0, 7, 9999])
def test_forward_pass_and_top3_match_a_forward_pass_by_hand(client, run_dir, test_set, index):
    X, y = test_set
    model = netprop.load(run_dir)
    x, z1, h1, z2, y_hat = forward_by_hand(model, X[index])
    f = client.get(f"/api/run/forward?index={index}").json()
    assert f["label"] == int(y[index]) and f["label_name"] == model.class_names[y[index]]
    assert f["pixels"] == X[index].tolist()
    # float32 in the server, float64 here
    np.testing.assert_allclose(f["x"], x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f["z"][0], z1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f["h"][0], h1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f["z"][1], z2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f["y_hat"], y_hat, rtol=1e-4, atol=1e-6)
    top = np.argsort(-y_hat)[:3]
    assert [t["class"] for t in f["top3"]] == top.tolist()
    assert [t["name"] for t in f["top3"]] == [model.class_names[k] for k in top]
    np.testing.assert_allclose([t["probability"] for t in f["top3"]], y_hat[top], rtol=1e-4)


@pytest.mark.parametrize("url, status, words", [
    ("/api/run/forward?index=abc", 400, "index must be an integer, got 'abc'"),
    ("/api/run/forward?index=1.5", 400, "index must be an integer"),
    ("/api/run/forward?index=", 400, "index must be an integer"),
    ("/api/run/forward?index=10000", 400, "index must be between 0 and 9999"),
    ("/api/run/forward?index=-1", 400, "index must be between 0 and 9999"),
    ("/api/run/forward?index=99999999999999999999", 400, "index must be between 0 and 9999 "),
    ("/api/run/test_images?offset=-3", 400, "offset must be >= 0, got -3"),
    ("/api/run/forward", 400, "missing query parameter index"),
    ("/api/run/test_images?offset=10000", 400, "offset must be below 10000"),
    ("/api/run/test_images?limit=0", 400, "limit must be between 1 and 200"),
    ("/api/run/test_images?limit=1e3", 400, "limit must be an integer"),
    ("/api/run/first_layer?limit=nan", 400, "limit must be an integer"),
    ("/api/run/first_layer_change?limit=5000", 400, "limit must be between 1 and 1024"),
    ("/api/run/events?after=-1", 400, "after must be between 0 and"),
    ("/api/run/events?after=two", 400, "after must be an integer"),
])
def test_bad_requests_get_a_4xx_with_one_line(client, url, status, words):
    r = client.get(url)
    assert r.status_code == status
    message = r.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message


def test_bad_last_event_id_is_a_400(client):
    r = client.get("/api/run/events", headers={"Last-Event-ID": "x"})
    assert r.status_code == 400 and "Last-Event-ID must be an epoch number" in r.json()["error"]


def test_only_get_is_served(client):
    assert client.post("/api/run/forward?index=0").status_code == 405


def test_a_run_still_training_serves_its_checkpoint(run_dir, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    write_partial_checkpoint(run_dir, live, epochs=1)
    arrays, meta = load_arrays(live / "checkpoint.safetensors")
    with TestClient(make_app(live)) as c:
        s = c.get("/api/run/summary").json()
        assert s["status"] == "training" and s["epochs_done"] == 1 and s["metrics"] is None
        assert s["layer_sizes"] == [784, 8, 10]
        assert s["history"] == [{k: meta["state"]["history"][0][k] for k in s["history"][0]}]
        t = c.get("/api/run/first_layer").json()
        assert t["source"].startswith("checkpoint") and t["epoch"] == 1
        np.testing.assert_array_equal(decode(t["data"], "<f4", (8, 784)), arrays["param.W1"])
        for url in ("/api/run/forward?index=0", "/api/run/confusion"):
            r = c.get(url)
            assert r.status_code == 409 and "finish" in r.json()["error"]
        # the raw test images can be looked at; nothing scores them before the run ends
        page = c.get("/api/run/test_images?limit=2").json()
        assert page["count"] == 2 and page["predicted"] is None


def test_files_outside_the_run_directory_are_not_read(run_dir, tmp_path):
    """A model symlinked in from elsewhere is treated as absent: the run has not finished."""
    live, outside = tmp_path / "live", tmp_path / "outside"
    live.mkdir()
    outside.mkdir()
    write_partial_checkpoint(run_dir, live, epochs=2)
    finish_from(run_dir, outside)               # newer than the checkpoint: a finished run, were it inside
    for name in ("model.safetensors", "config.json", "metrics.json", "history.csv"):
        os.symlink(outside / name, live / name)
    with TestClient(make_app(live)) as c:
        assert c.get("/api/run/summary").json()["status"] == "training"
        assert c.get("/api/run/forward?index=0").status_code == 409


def test_run_routes_refuses_a_missing_directory(tmp_path):
    from netprop.explain.runs import run_routes

    with pytest.raises(ValueError, match="not a directory"):
        run_routes(tmp_path / "nope")


def _read_events(response, into):
    """Parse server-sent events off a streaming response into a queue: (event, data) pairs."""
    event, data = None, None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
        elif line == "" and event is not None:
            into.put((event, data))
            event, data = None, None
    into.put(("closed", None))


def test_events_deliver_each_new_epoch_then_finished(run_dir, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    write_partial_checkpoint(run_dir, live, epochs=1)
    _, meta = load_arrays(run_dir / "checkpoint.safetensors")
    events = queue.Queue()
    with TestClient(make_app(live, poll_seconds=0.02)) as c:
        with c.stream("GET", "/api/run/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            threading.Thread(target=_read_events, args=(response, events), daemon=True).start()
            event, data = events.get(timeout=10)
            assert event == "epoch" and data == meta["state"]["history"][0]
            with pytest.raises(queue.Empty):
                events.get(timeout=0.3)              # nothing new until the next checkpoint
            write_partial_checkpoint(run_dir, live, epochs=2)
            event, data = events.get(timeout=10)
            assert event == "epoch" and data == meta["state"]["history"][1]
            finish_from(run_dir, live)
            assert events.get(timeout=10) == ("finished", {"epochs_done": 2})
            assert events.get(timeout=10) == ("closed", None)


def test_events_resume_after_the_last_seen_epoch(client):
    with client.stream("GET", "/api/run/events", headers={"Last-Event-ID": "1"}) as response:
        body = response.read().decode()
    assert "id: 1\n" not in body and "id: 2\n" in body and body.rstrip().endswith('{"epochs_done": 2}')


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """Two hidden layers on a user's table of 20 features with its own test file (not images)."""
    from helpers import synthetic_npz

    d = tmp_path_factory.mktemp("table")
    synthetic_npz(d / "train.npz", n=300, d=20, classes=4, seed=3)
    synthetic_npz(d / "test.npz", n=60, d=20, classes=4, seed=3, noise_seed=1)
    netprop.train_run(d / "run", netprop.TrainConfig(hidden=[6, 5], epochs=2, batch_size=30, activation="tanh"),
                      {"kind": "file", "path": str(d / "train.npz"), "test_path": str(d / "test.npz")})
    with np.load(d / "test.npz") as archive:
        return d / "run", archive["X"], archive["y"]


@pytest.mark.slow          # its own training run; the run_dir tests stay
def test_a_deeper_run_on_a_table_shows_every_layer(table_run):
    run, X, y = table_run
    model = netprop.load(run)
    with TestClient(make_app(run)) as c:
        s = c.get("/api/run/summary").json()
        assert s["layer_sizes"] == [20, 6, 5, 4] and s["image_shape"] is None
        assert s["class_names"] == ["0", "1", "2", "3"] and s["data"]["test_data"] is True
        t = c.get("/api/run/first_layer").json()
        assert t["image_shape"] is None
        np.testing.assert_array_equal(decode(t["data"], "<f4", (6, 20)), model.net.weights[0])
        page = c.get("/api/run/test_images?offset=10&limit=5").json()
        assert page["pixels"] is None and page["labels"] == y[10:15].tolist() and page["total"] == 60
        f = c.get("/api/run/forward?index=11").json()
        assert c.get("/api/run/forward?index=60").status_code == 400
    # the lecture's forward pass, layer by layer, in float64
    h = (X[11].astype(np.float64) - model.preprocessing.mean) / model.preprocessing.std
    for l, (W, b) in enumerate(zip(model.net.weights, model.net.biases)):
        z = W.astype(np.float64) @ h + b
        np.testing.assert_allclose(f["z"][l], z, rtol=1e-4, atol=1e-4)
        if l < 2:
            h = np.tanh(z)
            np.testing.assert_allclose(f["h"][l], h, rtol=1e-4, atol=1e-4)
    y_hat = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(f["y_hat"], y_hat, rtol=1e-4, atol=1e-6)
    assert [t["class"] for t in f["top3"]] == np.argsort(-y_hat)[:3].tolist()


def test_a_damaged_run_directory_is_a_409_with_one_line(run_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with TestClient(make_app(broken)) as c:
        r = c.get("/api/run/summary")
        assert r.status_code == 409 and "checkpoint.safetensors: not a readable netprop checkpoint" in r.json()["error"]
    # a model changed after saving: its SHA-256 no longer matches config.json
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for name in ("model.safetensors", "config.json", "history.csv", "metrics.json"):
        (tampered / name).write_bytes((run_dir / name).read_bytes())
    blob = bytearray((tampered / "model.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (tampered / "model.safetensors").write_bytes(bytes(blob))
    with TestClient(make_app(tampered)) as c:
        for url in ("/api/run/summary", "/api/run/forward?index=0", "/api/run/first_layer"):
            r = c.get(url)
            assert r.status_code == 409 and "SHA-256" in r.json()["error"]
            assert "\n" not in r.json()["error"]


@pytest.mark.slow
def test_events_follow_a_real_training_run(tmp_path):
    """train_run in a thread while the stream watches its directory: every epoch, in order, then finished."""
    from helpers import fashion_mnist_or_skip

    fashion_mnist_or_skip()
    live = tmp_path / "live"
    live.mkdir()
    events = queue.Queue()
    slow_epochs = lambda event, **info: event == "epoch_end" and threading.Event().wait(0.15)
    with TestClient(make_app(live, poll_seconds=0.02)) as c:
        with c.stream("GET", "/api/run/events") as response:
            threading.Thread(target=_read_events, args=(response, events), daemon=True).start()
            trainer = threading.Thread(target=netprop.train_run, args=(
                live, netprop.TrainConfig(hidden=[8], epochs=3, batch_size=100), {"kind": "fashion-mnist"}),
                kwargs={"subset": 300, "callback": slow_epochs})
            trainer.start()
            received = [events.get(timeout=60) for _ in range(4)]
            trainer.join(60)
            assert events.get(timeout=10) == ("closed", None)
    _, meta = load_arrays(live / "checkpoint.safetensors")
    assert received == [("epoch", r) for r in meta["state"]["history"]] + [("finished", {"epochs_done": 3})]
