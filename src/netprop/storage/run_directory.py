"""The run directory: which files a training run writes, and reading and writing the ones that are not a model.

    checkpoint.safetensors   rewritten after every epoch: parameters, best parameters, optimizer
                             state; its header's metadata holds the config, source and the state
                             with the per-epoch history
    model.safetensors, config.json   the finished run's model (storage/models.py writes and reads them)
    history.csv              one row per epoch (HISTORY_COLUMNS)
    metrics.json             the finished run's figures; written last
    report.md                the report, plots beside it as PNGs
    trajectory/              with --landscape: meta.json and the snapshots step-NNNNNNNN.npy
                             (and their step-NNNNNNNN.scale.npy), read back by `netprop landscape`
    landscape.safetensors, landscape.json, landscape_surface.png, landscape_contour.png
                             the landscape drawn from them (training/landscape.py)

``netprop train`` (training/train_run.py), ``netprop tune``, the CLI and the live lecture's run
view (explain/runs.py) all take the names, the history and the checkpoint's header from here.
"""

from __future__ import annotations

import csv
import io
import json
import re

from .models import CONFIG_FILE, MODEL_FILE, atomic_write, read_safetensors_header

CHECKPOINT = "checkpoint.safetensors"
MODEL = MODEL_FILE
CONFIG = CONFIG_FILE
HISTORY = "history.csv"
METRICS = "metrics.json"
REPORT = "report.md"

# --landscape's snapshots of the parameters, and the landscape drawn from them
TRAJECTORY = "trajectory"
TRAJECTORY_META = "meta.json"
LANDSCAPE_ARRAYS = "landscape.safetensors"
LANDSCAPE_SUMMARY = "landscape.json"
LANDSCAPE_SURFACE = "landscape_surface.png"
LANDSCAPE_CONTOUR = "landscape_contour.png"
LANDSCAPE_FILES = [LANDSCAPE_ARRAYS, LANDSCAPE_SUMMARY, LANDSCAPE_SURFACE, LANDSCAPE_CONTOUR]
SNAPSHOT_PATTERN = re.compile(r"step-(\d+)\.npy")
SNAPSHOT_GLOB = "step-*.npy"


def snapshot_name(step):
    """The file of the snapshot taken after `step` minibatches, in TRAJECTORY/."""
    return f"step-{step:08d}.npy"


def snapshot_scale_name(name):
    """The file of a delta snapshot's scales, beside the snapshot called name."""
    return name[:-len(".npy")] + ".scale.npy"


# What one epoch's record holds (fit.py's history), in history.csv's column order.
HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]

# A checkpoint's metadata is a few KiB per hundred epochs; this bounds what a header read may allocate.
MAX_CHECKPOINT_HEADER = 64 << 20


def write_history(path, history):
    """history.csv from fit's per-epoch records: HISTORY_COLUMNS, floats to 6 significant digits; atomic."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in history:
        writer.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in HISTORY_COLUMNS})
    with atomic_write(path, "w") as fh:
        fh.write(buf.getvalue())


def read_history(path):
    """The records of a history.csv (epoch an int, the rest floats); ValueError/KeyError/OSError if unreadable."""
    with open(path, newline="") as fh:
        return [{k: (int(row[k]) if k == "epoch" else float(row[k])) for k in HISTORY_COLUMNS}
                for row in csv.DictReader(fh)]


def checkpoint_metadata(path):
    """A checkpoint's metadata (config, source, state with its history) read from its header alone,
    without the arrays, plus "shapes": {"param.W1": [out, in], …}.

    Raises ValueError (or OSError, KeyError, TypeError) when the file is not a readable netprop
    checkpoint or its history lacks a column.  The checksum over the arrays is not verified here:
    training/train_run.read_checkpoint does that when the arrays are read.
    """
    with open(path, "rb") as fh:
        header = read_safetensors_header(fh, MAX_CHECKPOINT_HEADER)
    meta = json.loads(header["__metadata__"]["netprop"])
    history = meta["state"]["history"]
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise ValueError("its history is not a list of epochs")
    missing = {k for r in history for k in HISTORY_COLUMNS if k not in r}
    if missing:
        raise ValueError(f"its history lacks {', '.join(sorted(missing))}")
    meta["shapes"] = {k: v["shape"] for k, v in header.items() if k.startswith("param.")}
    return meta
