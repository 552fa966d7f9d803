"""The run's pictures drawn in a child process (training/painter.py): the same bytes as drawn here."""

import numpy as np
import pytest

from netprop.training import painter as painter_mod
from netprop.training import plots
from netprop.training.painter import Painter

pytestmark = pytest.mark.painter_child      # the real child, not conftest's pictures drawn here

HISTORY = [{"epoch": k, "train_loss": 1 / k, "val_loss": 1.1 / k, "train_accuracy": 0.5 + k / 20,
            "val_accuracy": 0.45 + k / 20} for k in range(1, 4)]


# slow: a child importing matplotlib; the inner loop's real child is the one test_cli_train.py's
# `netprop train` process starts for its pictures (a failing child fails that run)
@pytest.mark.slow
def test_the_child_draws_the_same_pngs_as_this_process(tmp_path):
    W1 = np.random.default_rng(0).normal(size=(20, 784)).astype(np.float32)
    confusion = np.arange(9).reshape(3, 3)
    painter = Painter()
    assert painter.child is not None
    painter.draw("plot_curves", HISTORY, tmp_path / "child_curves.png")
    painter.draw("plot_first_layer", W1, tmp_path / "child_w1.png", (28, 28), what="W1")
    painter.draw("plot_confusion", confusion, ["a", "b", "c"], tmp_path / "child_cm.png")
    painter.finish()
    plots.plot_curves(HISTORY, tmp_path / "here_curves.png")
    plots.plot_first_layer(W1, tmp_path / "here_w1.png", (28, 28), what="W1")
    plots.plot_confusion(confusion, ["a", "b", "c"], tmp_path / "here_cm.png")
    for name in ("curves", "w1", "cm"):
        assert (tmp_path / f"child_{name}.png").read_bytes() == (tmp_path / f"here_{name}.png").read_bytes()


@pytest.mark.slow          # a child importing matplotlib to fail; the child's PNGs test stays
def test_a_picture_that_fails_is_named_when_the_run_waits_for_it(tmp_path):
    painter = Painter()
    (tmp_path / "file").write_text("not a directory")
    painter.draw("plot_curves", HISTORY, tmp_path / "file" / "curves.png")
    with pytest.raises(RuntimeError, match="plot_curves"):
        painter.finish()
    with pytest.raises(ValueError, match="unknown picture 'savefig'"):
        painter.draw("savefig", "x")


def test_without_a_child_the_pictures_are_drawn_here(tmp_path, monkeypatch):
    def no_processes(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(painter_mod.subprocess, "Popen", no_processes)
    painter = Painter()
    assert painter.child is None
    painter.draw("plot_curves", HISTORY, tmp_path / "curves.png")
    painter.finish()
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
