"""SGF ingestion (with sgfmill) and writing.

* :func:`iter_sources` reads ``.sgf`` files, directories (recursively) and
  archives (``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar``/``.zip``) without unpacking
  them to disk, yielding ``(name, bytes)``; an archive member is named
  ``"<archive basename>!<member path>"``.
* :func:`parse_game` turns SGF bytes into a :class:`Game` (main line only) or
  raises :class:`SkipGame` with a short, stable ``reason``.
* :func:`replay` plays a game on a :class:`gopolicy.go.board.Board`, yielding the
  position before every move.
* :func:`write_sgf` writes the games the project plays (GTP engine, matches,
  self-play data).

Points are flat indices ``row * size + col`` with sgfmill's rows (row 0 = the
bottom line), moves are points or ``size * size`` for a pass (gopolicy.go.coords).
"""
from __future__ import annotations

import io
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from gopolicy.go.coords import BLACK, WHITE, to_sgf

DEFAULT_KOMI = 7.5
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


@dataclass
class Game:
    """One game's main line. ``events`` are, in order,
    ``("setup", black_pts, white_pts, empty_pts)`` (tuples of flat points) and
    ``("move", color, move)``."""

    name: str = ""
    size: int = 19
    komi: float = DEFAULT_KOMI
    handicap: int = 0
    black_player: str = ""
    white_player: str = ""
    black_rank_text: str = ""
    white_rank_text: str = ""
    black_rank: int = 0
    white_rank: int = 0
    result: str = ""
    source: str = ""
    events: list = field(default_factory=list)
    notes: list = field(default_factory=list)   # e.g. "komi unparsable"

    @property
    def moves(self) -> list[tuple[int, int]]:
        return [(e[1], e[2]) for e in self.events if e[0] == "move"]

    @property
    def num_moves(self) -> int:
        return sum(1 for e in self.events if e[0] == "move")

    @property
    def handicap_stones(self) -> tuple[int, ...]:
        """Black stones set up in the root (before any move)."""
        for e in self.events:
            if e[0] == "move":
                break
            return tuple(e[1])
        return ()


# ---------------------------------------------------------------- ranks, komi
_RANK_RE = re.compile(r"(\d+)\s*(.*)")


def parse_rank(text: str | None) -> int:
    """Rank text -> int: kyu -k, amateur dan 1..9, pro 101..109, unknown 0.

    Understands KGS/IGS style (``"5k"``, ``"3d?"``, ``"1p"``, ``"9 dan"``),
    Fox/Tygem (``"9段"``, ``"P9段"`` = pro, ``"18级"``) and Korean (``"9단"``, ``"5급"``).
    """
    if not text:
        return 0
    t = text.strip().lower().replace("*", "").replace("?", "")
    pro = False
    if t.startswith("p") and len(t) > 1 and t[1].isdigit():   # Fox "P9段"
        pro, t = True, t[1:]
    m = _RANK_RE.match(t)
    if not m:
        return 0
    n = int(m.group(1))
    unit = m.group(2).strip()
    if not 1 <= n <= 40:
        return 0
    if unit.startswith(("p", "pro")) or "プロ" in unit:
        pro = True
        unit = "d"
    if unit.startswith(("k", "級", "级", "급")):
        return -n if not pro else 0
    if unit.startswith(("d", "段", "단")) or (pro and unit == ""):
        if n > 9:
            return 0
        return 100 + n if pro else n
    return 0


def parse_komi(raw: bytes | str | None) -> tuple[float, bool]:
    """Komi text -> (komi, ok). ``KM[650]`` style (Fox) means 6.5: values with
    ``|km| >= 100`` are divided by 100; Fox's Chinese ``KM[375]`` / ``KM[275]``
    (komi in stones: 3.75 = 7.5 points) are doubled. Unparsable -> (7.5, False)."""
    if raw is None:
        return DEFAULT_KOMI, True          # absent: the default, not an error
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    t = raw.strip().replace(",", ".")
    if not t:
        return DEFAULT_KOMI, True
    try:
        km = float(t)
    except ValueError:
        m = re.match(r"[-+]?\d+(\.\d*)?", t)
        if not m:
            return DEFAULT_KOMI, False
        km = float(m.group(0))
    if km != km or km in (float("inf"), float("-inf")):
        return DEFAULT_KOMI, False
    if abs(km) >= 100:
        km = km / 100.0
        if km in (3.75, 2.75):      # Chinese komi in stones (Fox)
            km *= 2
    return km, True


# ---------------------------------------------------------------- text
def decode_text(raw: bytes, encoding: str = "UTF-8") -> str:
    """Decode a property value without ever raising: UTF-8, then the file's
    declared encoding (unless it is SGF's default Latin-1), then GB18030 (Fox,
    Tygem), then UTF-8 with replacement characters."""
    encs = ["utf-8"]
    if encoding and encoding.upper() not in ("ISO-8859-1", "LATIN-1", "UTF-8"):
        encs.append(encoding)
    encs.append("gb18030")
    for enc in encs:
        try:
            return raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("utf-8", "replace")


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
    base = os.path.basename(path)
    whole = clean_name(path)
    if skip is None:
        def skip(reason, name, why):
            raise SourceSkipped(reason, f"{name}: {why}")
    idx = 0
    if path.lower().endswith(".zip"):
        try:
            zf = zipfile.ZipFile(path)
        except _ARCHIVE_ERRORS as exc:
            skip(BAD_ARCHIVE, whole, f"unreadable zip: {_archive_why(exc)}")
            return
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
                    data = None
                    if not names_only:
                        # a member that lies about its size is cut off at the cap
                        try:
                            with zf.open(info) as f:
                                data = _read_capped(f, max_bytes)
                        except _ARCHIVE_ERRORS as exc:
                            skip(BAD_ARCHIVE, name, f"corrupt member: {_archive_why(exc)}")
                            idx += 1
                            continue
                        if data is None:
                            skip(TOO_LARGE, name, f"more than cap {max_bytes} bytes")
                            idx += 1
                            continue
                    yield name, data
                idx += 1
        return
    # Stream mode: one sequential pass, no seeking, no unpacking to disk.
    read = 0
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
                    read += 1
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


# ---------------------------------------------------------------- parsing
def _flat_points(pts, size: int) -> tuple[int, ...]:
    return tuple(sorted(r * size + c for r, c in pts))


def _main_line(coarse) -> list[dict]:
    """The property maps of the main line (first variation at every branch)."""
    nodes = list(coarse.sequence)
    tree = coarse
    while tree.children:
        tree = tree.children[0]
        nodes.extend(tree.sequence)
    return nodes


def _charset(root_props: dict) -> str:
    """The file's declared encoding (SGF's default ISO-8859-1 if none/unknown)."""
    import codecs

    raw = root_props.get("CA")
    if not raw:
        return "ISO-8859-1"
    name = raw[0].decode("ascii", "replace").strip()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "ISO-8859-1"


def _text(props: dict, ident: str, encoding: str) -> str:
    from sgfmill import sgf_grammar

    raw = props.get(ident)
    if not raw:
        return ""
    try:
        value = sgf_grammar.simpletext_value(raw[0])
    except Exception:  # pragma: no cover - defensive
        value = raw[0]
    return decode_text(value, encoding).strip()


def parse_game(data: bytes, name: str = "", require_size: int | None = 19,
               require_moves: bool = True) -> Game:
    """SGF bytes -> :class:`Game` (main line), or :class:`SkipGame`.

    Parsing is sgfmill's (``sgf_grammar.parse_sgf_game``, ``sgf_properties``);
    the main line is read from its coarse tree directly (about twice as fast as
    expanding every node into a ``Tree_node``).
    Reasons: ``parse error``, ``not go``, ``bad board size``, ``board size N``,
    ``bad move``, ``bad setup``, ``no moves``. Illegal moves are found by
    :func:`replay`. ``require_moves=False`` accepts a position without moves
    (setup stones, maybe passes: the GTP engine's ``loadsgf``).
    """
    from sgfmill import sgf_grammar, sgf_properties

    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        coarse = sgf_grammar.parse_sgf_game(data)
    except Exception as exc:
        raise SkipGame(PARSE_ERROR, f"parse error: {str(exc)[:60]}") from None
    root = coarse.sequence[0] if coarse.sequence else {}
    gm = root.get("GM", [b"1"])[0].strip() or b"1"     # absent: Go, SGF's default
    if gm != b"1":
        raise SkipGame(NOT_GO, f"not go: GM[{gm[:10].decode('latin-1')}]")
    size_raw = root.get("SZ", [b"19"])[0].strip()
    if b":" in size_raw:                      # rectangular spelling "19:19"
        a, _, b = size_raw.partition(b":")
        size_raw = a.strip() if a.strip() == b.strip() else b"bad"
    try:
        size = int(size_raw)
    except ValueError:
        raise SkipGame(BAD_SIZE, f"bad board size {size_raw[:10]!r}") from None
    if require_size is not None and size != require_size:
        raise SkipGame(f"board size {size}")
    if not 2 <= size <= 25:
        raise SkipGame(f"board size {size}")
    encoding = _charset(root)

    g = Game(name=name, size=size, source=source_of(name) if name else "")
    g.black_player = _text(root, "PB", encoding)
    g.white_player = _text(root, "PW", encoding)
    g.black_rank_text = _text(root, "BR", encoding)
    g.white_rank_text = _text(root, "WR", encoding)
    g.black_rank = parse_rank(g.black_rank_text)
    g.white_rank = parse_rank(g.white_rank_text)
    g.result = _text(root, "RE", encoding)
    g.komi, ok = parse_komi(root["KM"][0] if root.get("KM") else None)
    if not ok:
        g.notes.append("komi unparsable")
    ha_text = _text(root, "HA", encoding)
    try:
        ha = int(float(ha_text)) if ha_text else 0
    except ValueError:
        ha = 0
        g.notes.append("handicap unparsable")

    ctx = sgf_properties._Context(size, "UTF-8")
    interpret_point = sgf_properties.interpret_go_point
    interpret_list = sgf_properties.interpret_point_list
    pmove = size * size
    events: list = []
    n_moves = 0
    n_real_moves = 0
    for props in _main_line(coarse):
        if "AB" in props or "AW" in props or "AE" in props:
            try:
                bp = interpret_list(props.get("AB", []), ctx)
                wp = interpret_list(props.get("AW", []), ctx)
                ep = interpret_list(props.get("AE", []), ctx)
            except Exception:
                raise SkipGame(BAD_SETUP, "bad setup: malformed point") from None
            if (bp & wp) or (bp & ep) or (wp & ep):
                raise SkipGame(BAD_SETUP, "bad setup: point in two of AB/AW/AE")
            events.append(("setup", _flat_points(bp, size), _flat_points(wp, size),
                           _flat_points(ep, size)))
        raw_b = props.get("B")
        raw_w = props.get("W")
        if raw_b is None and raw_w is None:
            continue
        n_moves += 1
        if raw_b is not None and raw_w is not None:
            raise SkipGame(BAD_MOVE, f"bad move at {n_moves}: B and W in one node")
        color, raw = (BLACK, raw_b) if raw_b is not None else (WHITE, raw_w)
        try:
            move = interpret_point(raw[0], size)
        except Exception:
            raise SkipGame(BAD_MOVE, f"bad move at {n_moves}") from None
        if move is None:
            mv = pmove
        else:
            mv = move[0] * size + move[1]
            n_real_moves += 1
        events.append(("move", color, mv))
    if n_real_moves == 0 and require_moves:
        raise SkipGame(NO_MOVES)
    g.events = events
    if events and events[0][0] == "setup":
        root_black, root_white = events[0][1], events[0][2]
        if not root_white and len(root_black) >= 2 and ha == 0:
            ha = len(root_black)
    g.handicap = ha if ha >= 2 else 0
    return g


def game_from_moves(size: int, moves, komi: float = DEFAULT_KOMI, handicap_stones=(),
                    name: str = "") -> Game:
    """A :class:`Game` built in memory (tests, self-play)."""
    events: list = []
    if handicap_stones:
        events.append(("setup", tuple(sorted(handicap_stones)), (), ()))
    for color, mv in _normalise_moves(moves, bool(handicap_stones)):
        events.append(("move", color, mv))
    return Game(name=name, size=size, komi=komi, handicap=len(handicap_stones),
                events=events)


# ---------------------------------------------------------------- replay
def _has_dead_string(board) -> bool:
    """True if some string has no liberty (an illegal set-up position); the
    board's own numba string labelling, not a second flood fill."""
    from gopolicy.go.rules_kernels import Strings

    strings = Strings(board.n)
    ns = strings.label(board.stones, board.nbr)
    return bool(ns) and int(strings.libs_of[:ns].min()) == 0


def replay(game: Game, superko: bool = False, board=None) -> Iterator[tuple]:
    """Play ``game`` on a fresh Board; yield ``(board, color, move, move_number)``
    with the board *before* each move (the live object: use it before the next
    iteration, do not mutate it). ``move_number`` is 1-based and counts passes.
    Raises SkipGame("illegal move", "illegal move at N (...)") or SkipGame("bad setup")."""
    from gopolicy.go.board import Board, IllegalMove

    if board is None:
        board = Board(game.size, komi=game.komi, superko=superko)
    number = 0
    for ev in game.events:
        if ev[0] == "setup":
            board.setup(ev[1], ev[2], ev[3])
            if _has_dead_string(board):
                raise SkipGame(BAD_SETUP, f"bad setup before move {number + 1}: string without liberties")
            continue
        _, color, mv = ev
        number += 1
        yield board, color, mv, number
        try:
            board.play(mv, color)
        except IllegalMove as exc:
            why = str(exc).removeprefix("illegal move ")
            raise SkipGame(ILLEGAL_MOVE, f"illegal move at {number}: {why}") from None


def replay_all(game: Game, superko: bool = False):
    """Replay to the end (validates the game); returns the final board."""
    board = None
    for board, _, _, _ in replay(game, superko=superko):
        pass
    return board   # replay() plays the last move before it finishes


# ---------------------------------------------------------------- writing
def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("]", "\\]")


def _format_komi(komi: float) -> str:
    return f"{float(komi):g}" if float(komi) != int(komi) else f"{int(komi)}"


def _normalise_moves(moves, handicap: bool):
    """Accept ``[(color, move), ...]`` or plain moves (alternating, Black first,
    or White first after handicap stones)."""
    out = []
    color = WHITE if handicap else BLACK
    for m in moves:
        if isinstance(m, (tuple, list)):
            c, mv = int(m[0]), int(m[1])
        else:
            c, mv = color, int(m)
        out.append((c, mv))
        color = BLACK if c == WHITE else WHITE
    return out


def write_sgf(path, size: int, komi: float, moves, black_name: str = "Black",
              white_name: str = "White", result: str = "", handicap_stones=(),
              date: str | None = None, extra: dict | None = None,
              comment: str | None = None, white_stones=()) -> str:
    """SGF text (FF[4] GM[1] SZ KM RU[Chinese] PB PW RE, passes as ``B[]``/``W[]``);
    written to ``path`` (UTF-8) unless it is None. ``handicap_stones`` are black
    setup stones (AB, with HA[n] unless there are white ones too),
    ``white_stones`` white setup stones (AW): a position set up with
    ``loadsgf`` or ``set_free_handicap`` is written as it stands."""
    props = [("GM", "1"), ("FF", "4"), ("CA", "UTF-8"), ("AP", "gopolicy"), ("SZ", str(size)),
             ("KM", _format_komi(komi)), ("RU", "Chinese"),
             ("PB", _escape(black_name)), ("PW", _escape(white_name))]
    if date:
        props.append(("DT", _escape(date)))
    if result:
        props.append(("RE", _escape(result)))
    for k, v in (extra or {}).items():
        props.append((k, _escape(v)))
    if comment:
        props.append(("C", _escape(comment)))
    head = "".join(f"{k}[{v}]" for k, v in props)
    if handicap_stones:
        head += ("" if white_stones else f"HA[{len(handicap_stones)}]") + "AB" + "".join(
            f"[{to_sgf(p, size)}]" for p in sorted(set(handicap_stones)))
    if white_stones:
        head += "AW" + "".join(f"[{to_sgf(p, size)}]" for p in sorted(set(white_stones)))
    parts = []
    for i, (c, mv) in enumerate(_normalise_moves(moves, bool(handicap_stones))):
        tag = "B" if c == BLACK else "W"
        parts.append(f";{tag}[{to_sgf(mv, size)}]")
        if i % 12 == 11:
            parts.append("\n")
    text = f"(;{head}\n{''.join(parts)})\n"
    if path is not None:
        path = os.fspath(path)
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        tmp = path + ".tmp"
        with io.open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    return text
