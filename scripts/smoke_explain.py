"""Start `netprop explain --no-browser` on a free port, fetch its page and a script it loads, stop it.

Run by scripts/dist-check.sh with the Python of a fresh virtual environment holding only the wheel
and its runtime dependencies, from a folder outside the repository.
"""

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def wait_for_address(server, timeout_s=60):
    """The http://… address the server prints on its first line, or exit with what it said instead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            break
        found = re.search(r"http://[^\s]+", line)
        if found:
            return found.group(0).rstrip("/")
    server.kill()
    sys.exit(f"smoke_explain: netprop explain printed no address: {server.stdout.read()}")


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("content-type", ""), response.read().decode()


def main():
    """Serve, fetch / and the first /static script the page loads, check both, stop the server."""
    netprop = Path(sys.executable).with_name("netprop")
    server = subprocess.Popen([str(netprop), "explain", "--no-browser", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = wait_for_address(server)
        status, kind, page = fetch(base + "/")
        assert status == 200 and "text/html" in kind, (status, kind)
        scripts = re.findall(r'<script[^>]*src="(/static/[^"]+\.js)"', page)
        assert scripts, "the page loads no script from /static"
        status, kind, script = fetch(base + scripts[0])
        assert status == 200 and "javascript" in kind and len(script) > 100, (scripts[0], status, kind)
        print(f"smoke_explain: {base}/ and {scripts[0]} ({len(script)} characters) served from the wheel")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


if __name__ == "__main__":
    main()
