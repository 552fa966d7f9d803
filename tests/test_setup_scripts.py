"""The set-up survives a busy machine and names what is missing (scripts/apt-install.sh, the Makefile).

apt-get, sudo and a Python without ensurepip are stand-ins on PATH or PYTHONPATH: the tests never
touch the machine's packages.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LISTS_LOCK_BUSY = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)"

# a stand-in apt-get: `update` fails on the lists' lock while the counter file says so, and every
# call is logged with its arguments
FAKE_APT_GET = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_DIR/calls"
if [[ " $* " == *" update "* ]]; then
    busy=$(cat "$FAKE_DIR/busy")
    if [ "$busy" != 0 ]; then
        [ "$busy" = always ] || echo $((busy - 1)) > "$FAKE_DIR/busy"
        echo "LOCK_MESSAGE" >&2
        echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
        exit 100
    fi
fi
exit 0
""".replace("LOCK_MESSAGE", LISTS_LOCK_BUSY)


def run_apt_install(tmp_path, busy, lock_timeout):
    """Run apt-install.sh with the stand-ins; returns (completed process, apt-get's calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("apt-get", FAKE_APT_GET), ("sudo", '#!/usr/bin/env bash\nexec "$@"\n')):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "busy").write_text(str(busy))
    (tmp_path / "calls").write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DIR": str(tmp_path),
           "NETPROP_APT_LOCK_TIMEOUT": str(lock_timeout), "NETPROP_APT_RETRY_S": "0", "TMPDIR": str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / "scripts/apt-install.sh"), "the tests will skip", "chromium"],
                          env=env, capture_output=True, text=True, timeout=60)
    return done, (tmp_path / "calls").read_text().splitlines()


def test_apt_install_waits_while_another_apt_holds_the_package_lists(tmp_path):
    # apt-get update gives up at once on the lists' lock (apt 2.6 ignores DPkg::Lock::Timeout
    # there), so the script must retry it; the first version installed nothing on a busy machine
    done, calls = run_apt_install(tmp_path, busy=2, lock_timeout=60)
    assert done.returncode == 0
    updates = [call for call in calls if " update" in call]
    installs = [call for call in calls if " install " in call]
    assert len(updates) == 3
    assert len(installs) == 1 and installs[0].endswith("chromium")
    # the install waits for dpkg's frontend lock itself
    assert all("DPkg::Lock::Timeout=60" in call for call in calls)
    assert "failed" not in done.stderr and "held its lock" not in done.stderr


def test_apt_install_names_the_busy_lock_when_waiting_runs_out(tmp_path):
    done, calls = run_apt_install(tmp_path, busy="always", lock_timeout=0)
    assert done.returncode == 0          # never fails the set-up: the tests that need it skip
    assert not [call for call in calls if " install " in call]
    last = done.stderr.strip().splitlines()[-1]
    assert "another apt or dpkg process held its lock for over 0 s" in last
    assert "run the same make command again" in last and last.endswith("the tests will skip")


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@needs_make
def test_make_names_python3_venv_when_ensurepip_is_missing(tmp_path):
    # Debian's python3 lacks ensurepip until python3-venv is installed; `python3 -m venv` then
    # fails half-way, leaving a venv without pip
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "ensurepip.py").write_text("raise ImportError('no ensurepip (Debian without python3-venv)')\n")
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHONPATH": str(shadow)}
    done = subprocess.run(["make", "-C", str(ROOT), "train", f"VENV={venv}", f"PYTHON={sys.executable}"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "apt-get install python3-venv" in done.stderr
    assert not venv.exists()


@needs_make
def test_make_names_a_missing_python(tmp_path):
    venv = tmp_path / "venv"
    done = subprocess.run(["make", "-C", str(ROOT), "train", f"VENV={venv}", "PYTHON=python3.0-absent"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "'python3.0-absent' is missing or older than Python 3.10" in done.stderr
    assert "PYTHON=python3.11" in done.stderr
    assert not venv.exists()


def _made_checkout(tmp_path):
    """A checkout of two modules and a venv whose python is this one, installed (.installed newer
    than pyproject.toml): what the Makefile's bytecode step works on."""
    package = tmp_path / "src" / "netprop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "lecture.py").write_text("Z = 1\n")
    (tmp_path / "pyproject.toml").write_text("")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".installed").touch()
    earlier = os.path.getmtime(venv / ".installed") - 10
    os.utime(tmp_path / "pyproject.toml", (earlier, earlier))
    return package, venv


@needs_make
def test_make_byte_compiles_netprop_where_python_is_told_to_write_no_bytecode(tmp_path):
    # PYTHONDONTWRITEBYTECODE=1 (this machine sets it): an editable install would compile every module
    # in every command; make writes the .pyc files once, as pip does for a wheel
    package, venv = _made_checkout(tmp_path)
    env = {**_plain_bytecode_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(["make", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), "bytecode", f"VENV={venv}"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    tag = sys.implementation.cache_tag
    assert sorted(p.name for p in (package / "__pycache__").iterdir()) == [f"__init__.{tag}.pyc", f"lecture.{tag}.pyc"]


@needs_make
def test_make_goes_on_with_a_note_where_it_cannot_byte_compile(tmp_path):
    # a module that does not compile (or a checkout it cannot write) must not stop make train
    package, venv = _made_checkout(tmp_path)
    (package / "draft.py").write_text("def f(:\n")
    done = subprocess.run(["make", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), "bytecode", f"VENV={venv}"],
                          env=_plain_bytecode_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr.strip().splitlines() == [
        "netprop: src/netprop not byte-compiled (read-only, or a module that does not compile); each command "
        "compiles what it imports"]
    assert (package / "__pycache__" / f"lecture.{sys.implementation.cache_tag}.pyc").exists()


def _plain_bytecode_env():
    """This environment without what moves or renames .pyc files (a cache prefix, -O)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE")}


@needs_make
@pytest.mark.parametrize("target, runs", [("train", "/bin/netprop train"), ("check", "-m pytest"),
                                          ("test", "-m pytest")])
def test_make_compiles_before_it_trains_or_tests(tmp_path, target, runs):
    _, venv = _made_checkout(tmp_path)
    done = subprocess.run(["make", "-n", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), target, f"VENV={venv}"],
                          capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    compiled = [i for i, line in enumerate(lines) if "-m compileall -q src/netprop" in line]
    ran = [i for i, line in enumerate(lines) if runs in line]
    assert compiled and ran and compiled[0] < ran[-1], done.stdout
