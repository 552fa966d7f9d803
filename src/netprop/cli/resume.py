"""netprop train --resume: the flags a checkpoint fixes, and the refusal of any that differ from it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from .common import CLIError


def resume_flags():
    """The flags of `netprop train` that a checkpoint fixes: flag -> TrainConfig field (one flag per field)."""
    from ..training.fit import TrainConfig

    return {"--" + f.name.replace("_", "-"): f.name for f in fields(TrainConfig)}


def check_resume_flags(args, out_dir):
    """Refuse flags given beside --resume that differ from the checkpoint's (they would be ignored)."""
    from ..storage.models import ModelFileError
    from ..training.train_run import CHECKPOINT, read_checkpoint

    try:
        _, meta = read_checkpoint(out_dir / CHECKPOINT)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    saved, source = meta["config"], meta["source"]
    given = getattr(args, "given_flags", set())
    differ = [f"{flag} {getattr(args, field.replace('-', '_'))!r} (checkpoint: {saved[field]!r})"
              for flag, field in resume_flags().items()
              if flag in given and getattr(args, field) != saved[field]]
    if "--subset" in given and args.subset != meta.get("subset"):
        differ.append(f"--subset {args.subset} (checkpoint: {meta.get('subset')})")
    if "--out" in given and Path(args.out).resolve() != out_dir.resolve():
        differ.append(f"--out {args.out} (resuming writes to {out_dir})")
    for flag, key in (("--data", "path"), ("--test-data", "test_path"), ("--data-dir", "data_dir")):
        value = getattr(args, flag[2:].replace("-", "_"))
        if flag in given and str(Path(value).resolve()) != source.get(key):
            differ.append(f"{flag} {value} (checkpoint: {source.get(key) or 'not given'})")
    if "--header" in given and bool(source.get("header")) != args.header:
        differ.append("--header (checkpoint: without)")
    if differ:
        raise CLIError(f"--resume {out_dir} continues that run with its saved settings, but "
                       f"{'; '.join(differ)}; drop these flags, or start a new run with --out")


def saved_epochs(out_dir):
    """The epoch count of the run being resumed in out_dir."""
    from ..training.train_run import CHECKPOINT, read_checkpoint

    _, meta = read_checkpoint(Path(out_dir) / CHECKPOINT)
    return meta["config"]["epochs"]
