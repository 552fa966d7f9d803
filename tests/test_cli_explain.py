"""`netprop explain` as a user starts it: prints its address on 127.0.0.1, answers there, refuses other
Host headers, stops on Ctrl-C; bad flags are one line and exit 2."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from helpers import error_line

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.slow


def start(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "netprop", "explain", "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    return proc, line


def get(url, host=None):
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serves_on_localhost_refuses_other_hosts_and_stops_on_ctrl_c():
    proc, line = start()
    try:
        assert line.startswith("netprop explain: serving the lecture at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]
        status, body = get(url + "api/info")
        assert status == 200 and json.loads(body)["run"] is False
        status, body = get(url)
        assert status == 200 and b'<script type="module" src="/static/index.js">' in body
        port = url.rstrip("/").rsplit(":", 1)[1]
        status, body = get(url + "api/info", host=f"attacker.example:{port}")
        assert status == 421 and "attacker.example" in json.loads(body)["error"]
        status, body = get(url + "api/lecture?sizes=2,2,99")
        assert status == 400 and json.loads(body) == {"error": "every layer needs 1 to 8 units, got 99"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("args,message", [
    (["--port", "70000"], "expected a port number 0-65535"),
    (["/no/such/run"], "/no/such/run: no such run directory"),
])
def test_bad_flags(args, message):
    r = subprocess.run([sys.executable, "-m", "netprop", "explain", "--no-browser", *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert message in error_line(r.stderr)


def test_a_port_in_use_is_one_line():
    proc, line = start()
    try:
        port = line.split(" at ")[1].split()[0].rstrip("/").rsplit(":", 1)[1]
        r = subprocess.run([sys.executable, "-m", "netprop", "explain", "--no-browser", "--port", port],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_ctrl_c_stops_even_with_a_run_views_event_stream_open(run_dir, tmp_path):
    """A browser tab left on the run view of a run still training holds /api/run/events open;
    Ctrl-C must still stop the server."""
    import threading
    import time

    from run_view_helpers import write_partial_checkpoint

    training = tmp_path / "training"
    training.mkdir()
    write_partial_checkpoint(run_dir, training, epochs=1)     # a run after its first epoch, going on
    proc, line = start(str(training))
    url = line.split(" at ")[1].split()[0]
    opened = threading.Event()

    def listen():
        try:
            with urllib.request.urlopen(url + "api/run/events", timeout=30) as r:
                opened.set()
                while r.read(1):
                    pass
        except OSError:
            pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(15)
    time.sleep(0.5)
    assert listener.is_alive()                               # the stream is open, waiting for epochs
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 10
    assert proc.returncode == 0 and "Traceback" not in err, err
