"""Where SGF bytes come from: files, folders and archives, read without unpacking.

* :func:`iter_sources` reads ``.sgf`` files, directories (recursively) and
  archives (``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar``/``.zip``) without unpacking
  them to disk, yielding ``(name, bytes)``; an archive member is named
  ``"<archive basename>!<member path>"``.
* :func:`scan_archive` / :func:`iter_archive` read one archive's members in
  order, skipping (and reporting) what is broken or over the size cap.
* :class:`SkipGame` and its stable reasons are shared with the parser
  (:mod:`gopolicy.corpus.sgf`), which re-exports every public name here.
"""
from __future__ import annotations

import lzma
import os
import tarfile
import zipfile
import zlib
from typing import Iterable, Iterator

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".tar", ".zip")
SGF_SUFFIX = ".sgf"

# Stable skip reasons (SkipGame.reason); the detail (e.g. the move number) is
# in SkipGame.detail / str(exc).
PARSE_ERROR = "parse error"
BAD_SIZE = "bad board size"
BAD_MOVE = "bad move"
BAD_SETUP = "bad setup"
ILLEGAL_MOVE = "illegal move"
NO_MOVES = "no moves"
READ_ERROR = "read error"
NOT_GO = "not go"              # GM[] names another game (GM[3] is chess)
BAD_ARCHIVE = "bad archive"    # corrupt or truncated archive (or archive member)
TOO_LARGE = "too large"        # file or archive member over the size cap

# Real game records are far under 1 MB (a long commented pro game: ~100 kB); the
# cap only stops compression bombs and mislabelled files from being read whole.
DEFAULT_MAX_FILE_BYTES = 16 * 2**20


class SkipGame(Exception):
    """A game we do not use. ``reason`` is short and stable (for counting);
    ``detail`` (optional) says more, e.g. ``"illegal move at 57"``."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason


# ---------------------------------------------------------------- sources
def clean_name(name: str) -> str:
    """A printable, UTF-8-encodable version of a file or member name (names
    with undecodable bytes come from tarfile/os as lone surrogates)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def source_of(name: str) -> str:
    """The collection a game comes from: an archive member's first path
    component (``kgs_train.tar.gz!kgs/2001/x.sgf`` -> ``kgs``) or, if the member
    has no directory, the archive's stem; a loose file's parent directory name
    (or its stem)."""
    if "!" in name:
        archive, member = name.split("!", 1)
        parts = [p for p in member.replace("\\", "/").split("/") if p not in ("", ".")]
        if len(parts) > 1:
            return parts[0]
        return _strip_archive_suffix(os.path.basename(archive))
    parent = os.path.basename(os.path.dirname(os.path.abspath(name)))
    return parent or os.path.splitext(os.path.basename(name))[0]


def _strip_archive_suffix(base: str) -> str:
    low = base.lower()
    for suf in ARCHIVE_SUFFIXES:
        if low.endswith(suf):
            return base[: -len(suf)]
    return base


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _is_sgf(name: str) -> bool:
    return name.lower().endswith(SGF_SUFFIX)


def expand_inputs(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Inputs -> ordered leaves ``("archive", path)`` / ``("file", path)``;
    directories are walked recursively in sorted order (archives inside count)."""
    out: list[tuple[str, str]] = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(root, f)
                    if is_archive(f):
                        out.append(("archive", full))
                    elif _is_sgf(f):
                        out.append(("file", full))
        elif is_archive(path):
            out.append(("archive", path))
        elif os.path.exists(path):
            out.append(("file", path))
        else:
            raise FileNotFoundError(path)
    return out


class SourceSkipped(SkipGame):
    """An archive, archive member or file that :func:`iter_archive` /
    :func:`iter_sources` did not read (raised only when no ``on_skip`` is given)."""


def _read_capped(f, cap: int) -> bytes | None:
    """At most ``cap`` bytes of ``f``; None when there are more (nothing larger
    than ``cap + 1`` bytes is ever held, whatever a header claims)."""
    data = f.read(cap + 1)
    return None if len(data) > cap else data


class _EndProbe(tarfile.TarInfo):
    """Records on the TarFile why its last header read failed: tarfile ends a
    stream silently on a truncated or corrupt header past the first member, and
    only a proper end-of-archive block (EOFHeaderError) is a clean end."""

    @classmethod
    def fromtarfile(cls, tf):
        try:
            return super().fromtarfile(tf)
        except tarfile.HeaderError as exc:
            tf.gopolicy_end = exc
            raise


def _skip_member_data(tf, member, step: int = 4 << 20) -> None:
    """Move a stream-mode TarFile past ``member``'s data in large reads. Its own
    seek reads 10 kB at a time and copies its whole inflated buffer each time
    (~10 MB for a block of zeros): 45 s for a 1 GiB compression bomb."""
    f = tf.fileobj
    end = member.offset_data + member.size - 1   # tarfile reads the last byte itself
    while f.tell() < end:
        if not f.read(min(step, end - f.tell())):
            break


_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError,
                   zlib.error, lzma.LZMAError, NotImplementedError, RuntimeError)


def _archive_why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{text[:80]}"


def scan_archive(path: str, start: int = 0, stop: int | None = None, names_only: bool = False,
                 skip=None, max_bytes: int = DEFAULT_MAX_FILE_BYTES
                 ) -> Iterator[tuple[str, bytes | None]]:
    """:func:`iter_archive` with ``skip(reason, name, why)``: ``name`` is the
    archive's path for the archive itself, ``"<basename>!<member>"`` for a member.

    Never raises for bad content: an archive that cannot be opened is skipped
    whole; one that breaks part-way yields the members before the break, then
    ``skip(BAD_ARCHIVE, ...)`` once, then stops. In ``names_only`` mode a tar
    member's data is still read (and dropped), so that a member cut short is
    neither listed nor counted twice. A member over ``max_bytes`` is skipped
    (TOO_LARGE) before its data is read into memory."""
    if skip is None:
        def skip(reason, name, why):
            raise SourceSkipped(reason, f"{name}: {why}")
    scan = _scan_zip if path.lower().endswith(".zip") else _scan_tar
    yield from scan(path, start, stop, names_only, skip, max_bytes)


def _scan_zip(path: str, start: int, stop: int | None, names_only: bool, skip,
              max_bytes: int) -> Iterator[tuple[str, bytes | None]]:
    """:func:`scan_archive` of a zip file (its central directory lists the members)."""
    base = os.path.basename(path)
    try:
        zf = zipfile.ZipFile(path)
    except _ARCHIVE_ERRORS as exc:
        skip(BAD_ARCHIVE, clean_name(path), f"unreadable zip: {_archive_why(exc)}")
        return
    idx = 0
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not _is_sgf(info.filename):
                continue
            name = clean_name(f"{base}!{info.filename}")
            if info.file_size > max_bytes:         # the central directory's claim
                skip(TOO_LARGE, name, f"{info.file_size} bytes > cap {max_bytes}")
                continue
            if stop is not None and idx >= stop:
                return
            if idx >= start:
                data = None if names_only else _read_zip_member(zf, info, name, max_bytes, skip)
                if names_only or data is not None:
                    yield name, data
            idx += 1


def _read_zip_member(zf, info, name: str, max_bytes: int, skip) -> bytes | None:
    """A zip member's bytes, or None after ``skip`` (corrupt, or over the cap: a
    member that lies about its size is cut off there)."""
    try:
        with zf.open(info) as f:
            data = _read_capped(f, max_bytes)
    except _ARCHIVE_ERRORS as exc:
        skip(BAD_ARCHIVE, name, f"corrupt member: {_archive_why(exc)}")
        return None
    if data is None:
        skip(TOO_LARGE, name, f"more than cap {max_bytes} bytes")
    return data


def _scan_tar(path: str, start: int, stop: int | None, names_only: bool, skip,
              max_bytes: int) -> Iterator[tuple[str, bytes | None]]:
    """:func:`scan_archive` of a tar file in stream mode: one sequential pass, no
    seeking, no unpacking to disk."""
    base, whole = os.path.basename(path), clean_name(path)
    idx = 0
    try:
        with tarfile.open(path, mode="r|*", tarinfo=_EndProbe) as tf:
            for member in tf:
                if not member.isfile() or not _is_sgf(member.name):
                    continue
                name = clean_name(f"{base}!{member.name}")
                if member.size > max_bytes:              # skipped over in blocks, never held
                    skip(TOO_LARGE, name, f"{member.size} bytes > cap {max_bytes}")
                    _skip_member_data(tf, member)
                    continue
                if stop is not None and idx >= stop:
                    return
                data = None
                if idx >= start or names_only:
                    f = tf.extractfile(member)
                    data = f.read() if f is not None else b""
                if idx >= start:
                    yield name, None if names_only else data
                idx += 1
                if stop is not None and idx >= stop:
                    return     # do not look past the range (the break, if any, lies beyond)
            end = getattr(tf, "gopolicy_end", None)
            if end is not None and not isinstance(end, tarfile.EOFHeaderError):
                why = "cut short" if isinstance(end, (tarfile.EmptyHeaderError,
                                                      tarfile.TruncatedHeaderError)) else "corrupt header"
                skip(BAD_ARCHIVE, whole, f"{why} after {idx} SGF members ({_archive_why(end)})")
    except _ARCHIVE_ERRORS as exc:
        where = f"after {idx} SGF members" if idx else "at the start"
        skip(BAD_ARCHIVE, whole, f"broken {where}: {_archive_why(exc)}")

def iter_archive(path: str, start: int = 0, stop: int | None = None,
                 names_only: bool = False, on_skip=None,
                 max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[tuple[str, bytes | None]]:
    """``(name, bytes)`` of the ``.sgf`` members of an archive whose index (among
    the archive's readable ``.sgf`` members within the size cap, in archive
    order) lies in ``[start, stop)``.

    ``on_skip(reason, detail)`` is called for an unreadable archive (once; the
    members read before a break are kept), a corrupt member or a member over
    ``max_bytes`` (``reason`` is :data:`BAD_ARCHIVE` or :data:`TOO_LARGE`,
    ``detail`` starts with the name); without it, :class:`SourceSkipped` is raised."""
    skip = None
    if on_skip is not None:
        def skip(reason, name, why):
            on_skip(reason, f"{name}: {why}")
    yield from scan_archive(path, start, stop, names_only, skip, max_bytes)


def read_file_capped(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """A loose file's bytes, or :class:`SourceSkipped` (TOO_LARGE before reading,
    READ_ERROR when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise SourceSkipped(TOO_LARGE, f"{size} bytes > cap {max_bytes}")
            data = _read_capped(f, max_bytes)       # a file that grew meanwhile
    except OSError as exc:
        raise SourceSkipped(READ_ERROR, f"{exc.strerror or exc}") from None
    if data is None:
        raise SourceSkipped(TOO_LARGE, f"more than cap {max_bytes} bytes")
    return data


def iter_sources(paths: Iterable[str] | str, on_skip=None,
                 max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` for every SGF in files, directories and archives.

    ``on_skip(reason, detail)`` is called (instead of raising
    :class:`SourceSkipped`) for each archive, member or file not read: corrupt or
    truncated archives, files over ``max_bytes``, unreadable files. A missing
    input path is still a FileNotFoundError (a typo, not bad data)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for kind, path in expand_inputs(paths):
        if kind == "archive":
            yield from iter_archive(path, on_skip=on_skip, max_bytes=max_bytes)
            continue
        name = clean_name(path)
        try:
            data = read_file_capped(path, max_bytes)
        except SourceSkipped as exc:
            if on_skip is None:
                raise SourceSkipped(exc.reason, f"{name}: {exc.detail}") from None
            on_skip(exc.reason, f"{name}: {exc.detail}")
            continue
        yield name, data


