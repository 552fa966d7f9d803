"""IDX reader (good and corrupt files), users' .npz/.csv, splits, preprocessing, images."""

import gzip
import struct

import numpy as np
import pytest

from netprop import data
from netprop.data import DataError


def idx_bytes(array, type_code=0x08):
    array = np.asarray(array)
    return bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_reads_what_it_is_given(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(images)
    path = tmp_path / ("x.gz" if compress else "x")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out = data.read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)


def test_reads_big_endian_int32(tmp_path):
    values = np.array([1, -2, 70000], dtype=np.int32)
    (tmp_path / "i").write_bytes(idx_bytes(values, 0x0C))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "i"), values)


@pytest.mark.parametrize("content, message", [
    (b"", "too short"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x02ab", "bad magic number"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x02ab", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05ab", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01abc", "trailing data"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x1f\x8b\x08\x00garbage", "not a readable IDX file"),
])
def test_corrupt_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8)))
    (tmp_path / "t.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="t.gz"):
        data.read_idx(tmp_path / "t.gz")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        data.read_idx(tmp_path / "nope")


def test_write_idx_round_trip(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
        data.write_idx(tmp_path / "a.gz", a)
        b = data.read_idx(tmp_path / "a.gz")
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(a, b)


def test_fashion_mnist_with_wrong_shapes_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("NETPROP_DATA", raising=False)
    for name, _ in data.FASHION_MNIST_FILES.values():
        shape = (5, 28, 28) if "images" in name else (5,)
        data.write_idx(tmp_path / name, np.zeros(shape, np.uint8))
    with pytest.raises(DataError, match=r"expected uint8 \(60000, 28, 28\)"):
        data.load_fashion_mnist(tmp_path, download=False)


def test_stratified_split_is_seeded_and_stratified():
    y = np.repeat(np.arange(4), [100, 50, 30, 20])
    tr, va = data.stratified_split(y, 0.2, seed=1)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(y)
    assert [int((y[va] == k).sum()) for k in range(4)] == [20, 10, 6, 4]
    tr2, va2 = data.stratified_split(y, 0.2, seed=1)
    np.testing.assert_array_equal(va, va2)
    assert not np.array_equal(va, data.stratified_split(y, 0.2, seed=2)[1])


def test_preprocessing_uses_the_statistics_it_was_fit_on():
    X = np.array([[0.0, 10.0, 0.0], [2.0, 30.0, 0.0], [4.0, 20.0, 0.0]])
    features = data.Preprocessing.fit(X, "features")
    assert features.mean.tolist() == [2.0, 20.0, 0.0]
    np.testing.assert_allclose(features.std, [np.sqrt(8 / 3), np.sqrt(200 / 3), 1.0])
    np.testing.assert_allclose(features.apply(np.array([[2.0, 20.0 + np.sqrt(200 / 3), 5.0]])),
                               [[0.0, 1.0, 5.0]], rtol=1e-6)
    # pixels: per-pixel std, floored at a tenth of the mean std (here the third, constant, pixel)
    pixels = data.Preprocessing.fit(X, "pixels")
    floor = 0.1 * (np.sqrt(8 / 3) + np.sqrt(200 / 3)) / 3
    np.testing.assert_allclose(pixels.std, [np.sqrt(8 / 3), np.sqrt(200 / 3), floor])
    # chunked accumulation and row selection give the same statistics
    rows = np.array([2, 0])
    chunked = data.Preprocessing.fit(X, "features", rows=rows, chunk=1)
    np.testing.assert_allclose(chunked.mean, X[rows].mean(axis=0))
    picked = X[rows]
    expected = (picked - picked.mean(0)) / np.where(picked.std(0) > 0, picked.std(0), 1)
    np.testing.assert_allclose(chunked.apply(X, rows=rows, chunk=1), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_pixels_get_their_exact_statistics_correctly_rounded(dtype):
    from fractions import Fraction
    from math import isqrt

    rng = np.random.default_rng(3)
    top = np.iinfo(dtype).max
    X = rng.integers(0, top + 1, size=(5000, 7)).astype(dtype)
    X[:, 0] = top                                       # constant at the largest value
    X[::2, 1], X[1::2, 1] = 0, top                      # the widest spread
    rows = np.sort(rng.choice(5000, size=4321, replace=False))
    fitted = data.Preprocessing.fit(X, "features", rows=rows, chunk=1000)
    picked = [[int(v) for v in column] for column in X[rows].T]
    n = len(rows)
    for j, column in enumerate(picked):
        mean = Fraction(sum(column), n)                 # by hand, in exact rationals
        assert fitted.mean[j] == float(mean)            # correctly rounded, not merely close
        variance = Fraction(sum(v * v for v in column), n) - mean * mean
        if variance == 0:
            assert fitted.std[j] == 1.0                 # a constant feature keeps scale 1
            continue
        root = Fraction(isqrt(variance.numerator * 10**40 // variance.denominator), 10**20)
        assert abs(fitted.std[j] - float(root)) <= 2e-16 * float(root)
    # the float64 path (the same values as floats) agrees to rounding
    floats = data.Preprocessing.fit(X.astype(np.float64), "features", rows=rows, chunk=1000)
    np.testing.assert_allclose(floats.mean, fitted.mean, rtol=1e-13)
    np.testing.assert_allclose(floats.std, fitted.std, rtol=1e-12)


def test_npz_and_csv(tmp_path):
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = np.array([0, 1, 1])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    X2, y2 = data.load_table(tmp_path / "d.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    (tmp_path / "d.csv").write_text("label,a,b\n0,1,2\n1,3,4\n1,5,6\n")
    X3, y3 = data.load_table(tmp_path / "d.csv")
    np.testing.assert_array_equal(X3, X)
    np.testing.assert_array_equal(y3, y)


@pytest.mark.parametrize("writer, message", [
    (lambda p: np.savez(p / "f.npz", Z=np.ones(3)), "needs an array named X"),
    (lambda p: np.savez(p / "f.npz", X=np.ones((3, 2)), y=np.ones(2)), "one label per example"),
    (lambda p: np.savez(p / "f.npz", X=np.array([[np.nan, 1.0]]), y=[0]), "NaN"),
    (lambda p: np.savez(p / "f.npz", X=np.ones((2, 2)), y=[0.5, 1]), "integers"),
    (lambda p: (p / "f.npz").write_bytes(b"not a zip"), "not a readable .npz"),
    (lambda p: (p / "f.csv").write_text("1,2\nx,y\n"), "not a numeric CSV"),
    (lambda p: (p / "f.csv").write_text("1\n2\n"), "at least one feature"),
    (lambda p: (p / "f.txt").write_text("1,2\n"), "unsupported file type .txt"),
])
def test_bad_tables(tmp_path, writer, message):
    writer(tmp_path)
    (path,) = list(tmp_path.iterdir())
    with pytest.raises(DataError, match=message):
        data.load_table(path)


def test_image_to_pixels_draws_like_the_dataset(tmp_path):
    from PIL import Image

    # a dark square on a white background, 56×28: the product-photo case
    img = np.full((28, 56), 255, np.uint8)
    img[8:20, 20:36] = 0
    Image.fromarray(img).save(tmp_path / "photo.png")
    pixels = data.image_to_pixels(tmp_path / "photo.png").reshape(28, 28)
    # scaled by ½ to 28 wide × 14 high and centred: the band is rows 7..20, the square (rows
    # 8..19, columns 20..35 of the photo) lands at rows 11..16, columns 10..17, and is inverted:
    # light on black, as the dataset draws its articles
    assert pixels[:7].max() == 0 and pixels[21:].max() == 0
    assert pixels[12:16, 11:17].min() > 200
    assert pixels[8, :].max() < 50 and pixels[12, 2:6].max() < 50
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "rgb.jpg")
    assert data.image_to_pixels(tmp_path / "rgb.jpg").shape == (784,)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG nonsense")
    with pytest.raises(DataError, match="not a readable image"):
        data.image_to_pixels(tmp_path / "broken.png")


def test_predict_inputs_from_npy_and_images(tmp_path):
    from PIL import Image

    one = np.arange(784, dtype=np.uint8).reshape(28, 28)
    np.save(tmp_path / "one.npy", one)
    np.save(tmp_path / "row.npy", np.ones((1, 784)))
    stack = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28))
    np.save(tmp_path / "stack.npy", stack)
    # a white article on black fills 28×28 already: the image is its own pixels
    Image.fromarray(np.where(one > 128, 255, 0).astype(np.uint8)).save(tmp_path / "shirt.PNG")
    items = data.load_predict_inputs([tmp_path / "one.npy", tmp_path / "row.npy", tmp_path / "stack.npy",
                                      str(tmp_path / "shirt.PNG")], 784)
    labels = [label.rsplit("/", 1)[-1] for label, _ in items]
    assert labels == ["one.npy", "row.npy", "stack.npy[0]", "stack.npy[1]", "stack.npy[2]", "shirt.PNG"]
    assert np.array_equal(items[0][1], one.ravel()) and np.array_equal(items[3][1], stack[1].ravel())
    assert np.array_equal(items[5][1], np.where(one.ravel() > 128, 255, 0))
    assert all(row.shape == (784,) for _, row in items)


@pytest.mark.parametrize("name, writer, d, message", [
    ("short.npy", lambda p: np.save(p, np.ones(10)), 784, "shape (10,) does not hold examples of 784 values"),
    ("words.npy", lambda p: np.save(p, np.array(["a"] * 4)), 4, "expected a numeric array"),
    ("nan.npy", lambda p: np.save(p, np.array([1.0, np.nan])), 2, "contains NaN or infinite values"),
    ("empty.npy", lambda p: np.save(p, np.ones((0, 3))), 3, "holds no examples"),
    ("junk.npy", lambda p: p.write_bytes(b"not numpy"), 3, "not a readable .npy array"),
    ("absent.npy", lambda p: None, 3, "absent.npy: no such file"),
    ("notes.txt", lambda p: p.write_text("hello"), 3, "unsupported file type .txt"),
    ("small.png", lambda p: p.write_bytes(b""), 10, "images need a model with 784 inputs"),
    ("fake.png", lambda p: p.write_bytes(b"not an image"), 784, "not a readable image"),
])
def test_predict_inputs_name_the_file_and_the_problem(tmp_path, name, writer, d, message):
    writer(tmp_path / name)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        data.load_predict_inputs([tmp_path / name], d)


def test_a_npy_to_predict_is_checked_against_memory_before_it_is_read(tmp_path, monkeypatch):
    from netprop.core import limits
    from netprop.data import DataError, load_predict_inputs

    np.save(tmp_path / "stack.npy", np.zeros((50, 784)))    # 313,600 bytes of float64
    assert len(load_predict_inputs([tmp_path / "stack.npy"], 784)) == 50
    monkeypatch.setattr(limits, "available_memory", lambda: 100_000)
    with pytest.raises(DataError, match=r"stack.npy: an array of shape \(50, 784\) would take"):
        load_predict_inputs([tmp_path / "stack.npy"], 784)


def test_gzip_reader_accepts_and_refuses_what_gzip_decompress_does(monkeypatch):
    """netprop's gzip reader (gunzip.py) against Python's gzip.decompress, on multi-member files with
    header fields, zero padding, bit flips, truncations and garbage, read in pieces of every size."""
    import io
    import random
    import struct
    import zlib

    from netprop.data import gunzip

    def reference(blob):
        try:
            return gzip.decompress(blob)
        except (OSError, EOFError, zlib.error):
            return None

    def ours(blob, piece):
        reader, out = gunzip.GzipReader(io.BytesIO(blob)), bytearray()
        try:
            while chunk := reader.read(piece):
                out += chunk
            return bytes(out)
        except (OSError, EOFError, zlib.error):
            return None

    rng = random.Random(7)
    for case in range(600):
        monkeypatch.setattr(gunzip, "BLOCK", rng.choice([1, 17, 1000, 4 << 20]))
        monkeypatch.setattr(gunzip, "FIRST_FEED", rng.choice([1, 5, 16 << 10]))
        monkeypatch.setattr(gunzip, "PIECE", rng.choice([1, 7, 8 << 20]))
        blob = b""
        for _ in range(rng.choice([1, 1, 2, 3])):
            data = bytes(rng.randrange(256) if rng.random() < 0.3 else 0 for _ in range(rng.choice([0, 1, 300])))
            member = gzip.compress(data, mtime=0)
            if rng.random() < 0.3:                 # FEXTRA, FNAME, FCOMMENT, FHCRC
                flags = rng.choice([4, 8, 16, 2, 4 | 8 | 16 | 2])
                extra = ((struct.pack("<H", 3) + b"abc") * bool(flags & 4) + b"name\x00" * bool(flags & 8)
                         + b"note\x00" * bool(flags & 16) + b"\x12\x34" * bool(flags & 2))
                member = member[:3] + bytes([flags]) + member[4:10] + extra + member[10:]
            blob += member + b"\x00" * rng.choice([0, 0, 3])
        kind = rng.random()
        if kind < 0.25:
            i = rng.randrange(len(blob))
            blob = blob[:i] + bytes([blob[i] ^ (1 << rng.randrange(8))]) + blob[i + 1:]
        elif kind < 0.45:
            blob = blob[:rng.randrange(len(blob) + 1)]
        elif kind < 0.55:
            blob += bytes([rng.randrange(256)]) * rng.choice([1, 2, 9])
        elif kind < 0.6:
            blob = b"\x00" + blob                  # zero bytes before the first member: not gzip
        assert ours(blob, rng.choice([1, 10, 1 << 20])) == reference(blob), case

