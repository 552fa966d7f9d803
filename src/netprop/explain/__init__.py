"""The live lecture: ``netprop explain`` (a local web app) and ``netprop.explain(net, x, y)`` (a notebook widget).

Both show the same front-end (static/lecture.js) over the same JSON (api.py); every number comes
from netprop in Python. The server needs the ``explain`` extra (Starlette, uvicorn), the widget
anywidget; both are imported only when used, so ``import netprop`` needs neither.
"""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser

from ..storage.run_directory import CHECKPOINT, CONFIG, MODEL

LOCAL = "127.0.0.1"
WILDCARDS = ("0.0.0.0", "::", "")


def explain(net, x, y, strict=False):
    """The lecture view of net on one example, as a notebook widget (Jupyter, VS Code, Colab).

    net: a Network of at most 4 weight matrices and 8 units a layer; x: (d,); y: a label (or one-hot
    (c,)) for cross-entropy, a target (c,) for mse. Returns a LectureWidget whose traitlets (sizes,
    values, step, strict, …) hold the state; edits on the page come back to them.
    """
    from .widget import LectureWidget

    return LectureWidget.from_network(net, x, y, strict=strict)


# What a run directory holds from its first finished epoch (checkpoint) or once finished (model, config).
RUN_FILES = (CHECKPOINT, CONFIG, MODEL)


def run_directory_problem(run_dir):
    """Why run_dir cannot be shown as a training run (one line), or None when it can.

    A run directory holds a checkpoint (from its first epoch on) or a finished model; one that
    holds neither yet is still a run when a netprop process is writing there now (the first epoch
    of a run just started: it holds the directory's lock).  Anything else would leave the run view
    waiting for epochs that never come.
    """
    from pathlib import Path

    root = Path(run_dir)
    if not root.is_dir():
        return f"{run_dir}: not a directory (expected a run directory from netprop train)"
    if any((root / name).is_file() for name in RUN_FILES) or _being_written(root):
        return None
    if (root / "sweep.json").is_file():
        return (f"{run_dir}: not a run directory but a tune sweep; its chosen run is in "
                f"{root / 'best'}")
    return (f"{run_dir}: not a run directory (or not yet one): no {CHECKPOINT}, {CONFIG} or {MODEL}, and no "
            f"netprop train writing there")


def _being_written(root):
    """True when another process holds the directory's lock (storage.models.directory_lock)."""
    try:
        import fcntl
    except ImportError:              # no flock on this OS: no run can be seen starting
        return False
    import os

    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # a shared lock is refused while a run holds the exclusive one; released at once below
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _allowed_hosts(host, port):
    """The Host headers a browser sends to this server: the address we print and its aliases."""
    if host in WILDCARDS:
        names = {LOCAL, "localhost", socket.gethostname()}
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        except OSError:
            pass
    else:
        names = {host} | ({"localhost"} if host == LOCAL else set())
    return {f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names}


def make_server(run_dir=None, host=LOCAL, port=0):
    """(uvicorn.Server, bound socket, URL): the app bound to host:port (0: a free port), not yet serving.

    Call ``server.run(sockets=[sock])`` to serve (Ctrl-C stops it); set ``server.should_exit`` to stop
    it from another thread.
    """
    import uvicorn

    from .app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it each small answer (headers, then body) waits
    # ~40 ms for the browser's delayed ACK (Nagle), which asyncio sets only on sockets it binds itself.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    shown = LOCAL if host in WILDCARDS else host
    url = f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"
    stopping = threading.Event()

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            stopping.set()           # a run view left open ends its event stream, so shutdown need not wait
            super().handle_exit(sig, frame)

    app = create_app(run_dir, allowed_hosts=_allowed_hosts(host, port), stopping=stopping)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    return Server(config), sock, url


def serve(run_dir=None, host=LOCAL, port=0, open_browser=True, out=sys.stdout):
    """Serve the live lecture until Ctrl-C: prints the address, opens the browser unless told not to."""
    server, sock, url = make_server(run_dir, host, port)
    print(f"netprop explain: serving the lecture at {url}  (Ctrl-C stops)", file=out, flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass                    # uvicorn shut down cleanly, then re-raised the Ctrl-C it caught: the way to stop
    finally:
        sock.close()
    print("netprop explain: stopped", file=out, flush=True)
    return url
