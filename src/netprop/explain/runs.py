"""The run view's JSON API: one training run directory, read-only.

    GET /api/run/summary                 network, config, status, metrics, per-epoch history
    GET /api/run/first_layer?limit=      the rows of W1 (one hidden unit's weights on the inputs)
    GET /api/run/first_layer_change      the same for W1 − W1 at initialisation (rebuilt from the seed)
    GET /api/run/confusion               test-set confusion matrix of the finished run's model
    GET /api/run/test_images?offset=&limit=   raw test inputs (uint8 pixels), labels, predictions
    GET /api/run/forward?index=N         x, z, h, ŷ of test example N through the model; its top 3
    GET /api/run/events?after=E          server-sent events: one "epoch" per finished epoch, then "finished"

A run still training has only checkpoint.safetensors (rewritten after every epoch); at the end
train_run adds model.safetensors, config.json, history.csv and metrics.json.  So the epoch
history comes from the checkpoint's metadata while it trains, and the model (with the
preprocessing that forward needs) only once it has finished.

What the server reads: files with fixed names inside the run directory (never a path from a
request, and never a symlink leading out of it), and the test set the run itself was trained
with (Fashion-MNIST where netprop finds it on disk, never downloaded; or the run's --test-data
file).  Every bad request is answered with a 4xx and {"error": one line}.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import math
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ..data import DataError
from ..storage.models import ModelFileError, load_model
from ..training.train_run import CHECKPOINT, HISTORY_COLUMNS, build_network
from ..training.fit import TrainConfig

MODEL, CONFIG, HISTORY, METRICS = "model.safetensors", "config.json", "history.csv", "metrics.json"
IMAGE_SHAPE = (28, 28)              # 784 inputs are drawn as images, as netprop train does
MAX_TILES = 1024
MAX_IMAGES = 200
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


class RunViewError(Exception):
    """A request this run cannot answer: status is the HTTP status, the message one line for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class RunView:
    """One run directory and what the API computed from it, reloaded when its files change."""

    def __init__(self, run_dir):
        root = Path(run_dir)
        if not root.is_dir():
            raise ValueError(f"{run_dir}: not a directory (expected a run directory from netprop train)")
        self.root = root.resolve()
        self._lock = threading.Lock()
        self._model = (None, None)       # (file key, TrainedModel)
        self._test = None                # (X_test raw, y_test), read once
        self._confusion = (None, None)   # (model key, matrix)

    # --- files ---------------------------------------------------------------------------

    def path(self, name):
        """root/name if it is a regular file inside the run directory, else None."""
        p = self.root / name
        try:
            real = p.resolve(strict=True)
        except (FileNotFoundError, RuntimeError, OSError):
            return None
        if not real.is_relative_to(self.root) or not real.is_file():
            return None
        return real

    def file_key(self, *names):
        """What changes when any of the files is replaced (they are written atomically: new inode)."""
        key = []
        for name in names:
            p = self.path(name)
            st = p.stat() if p else None
            key.append((st.st_ino, st.st_mtime_ns, st.st_size) if st else None)
        return tuple(key)

    def checkpoint_meta(self):
        """The checkpoint's metadata (config, source, state with the history), or None before epoch 1.

        Only the safetensors header is read, not the arrays behind it.
        """
        p = self.path(CHECKPOINT)
        if p is None:
            return None
        try:
            with open(p, "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                if not 0 < n <= 64 << 20:
                    raise ValueError(f"header length {n}")
                header = json.loads(fh.read(n))
            meta = json.loads(header["__metadata__"]["netprop"])
            history = meta["state"]["history"]
            if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
                raise ValueError("its history is not a list of epochs")
            missing = {k for r in history for k in HISTORY_COLUMNS if k not in r}
            if missing:
                raise ValueError(f"its history lacks {', '.join(sorted(missing))}")
            meta["shapes"] = {k: v["shape"] for k, v in header.items() if k.startswith("param.")}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunViewError(409, f"{CHECKPOINT}: not a readable netprop checkpoint ({exc})") from None
        return meta

    def status(self, meta):
        """"training", "finished" or "waiting" (no checkpoint or model yet).

        finish_run writes metrics.json after the model and history.csv, and after the last
        checkpoint; a checkpoint newer than metrics.json is a resumed or restarted run.
        """
        ckpt, model, metrics = self.path(CHECKPOINT), self.path(MODEL), self.path(METRICS)
        has_model = model is not None and self.path(CONFIG) is not None
        if meta is None or ckpt is None:
            return "finished" if has_model else "waiting"
        if has_model and metrics is not None and metrics.stat().st_mtime_ns >= ckpt.stat().st_mtime_ns:
            return "finished"
        return "training"

    def history_csv(self):
        p = self.path(HISTORY)
        if p is None:
            return []
        rows = []
        try:
            with open(p, newline="") as fh:
                for row in csv.DictReader(fh):
                    rows.append({k: (int(row[k]) if k == "epoch" else float(row[k])) for k in HISTORY_COLUMNS})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunViewError(409, f"{HISTORY}: not a readable history ({exc})") from None
        return rows

    def history(self, meta):
        """Per-epoch records; the checkpoint's (full precision, always current) when there is one."""
        if meta is not None:
            return [{k: r[k] for k in HISTORY_COLUMNS} for r in meta["state"]["history"]]
        return self.history_csv()

    def metrics(self):
        p = self.path(METRICS)
        if p is None:
            return None
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise RunViewError(409, f"{METRICS}: not readable ({exc})") from None

    # --- the model ---------------------------------------------------------------------

    def model(self, meta=None):
        """The finished run's TrainedModel (the best epoch's weights), reloaded when its files change."""
        if self.status(meta if meta is not None else self.checkpoint_meta()) != "finished":
            raise RunViewError(409, "the run is still training: its model (with the preprocessing the "
                                    "forward pass needs) is written when it finishes")
        key = self.file_key(MODEL, CONFIG)
        with self._lock:
            if self._model[0] != key:
                try:
                    self._model = (key, load_model(self.root))
                except ModelFileError as exc:
                    raise RunViewError(409, str(exc)) from None
            return self._model[1]

    def training_info(self, meta):
        """(TrainConfig, source, subset) of the run, from the checkpoint or the saved model."""
        if meta is not None:
            info = meta
        else:
            info = (self.model(meta).config or {}).get("training")
            if not info or "config" not in info:
                return None, None, None
        try:
            return TrainConfig.from_dict(info["config"]), info.get("source"), info.get("subset")
        except (TypeError, ValueError) as exc:
            raise RunViewError(409, f"the run's training config is not valid ({exc})") from None

    def layer_sizes(self, meta):
        """[d, hidden…, c] of the model when finished, else of the checkpoint's parameters."""
        if self.status(meta) == "finished":
            return self.model(meta).net.layer_sizes
        if meta is None:
            return None
        shapes, sizes, l = meta["shapes"], [], 1
        while f"param.W{l}" in shapes:
            out, inputs = shapes[f"param.W{l}"]
            sizes = (sizes or [inputs]) + [out]
            l += 1
        return sizes

    def checkpoint_arrays(self):
        from safetensors import SafetensorError
        from safetensors.numpy import load

        p = self.path(CHECKPOINT)
        if p is None:
            raise RunViewError(409, "the run has no checkpoint yet (its first epoch has not finished)")
        try:
            return load(p.read_bytes())
        except (OSError, SafetensorError, ValueError) as exc:
            raise RunViewError(409, f"{CHECKPOINT}: not readable ({exc})") from None

    # --- the answers ---------------------------------------------------------------------

    def summary(self):
        meta = self.checkpoint_meta()
        status = self.status(meta)
        history = self.history(meta)
        config, source, subset = self.training_info(meta) if status != "waiting" else (None, None, None)
        sizes = self.layer_sizes(meta) if status != "waiting" else None
        names = activation = None
        if status == "finished":
            model = self.model(meta)
            names, activation = model.names(), model.net.activation
        elif config is not None:
            activation = config.activation
            if source and source.get("kind") == "fashion-mnist":
                from ..data import CLASS_NAMES
                names = list(CLASS_NAMES)
        ckpt = self.path(CHECKPOINT)
        best = max(history, key=lambda r: (r["val_accuracy"], -r["val_loss"]), default=None)
        return {
            "name": self.root.name,
            "status": status,
            "epochs_done": len(history),
            "epochs_planned": config.epochs if config else None,
            "best_epoch": best["epoch"] if best else None,
            "checkpoint_age_seconds": time.time() - ckpt.stat().st_mtime if ckpt else None,
            "layer_sizes": sizes,
            "activation": activation,
            "class_names": names,
            "image_shape": list(IMAGE_SHAPE) if sizes and sizes[0] == math.prod(IMAGE_SHAPE) else None,
            "config": None if config is None else asdict(config),
            "data": _describe_source(source, subset),
            "metrics": self.metrics() if status == "finished" else None,
            "history": history,
        }

    def first_layer(self, change, limit):
        """W1's first `limit` rows (or W1 − W1 at initialisation) as little-endian float32, base64."""
        meta = self.checkpoint_meta()
        status = self.status(meta)
        if status == "waiting":
            raise RunViewError(409, "the run has no weights yet (its first epoch has not finished)")
        if status == "finished":
            net = self.model(meta).net
            W1, where, epoch = net.weights[0], "model (the best epoch's weights)", None
            sizes = net.layer_sizes
            if meta is not None:
                epoch = max(meta["state"]["history"], key=lambda r: (r["val_accuracy"], -r["val_loss"]))["epoch"]
        else:
            arrays = self.checkpoint_arrays()
            if "param.W1" not in arrays:
                raise RunViewError(409, f"{CHECKPOINT}: holds no W1")
            W1, where = arrays["param.W1"], "checkpoint (the latest epoch's weights)"
            epoch = len(meta["state"]["history"])
            sizes = self.layer_sizes(meta)
        what = "W1"
        if change:
            config, _, _ = self.training_info(meta)
            if config is None:
                raise RunViewError(404, "this model was saved without its training config, so its "
                                        "initial W1 cannot be rebuilt from the seed")
            # build_network draws the run's start the same way every time (run.first_layer_change)
            W1 = W1 - build_network(sizes[0], sizes[-1], config).weights[0]
            what = "W1 − W1 at initialisation"
        shown = min(limit, len(W1))
        rows = np.ascontiguousarray(W1[:shown], dtype="<f4")
        return {"what": what, "source": where, "epoch": epoch, "units": int(len(W1)), "shown": shown,
                "inputs": int(W1.shape[1]),
                "image_shape": list(IMAGE_SHAPE) if W1.shape[1] == math.prod(IMAGE_SHAPE) else None,
                "encoding": "base64 of little-endian float32, row-major (shown, inputs)",
                "data": base64.b64encode(rows.tobytes()).decode("ascii")}

    def test_set(self):
        """(X_test, y_test) raw, as the run read them for its report; read once and kept."""
        with self._lock:
            if self._test is not None:
                return self._test
        meta = self.checkpoint_meta()
        _, source, _ = self.training_info(meta) if self.status(meta) != "waiting" else (None, None, None)
        if not source:
            raise RunViewError(404, "this run does not record its data, so it has no test set to show")
        try:
            if source.get("kind") == "fashion-mnist":
                X, y = _fashion_mnist_test_set(source.get("data_dir"))
            elif source.get("test_path"):
                from ..data import load_table
                X, y = load_table(source["test_path"])
            else:
                raise RunViewError(404, "this run was trained without test data (--test-data), so there "
                                        "are no test examples to show")
        except DataError as exc:
            raise RunViewError(404, f"the run's test set is not available here: {exc}") from None
        with self._lock:
            self._test = (X, y)
        return self._test

    def test_images(self, offset, limit):
        X, y = self.test_set()
        if offset >= len(X):
            raise RunViewError(400, f"offset must be below {len(X)} (the test set's size), got {offset}")
        X, y = X[offset:offset + limit], y[offset:offset + limit]
        meta = self.checkpoint_meta()
        predicted = None
        if self.status(meta) == "finished":
            predicted = self.model(meta).predict(X).tolist()
        pixels, image_shape = None, None
        if X.shape[1] == math.prod(IMAGE_SHAPE):
            image_shape = list(IMAGE_SHAPE)
            pixels = base64.b64encode(_as_pixels(X, self.test_set()[0]).tobytes()).decode("ascii")
        return {"total": int(len(self.test_set()[0])), "offset": offset, "count": int(len(X)),
                "image_shape": image_shape, "labels": y.tolist(), "predicted": predicted,
                "encoding": "base64 of uint8 pixels, row-major (count, h·w)", "pixels": pixels}

    def forward(self, index):
        """Test example `index` through the model: the lecture's x, z, h, ŷ and the top 3 classes."""
        X, y = self.test_set()
        if not 0 <= index < len(X):
            raise RunViewError(400, f"index must be between 0 and {len(X) - 1} (the test set has "
                                    f"{len(X)} examples), got {index}")
        model = self.model()
        x = model.prepare(X[index:index + 1])[0]      # the preprocessed input: the lecture's x
        cache = model.net.forward(x)                   # one example: x, z, h as the lecture's vectors
        y_hat = cache.y_hat.astype(np.float64)
        names = model.names()
        top = np.argsort(-y_hat, kind="stable")[:3]
        raw = X[index:index + 1]
        return {
            "index": index,
            "label": int(y[index]),
            "label_name": names[int(y[index])],
            "layer_sizes": model.net.layer_sizes,
            "activation": model.net.activation,
            "image_shape": list(IMAGE_SHAPE) if X.shape[1] == math.prod(IMAGE_SHAPE) else None,
            "pixels": _as_pixels(raw, X)[0].tolist() if X.shape[1] == math.prod(IMAGE_SHAPE) else None,
            "x": cache.x.tolist(),
            "z": [z.tolist() for z in cache.z],
            "h": [h.tolist() for h in cache.h],
            "y_hat": y_hat.tolist(),
            "class_names": names,
            "top3": [{"class": int(k), "name": names[k], "probability": float(y_hat[k])} for k in top],
        }

    def confusion(self):
        """Counts of (true class, predicted class) on the test set, by the finished run's model."""
        meta = self.checkpoint_meta()
        if self.status(meta) != "finished":
            raise RunViewError(409, "the confusion matrix is on the test set, which a run reads once, "
                                    "after training; this run has not finished")
        model = self.model(meta)
        X, y = self.test_set()
        key = self.file_key(MODEL, CONFIG)
        with self._lock:
            cached_key, matrix = self._confusion
        if cached_key != key:
            c = model.net.layer_sizes[-1]
            if y.max() >= c:
                raise RunViewError(409, f"the test set has label {int(y.max())}, the model only {c} classes")
            predicted = np.concatenate([model.predict(X[s:s + 2048]) for s in range(0, len(X), 2048)])
            matrix = np.zeros((c, c), dtype=np.int64)
            np.add.at(matrix, (y.astype(np.int64), predicted), 1)
            with self._lock:
                self._confusion = (key, matrix)
        total, correct = int(matrix.sum()), int(np.trace(matrix))
        return {"class_names": model.names(), "matrix": matrix.tolist(), "total": total,
                "correct": correct, "accuracy": correct / total}


def _fashion_mnist_test_set(data_dir):
    """Fashion-MNIST's 10,000 test images (n, 784) uint8 and labels, found on disk (never downloaded).

    Only the two test files are read (data.load_fashion_mnist reads the training set too).
    """
    from ..data import EXPECTED_SHAPES, FASHION_MNIST_FILES, find_fashion_mnist, read_idx

    directory = find_fashion_mnist(data_dir, download=False)
    arrays = {}
    for key in ("test_images", "test_labels"):
        name = FASHION_MNIST_FILES[key][0]
        path = directory / name if (directory / name).is_file() else directory / name[:-3]
        arrays[key] = read_idx(path)
        if arrays[key].shape != EXPECTED_SHAPES[key] or arrays[key].dtype != np.uint8:
            raise DataError(f"{path}: expected uint8 {EXPECTED_SHAPES[key]} for Fashion-MNIST, "
                            f"got {arrays[key].dtype} {arrays[key].shape}")
    if arrays["test_labels"].max() > 9:
        raise DataError(f"{directory}: test labels hold a label above 9")
    return arrays["test_images"].reshape(len(arrays["test_images"]), -1), arrays["test_labels"]


def _as_pixels(rows, whole):
    """Raw test inputs as uint8 grey levels: as they are when uint8, else scaled over the whole set."""
    if rows.dtype == np.uint8:
        return np.ascontiguousarray(rows)
    lo, hi = float(whole.min()), float(whole.max())
    scaled = (rows.astype(np.float64) - lo) / ((hi - lo) or 1.0)
    return np.clip(np.round(255 * scaled), 0, 255).astype(np.uint8)


def _describe_source(source, subset):
    if not source:
        return None
    what = "Fashion-MNIST" if source.get("kind") == "fashion-mnist" else Path(source.get("path", "?")).name
    return {"kind": source.get("kind"), "name": what, "subset": subset,
            "test_data": source.get("kind") == "fashion-mnist" or bool(source.get("test_path"))}


# --- HTTP ------------------------------------------------------------------------------


def _int_param(request, name, default, lo=None, hi=None):
    """An integer query parameter in [lo, hi] (unbounded where None); RunViewError(400) otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise RunViewError(400, f"missing query parameter {name} (an integer)")
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise RunViewError(400, f"{name} must be an integer, got {raw[:40]!r}") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise RunViewError(400, f"{name} must be {bounds}, got {value}")
    return value


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


def _json_endpoint(compute):
    """An endpoint answering compute(request) as JSON, run off the event loop (NumPy blocks)."""

    async def endpoint(request):
        try:
            return JSONResponse(await run_in_threadpool(compute, request),
                                headers={"Cache-Control": "no-store"})
        except RunViewError as exc:
            return _error(exc.status, str(exc))

    return endpoint


def _events(view, poll_seconds, keepalive_seconds, stopping):
    """Server-sent events: each epoch after `after` (or Last-Event-ID) as "epoch", then "finished".

    The run directory is polled; a new checkpoint (every epoch) or the final files trigger a
    re-read.  Each event's id is its epoch, so a reconnecting EventSource resumes where it was.
    The stream ends when stopping (a threading.Event, or None) is set: the server is shutting down.
    """

    async def endpoint(request: Request):
        try:
            last_id = request.headers.get("last-event-id")
            if last_id is not None and "after" not in request.query_params:
                try:
                    after = int(last_id)
                except ValueError:
                    raise RunViewError(400, f"Last-Event-ID must be an epoch number, got {last_id[:40]!r}") from None
            else:
                after = _int_param(request, "after", 0, 0, 1_000_000)
        except RunViewError as exc:
            return _error(exc.status, str(exc))

        async def stream():
            sent, key, quiet_since = after, None, time.monotonic()
            yield "retry: 2000\n\n"
            while stopping is None or not stopping.is_set():
                new_key = view.file_key(CHECKPOINT, HISTORY, METRICS, MODEL)
                if new_key != key:
                    key = new_key
                    try:
                        meta = await run_in_threadpool(view.checkpoint_meta)
                        history, status = view.history(meta), view.status(meta)
                    except RunViewError as exc:
                        yield _sse("problem", {"error": str(exc)})
                        await asyncio.sleep(poll_seconds)
                        continue
                    if history and history[-1]["epoch"] < sent:
                        # a new run was started over this directory: begin again from its epoch 1
                        yield _sse("restart", {"epochs_done": len(history)})
                        sent = 0
                    for record in history:
                        if record["epoch"] > sent:
                            yield _sse("epoch", record, event_id=record["epoch"])
                            sent = record["epoch"]
                            quiet_since = time.monotonic()
                    if status == "finished":
                        yield _sse("finished", {"epochs_done": len(history)})
                        return
                if time.monotonic() - quiet_since > keepalive_seconds:
                    yield ": still here\n\n"          # lets a vanished client be noticed
                    quiet_since = time.monotonic()
                await asyncio.sleep(poll_seconds)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return endpoint


def _sse(event, data, event_id=None):
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data, allow_nan=False)}")
    return "\n".join(lines) + "\n\n"


def run_routes(run_dir, poll_seconds=POLL_SECONDS, keepalive_seconds=KEEPALIVE_SECONDS, stopping=None):
    """The run view's routes (all GET, under /api/run/) for the training run in run_dir.

    run_dir: a directory written by netprop train (finished, or still training: then it holds
    only checkpoint.safetensors).  Raises ValueError when it is not a directory.
    poll_seconds: how often /api/run/events looks at the directory for a new epoch.
    stopping: a threading.Event the server sets when it shuts down, to end open event streams.
    Returns a list of starlette Routes, to add to an app's routes.
    """
    view = RunView(run_dir)

    def first_layer(change):
        return lambda request: view.first_layer(change, _int_param(request, "limit", 256, 1, MAX_TILES))

    return [
        Route("/api/run/summary", _json_endpoint(lambda request: view.summary())),
        Route("/api/run/first_layer", _json_endpoint(first_layer(False))),
        Route("/api/run/first_layer_change", _json_endpoint(first_layer(True))),
        Route("/api/run/confusion", _json_endpoint(lambda request: view.confusion())),
        Route("/api/run/test_images", _json_endpoint(
            lambda request: view.test_images(_int_param(request, "offset", 0, 0),
                                             _int_param(request, "limit", 50, 1, MAX_IMAGES)))),
        Route("/api/run/forward", _json_endpoint(
            lambda request: view.forward(_int_param(request, "index", None)))),
        Route("/api/run/events", _events(view, poll_seconds, keepalive_seconds, stopping)),
    ]
