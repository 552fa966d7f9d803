"""Training: it learns, it is deterministic, it resumes bit for bit, it stops on NaN."""

import numpy as np
import pytest

import netprop
from helpers import fashion_mnist_or_skip, synthetic_npz
from netprop.training import train_run as run_mod
from netprop.training import fit as train_mod
from netprop.storage.models import load_arrays
from netprop.training.train_run import CHECKPOINT, read_checkpoint, train_run
from netprop.training.fit import TrainConfig, TrainingDiverged


def weights_of(run_dir):
    arrays, _ = load_arrays(run_dir / "model.safetensors")
    return arrays


@pytest.mark.slow          # a real Fashion-MNIST run; test_cli_train's fashion_run trains on it in the inner loop
def test_short_run_on_fashion_mnist_learns(tmp_path):
    fashion_mnist_or_skip()
    config = TrainConfig(hidden=[64], epochs=3, batch_size=64, lr=0.003, optimizer="adam")
    result = train_run(tmp_path / "run", config, subset=3000)
    # ten classes: chance is 10 %; a few epochs on 3000 images reach far above it
    assert result.metrics["validation_accuracy"] > 0.75
    assert result.metrics["test_accuracy"] > 0.75
    assert result.metrics["train_examples"] == 3000 and result.metrics["validation_examples"] == 12000
    for name in ("model.safetensors", "config.json", "history.csv", "metrics.json", "curves.png",
                 "first_layer.png", "first_layer_change.png", "confusion.png", "report.md", CHECKPOINT):
        assert (tmp_path / "run" / name).is_file(), name
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds"
    assert len(history) == 4
    # the saved model scores what the report says
    model = netprop.load(tmp_path / "run")
    from netprop.data import load_fashion_mnist
    _, _, Xt, yt = load_fashion_mnist()
    acc = (model.predict(Xt) == yt).mean()
    assert acc == pytest.approx(result.metrics["test_accuracy"], abs=1e-12)


# a run each; the inner loop keeps the course's SGD and Adam (test_fast.py holds every optimizer to torch.optim)
@pytest.mark.parametrize("optimizer", ["sgd", pytest.param("momentum", marks=pytest.mark.slow),
                                       pytest.param("nesterov", marks=pytest.mark.slow), "adam"])
def test_every_optimizer_learns_synthetic_data(tmp_path, optimizer):
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    lr = 0.01 if optimizer == "adam" else 0.1
    config = TrainConfig(hidden=[16], epochs=5, batch_size=32, lr=lr, optimizer=optimizer)
    result = train_run(tmp_path / "run", config, {"kind": "file", "path": str(data)})
    assert result.metrics["validation_accuracy"] > 0.9      # four classes: chance is 25 %


# slow: three runs; in the inner loop test_resume_is_bit_for_bit's whole and resumed runs must be equal to
# the bit, which two runs of one seed already have to be
@pytest.mark.slow
def test_same_seed_same_run_bit_for_bit(tmp_path):
    data = synthetic_npz(tmp_path / "d.npz")
    source = {"kind": "file", "path": str(data)}
    config = TrainConfig(hidden=[32], epochs=3, augment=True, optimizer="adam", lr=0.003)
    train_run(tmp_path / "a", config, source)
    train_run(tmp_path / "b", config, source)
    a, b = weights_of(tmp_path / "a"), weights_of(tmp_path / "b")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    train_run(tmp_path / "c", TrainConfig(hidden=[32], epochs=3, augment=True, optimizer="adam",
                                          lr=0.003, seed=1), source)
    assert not np.array_equal(a["W1"], weights_of(tmp_path / "c")["W1"])


class Interrupt:
    """A callback that presses Ctrl-C at a chosen moment."""

    def __init__(self, epoch, step_in_epoch=None):
        self.epoch, self.step_in_epoch, self.seen = epoch, step_in_epoch, 0

    def __call__(self, event, **info):
        if event == "epoch_start" and info["epoch"] == self.epoch and self.step_in_epoch is None:
            raise KeyboardInterrupt
        if event == "batch" and info["epoch"] == self.epoch:
            self.seen += 1
            if self.seen == self.step_in_epoch:
                raise KeyboardInterrupt


# three runs each (whole, cut, resumed); the inner loop keeps the cut in the middle of an epoch
@pytest.mark.parametrize("optimizer, augment, interrupt", [
    pytest.param("adam", True, Interrupt(3), marks=pytest.mark.slow),
    ("nesterov", False, Interrupt(2, step_in_epoch=5)),
    pytest.param("momentum", True, Interrupt(4, step_in_epoch=1), marks=pytest.mark.slow),
])
def test_resume_is_bit_for_bit(tmp_path, optimizer, augment, interrupt):
    data = synthetic_npz(tmp_path / "d.npz")
    source = {"kind": "file", "path": str(data)}
    config = TrainConfig(hidden=[24], epochs=5, batch_size=50, optimizer=optimizer,
                         lr=0.003 if optimizer == "adam" else 0.02, augment=augment, patience=0)
    whole = train_run(tmp_path / "whole", config, source)

    with pytest.raises(KeyboardInterrupt):
        train_run(tmp_path / "cut", config, source, callback=interrupt)
    _, meta = read_checkpoint(tmp_path / "cut" / CHECKPOINT)
    assert meta["state"]["epoch"] == interrupt.epoch - 1
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train_run(tmp_path / "cut", resume=True)

    a, b = weights_of(tmp_path / "whole"), weights_of(tmp_path / "cut")
    assert set(a) == set(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(whole.state.history) == strip(resumed.state.history)


@pytest.mark.slow          # a cut run and its resume; test_resume_is_bit_for_bit stays
def test_first_layer_change_is_what_training_added_even_after_a_resume(tmp_path, monkeypatch):
    """The change plot subtracts the run's true starting W1 (rebuilt from the seed), not the
    weights the resumed half started from."""
    data = synthetic_npz(tmp_path / "d.npz")
    source = {"kind": "file", "path": str(data)}
    config = TrainConfig(hidden=[24], epochs=3, batch_size=50, optimizer="momentum", lr=0.02)
    starts = []
    real_fit = run_mod.fit

    def recording_fit(net, *args, **kwargs):
        starts.append(net.weights[0].copy())
        return real_fit(net, *args, **kwargs)

    monkeypatch.setattr(run_mod, "fit", recording_fit)
    with pytest.raises(KeyboardInterrupt):
        train_run(tmp_path / "run", config, source, callback=Interrupt(2))
    result = train_run(tmp_path / "run", resume=True)
    assert len(starts) == 2 and not np.array_equal(starts[0], starts[1])
    change = run_mod.first_layer_change(result.net, config)
    np.testing.assert_array_equal(change, result.net.weights[0] - starts[0])
    assert np.abs(change).max() > 1e-3
    assert (tmp_path / "run" / "first_layer_change.png").is_file()
    assert "![first-layer change](first_layer_change.png)" in (tmp_path / "run" / "report.md").read_text()


def test_early_stopping_restores_the_best_epoch(tmp_path):
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    config = TrainConfig(hidden=[16], epochs=40, lr=0.5, optimizer="momentum", patience=2,
                         schedule="constant")
    result = train_run(tmp_path / "run", config, {"kind": "file", "path": str(data)})
    h = result.state.history
    best = max(h, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    assert result.state.best_epoch == best["epoch"]
    assert result.state.stopped_early and len(h) == best["epoch"] + 2
    assert result.metrics["validation_accuracy"] == best["val_accuracy"]


def test_nan_stops_at_once_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    config = TrainConfig(hidden=[16], epochs=4, batch_size=100, optimizer="sgd", lr=0.01)
    real = train_mod.learning_rate

    def explode_in_epoch_2(schedule, lr, step, total, per_epoch, *args):
        return 1e30 if step >= per_epoch + 1 else real(schedule, lr, step, total, per_epoch, *args)

    monkeypatch.setattr(train_mod, "learning_rate", explode_in_epoch_2)
    with pytest.raises(TrainingDiverged) as info:
        train_run(tmp_path / "run", config, {"kind": "file", "path": str(data)})
    # 480 training examples, batches of 100: 5 steps per epoch; lr explodes at step 7
    assert info.value.epoch == 2 and info.value.step in (7, 8)
    assert "smaller learning rate" in str(info.value)
    arrays, meta = read_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert meta["state"]["epoch"] == 1
    assert all(np.isfinite(v).all() for v in arrays.values())


def test_bad_config_values():
    for kwargs, message in [(dict(epochs=0), "epochs"), (dict(lr=-1), "learning rate"),
                            (dict(optimizer="rmsprop"), "unknown optimizer"),
                            (dict(momentum=1.5), "momentum"), (dict(hidden=[0]), "hidden"),
                            (dict(validation=1.0), "validation")]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**kwargs)


def test_augmentation_flips_and_shifts():
    rng = np.random.default_rng(0)
    x = np.zeros((200, 784), np.float32)
    x[:, 0] = 1.0                                  # one lit pixel in the top-left corner
    out = train_mod.augment_batch(x, rng, (28, 28), 2, fill=-1.0).reshape(200, 28, 28)
    # the pixel moves by at most 2 in each direction, mirrored to the right edge for flips
    ys, xs = np.nonzero(out == 1.0)[1:]
    assert len(ys) <= 200 and ys.max() <= 2
    assert set(np.unique(np.where(xs > 13, 27 - xs, xs))) <= {0, 1, 2}
    assert (xs > 13).any() and (xs < 14).any()     # some flipped, some not
    assert (out == -1.0).any()                     # uncovered border takes the fill value
    np.testing.assert_array_equal(x[:, 0], 1.0)    # the input is untouched


def test_a_checkpoint_written_beside_the_next_epoch_holds_its_own_epoch(tmp_path, monkeypatch):
    # The checkpoint is written by a thread while the next epoch trains: it must hold the arrays as
    # they were when its epoch ended, though the next epoch's steps change them in place meanwhile.
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    config = TrainConfig(hidden=[16], epochs=3, batch_size=32, lr=0.01, optimizer="adam")
    written = []
    real_save = run_mod.save_arrays

    def slow_save(path, arrays, meta):
        written.append(meta["state"]["epoch"])
        import time
        time.sleep(0.3)                      # the next epoch's steps all happen meanwhile
        real_save(path, arrays, meta)

    monkeypatch.setattr(run_mod, "save_arrays", slow_save)
    ends = {}

    def watch(event, **info):
        if event == "epoch_end" and info["record"]["epoch"] == 1:
            ends["W1"] = result_net[0].weights[0].copy()
        if event == "batch" and info["epoch"] == 2 and info["step"] == 20:
            raise KeyboardInterrupt            # mid-epoch 2: W1 has moved on from epoch 1's end

    result_net = []
    monkeypatch.setattr(run_mod, "build_network", lambda *a, _real=run_mod.build_network: (
        result_net.append(_real(*a)) or result_net[-1]))
    with pytest.raises(KeyboardInterrupt):
        train_run(tmp_path / "run", config, {"kind": "file", "path": str(data)}, callback=watch)
    arrays, meta = read_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert written == [1] and meta["state"]["epoch"] == 1
    assert not np.array_equal(result_net[0].weights[0], ends["W1"])
    np.testing.assert_array_equal(arrays["param.W1"], ends["W1"])


def test_a_checkpoint_that_cannot_be_written_stops_the_run_with_its_error(tmp_path, monkeypatch):
    data = synthetic_npz(tmp_path / "d.npz", d=20)

    def full_disk(path, arrays, meta):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_mod, "save_arrays", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train_run(tmp_path / "run", TrainConfig(hidden=[8], epochs=3, batch_size=64),
                  {"kind": "file", "path": str(data)})
    assert not (tmp_path / "run" / "model.safetensors").exists()
