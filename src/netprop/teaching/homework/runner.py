"""Running the check of one submission in a child process, apart from netprop's own process.

The submission is copied into a fresh temporary folder (its working copy), and a child Python imports
and checks it there with a time limit, a memory limit, no stdin, HOME and TMPDIR inside the working
copy, and its prints kept in a file.  This is robustness, not a security sandbox: the child runs as
the same user and can read or change any file that user can reach by an absolute path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .report import CheckReport, error_report
from .source import SOURCE_SUFFIXES, SubmissionError, find_main_file, read_source

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 4096
LARGEST_COPIED = 64 * 2 ** 20       # bytes: larger neighbours (data sets) are not copied into the working copy
NEIGHBOURS_COPIED = 256 * 2 ** 20   # bytes: all the files beside a single file copied with it, at most


def check_isolated(submission, options, timeout=DEFAULT_TIMEOUT, memory_mb=DEFAULT_MEMORY_MB, progress=None,
                   neighbours=True):
    """CheckReport of the file or folder submission, checked in a limited child process.

    progress(line) receives what to tell the user while it runs ("importing hw3.py (this runs its code)").
    neighbours: copy the files beside a single file too (its data, the modules it imports).
    """
    progress = progress or (lambda line: None)
    submission = Path(submission)
    try:
        main = find_main_file(submission) if submission.is_dir() else submission
        if not main.is_file():
            raise SubmissionError(f"{submission}: no such file")
        if main.suffix not in SOURCE_SUFFIXES:
            raise SubmissionError(f"{main.name}: not a .py file or a .ipynb notebook")
        source = read_source(main)
    except SubmissionError as exc:
        return error_report(submission, str(exc))
    label = str(main.relative_to(submission.parent)) if submission.is_dir() else main.name
    with tempfile.TemporaryDirectory(prefix="netprop-check-") as tmp:
        work = Path(tmp) / "work"
        copied = _working_copy(submission, main, work, neighbours)
        request = _request(Path(tmp), work, copied, source, label, options)
        progress(f"importing {label} (this runs its code)")
        report = _run_child(request, Path(tmp), timeout, memory_mb, progress, label)
        if report is None:          # the time limit ran out while importing: check the definitions alone
            problem = (f"importing {label} did not finish within {timeout:g} s: its top-level code is still "
                       f"running (a training loop?); put it under if __name__ == \"__main__\":")
            progress(problem)
            request["definitions_only"] = problem
            request["status"] = str(Path(tmp) / "status2")
            report = _run_child(request, Path(tmp), timeout, memory_mb, lambda line: None, label)
            if report is None:
                report = error_report(label, problem + "; importing its definitions alone did not finish either")
    report.path = label
    return report


def _working_copy(submission, main, work, neighbours):
    """Copy what the check needs into work; returns the copied main file's path."""
    if submission.is_dir():
        shutil.copytree(submission, work, ignore=_too_large, symlinks=False)
        return work / main.relative_to(submission)
    work.mkdir()
    if neighbours:
        budget = NEIGHBOURS_COPIED
        for item in sorted(main.parent.iterdir()):
            size = item.stat().st_size if item.is_file() and not item.is_symlink() else None
            if size is not None and size <= min(LARGEST_COPIED, budget):
                shutil.copy2(item, work / item.name)
                budget -= size
    shutil.copy2(main, work / main.name)
    return work / main.name


def _too_large(folder, names):
    return [n for n in names if (Path(folder) / n).is_symlink() or
            ((Path(folder) / n).is_file() and (Path(folder) / n).stat().st_size > LARGEST_COPIED)]


def _request(tmp, work, copied, source, label, options):
    request = {"label": label, "options": options, "status": str(tmp / "status"), "result": str(tmp / "result.json"),
               "output": str(tmp / "output.txt"), "file": str(copied), "work": str(work)}
    if copied.suffix == ".ipynb":
        converted = copied.with_name(copied.stem + "_ipynb.py")
        converted.write_text(source.text)
        request.update(file=str(converted), original=str(copied))
    (tmp / "request.json").write_text(json.dumps(request))
    return request


def _run_child(request, tmp, timeout, memory_mb, progress, label):
    """The child's CheckReport; None when the time limit ran out during the import."""
    Path(request["result"]).unlink(missing_ok=True)
    (tmp / "request.json").write_text(json.dumps(request))
    env = _child_env(Path(request["work"]))
    started = time.monotonic()
    with open(tmp / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "netprop.teaching.homework.child", str(tmp / "request.json")],
                                cwd=request["work"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, env=env, start_new_session=True,
                                preexec_fn=_limits(memory_mb) if os.name == "posix" else None)
        warned = False
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                _kill(proc)
                break
            if not warned and elapsed > min(10.0, timeout / 3) and not _imported(request):
                progress(f"{label} is still running its top-level code after {elapsed:.0f} s (code that trains or "
                         f"plots belongs under if __name__ == \"__main__\":); the limit is {timeout:g} s (--timeout)")
                warned = True
            time.sleep(0.05)
    return _child_report(request, tmp, proc, timeout, memory_mb, label)


def _child_report(request, tmp, proc, timeout, memory_mb, label):
    result = Path(request["result"])
    if result.is_file():
        report = CheckReport.from_json(json.loads(result.read_text()))
        report.output = _tail(Path(request["output"]), 20000)
        return report
    if proc.returncode is not None and proc.returncode < 0 and proc.returncode != -signal.SIGKILL:
        return error_report(label, f"the check's process ended with signal {-proc.returncode} "
                                   f"(the memory limit is {memory_mb} MB: --memory)")
    if proc.returncode == -signal.SIGKILL or proc.returncode is None:
        if not _imported(request):
            return None
        return error_report(label, f"the check did not finish within {timeout:g} s (--timeout): a function of "
                                   f"yours ran that long on a few examples (an endless loop?)")
    tail = _tail(tmp / "stderr.txt", 4000).strip().splitlines()[-1:] or ["no message"]
    if "MemoryError" in tail[0]:
        return error_report(label, f"ran out of the check's memory limit ({memory_mb} MB: --memory)")
    return error_report(label, f"the check's process failed: {tail[0]}")


def _tail(path, size):
    """The last size bytes of a file as text (a student's prints can run to gigabytes)."""
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode("utf-8", errors="replace")


def _imported(request):
    status = Path(request["status"])
    return status.is_file() and "imported" in status.read_text()


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _limits(memory_mb):
    def apply():
        import resource

        limit = int(memory_mb) * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _child_env(work):
    """The child's environment: netprop importable, one BLAS thread, a non-interactive matplotlib, and
    HOME and TMPDIR inside the working copy."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    (work / ".tmp").mkdir(exist_ok=True)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               HOME=str(work), TMPDIR=str(work / ".tmp"), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    return env
