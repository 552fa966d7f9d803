"""The download path, against a local HTTP server on 127.0.0.1 serving small files made here."""

import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from netprop import data
from netprop.data import DataError, fashion_mnist


def small_dataset():
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              "train_labels": (np.arange(30) % 10).astype(np.uint8),
              "test_images": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
              "test_labels": np.arange(10, dtype=np.uint8)}
    files = {}
    for key, (name, _) in data.FASHION_MNIST_FILES.items():
        a = arrays[key]
        raw = bytes([0, 0, 8, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape) + a.tobytes()
        files[name] = gzip.compress(raw)
    return arrays, files


class Server:
    """Serves `files` on 127.0.0.1; `cut` names files sent with a Content-Length longer than the body."""

    def __init__(self, files, cut=()):
        outer = self
        self.files, self.cut, self.requests = files, set(cut), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                outer.requests.append(name)
                body = outer.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if name in outer.cut else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, the whole of each test's time
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data anywhere netprop looks; MD5s and shapes of the small files made here."""
    arrays, files = small_dataset()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NETPROP_DATA", raising=False)
    # the finder reads these from its own module; the package re-exports them for users
    for module in (data, fashion_mnist):
        monkeypatch.setattr(module, "DEBIAN_DIR", tmp_path / "no-debian")
        monkeypatch.setattr(module, "FASHION_MNIST_FILES", {
            key: (name, hashlib.md5(files[name]).hexdigest())
            for key, (name, _) in data.FASHION_MNIST_FILES.items()})
        monkeypatch.setattr(module, "EXPECTED_SHAPES", {k: a.shape for k, a in arrays.items()})
    monkeypatch.setattr(data, "load_fashion_mnist", _small_loader(data.load_fashion_mnist))
    return arrays, files, tmp_path / "cache" / "netprop" / "fashion-mnist"


def _small_loader(real):
    # load_fashion_mnist reshapes to 60000/10000 rows; for the small files, read them directly.
    def load(data_dir=None, download=True, base_url=None, progress=None):
        directory = data.find_fashion_mnist(data_dir, download, base_url, progress)
        return {k: data.read_idx(directory / n) for k, (n, _) in data.FASHION_MNIST_FILES.items()}
    return load


def test_download_verifies_and_installs(isolated):
    arrays, files, cache = isolated
    with Server(files) as server:
        found = data.find_fashion_mnist(base_url=server.url)
    assert found == cache
    assert sorted(os.listdir(cache)) == sorted(files)
    for key, (name, md5) in data.FASHION_MNIST_FILES.items():
        assert hashlib.md5((cache / name).read_bytes()).hexdigest() == md5
        np.testing.assert_array_equal(data.read_idx(cache / name), arrays[key])
    # a second call finds the cache and downloads nothing
    assert data.find_fashion_mnist(base_url="http://127.0.0.1:9/") == cache


def test_wrong_checksum_leaves_nothing(isolated, monkeypatch):
    _, files, cache = isolated
    tampered = dict(files)
    name = "train-labels-idx1-ubyte.gz"
    tampered[name] = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    with Server(tampered) as server, pytest.raises(DataError, match="does not match the published"):
        data.find_fashion_mnist(base_url=server.url)
    assert not (cache / name).exists()
    assert not [f for f in os.listdir(cache) if f.endswith(".part")]


def test_cut_transfer_leaves_no_partial_file(isolated):
    _, files, cache = isolated
    name = "train-images-idx3-ubyte.gz"
    with Server(files, cut={name}) as server, pytest.raises(DataError) as info:
        data.find_fashion_mnist(base_url=server.url)
    assert name in str(info.value)
    assert not (cache / name).exists()
    assert not [f for f in os.listdir(cache) if f.startswith(".")]


def test_offline_error_lists_where_it_looked_and_how_to_fix(isolated, tmp_path):
    with pytest.raises(DataError) as info:
        data.find_fashion_mnist(base_url="http://127.0.0.1:9/")   # nothing listens on port 9
    message = str(info.value)
    assert "user cache" in message and "no-debian" in message
    assert "apt-get install dataset-fashion-mnist" in message and "--data-dir" in message
    assert "\n" not in message


def test_search_order(isolated, tmp_path, monkeypatch):
    _, files, cache = isolated
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    for name, blob in files.items():
        (env_dir / name).write_bytes(blob)
    monkeypatch.setenv("NETPROP_DATA", str(env_dir))
    assert data.find_fashion_mnist(download=False) == env_dir
    with pytest.raises(DataError, match="does not hold the four"):
        data.find_fashion_mnist(tmp_path / "empty", download=False)
