"""Image loaders of the pooling study: IDX, USPS text, .npz, checksums/downloads,
locating data sets, rendered digits."""
from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from gopolicy.pooling_study import images


def idx_by_hand(array: np.ndarray) -> bytes:
    """An IDX writer independent of the module's: magic 00 00 08 ndim, big-endian dims, bytes."""
    assert array.dtype == np.uint8
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist_folder(folder: Path, n_train=12, n_test=5, size=28, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            data = idx_by_hand(arr)
            name = f"{split}-{kind}-ubyte"
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        arrays[split] = (x, y)
    return arrays


# ---------------------------------------------------------------- IDX

@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip_hand_written(tmp_path, gz):
    x = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    data = idx_by_hand(x)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    got = images.read_idx(path)
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_writer_round_trip_all_types(tmp_path, dtype):
    x = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    path = tmp_path / "x.gz"
    images.write_idx(path, x)
    got = images.read_idx(path)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, x)
    # the module's encoding is the standard one (same bytes as the hand writer for uint8)
    u = np.arange(10, dtype=np.uint8).reshape(2, 5)
    assert images.idx_bytes(u) == idx_by_hand(u)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"\x08\x03" + b[2:], "bad IDX magic"),          # wrong leading bytes
    (lambda b: b[:2] + b"\x07" + b[3:], "bad IDX magic"),        # unknown type code
    (lambda b: b[:2], "truncated IDX file"),                    # no header
    (lambda b: b[:9], "truncated IDX header"),                  # header cut inside the dims
    (lambda b: b[:-7], "truncated IDX data"),                    # data cut short
    (lambda b: b + b"\x00\x01", "size mismatch"),               # trailing junk
])
def test_corrupt_idx_gives_clear_error(tmp_path, mutate, message):
    good = idx_by_hand(np.ones((4, 3, 3), np.uint8))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(mutate(good))
    with pytest.raises(ValueError, match=message) as info:
        images.read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_and_fake_gzip_give_clear_error(tmp_path):
    good = gzip.compress(idx_by_hand(np.ones((50, 8, 8), np.uint8)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated gzip") as info:
        images.read_idx(cut)
    assert "cut.gz" in str(info.value)
    fake = tmp_path / "fake.gz"
    fake.write_bytes(idx_by_hand(np.ones((2, 2), np.uint8)))
    with pytest.raises(ValueError, match="not gzip"):
        images.read_idx(fake)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_loads_as_unit_floats(tmp_path, gz):
    arrays = write_mnist_folder(tmp_path / "mnist", gz=gz)
    data = images.load_folder(tmp_path / "mnist")
    assert data.x_train.shape == (12, 1, 28, 28) and data.x_train.dtype == np.float32
    np.testing.assert_allclose(data.x_train[:, 0], arrays["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, arrays["t10k"][1])
    assert data.y_train.dtype == np.int64


def test_label_count_mismatch(tmp_path):
    folder = tmp_path / "m"
    write_mnist_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_by_hand(np.zeros(4, np.uint8))))
    with pytest.raises(ValueError, match="4 labels for 5 images"):
        images.load_folder(folder)


# ---------------------------------------------------------------- USPS, npz

def usps_lines(rows):
    return "".join(" ".join([f"{lab:.4f}"] + [f"{v:.4f}" for v in vals]) + "\n" for lab, vals in rows)


@pytest.mark.parametrize("gz", [False, True])
def test_usps_text(tmp_path, gz):
    a = np.full(256, -1.0)
    a[0], a[17] = 1.0, 0.0
    b = np.linspace(-1, 1, 256)
    text = usps_lines([(6, a), (3, b)]).encode()
    path = tmp_path / ("zip.train.gz" if gz else "zip.train")
    path.write_bytes(gzip.compress(text) if gz else text)
    x, y = images.read_usps(path)
    assert x.shape == (2, 1, 16, 16) and list(y) == [6, 3]
    assert x[0, 0, 0, 0] == 1.0 and x[0, 0, 1, 1] == pytest.approx(0.5) and x[0, 0, 5, 5] == 0.0
    np.testing.assert_allclose(x[1].reshape(-1), (b + 1) / 2, atol=1e-4)


def test_usps_bad_line(tmp_path):
    path = tmp_path / "zip.test"
    path.write_text("1.0 " + " ".join(["0"] * 200) + "\n")
    with pytest.raises(ValueError, match="line 1: 201 values, expected 257"):
        images.read_usps(path)


def test_usps_folder(tmp_path):
    rows = [(d, np.full(256, -1.0)) for d in range(10)]
    for name in ("zip.train.gz", "zip.test.gz"):
        (tmp_path / name).write_bytes(gzip.compress(usps_lines(rows).encode()))
    data = images.load_folder(tmp_path, "usps")
    assert data.image_size == 16 and data.num_classes == 10 and float(data.x_train.max()) == 0.0


def test_npz_both_layouts_and_missing_keys(tmp_path):
    rng = np.random.default_rng(1)
    xtr = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "keras.npz", x_train=xtr, y_train=np.arange(7) % 10, x_test=xte, y_test=np.arange(3))
    np.savez(tmp_path / "tfds.npz", train_images=xtr, train_labels=np.arange(7) % 10,
             test_images=xte, test_labels=np.arange(3))
    for f in ("keras.npz", "tfds.npz"):
        data = images.load_images(str(tmp_path / f))
        assert data.x_train.shape == (7, 1, 28, 28) and data.x_test.shape == (3, 1, 28, 28)
        np.testing.assert_allclose(data.x_test[:, 0], xte / 255.0, rtol=1e-6)
        assert list(data.y_test) == [0, 1, 2]
    np.savez(tmp_path / "bad.npz", images=xtr)
    with pytest.raises(ValueError, match="bad.npz: .npz needs arrays x_train"):
        images.load_npz(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        images.load_npz(tmp_path / "junk.npz")


def test_subset_is_fixed():
    d = images.ImageData("t", np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1), np.arange(100),
                         np.zeros((10, 1, 1, 1), np.float32), np.zeros(10, np.int64))
    a, b = d.subset(20, None), d.subset(20, None)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert len(a.y_train) == 20 and len(set(a.y_train)) == 20 and len(a.y_test) == 10
    np.testing.assert_array_equal(a.x_train[:, 0, 0, 0], a.y_train)   # images stay with their labels


# ---------------------------------------------------------------- locating, checksums, download

def test_locate_via_env(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "fashion-mnist", n_train=4, n_test=2)
    monkeypatch.setenv("GOPOLICY_IMAGES", str(tmp_path))
    assert images.search_roots()[0] == tmp_path
    assert images.locate("fashion-mnist") == tmp_path / "fashion-mnist"
    data = images.load_images("fashion", train=3)
    assert data.name == "fashion-mnist" and len(data.y_train) == 3 and data.class_names[0] == "T-shirt/top"


def test_unknown_name_and_missing_set(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown image data set"):
        images.load_images("cifar-1000")
    monkeypatch.setenv("GOPOLICY_IMAGES", str(tmp_path))
    monkeypatch.setattr(images, "search_roots", lambda: [tmp_path])
    with pytest.raises(FileNotFoundError, match="--download"):
        images.load_images("usps")


def test_checksum_verification(tmp_path):
    raw = b"hello pooling study\n" * 100
    plain, packed = tmp_path / "f.txt", tmp_path / "f.txt.gz"
    plain.write_bytes(raw)
    packed.write_bytes(gzip.compress(raw))
    digest = hashlib.sha256(raw).hexdigest()
    assert images.content_sha256(plain) == digest == images.content_sha256(packed)  # content, not wrapper
    images.verify_sha256(packed, digest.upper())
    with pytest.raises(ValueError, match="checksum mismatch"):
        images.verify_sha256(packed, "0" * 64)


def test_download_verifies_and_uses_mirrors(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    raw = idx_by_hand(np.arange(16, dtype=np.uint8).reshape(4, 4))
    (src / "a.gz").write_bytes(gzip.compress(raw))
    good = [{"file": "a.gz", "sha256": hashlib.sha256(raw).hexdigest(),
             "urls": [(src / "missing.gz").as_uri(), (src / "a.gz").as_uri()]}]
    folder = images.download("toy", dest=tmp_path / "cache", entries=good, log=lambda m: None)
    np.testing.assert_array_equal(images.read_idx(folder / "a.gz"), np.arange(16).reshape(4, 4))
    bad = [dict(good[0], file="b.gz", sha256="f" * 64)]
    with pytest.raises(ValueError, match="checksum mismatch"):
        images.download("toy", dest=tmp_path / "cache", entries=bad, log=lambda m: None)
    assert not (folder / "b.gz").exists()
    assert not list(folder.glob(".part-*"))            # no partial files left behind
    assert {e["file"] for e in images.DOWNLOADS["mnist"]} >= {"train-images-idx3-ubyte.gz"}
    assert all(len(e["sha256"]) == 64 for es in images.DOWNLOADS.values() for e in es)


def _verify_table_against_disk(downloads) -> int:
    """Check each set's smallest file (labels / test) found on disk against
    ``downloads``' sha256; the number of files checked."""
    found = 0
    for name, entries in downloads.items():
        folder = images.locate(name)
        if folder is None:
            continue
        entry = entries[-1]
        path = folder / entry["file"]
        if path.is_file():
            images.verify_sha256(path, entry["sha256"])
            found += 1
    return found


def test_shipped_sha256_table_matches_shared_files():
    """The download table's checksums are those of the official files where a copy is on disk."""
    if not _verify_table_against_disk(images.DOWNLOADS):
        pytest.skip("no official image files on disk ($GOPOLICY_IMAGES or ../shared/data/images)")


def test_sha256_table_check_on_a_written_mnist_folder(tmp_path, monkeypatch):
    """The same check, run everywhere: a small MNIST-format folder written here,
    found through the search path, verified against a table of its own digests
    (and refused against a wrong one)."""
    arrays = write_mnist_folder(tmp_path / "mnist", n_train=6, n_test=3)
    monkeypatch.setattr(images, "search_roots", lambda: [tmp_path])
    labels = idx_by_hand(arrays["t10k"][1])
    table = {"mnist": [dict(e, sha256=hashlib.sha256(labels).hexdigest() if i == 3 else "0" * 64)
                       for i, e in enumerate(images.DOWNLOADS["mnist"])]}
    assert table["mnist"][-1]["file"] == "t10k-labels-idx1-ubyte.gz"
    assert _verify_table_against_disk(table) == 1
    bad = {"mnist": [dict(e, sha256="f" * 64) for e in table["mnist"]]}
    with pytest.raises(ValueError, match="checksum mismatch"):
        _verify_table_against_disk(bad)


# ---------------------------------------------------------------- rendered digits

def test_rendered_digits_deterministic_and_sane():
    x1, y1 = images.render_digits(200, seed=3)
    x2, y2 = images.render_digits(200, seed=3)
    x3, _ = images.render_digits(200, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (200, 1, 28, 28) and x1.dtype == np.float32
    assert 0.0 <= x1.min() and x1.max() <= 1.0
    assert set(y1.tolist()) == set(range(10))
    frame = np.ones((28, 28), bool)
    frame[2:-2, 2:-2] = False                     # the outer 2-pixel frame: background, as in MNIST
    assert x1[:, 0, frame].sum() < 0.02 * x1.sum()
    assert (x1[:, 0, frame].max(1) > 0.05).mean() < 0.2   # MNIST's own rate is ~12%
    ink = x1.reshape(200, -1).sum(1)
    assert ink.min() > 10                                                     # every image has a digit
    # digits differ from each other more than copies of the same digit do
    t = images._glyph_templates(28)
    assert np.abs(t[0, 1] - t[0, 8]).sum() > np.abs(t[0, 1] - t[4, 1]).sum()
    data = images.load_images("digits", train=50, test=20)
    assert data.name == "digits" and "rendered digits" in data.source and len(data.y_test) == 20


def test_auto_prefers_official_files_else_rendered_digits(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "search_roots", lambda: [tmp_path])
    assert images.auto_dataset() == "digits"                 # offline default: nothing on disk
    write_mnist_folder(tmp_path / "usps_not_here" / "x", n_train=2, n_test=1)
    write_mnist_folder(tmp_path / "mnist", n_train=2, n_test=1)
    assert images.auto_dataset() == "mnist"
