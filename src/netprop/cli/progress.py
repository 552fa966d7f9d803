"""Progress on stderr: tqdm bars (only on a terminal) and the one-line summaries of train and tune."""

from __future__ import annotations

import sys
import time


def progress_bar(total, desc, enabled):
    """A tqdm bar on stderr (shown only on a terminal), or a no-op."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="param", leave=False, file=sys.stderr,
                disable=not enabled or not sys.stderr.isatty(), dynamic_ncols=True)


class TrainProgress:
    """A progress bar per epoch (on a terminal) and one summary line per epoch."""

    def __init__(self, quiet, total_epochs):
        self.quiet, self.total = quiet, total_epochs
        self.bar = None

    def __call__(self, event, **info):
        """train_run's callback: epoch_start opens a bar, batch advances it, epoch_end prints the line."""
        if self.quiet:
            return
        from tqdm import tqdm

        if event == "epoch_start":
            self.bar = tqdm(total=info["steps"], desc=f"epoch {info['epoch']}/{self.total}",
                            unit="batch", leave=False, file=sys.stderr, dynamic_ncols=True,
                            disable=not sys.stderr.isatty(), mininterval=0.2)
            self._last = 0.0
        elif event == "batch" and self.bar is not None:
            self.bar.update(1)
            now = time.perf_counter()
            if now - self._last > 0.25:
                self._last = now
                self.bar.set_postfix(loss=f"{info['running_loss']:.4f}",
                                     acc=f"{100 * info['running_accuracy']:.2f}%", refresh=False)
        elif event == "epoch_end":
            self._epoch_end(info)

    def _epoch_end(self, info):
        if self.bar is not None:
            self.bar.close()
        r = info["record"]
        mark = "  *best" if info["best_epoch"] == r["epoch"] else ""
        print(f"epoch {r['epoch']:>3}/{self.total}  train loss {r['train_loss']:.4f}  "
              f"acc {100 * r['train_accuracy']:6.2f}%  |  val loss {r['val_loss']:.4f}  "
              f"acc {100 * r['val_accuracy']:6.2f}%  |  lr {r['lr']:.3g}  "
              f"{r['seconds']:5.2f}s{mark}", file=sys.stderr, flush=True)
        if info["stopped"]:
            print(f"early stopping: no better validation accuracy for the last epochs; "
                  f"keeping epoch {info['best_epoch']}", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class SweepProgress:
    """The sweep's opening line, a trial bar (on a terminal), and the line before the final retrain."""

    def __init__(self, quiet, where):
        self.quiet, self.where = quiet, where
        self.bar, self.phase, self.finished, self.total = None, "setup", 0, 0

    def __call__(self, event, **info):
        """run_sweep's callback: start opens the trial bar, result advances it, final closes it."""
        from tqdm import tqdm

        if event == "start":
            self.phase, self.total, self.finished = "trials", len(info["trials"]), len(info["done"])
            if not self.quiet:
                print(f"{self.total} settings, scored on the validation split only; {self.finished} "
                      f"already done in {info['out_dir']}; running {len(info['todo'])} on {self.where}",
                      file=sys.stderr)
            self.bar = tqdm(total=self.total, initial=self.finished, desc="trials", unit="trial",
                            file=sys.stderr, disable=self.quiet or not sys.stderr.isatty(), dynamic_ncols=True)
        elif event == "result":
            self.finished = len(info["results"])
            self.bar.update(1)
            self.bar.set_postfix(best=f"{100 * max(r['val_accuracy'] for r in info['results']):.2f}%")
        elif event == "final":
            self.close()
            self.phase = "final"
            if not self.quiet:
                print(f"\nbest setting: trial {info['best']['trial']}; training it again in "
                      f"{info['out_dir']} and scoring the test set once", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
