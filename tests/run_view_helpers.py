"""A real tiny training run, runs "still training" made from it, and an app serving the run view.

Until the explain server lands, the tests build their own minimal app: run_routes(run_dir), the
static front-end, and tests/pages/run_view.html at "/".
"""

import shutil
import threading
import time
from pathlib import Path

from helpers import fashion_mnist_or_skip

STATIC = Path(__file__).resolve().parents[1] / "src" / "netprop" / "explain" / "static"
PAGE = Path(__file__).resolve().parent / "pages" / "run_view.html"
FINAL_FILES = ("model.safetensors", "config.json", "history.csv", "metrics.json")


def train_tiny_run(out_dir):
    """hidden [8], 2 epochs of 10 minibatches on 300 Fashion-MNIST images: about a second."""
    import netprop

    fashion_mnist_or_skip()
    netprop.train_run(out_dir, netprop.TrainConfig(hidden=[8], epochs=2, batch_size=30),
                      {"kind": "fashion-mnist"}, subset=300)
    return Path(out_dir)


def write_partial_checkpoint(finished_dir, out_dir, epochs):
    """out_dir/checkpoint.safetensors as the finished run's was after `epochs` epochs (history cut)."""
    from netprop.storage.models import load_arrays, save_arrays

    arrays, meta = load_arrays(Path(finished_dir) / "checkpoint.safetensors")
    meta["state"]["history"] = meta["state"]["history"][:epochs]
    meta["state"]["epoch"] = epochs
    save_arrays(Path(out_dir) / "checkpoint.safetensors", arrays, meta)


def finish_from(finished_dir, out_dir):
    """Copy the finished run's final files into out_dir, metrics.json last (as finish_run writes)."""
    for name in FINAL_FILES:
        time.sleep(0.01)                 # distinct modification times, later than the checkpoint's
        shutil.copy(Path(finished_dir) / name, Path(out_dir) / name)


def make_app(run_dir, poll_seconds=0.05):
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from netprop.explain.runs import run_routes

    routes = run_routes(run_dir, poll_seconds=poll_seconds)
    routes += [Route("/", lambda request: FileResponse(PAGE)),
               Mount("/static", StaticFiles(directory=STATIC), name="static")]
    return Starlette(routes=routes)


class Server:
    """uvicorn serving an app on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, app):
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
