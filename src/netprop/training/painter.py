"""A run's pictures drawn in child processes: matplotlib imported there while the run trains.

`netprop train` ends with four PNGs.  Drawn in the training process they cost matplotlib's import
and every figure's rendering after the last epoch, one after the other with the test set's scoring
and the model's writing.  A Painter starts child Pythons at the start of the run, which import
matplotlib at once (at a lower priority, in the time the data loading and the training leave
idle); at the end the run hands them each figure's data as soon as it exists and waits only for
what is left.  With two cores there are two children, so that the two matplotlib figures (the
curves and the confusion matrix, ~0.3 s each) are drawn at the same time.

A child is a fresh interpreter (``python -c``, running serve_stdio), not a fork: no BLAS threads
or locks are copied, and no user's __main__ is imported again.  Jobs travel pickled over its
stdin, written by a thread of this process (a megabyte of W1 fills the pipe while the child is
still drawing the previous picture, and the run would wait for it); its answer, one pickled list
of failures, over stdout.  Where a child cannot start, or dies, its pictures are drawn here.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path

# The drawing functions a job may name (plots.py), with their rough cost (the matplotlib figures
# take about three times the first-layer mosaics); nothing else is called in a child.
JOBS = {"plot_curves": 3, "plot_first_layer": 1, "plot_confusion": 3}
CHILD = "from netprop.training.painter import serve_stdio; serve_stdio()"


class Painter:
    """Draws plots.JOBS in child processes; draw() queues a figure, finish() waits for all of them."""

    def __init__(self, children=None):
        """children: how many drawing processes (default: two where there are two cores, else one);
        0 draws every picture in this process."""
        if children is None:
            children = 2 if (os.cpu_count() or 1) >= 2 else 1
        self.children = [child for child in (_Child.start() for _ in range(children)) if child is not None]
        self.load = [0] * len(self.children)           # the cost queued on each child so far

    def draw(self, job, *args, **kwargs):
        """Draw plots.<job>(*args, **kwargs): queued for the least loaded child, or drawn here if there is none.

        The arguments are pickled now, so the picture shows them as they are at this call.
        """
        if job not in JOBS:
            raise ValueError(f"unknown picture {job!r}")
        if self.children:
            k = min(range(len(self.children)), key=self.load.__getitem__)
            self.load[k] += JOBS[job]
            self.children[k].put(pickle.dumps((job, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
            return
        _draw_here(job, args, kwargs)

    def finish(self):
        """Wait until every queued picture is written; raise RuntimeError naming any that failed.

        Where a child died, its pictures are drawn here instead (each file is written whole or not at all).
        """
        failures = []
        try:
            for child in self.children:
                answer = child.finish()
                if answer is None:             # no answer: the child died, so draw its pictures here
                    for payload in child.sent:
                        _draw_here(*pickle.loads(payload))
                else:
                    failures += answer
        finally:
            self.close()                       # also when interrupted: no child is left behind
        if failures:
            raise RuntimeError("drawing the run's pictures failed: " + "; ".join(failures))

    def close(self):
        """Stop the children without waiting for their pictures (a run that failed or was interrupted)."""
        children, self.children = self.children, []
        for child in children:
            child.close()


def _draw_here(job, args, kwargs):
    from . import plots

    getattr(plots, job)(*args, **kwargs)


class _Child:
    """One drawing process, and the thread that writes its jobs into its stdin."""

    @classmethod
    def start(cls):
        """A started child, or None where no process can be started."""
        package_root = str(Path(__file__).resolve().parents[2])      # the folder holding netprop/
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        try:
            process = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError:
            return None
        return cls(process)

    def __init__(self, process):
        self.process, self.jobs, self.sent, self.unsent = process, queue.Queue(), [], False
        self.feeder = threading.Thread(target=self._feed, daemon=True, name="netprop-painter")
        self.feeder.start()

    def put(self, payload):
        self.jobs.put(payload)

    def _feed(self):
        """Write each queued job to the child until finish() or close() queues None.

        Every job is kept in self.sent; a write failing (the child is gone) sets self.unsent."""
        pipe = self.process.stdin
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
        """The child's list of failures once it has drawn everything, or None if it died first."""
        self.jobs.put(None)
        self.feeder.join()
        try:
            self.process.stdin.close()
            failures = None if self.unsent else pickle.load(self.process.stdout)
        except (BrokenPipeError, OSError, EOFError, pickle.UnpicklingError):
            failures = None
        self.close()
        return failures

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.jobs.put(None)        # the feeder ends (a write in progress fails now that the child is gone)


def _serve(stdin, stdout):
    """The child: import matplotlib and draw small versions of the figures now (a figure's first drawing
    loads fonts, colour maps and text layout: 0.25–0.4 s against 0.17–0.25 s for the next one), then
    draw each job read from stdin until it closes."""
    import tempfile

    from . import plots

    try:
        with tempfile.TemporaryDirectory(prefix="netprop-painter-") as scratch:
            history = [{"epoch": k, "train_loss": 1.0, "val_loss": 1.0, "train_accuracy": 0.5, "val_accuracy": 0.5}
                       for k in (1, 2)]
            plots.plot_curves(history, Path(scratch) / "curves.png")
            plots.plot_confusion([[1, 0], [0, 1]], ["T-shirt/top", "Ankle boot"], Path(scratch) / "confusion.png")
    except Exception:  # noqa: BLE001  (a warm-up only: a real job that fails is reported as it runs)
        pass
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
