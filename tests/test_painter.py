"""The run's pictures drawn in a child process (training/painter.py): the same bytes as drawn here."""

import os

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
    assert len(painter.children) == (2 if (os.cpu_count() or 1) >= 2 else 1)
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
    assert painter.children == []
    painter.draw("plot_curves", HISTORY, tmp_path / "curves.png")
    painter.finish()
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_large_job_does_not_wait_for_a_busy_child(tmp_path):
    # 4 MB of weights fill the pipe many times over; with the child stopped, a blocking write would never return
    import signal
    import threading

    painter = Painter()
    for child in painter.children:
        os.kill(child.process.pid, signal.SIGSTOP)
    W1 = np.random.default_rng(1).normal(size=(1300, 784))
    try:
        caller = threading.Thread(target=painter.draw, args=("plot_first_layer", W1, tmp_path / "w1.png"))
        caller.start()
        caller.join(60)
        assert not caller.is_alive()
    finally:
        for child in painter.children:
            os.kill(child.process.pid, signal.SIGCONT)
    painter.finish()
    assert (tmp_path / "w1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_when_the_child_dies_every_picture_is_drawn_here(tmp_path):
    painter = Painter(children=1)
    painter.draw("plot_curves", HISTORY, tmp_path / "curves.png")
    painter.children[0].process.kill()
    painter.children[0].process.wait()
    painter.draw("plot_confusion", np.eye(2, dtype=int), ["a", "b"], tmp_path / "cm.png")
    painter.finish()
    for name in ("curves.png", "cm.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_first_layer_picture_colours_each_weight_by_its_tiles_largest(tmp_path):
    from PIL import Image

    W1 = np.zeros((2, 784))
    W1[0, 0], W1[0, 1], W1[0, 2] = 4.0, -2.0, 1.0      # tile 0 scaled by 4: red, light blue (−½), light red (¼)
    W1[1, 0] = -0.5                                    # tile 1 scaled by 0.5: pure blue; its other weights white
    plots.plot_first_layer(W1, tmp_path / "w1.png", zoom=1)
    rgb = np.asarray(Image.open(tmp_path / "w1.png").convert("RGB")).astype(int)
    top = np.flatnonzero((rgb == 89).all(axis=2).any(axis=1))[0]     # the first row showing the gap's grey
    left = np.flatnonzero((rgb[top] == 89).all(axis=1))[0] - 28      # the gap is right of tile 0
    tile0, tile1 = rgb[top:top + 28, left:left + 28], rgb[top:top + 28, left + 30:left + 58]
    # 255·(1 − |v|) in the two channels the colour turns off, to the palette's 119 steps a side
    assert tile0[0, 0].tolist() == [255, 0, 0]
    assert tile0[0, 1].tolist() == [round(255 * (1 - 59 / 119)), round(255 * (1 - 59 / 119)), 255]   # −½ → entry 60
    assert tile0[0, 2].tolist() == [255, round(255 * (1 - 30 / 119)), round(255 * (1 - 30 / 119))]
    assert tile1[0, 0].tolist() == [0, 0, 255]
    assert (tile1[1:] == 255).all() and (tile0[5:] == 255).all()


def test_two_children_share_the_pictures_by_their_cost(tmp_path):
    painter = Painter(children=2)
    assert len(painter.children) == 2
    W1 = np.random.default_rng(0).normal(size=(4, 784))
    painter.draw("plot_curves", HISTORY, tmp_path / "curves.png")
    painter.draw("plot_first_layer", W1, tmp_path / "w1.png")
    painter.draw("plot_first_layer", -W1, tmp_path / "w1_change.png")
    painter.draw("plot_confusion", np.eye(3, dtype=int), ["a", "b", "c"], tmp_path / "cm.png")
    assert painter.load == [3, 5]        # the curves on one; both mosaics, then the confusion matrix, on the other
    children = painter.children
    painter.finish()
    assert [len(child.sent) for child in children] == [1, 3]
    for name in ("curves.png", "w1.png", "w1_change.png", "cm.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_children_draws_every_picture_here(tmp_path):
    painter = Painter(children=0)
    assert painter.children == []
    painter.draw("plot_curves", HISTORY, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"     # drawn at the call
    painter.finish()
