"""A run's pictures drawn in a child process: matplotlib imported there while the run trains.

`netprop train` ends with four PNGs.  Drawn in the training process they cost matplotlib's import
and every figure's rendering after the last epoch, one after the other with the test set's scoring
and the model's writing.  A Painter starts a child Python at the start of the run, which imports
matplotlib at once (on the other core, while the data loads and the network trains); at the end
the run hands it each figure's data as soon as it exists and waits only for what is left.

The child is a fresh interpreter (``python -c``, running serve_stdio), not a fork: no BLAS
threads or locks are copied, and no user's __main__ is imported again.  Jobs travel pickled over
its stdin, written by a thread of this process (a megabyte of W1 fills the pipe while the child is
still drawing the previous picture, and the run would wait for it); its answer, one pickled list
of failures, over stdout.  Where the child cannot start, or stops reading, the pictures are drawn
here as before.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path

# The drawing functions a job may name (plots.py); nothing else is called in the child.
JOBS = ("plot_curves", "plot_first_layer", "plot_confusion")
CHILD = "from netprop.training.painter import serve_stdio; serve_stdio()"


class Painter:
    """Draws plots.JOBS in a child process; draw() queues a figure, finish() waits for all of them."""

    def __init__(self):
        package_root = str(Path(__file__).resolve().parents[2])      # the folder holding netprop/
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        self.jobs, self.sent, self.unsent = queue.Queue(), [], False
        try:
            self.child = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError:
            self.child = None                # no child here: draw in this process
            return
        self.feeder = threading.Thread(target=self._feed, args=(self.child.stdin,), daemon=True,
                                       name="netprop-painter")
        self.feeder.start()

    def draw(self, job, *args, **kwargs):
        """Draw plots.<job>(*args, **kwargs): queued for the child, or drawn here if there is none.

        The arguments are pickled now, so the picture shows them as they are at this call.
        """
        if job not in JOBS:
            raise ValueError(f"unknown picture {job!r}")
        if self.child is not None:
            self.jobs.put(pickle.dumps((job, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
            return
        from . import plots

        getattr(plots, job)(*args, **kwargs)

    def _feed(self, pipe):
        """The feeder thread: write each queued job to the child until finish() or close() queues None.

        Every job is kept in self.sent; a write failing (the child is gone) sets self.unsent."""
        while (payload := self.jobs.get()) is not None:
            self.sent.append(payload)
            if self.unsent:
                continue
            try:
                pipe.write(payload)
                pipe.flush()
            except (BrokenPipeError, OSError, ValueError):      # the child is gone (or close() closed it)
                self.unsent = True

    def finish(self):
        """Wait until every queued picture is written; raise RuntimeError naming any that failed.

        Where the child died, every picture is drawn here instead (each file is written whole or not at all).
        """
        if self.child is None:
            return
        self.jobs.put(None)
        self.feeder.join()
        try:
            self.child.stdin.close()
            failures = None if self.unsent else pickle.load(self.child.stdout)
        except (BrokenPipeError, OSError, EOFError, pickle.UnpicklingError):
            failures = None
        self.close()
        if failures is None:                 # no answer: the child died, so draw them all here
            for payload in self.sent:
                job, args, kwargs = pickle.loads(payload)
                self.draw(job, *args, **kwargs)
        elif failures:
            raise RuntimeError("drawing the run's pictures failed: " + "; ".join(failures))

    def close(self):
        """Stop the child without waiting for its pictures (a run that failed or was interrupted)."""
        if self.child is not None:
            self.jobs.put(None)              # the feeder ends (a write in progress fails once the child is gone)
            self.child.kill()
            self.child.wait()
            self.child = None


def _serve(stdin, stdout):
    """The child: import matplotlib now, then draw each job read from stdin until it closes."""
    import io

    from . import plots

    plt = plots._pyplot()
    fig, ax = plt.subplots(figsize=(1, 1))     # fonts and the renderer loaded now, not at the first picture
    ax.set_title("netprop")
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    failures = []
    while True:
        try:
            job, args, kwargs = pickle.load(stdin)
        except (EOFError, pickle.UnpicklingError):      # the run closed the pipe (or died writing to it)
            break
        try:
            getattr(plots, job)(*args, **kwargs) if job in JOBS else failures.append(f"unknown job {job!r}")
        except Exception as exc:  # noqa: BLE001  (reported to the run, which raises it)
            failures.append(f"{job}: {exc}")
    try:
        pickle.dump(failures, stdout)
        stdout.flush()
    except (BrokenPipeError, OSError):
        pass                                  # the run ended without waiting (killed, or close())


def serve_stdio():
    """The child's entry point (CHILD)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C stops the run, which stops this process
    try:
        # matplotlib's import (~0.8 s of CPU) runs while the run reads, standardises and trains on
        # every core: at a lower priority it takes the time those leave idle instead of theirs
        os.nice(10)
    except OSError:
        pass
    _serve(sys.stdin.buffer, sys.stdout.buffer)
