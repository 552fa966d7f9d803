"""Nothing crashes, nothing is lost (issue 13): every case found by trying netprop as an adversary.

Each test failed on the code before the fix: a wrong exit code, a traceback, a silent loss, or an
allocation sized by a file's header instead of its contents.  Sizes are bounded with tracemalloc
(NumPy reports its allocations to it), so "refused before allocating" is measured, not assumed.
"""

import gzip
import hashlib
import json
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import netprop
from helpers import synthetic_npz
from netprop import data
from netprop.cli import main
from netprop.data import DataError
from netprop.storage.models import ModelFileError, TrainedModel, directory_lock, save_arrays, sha256
from netprop.training.train_run import CHECKPOINT, read_checkpoint, train_run, verified_checkpoint_epoch
from netprop.training.fit import TrainConfig

MiB = 1 << 20


def one_line_error(capsys, code, expected_code=2):
    """The one line main() printed on stderr, after checking the exit code and that no traceback came."""
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert "error" in lines[-1], err
    return lines[-1]


def peak_bytes(fn, *args, **kwargs):
    """(peak bytes allocated while fn ran, the exception it raised or None)."""
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        raised = None
    except Exception as exc:        # the caller asserts the type; here it is only recorded
        raised = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


def small_npz(path, n=40, d=6, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, d)) + 3.0 * y[:, None]
    np.savez(path, X=X, y=y)
    return path


def interrupted_run(tmp_path, data_path, epochs=3, **config):
    """A run stopped by Ctrl-C after its first epoch's checkpoint, as a killed `netprop train` leaves it."""
    out = tmp_path / "run"

    def stop(event, **info):
        if event == "epoch_end":
            raise KeyboardInterrupt

    cfg = TrainConfig(hidden=[8], epochs=epochs, batch_size=16, lr=0.01, optimizer="momentum", **config)
    with pytest.raises(KeyboardInterrupt):
        train_run(out, cfg, {"kind": "file", "path": str(data_path)}, callback=stop)
    assert (out / CHECKPOINT).is_file() and not (out / "model.safetensors").exists()
    return out


# --- 1. divergence --------------------------------------------------------------------------


def test_divergence_on_the_last_step_exits_3_and_keeps_nothing_non_finite(tmp_path, capsys):
    path = small_npz(tmp_path / "d.npz")
    # 32 training examples in one minibatch: one step per epoch, so the step that blows the weights
    # up is the epoch's last and no later batch loss sees it; before the fix this exited 0 with
    # NaN weights marked as the best epoch.
    code = main(["train", "--data", str(path), "--epochs", "1", "--hidden", "8", "--lr", "1e300",
                 "--optimizer", "sgd", "--batch-size", "64", "--out", str(tmp_path / "one"), "--quiet"])
    line = one_line_error(capsys, code, 3)
    assert "validation loss became nan" in line and "epoch 1, step 1" in line
    assert "nothing was kept" in line
    assert not (tmp_path / "one" / "model.safetensors").exists()
    # With two epochs the message used to name an all-NaN checkpoint "the last good checkpoint".
    code = main(["train", "--data", str(path), "--epochs", "2", "--hidden", "8", "--lr", "1e300",
                 "--optimizer", "sgd", "--batch-size", "64", "--out", str(tmp_path / "two"), "--quiet"])
    line = one_line_error(capsys, code, 3)
    assert "last good checkpoint" not in line
    assert not (tmp_path / "two" / CHECKPOINT).exists()


def test_a_named_last_good_checkpoint_is_finite_and_verified(tmp_path, capsys):
    path = small_npz(tmp_path / "d.npz")
    out = tmp_path / "run"
    # a step schedule with gamma 1e300: epoch 1 trains at 0.01, epoch 2 at 1e298 and diverges
    code = main(["train", "--data", str(path), "--epochs", "3", "--hidden", "8", "--lr", "0.01",
                 "--optimizer", "sgd", "--schedule", "step", "--step-epochs", "1", "--gamma", "1e300",
                 "--batch-size", "64", "--out", str(out), "--quiet"])
    line = one_line_error(capsys, code, 3)
    assert f"the last good checkpoint, after epoch 1, stays in {out}" in line
    arrays, meta = read_checkpoint(out / CHECKPOINT)
    assert meta["state"]["epoch"] == 1 and all(np.isfinite(a).all() for a in arrays.values())
    assert verified_checkpoint_epoch(out) == 1
    # a checkpoint that does not read back whole is never called good
    blob = bytearray((out / CHECKPOINT).read_bytes())
    blob[-1] ^= 0x10
    (out / CHECKPOINT).write_bytes(bytes(blob))
    assert verified_checkpoint_epoch(out) is None


# --- 2. one run per output directory ---------------------------------------------------------


def test_a_second_run_into_a_locked_directory_is_refused(tmp_path, capsys):
    path = small_npz(tmp_path / "d.npz")
    out = tmp_path / "run"
    out.mkdir()
    with directory_lock(out):            # another process's run, as the kernel sees it
        code = main(["train", "--data", str(path), "--epochs", "1", "--hidden", "4", "--out", str(out),
                     "--quiet"])
    line = one_line_error(capsys, code)
    assert "another netprop process is writing there" in line and str(out) in line
    assert list(out.iterdir()) == []


@pytest.mark.slow          # a child holding the lock; test_a_second_run_into_a_locked_directory_is_refused stays
def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom netprop.storage.models import directory_lock\n"
        "with directory_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)"),
        str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match="another netprop process"):
            with directory_lock(tmp_path):
                pass
    finally:
        holder.kill()                       # kill -9: no cleanup code runs in the holder
        holder.wait(timeout=30)
        holder.stdout.close()
    with directory_lock(tmp_path):          # the kernel released the lock with the process
        pass


def test_a_second_sweep_into_a_locked_directory_is_refused(tmp_path, capsys):
    npz = small_npz(tmp_path / "d.npz", n=60, d=4)
    out = tmp_path / "s"
    out.mkdir()
    with directory_lock(out):
        line = one_line_error(capsys, main(["tune", "--data", str(npz), "--trials", "1", "--out", str(out),
                                            "--no-final", "--quiet"]))
    assert "another netprop process is writing there" in line
    assert not (out / "trials.json").exists()


def test_a_run_that_finished_meanwhile_is_not_overwritten(tmp_path):
    path = small_npz(tmp_path / "d.npz")
    cfg = TrainConfig(hidden=[4], epochs=1, batch_size=16)
    train_run(tmp_path / "run", cfg, {"kind": "file", "path": str(path)})
    before = sha256(tmp_path / "run" / "model.safetensors")
    # the second run passed the command line's emptiness check before the first one wrote anything
    with pytest.raises(ModelFileError, match="already holds another run's checkpoint.safetensors"):
        train_run(tmp_path / "run", TrainConfig(hidden=[4], epochs=1, seed=5), {"kind": "file", "path": str(path)})
    assert sha256(tmp_path / "run" / "model.safetensors") == before


# --- 3. sizes from headers, configs and flags are bounded before allocating --------------------


def idx_header(type_code, dims):
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("dims, fragment", [
    ((1000, 1000, 1000), "header says 1000x1000x1000 values (1000000000 bytes) but the file holds 4"),
    ((0xFFFFFFFF,), "header says 4294967295 values"),
    ((0xFFFFFFFF, 0xFFFFFFFF), "header says 4294967295x4294967295 values"),
])
def test_idx_header_sizes_are_checked_against_the_file_before_allocating(tmp_path, dims, fragment):
    path = tmp_path / "tiny-idx3-ubyte"
    path.write_bytes(idx_header(0x08, dims) + b"\x01\x02\x03\x04")
    peak, raised = peak_bytes(data.read_idx, path)
    assert isinstance(raised, DataError) and str(path) in str(raised) and fragment in str(raised)
    assert peak < MiB                    # before the fix: 1 GB, a MemoryError, or "negative count"


def test_gzipped_idx_header_is_bounded_by_what_its_bytes_can_hold(tmp_path):
    path = tmp_path / "tiny-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, (10 ** 9,)) + b"\x00" * 16))
    peak, raised = peak_bytes(data.read_idx, path)
    assert isinstance(raised, DataError) and "more than" in str(raised) and str(path) in str(raised)
    assert peak < MiB


def saved_model(tmp_path, sizes=(6, 5, 3)):
    net = netprop.Network(list(sizes), seed=0, dtype="float32")
    TrainedModel(net, data.Preprocessing("features", np.zeros(sizes[0]), np.ones(sizes[0])),
                 [f"c{k}" for k in range(sizes[-1])]).save(tmp_path / "m")
    return net, tmp_path / "m"


def reseal(path, config):
    """Write config.json with config_sha256 recomputed by hand (canonical JSON, keys sorted)."""
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    config["config_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("hidden, fragment", [
    # W1 1,200,000 + b1 200,000 + W2 600,000 + b2 3 + preprocessing mean and std 6 + 6 = 2,000,015
    (200_000, "but the layer sizes in config.json (6-200000-3) need 2000015 values"),
    (10 ** 12, "config.json: field network.layer_sizes[1] must be in 1..2147483648, got 1000000000000"),
])
def test_config_sizes_are_checked_against_the_model_file_before_building(tmp_path, hidden, fragment):
    _, path = saved_model(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["network"]["layer_sizes"] = [6, hidden, 3]
    reseal(path, config)
    peak, raised = peak_bytes(netprop.load, path)
    assert isinstance(raised, ModelFileError) and fragment in str(raised), raised
    assert peak < MiB                    # before: 1.85 GB, or a MemoryError from netprop.load


def test_a_sparse_huge_model_file_is_refused_without_reading_it(tmp_path):
    _, path = saved_model(tmp_path)
    with open(path / "model.safetensors", "r+b") as fh:
        fh.truncate(20 << 30)            # 20 GiB, sparse: no disk used, but read_bytes would take 20 GiB
    peak, raised = peak_bytes(netprop.load, path)
    assert isinstance(raised, ModelFileError) and "21474836480 bytes" in str(raised)
    assert peak < MiB


def test_file_hashes_stream(tmp_path):
    path = tmp_path / "big"
    with open(path, "wb") as fh:
        fh.truncate(64 * MiB)
    peak, raised = peak_bytes(sha256, path)
    assert raised is None and peak < 4 * MiB
    # SHA-256 of 64 MiB of zeros, computed block by block here
    h = hashlib.sha256()
    for _ in range(64):
        h.update(bytes(MiB))
    assert sha256(path) == h.hexdigest()


@pytest.mark.parametrize("label, fragment", [
    (10 ** 9, "label 1000000000 would make 1000000001 classes"),
    (99_999, "label 99999 would make 100000 classes"),
    (1e20, "label 100000000000000000000 would make"),
])
def test_one_huge_label_is_refused(tmp_path, label, fragment):
    y = np.array([0, 1, 0, 1, label], dtype=np.float64 if isinstance(label, float) else np.int64)
    np.savez(tmp_path / "d.npz", X=np.ones((5, 3)), y=y)
    peak, raised = peak_bytes(data.load_table, tmp_path / "d.npz")
    assert isinstance(raised, DataError) and fragment in str(raised) and "d.npz" in str(raised)
    assert peak < MiB


@pytest.mark.parametrize("args, fragment", [
    (["train", "--hidden", "1000000000", "--data", "{npz}", "--out", "{tmp}/r"], "--hidden"),
    (["gradcheck", "--sizes", "100000,100000,10"], "--sizes 100000,100000,10"),
    (["gradcheck", "--examples", "1000000000", "--sizes", "20,10,5"], "--examples 1000000000"),
    (["gradcheck", "--examples", "1000000000", "--lecture-only"], "--examples 1000000000"),
    (["tune", "--trials", "100000000000", "--out", "{tmp}/r"], "--trials 100000000000"),
])
def test_huge_flags_are_refused_with_the_size(tmp_path, capsys, args, fragment):
    npz = small_npz(tmp_path / "d.npz")
    args = [a.format(npz=npz, tmp=tmp_path) for a in args]
    line = one_line_error(capsys, main(args))
    assert fragment in line and "of memory, but only" in line
    assert not (tmp_path / "r").exists()


def png_header_only(path, width, height):
    """A PNG that declares width × height but holds one empty IDAT: a decompression bomb's header."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_is_one_line(tmp_path, capsys):
    bomb = png_header_only(tmp_path / "bomb.png", 30000, 30000)
    with pytest.raises(DataError, match="bomb.png: image too large to read safely"):
        data.image_to_pixels(bomb)


# --- 4. no silent loss ------------------------------------------------------------------------


def test_csv_first_row_rules(tmp_path):
    # a byte-order mark is not a header: all three rows stay (before: row 1 dropped as a "header")
    (tmp_path / "bom.csv").write_bytes("\ufeff0,1,2\n1,3,4\n1,5,6\n".encode("utf-8"))
    X, y = data.load_table(tmp_path / "bom.csv")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 1])
    # a typo in row 1 is an error naming row 1, not a lost row
    (tmp_path / "typo.csv").write_text("0,1,2x\n1,3,4\n1,5,6\n")
    with pytest.raises(DataError, match=r"typo.csv: row 1 does not parse as numbers \('2x'\).*--header"):
        data.load_table(tmp_path / "typo.csv")
    # --header says so: the first row goes even when it looks numeric
    (tmp_path / "numeric_header.csv").write_text("9,10,11\n0,1,2\n1,3,4\n")
    X, y = data.load_table(tmp_path / "numeric_header.csv", header=True)
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    # a text-only first row is a header without being told
    (tmp_path / "named.csv").write_text("label,a,b\n0,1,2\n")
    X, _ = data.load_table(tmp_path / "named.csv")
    np.testing.assert_array_equal(X, [[1, 2]])


def test_header_flag_reaches_the_csv(tmp_path, capsys):
    rows = "\n".join(f"{k % 2},{k},{k % 3}" for k in range(40))
    (tmp_path / "h.csv").write_text("0,1x,2\n" + rows + "\n")
    line = one_line_error(capsys, main(["train", "--data", str(tmp_path / "h.csv"), "--epochs", "1",
                                         "--hidden", "4", "--out", str(tmp_path / "a"), "--quiet"]))
    assert "row 1" in line
    assert main(["train", "--data", str(tmp_path / "h.csv"), "--header", "--epochs", "1", "--hidden", "4",
                 "--out", str(tmp_path / "b"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["train_examples"] + 8 == 40


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    from PIL import Image

    a8 = np.zeros((28, 28), np.uint8)
    a8[6:22, 9:19] = np.linspace(40, 220, 10).astype(np.uint8)     # an article in grey levels on black
    Image.fromarray(a8).save(tmp_path / "eight.png")
    Image.fromarray(a8.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")   # 257 = 65535 / 255
    with Image.open(tmp_path / "sixteen.png") as sixteen_png:
        assert sixteen_png.mode.startswith("I")
    eight = data.image_to_pixels(tmp_path / "eight.png").astype(int)
    sixteen = data.image_to_pixels(tmp_path / "sixteen.png").astype(int)
    assert sixteen.max() < 255                   # before: everything above 255 clipped to white
    assert np.abs(eight - sixteen).max() <= 1


def test_complex_data_is_refused(tmp_path):
    np.savez(tmp_path / "c.npz", X=np.ones((4, 2)) * (1 + 2j), y=[0, 1, 0, 1])
    with pytest.raises(DataError, match="c.npz: X is complex"):
        data.load_table(tmp_path / "c.npz")


def test_subset_beyond_the_data_is_an_error(tmp_path, capsys):
    npz = small_npz(tmp_path / "d.npz", n=40)
    line = one_line_error(capsys, main(["train", "--data", str(npz), "--subset", "1000", "--epochs", "1",
                                        "--out", str(tmp_path / "r"), "--quiet"]))
    assert "--subset 1000: the training split holds only 32 examples" in line


# --- 5. no tracebacks -------------------------------------------------------------------------


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_bytes(_valid_npz_bytes(p)[:300]), "not a readable .npz"),
    (lambda p: np.savez(p, X=np.ones((4, 2)), y=np.array(["a", "b", "a", "b"])), "labels must be integers"),
    (lambda p: np.savez(p, X=np.ones((4, 0)), y=[0, 1, 0, 1]), "at least one of each"),
])
def test_bad_user_data_is_one_error(tmp_path, make, fragment):
    make(tmp_path / "d.npz")
    with pytest.raises(DataError, match=fragment):
        data.load_table(tmp_path / "d.npz")


def _valid_npz_bytes(path):
    np.savez(path, X=np.arange(200.0).reshape(50, 4), y=np.arange(50) % 2)
    return path.read_bytes()


@pytest.mark.parametrize("X, y, fragment", [
    (np.ones((2, 3)), [0, 1], "2 examples leave 2 for training and 0 for validation"),   # was ZeroDivisionError
    (np.random.default_rng(0).normal(size=(20, 3)), [0] * 20, "at least two classes"),  # "trained" to 100 %
])
def test_data_too_small_to_train_on(tmp_path, capsys, X, y, fragment):
    np.savez(tmp_path / "d.npz", X=X, y=y)
    line = one_line_error(capsys, main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "1",
                                        "--out", str(tmp_path / "r"), "--quiet"]))
    assert fragment in line
    assert not (tmp_path / "r").exists()


def test_integer_class_names_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["class_names"] = [1, 2, 3]
    reseal(path, config)
    with pytest.raises(ModelFileError, match=r"config.json: field class_names\[0\] must be a string, got 1"):
        netprop.load(path)


def deep(n):
    return "[" * n + "]" * n


def test_deep_json_is_one_line_everywhere(tmp_path, capsys):
    _, path = saved_model(tmp_path)
    (path / "config.json").write_text('{"network": ' + deep(100_000) + "}")
    with pytest.raises(ModelFileError, match="config.json: JSON nested more than 32 levels deep"):
        netprop.load(path)
    (tmp_path / "p.json").write_text(deep(100_000))
    line = one_line_error(capsys, main(["derive", "--params", str(tmp_path / "p.json")]))
    assert "--params" in line and "nested more than 32 levels deep" in line
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(deep(100_000))
    (sweep / "trials.json").write_text("[]")             # a sweep with results: its sweep.json is read
    line = one_line_error(capsys, main(["tune", "--data", str(small_npz(tmp_path / "d.npz")), "--trials", "1",
                                        "--out", str(sweep), "--no-final", "--quiet"]))
    assert "sweep.json: JSON nested" in line


def test_json_reads_stop_at_their_limit(capsys):
    line = one_line_error(capsys, main(["derive", "--params", "/dev/zero"]))    # endless: read_text never returned
    assert "--params /dev/zero: more than the 67108864 bytes" in line


@pytest.mark.slow          # three sweeps, each drawing its trials; test_tune.py's sweep stays
def test_tampered_trials_json_is_one_line(tmp_path, capsys):
    npz = small_npz(tmp_path / "d.npz", n=60, d=4)
    args = ["tune", "--data", str(npz), "--trials", "1", "--out", str(tmp_path / "s"), "--no-final", "--quiet"]
    assert main(args) == 0
    trials = json.loads((tmp_path / "s" / "trials.json").read_text())
    del trials[0]["key"]                       # was a KeyError traceback
    (tmp_path / "s" / "trials.json").write_text(json.dumps(trials))
    line = one_line_error(capsys, main(args))
    assert "trials.json: field [0].key is missing" in line
    trials[0]["key"], trials[0]["hidden"] = "abc", "wide"      # was a TypeError
    (tmp_path / "s" / "trials.json").write_text(json.dumps(trials))
    line = one_line_error(capsys, main(args))
    assert "field [0].hidden must be a list" in line


def test_tampered_checkpoint_metadata_is_refused(tmp_path):
    npz = small_npz(tmp_path / "d.npz")
    out = interrupted_run(tmp_path, npz)
    arrays, meta = read_checkpoint(out / CHECKPOINT)
    for edit, fragment in [
        (lambda m: m["state"].pop("history"), "field state.history is missing"),            # KeyError
        (lambda m: m["state"].update(epoch="1"), "field state.epoch must be an integer"),    # TypeError
        (lambda m: m.update(source=[1]), "field source must be an object"),                 # AttributeError
        (lambda m: m["config"].update(lr=-1.0), "field config: learning rate must be > 0"),
        (lambda m: m["state"].update(extra=1), "field state.extra is not expected here"),     # TypeError
    ]:
        tampered = json.loads(json.dumps(meta))
        edit(tampered)
        save_arrays(out / CHECKPOINT, arrays, tampered)      # with a valid checksum: the schema must catch it
        with pytest.raises(ModelFileError, match=fragment):
            train_run(out, resume=True)



def test_the_checkpoint_schema_covers_every_trainconfig_field(tmp_path):
    """The schema is generated from TrainConfig's fields: each field, set to a value of the wrong kind
    (or a name no registry holds), is refused naming that field, and a field removed is missed."""
    from dataclasses import fields

    from netprop.training.fit import TrainConfig

    npz = small_npz(tmp_path / "d.npz")
    out = interrupted_run(tmp_path, npz)
    arrays, meta = read_checkpoint(out / CHECKPOINT)
    for f in fields(TrainConfig):
        wrong = "rmsprop" if f.metadata["choices"] is not None else ("wide" if f.name != "augment" else 1)
        for edit in (lambda m, name=f.name, wrong=wrong: m["config"].update({name: wrong}),
                     lambda m, name=f.name: m["config"].pop(name)):
            tampered = json.loads(json.dumps(meta))
            edit(tampered)
            save_arrays(out / CHECKPOINT, arrays, tampered)
            with pytest.raises(ModelFileError, match=rf"field config\.{f.name} "):
                read_checkpoint(out / CHECKPOINT)


def test_tune_without_dask_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed now fails
    line = one_line_error(capsys, main(["tune", "--scheduler", "tcp://127.0.0.1:8786", "--out",
                                        str(tmp_path / "s")]))
    assert "pip install 'netprop[dask]'" in line
    assert not (tmp_path / "s").exists()


# --- 6. state is verified, not trusted ----------------------------------------------------------


def test_one_flipped_bit_in_a_checkpoint_is_refused(tmp_path):
    out = interrupted_run(tmp_path, small_npz(tmp_path / "d.npz"))
    blob = bytearray((out / CHECKPOINT).read_bytes())
    blob[-5] ^= 0x01                                   # a low bit of the last array's last value
    (out / CHECKPOINT).write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="checkpoint.safetensors: contents do not match its checksum"):
        train_run(out, resume=True)


@pytest.mark.slow          # a training run; test_resume_cleans_* stays
def test_resume_refuses_changed_data(tmp_path):
    npz = small_npz(tmp_path / "d.npz")
    out = interrupted_run(tmp_path, npz)
    small_npz(npz, seed=1)                              # same shapes, other numbers
    with pytest.raises(DataError, match="the data changed since the checkpoint"):
        train_run(out, resume=True)
    small_npz(npz, seed=0)                              # the original data resumes
    assert train_run(out, resume=True).state.epoch == 3


def test_hashes_are_required_and_cover_config_json(tmp_path, capsys):
    _, path = saved_model(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["class_names"][0] = "renamed"                 # an edit, hash left as it was
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="config.json: contents do not match its config_sha256"):
        netprop.load(path)
    config["class_names"][0] = "c0"
    del config["model_sha256"], config["config_sha256"]  # before: removing the hash switched the check off
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="has no config_sha256 or model_sha256.*--trust-unverified"):
        netprop.load(path)
    assert netprop.load(path, trust_unverified=True).class_names == ["c0", "c1", "c2"]
    np.save(tmp_path / "x.npy", np.zeros(6))
    line = one_line_error(capsys, main(["predict", str(path), str(tmp_path / "x.npy")]))
    assert "--trust-unverified" in line
    assert main(["predict", str(path), str(tmp_path / "x.npy"), "--trust-unverified", "--json"]) == 0


@pytest.mark.slow          # a training run and four resumes; test_resume_cleans_* stays
def test_flags_given_with_resume_must_match_the_checkpoint(tmp_path, capsys):
    npz = small_npz(tmp_path / "d.npz")
    out = interrupted_run(tmp_path, npz)
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--lr", "0.5", "--epochs", "9"]))
    assert "--lr 0.5 (checkpoint: 0.01)" in line and "--epochs 9 (checkpoint: 3)" in line
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--hidden=64"]))
    assert "--hidden [64] (checkpoint: [8])" in line
    # a prefix was taken for the whole flag, and had to be compared as one; now it is refused outright
    with pytest.raises(SystemExit) as info:
        main(["train", "--resume", str(out), "--hid", "64"])
    assert info.value.code == 2
    assert "unrecognized argument --hid; did you mean --hidden?" in capsys.readouterr().err
    other = small_npz(tmp_path / "other.npz", seed=3)
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--data", str(other)]))
    assert "--data" in line and "other.npz" in line
    # the same values are not a conflict
    assert main(["train", "--resume", str(out), "--lr", "0.01", "--data", str(npz), "--quiet"]) == 0


# --- 7. debris and dead ends ------------------------------------------------------------------


def test_resume_cleans_the_temporaries_of_a_killed_write(tmp_path):
    out = interrupted_run(tmp_path, small_npz(tmp_path / "d.npz"))
    stale = [out / ".checkpoint.safetensors.k2j4h_x9.tmp", out / ".model.safetensors.abcdefgh.tmp",
             out / ".curves.png.0a1b2c3d.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = out / "notes.tmp"                             # not one of atomic_write's names: the user's
    keep.write_text("mine")
    train_run(out, resume=True)
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") and p != keep]


@pytest.mark.slow          # a sweep drawing its trials; test_tune.py's sweep stays
def test_a_refused_sweep_can_be_corrected_in_place(tmp_path, capsys):
    npz = small_npz(tmp_path / "d.npz", n=60, d=4)
    args = ["tune", "--data", str(npz), "--trials", "1", "--out", str(tmp_path / "s"), "--no-final", "--quiet"]
    line = one_line_error(capsys, main([*args, "--validation", "1.5"]))
    assert "validation" in line
    assert main([*args, "--validation", "0.25"]) == 0     # before: "holds a different sweep"


def test_sigterm_stops_like_ctrl_c(tmp_path):
    npz = synthetic_npz(tmp_path / "d.npz", n=400, d=50)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "netprop", "train", "--data", str(npz), "--epochs", "500",
                             "--hidden", "16", "--batch-size", "8", "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / CHECKPOINT).exists() and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err               # before: -15 and not a word
    assert f"netprop train --resume {out}" in err and "Traceback" not in err


@pytest.mark.parametrize("args, fragment", [
    (["train", "--out", ""], "--out is empty"),
    (["tune", "--out", "  "], "--out is empty"),
    (["train", "--data", "{npz}", "--data-dir", "{tmp}", "--out", "{tmp}/r"], "--data-dir is for Fashion-MNIST"),
    (["evaluate", "{tmp}", "--data", "{npz}", "--data-dir", "{tmp}"], "--data-dir is for Fashion-MNIST"),
])
def test_flags_that_would_be_ignored_are_refused(tmp_path, capsys, args, fragment):
    npz = small_npz(tmp_path / "d.npz")
    line = one_line_error(capsys, main([a.format(npz=npz, tmp=tmp_path) for a in args]))
    assert fragment in line
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob("runs"))


def nesting(value):
    """Depth of a parsed JSON value, counted here by recursion (the values are small)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\\\ab,:'),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(alphabet='[]{}"\\\\a'), inner, max_size=3),
                           max_leaves=12)


@given(json_values, st.sampled_from([None, 2]))
def test_json_depth_ignores_brackets_in_strings(value, indent):
    from netprop.storage.schema import json_depth

    assert json_depth(json.dumps(value, indent=indent)) == nesting(value)


@pytest.mark.parametrize("text", [
    '"' + "a" * 1_000_000,                     # unterminated string
    '"\\' * 500_000,                           # escaped quotes, never closed: quadratic for a backtracking regex
    '"' + "[" * 1_000_000 + '"',               # brackets inside one string
    "[]" * 500_000,
])
def test_json_depth_is_one_pass(text):
    from netprop.storage.schema import json_depth

    assert json_depth(text) <= 1
