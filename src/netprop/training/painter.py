"""A run's pictures drawn in a child process: matplotlib imported there while the run trains.

`netprop train` ends with four PNGs.  Drawn in the training process they cost matplotlib's import
and every figure's rendering after the last epoch, one after the other with the test set's scoring
and the model's writing.  A Painter starts a child Python at the start of the run, which imports
matplotlib at once (on the other core, while the data loads and the network trains); at the end
the run hands it each figure's data as soon as it exists and waits only for what is left.

The child is a fresh interpreter (``python -c``, running serve_stdio), not a fork: no BLAS
threads or locks are copied, and no user's __main__ is imported again.  Jobs travel pickled over
its stdin (written by this process only); its answer, one pickled list of failures, over stdout.
Where the child cannot start, the pictures are drawn here as before.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
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
        try:
            self.child = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError:
            self.child = None                # no child here: draw in this process

    def draw(self, job, *args, **kwargs):
        """Draw plots.<job>(*args, **kwargs): in the child, or here if it is gone."""
        if job not in JOBS:
            raise ValueError(f"unknown picture {job!r}")
        if self.child is not None:
            try:
                pickle.dump((job, args, kwargs), self.child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.child.stdin.flush()
                return
            except (BrokenPipeError, OSError):
                self.close()
        from . import plots

        getattr(plots, job)(*args, **kwargs)

    def finish(self):
        """Wait until every queued picture is written; raise RuntimeError naming any that failed."""
        if self.child is None:
            return
        try:
            self.child.stdin.close()
            failures = pickle.load(self.child.stdout)
        except (BrokenPipeError, OSError, EOFError, pickle.UnpicklingError):
            failures = [f"the drawing process ended with status {self.child.wait()}"]
        self.child.wait()
        self.child = None
        if failures:
            raise RuntimeError("drawing the run's pictures failed: " + "; ".join(failures))

    def close(self):
        """Stop the child without waiting for its pictures (a run that failed or was interrupted)."""
        if self.child is not None:
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
    _serve(sys.stdin.buffer, sys.stdout.buffer)
