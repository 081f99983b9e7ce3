"""Image data for the pooling study: IDX (MNIST-style), USPS text, .npz, a
checksum-verified downloader, and an offline "rendered digits" set.

Every loader returns an :class:`ImageData` with float32 images ``(N, 1, H, W)``
in ``[0, 1]`` whose *background is 0* (so zero fill when shifting an image is
"more background"), int64 labels, and a one-line ``source`` for the report.

Where the data comes from (``load_images(name)``):

* ``mnist`` / ``fashion-mnist`` / ``usps``: the official files, looked for in
  ``$GOPOLICY_IMAGES/<name>/``, then ``<repo>/../shared/data/images/<name>/``,
  then ``/usr/share/datasets/<name>/`` (where Debian's ``dataset-fashion-mnist``
  installs), then the download cache; ``download=True`` fetches them (sha256 of
  the decompressed content verified) when none is found.
* ``digits`` (alias ``rendered-digits``): **rendered digits**, generated here
  with no files at all: the ten digits drawn in matplotlib's bundled DejaVu
  fonts (Sans, Sans Mono, Serif; regular/bold/oblique), each scaled into a
  20x20 box and centred in 28x28 like MNIST, then jittered (rotation, scale,
  shear, stroke width, +-1.5 px position, a little noise); deterministic by seed.
* a path: a folder holding IDX files, USPS ``zip.train``/``zip.test`` or one
  ``.npz``; or an ``.npz`` file.

Corrupt input raises ``ValueError`` naming the file and the problem.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gopolicy.pooling_study.shifts import shift_images

REPO_ROOT = Path(__file__).resolve().parents[2]

# IDX type codes (third byte of the magic) -> big-endian numpy dtype
IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}

IDX_NAMES = {  # split -> (images, labels), file names without .gz
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
USPS_NAMES = {"train": "zip.train", "test": "zip.test"}

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "digits": [str(i) for i in range(10)],
    "usps": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}
KNOWN = ("mnist", "fashion-mnist", "usps", "digits")
ALIASES = {"rendered-digits": "digits", "rendered": "digits", "fashion": "fashion-mnist",
           "fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist"}

# Official files. sha256 is of the *decompressed* content, so any mirror's gzip
# (whose header may carry a name or time) verifies; these equal the canonical
# files (their md5s, as published, were checked against the same bytes).
DOWNLOADS: dict[str, list[dict]] = {
    "mnist": [
        {"file": f"{n}.gz", "sha256": h, "urls": [
            f"https://ossci-datasets.s3.amazonaws.com/mnist/{n}.gz",
            f"https://storage.googleapis.com/cvdf-datasets/mnist/{n}.gz",
            f"http://yann.lecun.com/exdb/mnist/{n}.gz"]}
        for n, h in [
            ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")]
    ],
    "fashion-mnist": [
        {"file": f"{n}.gz", "sha256": h, "urls": [
            f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{n}.gz",
            f"https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/{n}.gz"]}
        for n, h in [
            ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")]
    ],
    "usps": [
        {"file": f"{n}.gz", "sha256": h, "urls": [
            f"https://hastie.su.domains/ElemStatLearn/datasets/{n}.gz"]}
        for n, h in [
            ("zip.train", "abc9f5c75b997cabe66b5d01727d5a681c69298e1641a8d37b55433a52129dc0"),
            ("zip.test", "6bde17b4f1cd68e0630cd2751d6495b5795d9165ab2dc4a0be8b7002b732f4cc")]
    ],
}


@dataclass
class ImageData:
    name: str
    x_train: np.ndarray          # float32 (N, 1, H, W) in [0, 1], background 0
    y_train: np.ndarray          # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""             # where it came from, for the report
    class_names: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(initial=0), self.y_test.max(initial=0))) + 1

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    def subset(self, train: int | None, test: int | None, seed: int = 0) -> "ImageData":
        """The first ``train``/``test`` images of a fixed random order (None/0: all)."""
        rng = np.random.default_rng(seed)

        def pick(x, y, n):
            if not n or n >= len(y):
                return x, y
            idx = np.sort(rng.permutation(len(y))[:n])
            return x[idx], y[idx]

        xtr, ytr = pick(self.x_train, self.y_train, train)
        xte, yte = pick(self.x_test, self.y_test, test)
        return ImageData(self.name, xtr, ytr, xte, yte, self.source, self.class_names)


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------

def _open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by magic, whatever its name)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except EOFError:
            raise ValueError(f"{path}: truncated gzip stream (the download or copy is incomplete)") from None
        except (OSError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if path.suffix == ".gz":
        raise ValueError(f"{path}: named .gz but not gzip data (bad magic {raw[:2].hex()})")
    return raw


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes: magic ``00 00 <type> <ndim>``, ndim big-endian uint32
    sizes, then the row-major data. Raises ValueError naming ``name``."""
    if len(data) < 4:
        raise ValueError(f"{name}: truncated IDX file ({len(data)} bytes, no complete header)")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES or data[3] == 0:
        raise ValueError(f"{name}: bad IDX magic {data[:4].hex()} (expected 0000 + type code "
                         f"{'/'.join(f'{k:02x}' for k in IDX_DTYPES)} + number of dimensions)")
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header ({len(data)} bytes, need {header} for {ndim} dims)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise ValueError(f"{name}: truncated IDX data: header says shape {shape} "
                         f"({expected} bytes), file has {len(data)}")
    if len(data) > expected:
        raise ValueError(f"{name}: IDX size mismatch: header says shape {shape} ({expected} bytes), "
                         f"file has {len(data)} ({len(data) - expected} extra)")
    arr = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape, dtype=np.int64)), offset=header)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip)."""
    path = Path(path)
    return parse_idx(_open_bytes(path), str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX (the inverse of :func:`parse_idx`)."""
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    head = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return head + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` as IDX; gzip-compressed when ``path`` ends in .gz."""
    data = idx_bytes(array)
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        p = folder / name
        if p.is_file():
            return p
    return None


def _to_unit(images: np.ndarray, path) -> np.ndarray:
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim != 4:
        raise ValueError(f"{path}: expected images (N, H, W) or (N, C, H, W), got shape {images.shape}")
    if images.dtype == np.uint8:
        return (images.astype(np.float32) / 255.0)
    x = images.astype(np.float32)
    if x.size and (x.min() < -1e-6 or x.max() > 1 + 1e-6):  # e.g. [-1, 1] or 0..255 floats
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / max(hi - lo, 1e-12)
    return x


def _check_labels(labels: np.ndarray, n: int, path) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n:
        raise ValueError(f"{path}: {len(labels)} labels for {n} images")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{path}: negative labels")
    return labels.astype(np.int64)


def load_idx_folder(folder, name: str = "") -> ImageData:
    """MNIST-layout folder: train/t10k images and labels, .gz or raw."""
    folder = Path(folder)
    arrays = {}
    for split, (img_stem, lab_stem) in IDX_NAMES.items():
        ip, lp = _find(folder, img_stem), _find(folder, lab_stem)
        if ip is None or lp is None:
            raise FileNotFoundError(f"{folder}: missing {img_stem}[.gz] or {lab_stem}[.gz]")
        x = _to_unit(read_idx(ip), ip)
        y = _check_labels(read_idx(lp), len(x), lp)
        arrays[split] = (x, y)
    name = name or folder.name
    return ImageData(name, *arrays["train"], *arrays["test"], source=f"IDX files in {folder}",
                     class_names=CLASS_NAMES.get(name, []))


# ---------------------------------------------------------------------------
# USPS (ESL text format) and .npz
# ---------------------------------------------------------------------------

def read_usps(path) -> tuple[np.ndarray, np.ndarray]:
    """One image per line: label, then 256 values in [-1, 1] (16x16 row-major).
    Returns float32 images (N, 1, 16, 16) in [0, 1] (background -1 -> 0) and labels."""
    path = Path(path)
    text = _open_bytes(path).decode("ascii", errors="replace")
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            vals = [float(v) for v in line.split()]
        except ValueError:
            raise ValueError(f"{path}: line {i}: not numbers") from None
        if len(vals) != 257:
            raise ValueError(f"{path}: line {i}: {len(vals)} values, expected 257 (label + 16x16)")
        rows.append(vals)
    if not rows:
        raise ValueError(f"{path}: no images")
    arr = np.asarray(rows, dtype=np.float32)
    labels = arr[:, 0]
    if np.any(labels != np.round(labels)) or labels.min() < 0:
        raise ValueError(f"{path}: labels must be non-negative integers")
    x = np.clip((arr[:, 1:] + 1.0) / 2.0, 0.0, 1.0).reshape(-1, 1, 16, 16)
    return x, labels.astype(np.int64)


def load_usps_folder(folder, name: str = "usps") -> ImageData:
    folder = Path(folder)
    arrays = {}
    for split, stem in USPS_NAMES.items():
        p = _find(folder, stem)
        if p is None:
            raise FileNotFoundError(f"{folder}: missing {stem}[.gz]")
        arrays[split] = read_usps(p)
    return ImageData(name, *arrays["train"], *arrays["test"], source=f"USPS text files in {folder}",
                     class_names=CLASS_NAMES["usps"])


_NPZ_KEYS = [("x_train", "y_train", "x_test", "y_test"),
             ("train_images", "train_labels", "test_images", "test_labels"),
             ("X_train", "y_train", "X_test", "y_test")]


def load_npz(path, name: str = "") -> ImageData:
    """An .npz with x_train/y_train/x_test/y_test (Keras' mnist.npz layout) or
    train_images/train_labels/test_images/test_labels."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .npz ({exc})") from None
    with z:
        for keys in _NPZ_KEYS:
            if all(k in z.files for k in keys):
                xtr, ytr, xte, yte = (z[k] for k in keys)
                break
        else:
            raise ValueError(f"{path}: .npz needs arrays {', '.join(_NPZ_KEYS[0])} "
                             f"(or {', '.join(_NPZ_KEYS[1])}); it has {', '.join(z.files)}")
    xtr, xte = _to_unit(xtr, path), _to_unit(xte, path)
    if xtr.shape[1:] != xte.shape[1:]:
        raise ValueError(f"{path}: train images {xtr.shape[1:]} and test images {xte.shape[1:]} differ")
    name = name or path.stem
    return ImageData(name, xtr, _check_labels(ytr, len(xtr), path), xte, _check_labels(yte, len(xte), path),
                     source=f".npz file {path}", class_names=CLASS_NAMES.get(name, []))


def load_folder(folder, name: str = "") -> ImageData:
    """Whatever a folder holds: IDX files, USPS text files or a single .npz."""
    folder = Path(folder)
    if _find(folder, IDX_NAMES["train"][0]):
        return load_idx_folder(folder, name)
    if _find(folder, USPS_NAMES["train"]):
        return load_usps_folder(folder, name or folder.name)
    npz = sorted(folder.glob("*.npz"))
    if len(npz) == 1:
        return load_npz(npz[0], name or folder.name)
    raise FileNotFoundError(f"{folder}: no IDX files (train-images-idx3-ubyte[.gz] ...), "
                            f"USPS files (zip.train[.gz]) or single .npz found")


# ---------------------------------------------------------------------------
# Locating, downloading
# ---------------------------------------------------------------------------

def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gopolicy" / "images"


def search_roots() -> list[Path]:
    """Where named data sets are looked for, in order."""
    roots = []
    env = os.environ.get("GOPOLICY_IMAGES")
    if env:
        roots.append(Path(env))
    roots += [REPO_ROOT.parent / "shared" / "data" / "images", Path("/usr/share/datasets"), cache_dir()]
    return roots


def _has_files(name: str, folder: Path) -> bool:
    if name == "usps":
        return all(_find(folder, s) for s in USPS_NAMES.values())
    return all(_find(folder, s) for pair in IDX_NAMES.values() for s in pair)


def locate(name: str) -> Path | None:
    """The first folder in :func:`search_roots` holding data set ``name``."""
    for root in search_roots():
        folder = root / name
        if folder.is_dir() and _has_files(name, folder):
            return folder
    return None


def content_sha256(path) -> str:
    """sha256 of a file's content, decompressed first when it is gzip."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    return h.hexdigest()


def verify_sha256(path, expected: str) -> None:
    """ValueError unless the (decompressed) content of ``path`` has sha256 ``expected``."""
    got = content_sha256(path)
    if got != expected.lower():
        raise ValueError(f"{path}: checksum mismatch: sha256 {got}, expected {expected}")


def download(name: str, dest=None, entries: list[dict] | None = None, log=print,
             timeout: float = 60.0) -> Path:
    """Fetch data set ``name``'s official files into ``dest/name`` (default: the
    cache), trying each mirror in turn; every file's content sha256 is checked
    before it is moved into place, so a bad or partial download never stays.
    ``entries`` overrides :data:`DOWNLOADS` (tests use file:// URLs)."""
    entries = DOWNLOADS.get(name) if entries is None else entries
    if not entries:
        raise ValueError(f"no download known for {name!r}; known: {', '.join(DOWNLOADS)}")
    folder = Path(dest or cache_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        target = folder / entry["file"]
        if target.is_file():
            try:
                verify_sha256(target, entry["sha256"])
                continue
            except ValueError:
                log(f"[pooling-study] {target}: bad checksum, downloading again")
        errors = []
        for url in entry["urls"]:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                    shutil.copyfileobj(resp, out)
                verify_sha256(tmp, entry["sha256"])
                os.replace(tmp, target)
                log(f"[pooling-study] downloaded {url} -> {target} (sha256 ok)")
                break
            except (OSError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            raise ValueError(f"could not download {entry['file']} for {name}:\n  " + "\n  ".join(errors))
    return folder


# ---------------------------------------------------------------------------
# Rendered digits (offline default)
# ---------------------------------------------------------------------------

DEJAVU_FACES = ["DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique",
                "DejaVuSansMono", "DejaVuSansMono-Bold", "DejaVuSansMono-Oblique",
                "DejaVuSansMono-BoldOblique", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic",
                "DejaVuSerif-BoldItalic"]

_GLYPHS: dict[int, np.ndarray] = {}


def _glyph_templates(size: int = 28) -> np.ndarray:
    """(faces, 10, size, size) float32: each digit in each DejaVu face, scaled
    to fit a 20/28 box (aspect kept) and centred by centre of mass, like MNIST."""
    if size in _GLYPHS:
        return _GLYPHS[size]
    import matplotlib
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = [ttf / f"{f}.ttf" for f in DEJAVU_FACES if (ttf / f"{f}.ttf").is_file()]
    if not faces:
        raise FileNotFoundError(f"no DejaVu fonts in {ttf} (matplotlib's bundled fonts)")
    box = max(4, round(size * 20 / 28))
    out = np.zeros((len(faces), 10, size, size), dtype=np.float32)
    fig = Figure(figsize=(1, 1), dpi=96)
    canvas = FigureCanvasAgg(fig)
    for fi, face in enumerate(faces):
        prop = FontProperties(fname=str(face), size=64)
        for d in range(10):
            fig.clear()
            fig.text(0.5, 0.5, str(d), fontproperties=prop, ha="center", va="center", color="black")
            canvas.draw()
            ink = 1.0 - np.asarray(canvas.buffer_rgba(), dtype=np.float32)[..., 0] / 255.0
            rows, cols = np.nonzero(ink > 0.05)
            ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            h, w = ink.shape
            scale = box / max(h, w)
            nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
            small = torch.nn.functional.interpolate(torch.from_numpy(ink.copy())[None, None], size=(nh, nw),
                                                    mode="area")[0, 0].numpy()
            canvas_img = np.zeros((size, size), dtype=np.float32)
            top, left = (size - nh) // 2, (size - nw) // 2
            canvas_img[top:top + nh, left:left + nw] = small
            # centre of mass to the centre (MNIST's convention), whole pixels
            yy, xx = np.indices(canvas_img.shape)
            mass = canvas_img.sum()
            dy = int(round((size - 1) / 2 - (yy * canvas_img).sum() / mass))
            dx = int(round((size - 1) / 2 - (xx * canvas_img).sum() / mass))
            out[fi, d] = shift_images(canvas_img[None, None], dy, dx)[0, 0]
    _GLYPHS[size] = np.clip(out, 0, 1)
    return _GLYPHS[size]


def render_digits(n: int, seed: int, size: int = 28, position_jitter: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """``n`` jittered digit images ``(n, 1, size, size)`` in [0, 1] and labels;
    the same ``(n, seed, size)`` gives the same images."""
    import torch
    import torch.nn.functional as F

    templates = _glyph_templates(size)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    faces = rng.integers(0, templates.shape[0], n)
    angle = np.deg2rad(rng.uniform(-12, 12, n))
    scale = rng.uniform(0.75, 1.0, n)
    shear = rng.uniform(-0.15, 0.15, n)
    aspect = rng.uniform(0.85, 1.1, n)
    shift = rng.uniform(-position_jitter, position_jitter, (n, 2)) * 2 / size   # normalised coords
    thick = rng.uniform(0, 1, n)
    noise_seed = int(rng.integers(2 ** 31))
    # inverse affine map output -> input (affine_grid samples the input at theta @ [x, y, 1])
    c, s = np.cos(angle), np.sin(angle)
    a = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)        # rotation
    a = a @ np.stack([np.stack([np.ones(n), shear], -1), np.stack([np.zeros(n), np.ones(n)], -1)], -2)
    a = a * np.stack([scale * aspect, scale], -1)[:, None, :]
    inv = np.linalg.inv(a)
    theta = np.concatenate([inv, (-inv @ shift[:, :, None])], axis=2).astype(np.float32)
    x = torch.from_numpy(templates[faces, labels][:, None])
    grid = F.affine_grid(torch.from_numpy(theta), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # stroke width: blend some images with their 3x3 max (a bolder stroke)
    bold = F.max_pool2d(x, 3, stride=1, padding=1)
    w = torch.from_numpy((thick > 0.6).astype(np.float32) * 0.6)[:, None, None, None]
    x = (1 - w) * x + w * bold
    gen = torch.Generator().manual_seed(noise_seed)
    x = x + 0.05 * torch.rand(x.shape, generator=gen) * (x > 0.02)
    return x.clamp_(0, 1).numpy().astype(np.float32), labels.astype(np.int64)


def rendered_digits(train: int = 12000, test: int = 2000, seed: int = 0, size: int = 28) -> ImageData:
    """The offline data set: train and test drawn with different seeds."""
    xtr, ytr = render_digits(train, seed=2 * seed + 1, size=size)
    xte, yte = render_digits(test, seed=2 * seed + 2, size=size)
    return ImageData("digits", xtr, ytr, xte, yte,
                     source=(f"rendered digits (generated offline: matplotlib's bundled DejaVu fonts, "
                             f"{len(DEJAVU_FACES)} faces, rotation +-12 deg, scale 0.75-1, shear +-0.15, "
                             f"+-1.5 px position jitter; seed {seed})"),
                     class_names=CLASS_NAMES["digits"])


def canonical(name: str) -> str:
    key = name.strip().lower()
    return ALIASES.get(key, key)


def load_images(name: str, *, download_missing: bool = False, train: int | None = None,
                test: int | None = None, log=print) -> ImageData:
    """Data set by name (see the module docstring) or path. ``train``/``test``
    limit the sizes (a fixed random subset; rendered digits are generated at
    that size)."""
    path = Path(name).expanduser()
    if path.exists():
        data = load_npz(path) if path.is_file() else load_folder(path)
        return data.subset(train, test)
    key = canonical(name)
    if key == "digits":
        return rendered_digits(train or 12000, test or 2000)
    if key not in KNOWN:
        raise ValueError(f"unknown image data set {name!r}: expected one of {', '.join(KNOWN)} "
                         f"(or rendered-digits), or a path to a folder / .npz file")
    folder = locate(key)
    if folder is None:
        if not download_missing:
            raise FileNotFoundError(
                f"{key}: not found in {', '.join(str(r) for r in search_roots())}; set $GOPOLICY_IMAGES, "
                f"pass --download (needs internet), or use --images digits (rendered offline)")
        folder = download(key, log=log)
    data = load_folder(folder, key)
    data.source = f"{key} ({data.source})"
    return data.subset(train, test)


def auto_dataset() -> str:
    """The default: the first official set found on disk, else rendered digits."""
    for key in ("mnist", "fashion-mnist", "usps"):
        if locate(key) is not None:
            return key
    return "digits"

