"""Training: minibatch SGD (or momentum, Nesterov, Adam) on the lecture's loss, with validation.

fit() is a plain loop a reader can follow: shuffle, slice a minibatch, forward, backward, step.
Around it: a learning-rate schedule, optional augmentation, early stopping on the validation
split, a checkpoint after every epoch (resumable bit for bit), and a stop at the first
non-finite loss.  The test set never comes here.

Arrays in, arrays out: fit() writes no files (its checkpoint is a callback).  train_run.py turns it
into a run directory; TrainConfig, here, is every hyper-parameter of a run, described once.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import _kernels
from .compiled_step import CompiledStep
from .step import logits, score, train_step
from ..core.losses import cross_entropy
from ..core.activations import ACTIVATIONS
from .optimizers import OPTIMIZERS, SCHEDULES, learning_rate, make_optimizer


def setting(default, help, parse=None, choices=None, metavar=None):
    """A TrainConfig field and everything said about it once: the flags and the saved-run schema read it.

    help: --help's text, {default} standing for the default.  parse: how a command-line word becomes
    the value, by name ("positive_int", "non_negative_int", "int", "positive_float",
    "non_negative_float", "float", "int_list"; None for choices and booleans); the schema checks the
    kind it implies.  choices: the names allowed (a registry dict is read when checked, so an
    optimizer registered later is allowed).  metavar: the placeholder in --help.
    """
    meta = {"help": help, "parse": parse, "choices": choices, "metavar": metavar}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run; the defaults are the ones chosen on validation (README).

    Each field's metadata (``setting``) describes its flag and its saved form: ``netprop train``'s
    flags (cli/config_flags.py) and the checkpoint schema (storage/schema.py) are generated from it.
    """

    hidden: list = setting([512], "hidden layer widths, e.g. 128 or 256,128 (default {default})",
                           "int_list", metavar="H[,H...]")
    activation: str = setting("relu", "hidden activation (default {default})", choices=ACTIVATIONS)
    epochs: int = setting(15, "passes over the training split (default {default})", "positive_int")
    batch_size: int = setting(256, "examples per minibatch (default {default})", "positive_int")
    lr: float = setting(0.002, "learning rate (default {default})", "positive_float")
    optimizer: str = setting("adam", "update rule (default {default})", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "momentum for momentum/nesterov (default {default})", "non_negative_float")
    l2: float = setting(0.0, "L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default {default})",
                        "non_negative_float")
    schedule: str = setting("cosine", "learning-rate schedule (default {default}; cosine anneals the rate to 0, "
                                      "minibatch by minibatch)", choices=SCHEDULES)
    step_epochs: int = setting(10, "with --schedule step: multiply the rate by --gamma every EPOCHS epochs "
                                   "(default {default})", "positive_int", metavar="EPOCHS")
    gamma: float = setting(0.1, "with --schedule step: the factor (default {default})", "positive_float")
    patience: int = setting(0, "stop after this many epochs without a better validation accuracy (default "
                               "{default}; 0 runs every epoch; the best epoch is kept either way)",
                            "int", metavar="EPOCHS")
    augment: bool = setting(False, "random horizontal flips and shifts of training images")
    shift: int = setting(2, "largest shift for --augment (default {default})", "int", metavar="PIXELS")
    seed: int = setting(0, "seed for split, weights, shuffles and augmentation (default {default})",
                        "non_negative_int")
    validation: float = setting(0.2, "fraction of the training set held out for validation (default {default})",
                                "float", metavar="FRACTION")

    def __post_init__(self):
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (math.isfinite(self.lr) and self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (math.isfinite(self.l2) and self.l2 >= 0, f"l2 must be >= 0, got {self.l2}"),
            (self.optimizer in OPTIMIZERS,
             f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES,
             f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}"),
            (self.patience >= 0, f"patience must be >= 0, got {self.patience}"),
            (0 <= self.shift <= 8, f"shift must be 0..8 pixels, got {self.shift}"),
            (0 < self.validation < 1, f"validation fraction must be in (0, 1), got {self.validation}"),
            (all(int(h) >= 1 for h in self.hidden), f"hidden sizes must be >= 1, got {self.hidden}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.hidden = [int(h) for h in self.hidden]

    @classmethod
    def from_dict(cls, d):
        """A TrainConfig from a saved dict; keys that are not fields are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def settings(cls):
        """{field name: its metadata (help, parse, choices, metavar) with its "default"}, in field order."""
        defaults = cls()
        return {f.name: {**f.metadata, "default": getattr(defaults, f.name)} for f in fields(cls)}


class TrainingDiverged(RuntimeError):
    """The loss (training, or validation after the epoch's last step) became NaN or infinite."""

    def __init__(self, epoch, step, lr, value, what="training loss"):
        self.epoch, self.step, self.lr, self.value = epoch, step, lr, value
        super().__init__(
            f"the {what} became {value} at epoch {epoch}, step {step} (learning rate {lr:g}); "
            f"try a smaller learning rate, e.g. {suggested_lr(lr)}"
        )


def suggested_lr(lr):
    """A learning rate to try after lr diverged, as a flag: the default where lr is above it
    (lr/10 of 1e300 would diverge as well), else a decade under lr."""
    default = TrainConfig.lr
    if lr > default:
        return f"--lr {default:g} (the default)"
    return f"--lr {lr / 10:g}"


def evaluate(net, X, labels, batch_size=4096, transform=None, buffers=None):
    """(mean cross-entropy, accuracy, predictions) of net on X and integer labels.

    X is preprocessed, or raw with transform(rows, dtype) preprocessing it chunk by chunk.
    buffers: a dict kept between calls (fit's validation after every epoch), so that the chunks'
    activations are written into the same memory each time (step.scratch).
    """
    total, correct, preds = 0.0, 0, []
    buffers = {} if buffers is None else buffers
    for start in range(0, len(X), batch_size):
        xb = X[start:start + batch_size]
        xb = transform(xb, net.dtype) if transform else xb.astype(net.dtype, copy=False)
        z = logits(net, xb, buffers)
        yb = labels[start:start + batch_size]
        total += cross_entropy(z.astype(np.float64), yb) * len(yb)
        p = z.argmax(axis=1)
        correct += int((p == yb).sum())
        preds.append(p)
    return total / len(X), correct / len(X), np.concatenate(preds)


def augment_batch(xb, rng, image_shape, shift, fill):
    """Random horizontal flips (probability ½) and shifts of up to ±shift pixels, in new memory."""
    n = len(xb)
    h, w = image_shape
    imgs = xb.reshape(n, h, w)
    flip = rng.random(n) < 0.5
    imgs = np.where(flip[:, None, None], imgs[:, :, ::-1], imgs)
    if shift:
        padded = np.full((n, h + 2 * shift, w + 2 * shift), fill, dtype=xb.dtype)
        padded[:, shift:shift + h, shift:shift + w] = imgs
        dy = rng.integers(0, 2 * shift + 1, size=n)
        dx = rng.integers(0, 2 * shift + 1, size=n)
        rows = dy[:, None] + np.arange(h)
        cols = dx[:, None] + np.arange(w)
        imgs = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return np.ascontiguousarray(imgs.reshape(n, h * w))


@dataclass
class TrainState:
    """Everything needed to continue a run exactly: saved in each checkpoint."""

    epoch: int = 0                      # epochs completed
    step: int = 0                       # minibatches completed
    history: list = field(default_factory=list)
    best_epoch: int = 0
    best_accuracy: float = -1.0
    best_loss: float = math.inf
    best_params: list = None
    bad_epochs: int = 0
    rng_state: dict = None
    stopped_early: bool = False


class Trainer:
    """One epoch at a time over (X, y): shuffle, slice, forward, backward, step.

    Holds what carries over between epochs (optimizer moments, the random generator, the step
    count in state); fit() adds validation, early stopping and checkpoints around it.
    """

    def __init__(self, net, X, y, config, state=None, optimizer_state=None, image_shape=None, fill=0.0):
        """net trained in place on (X, y) by config; state and optimizer_state continue a checkpoint.
        The labels must be the network's classes 0 … c−1 (ValueError otherwise)."""
        if config.augment and image_shape is None:
            raise ValueError("augmentation needs image inputs (Fashion-MNIST or 28×28 images)")
        self.net, self.X, self.y, self.config = net, X, y, config
        self.image_shape, self.fill = image_shape, fill
        self.state = state or TrainState()
        self.rng = np.random.default_rng(config.seed)
        if self.state.rng_state is not None:
            self.rng.bit_generator.state = self.state.rng_state
        self.params = net.parameters()
        self.optimizer = make_optimizer(config.optimizer, self.params, config.momentum)
        if optimizer_state is not None:
            self.optimizer.load_state(optimizer_state)
        self.one_hot = np.eye(net.layer_sizes[-1], dtype=net.dtype)
        if not np.issubdtype(np.asarray(y).dtype, np.integer):
            raise ValueError(f"labels must be integers 0 … {net.layer_sizes[-1] - 1}, got {np.asarray(y).dtype} values")
        if len(y) and (y.min() < 0 or y.max() >= net.layer_sizes[-1]):
            raise ValueError(f"labels must be 0 … {net.layer_sizes[-1] - 1} for a network of "
                             f"{net.layer_sizes[-1]} outputs, got {y.min()} … {y.max()}")
        # Where an epoch is long enough to pay for loading Numba: the whole step and its score as one
        # compiled call (compiled_step.py) where it applies, or else the score alone (step.score).
        self.kernels = _kernels.for_size(len(X) * net.layer_sizes[-1])
        self.compiled = CompiledStep.for_training(net, self.optimizer, self.kernels)
        self.steps_per_epoch = math.ceil(len(X) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs

    def train_epoch(self, epoch, emit):
        """One pass over the training data; returns (mean loss, accuracy, last lr, seconds)."""
        net, X, y, config, state, rng = self.net, self.X, self.y, self.config, self.state, self.rng
        n = len(X)
        started = time.perf_counter()
        perm = rng.permutation(n)                         # a fresh shuffle each epoch
        loss_sum, correct, lr = 0.0, 0, config.lr
        for start in range(0, n, config.batch_size):
            idx = perm[start:start + config.batch_size]
            xb, yb = X[idx], y[idx]
            if config.augment:
                xb = augment_batch(xb, rng, self.image_shape, config.shift, self.fill)
            lr = learning_rate(config.schedule, config.lr, state.step, self.total_steps,
                               self.steps_per_epoch, config.step_epochs, config.gamma)

            # A diverging run overflows before its loss turns NaN; that loss is checked below,
            # so NumPy's warnings would only repeat it.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                # forward, backward, θ ← θ − lr·∇θ: the training step (step.py, or compiled_step.py
                # in one call), equal to network.py's lines
                if self.compiled is not None:
                    batch_loss, batch_correct = self.compiled(xb, yb, lr, config.l2)
                else:
                    cache = train_step(net, self.optimizer, xb, self.one_hot[yb], lr, config.l2, self.params)
                    batch_loss, batch_correct = score(cache, yb, self.kernels)
            if not math.isfinite(batch_loss):
                raise TrainingDiverged(epoch, state.step + 1, lr, batch_loss)
            state.step += 1
            loss_sum += batch_loss * len(yb)
            correct += batch_correct
            emit("batch", epoch=epoch, step=state.step, size=len(yb), loss=batch_loss,
                 seen=start + len(yb), running_loss=loss_sum / (start + len(yb)),
                 running_accuracy=correct / (start + len(yb)))
        return loss_sum / n, correct / n, lr, time.perf_counter() - started


def fit(net, X, y, X_val, y_val, config, state=None, optimizer_state=None, callback=None,
        checkpoint=None, image_shape=None, fill=0.0):
    """Train net in place on (X, y), scoring each epoch on (X_val, y_val).

    X, X_val: preprocessed inputs (n, d) in net's dtype; y, y_val: integer labels.
    config: TrainConfig.  state, optimizer_state: from a checkpoint, to resume.
    callback(event, **info): "epoch_start", "batch" and "epoch_end" events (progress bars).
    checkpoint(net, optimizer, state): called after every epoch (writes the checkpoint).
    image_shape: (h, w) when inputs are images (needed for augmentation); fill: the
    preprocessed value of a black pixel, used where shifts uncover the border.

    Returns the TrainState; net ends with the best epoch's parameters (by validation accuracy).
    """
    trainer = Trainer(net, X, y, config, state, optimizer_state, image_shape, fill)
    state = trainer.state
    emit = callback or (lambda event, **info: None)
    validation_buffers = {}                 # the validation pass's activations, the same memory every epoch

    while state.epoch < config.epochs and not state.stopped_early:
        epoch = state.epoch + 1
        emit("epoch_start", epoch=epoch, steps=trainer.steps_per_epoch)
        train_loss, train_acc, lr, seconds = trainer.train_epoch(epoch, emit)
        with np.errstate(over="ignore", invalid="ignore"):     # a non-finite result is checked below
            val_loss, val_acc, _ = evaluate(net, X_val, y_val, buffers=validation_buffers)
        # The epoch's last step is checked by no later batch loss: its update shows up here, in the
        # validation loss and the parameters, before the epoch can be recorded, kept or checkpointed.
        if not math.isfinite(val_loss):
            raise TrainingDiverged(epoch, state.step, lr, val_loss, "validation loss")
        if not all(np.isfinite(p).all() for p in trainer.params):
            raise TrainingDiverged(epoch, state.step, lr, "non-finite", "parameters")
        record = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                  "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr, "seconds": seconds}
        state.history.append(record)
        if val_acc > state.best_accuracy or (val_acc == state.best_accuracy and val_loss < state.best_loss):
            state.best_epoch, state.best_accuracy, state.best_loss = epoch, val_acc, val_loss
            state.best_params = [p.copy() for p in trainer.params]
            state.bad_epochs = 0
        else:
            state.bad_epochs += 1
            if config.patience and state.bad_epochs >= config.patience:
                state.stopped_early = True
        state.epoch = epoch
        state.rng_state = trainer.rng.bit_generator.state
        if checkpoint is not None:
            checkpoint(net, trainer.optimizer, state)
        emit("epoch_end", record=record, best_epoch=state.best_epoch, stopped=state.stopped_early)

    for p, best in zip(trainer.params, state.best_params):   # restore the best epoch's weights
        p[...] = best
    return state


def state_to_json(state):
    d = asdict(state)
    d.pop("best_params")
    return json.loads(json.dumps(d))


def state_from_json(d, best_params):
    state = TrainState(**{k: v for k, v in d.items() if k != "best_params"})
    state.best_params = best_params
    return state
