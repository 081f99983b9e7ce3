"""SGF games: parsing (with sgfmill), replay and writing.

* :func:`parse_game` turns SGF bytes into a :class:`Game` (main line only) or
  raises :class:`SkipGame` with a short, stable ``reason``.
* :func:`replay` plays a game on a :class:`gopolicy.go.board.Board`, yielding the
  position before every move.
* :func:`write_sgf` writes the games the project plays (GTP engine, matches,
  self-play data).
* Where the bytes come from (files, folders, archives: :func:`iter_sources`,
  :func:`scan_archive`, ...) is :mod:`gopolicy.corpus.sgf_sources`; its public
  names are re-exported here, so ``sgf.iter_sources`` keeps working.

Points are flat indices ``row * size + col`` with sgfmill's rows (row 0 = the
bottom line), moves are points or ``size * size`` for a pass (gopolicy.go.coords).
"""
from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass, field
from typing import Iterator

from sgfmill import sgf_grammar, sgf_properties

from gopolicy.corpus.sgf_sources import (
    ARCHIVE_SUFFIXES,
    BAD_ARCHIVE,
    BAD_MOVE,
    BAD_SETUP,
    BAD_SIZE,
    DEFAULT_MAX_FILE_BYTES,
    ILLEGAL_MOVE,
    NO_MOVES,
    NOT_GO,
    PARSE_ERROR,
    READ_ERROR,
    SGF_SUFFIX,
    TOO_LARGE,
    SkipGame,
    SourceSkipped,
    clean_name,
    expand_inputs,
    is_archive,
    iter_archive,
    iter_sources,
    read_file_capped,
    scan_archive,
    source_of,
)
from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, WHITE, to_sgf
from gopolicy.go.rules_kernels import Strings

__all__ = [
    # this module's
    "DEFAULT_KOMI", "Game", "decode_text", "game_from_moves", "parse_game", "parse_komi", "parse_rank",
    "replay", "replay_all", "write_sgf",
    # gopolicy.corpus.sgf_sources's, re-exported
    "ARCHIVE_SUFFIXES", "BAD_ARCHIVE", "BAD_MOVE", "BAD_SETUP", "BAD_SIZE", "DEFAULT_MAX_FILE_BYTES",
    "ILLEGAL_MOVE", "NO_MOVES", "NOT_GO", "PARSE_ERROR", "READ_ERROR", "SGF_SUFFIX", "TOO_LARGE", "SkipGame",
    "SourceSkipped", "clean_name", "expand_inputs", "is_archive", "iter_archive", "iter_sources",
    "read_file_capped", "scan_archive", "source_of",
]

DEFAULT_KOMI = 7.5


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
    raw = root_props.get("CA")
    if not raw:
        return "ISO-8859-1"
    name = raw[0].decode("ascii", "replace").strip()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "ISO-8859-1"


def _text(props: dict, ident: str, encoding: str) -> str:
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
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        coarse = sgf_grammar.parse_sgf_game(data)
    except Exception as exc:
        raise SkipGame(PARSE_ERROR, f"parse error: {str(exc)[:60]}") from None
    root = coarse.sequence[0] if coarse.sequence else {}
    size = _board_size(root, require_size)
    g = Game(name=name, size=size, source=source_of(name) if name else "")
    ha = _read_header(g, root, _charset(root))
    events, n_real_moves = _main_line_events(coarse, size)
    if n_real_moves == 0 and require_moves:
        raise SkipGame(NO_MOVES)
    g.events = events
    g.handicap = _handicap(events, ha)
    return g


def _board_size(root: dict, require_size: int | None) -> int:
    """The board size of a Go game's root node, or SkipGame (another game, a bad
    or unwanted size)."""
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
    return size


def _read_header(g: Game, root: dict, encoding: str) -> int:
    """Players, ranks, result and komi of the root node into ``g``; returns the
    HA[] handicap (0 when absent or unparsable: a note says which)."""
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
        return int(float(ha_text)) if ha_text else 0
    except ValueError:
        g.notes.append("handicap unparsable")
        return 0


def _main_line_events(coarse, size: int) -> tuple[list, int]:
    """The main line's setup and move events (see :class:`Game`), and how many
    moves are not passes."""
    ctx = sgf_properties._Context(size, "UTF-8")
    interpret_point = sgf_properties.interpret_go_point
    pmove = size * size
    events: list = []
    n_moves = 0
    n_real_moves = 0
    for props in _main_line(coarse):
        if "AB" in props or "AW" in props or "AE" in props:
            events.append(_setup_event(props, ctx, size))
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
    return events, n_real_moves


def _setup_event(props: dict, ctx, size: int) -> tuple:
    """``("setup", black, white, empty)`` of a node's AB/AW/AE, or SkipGame."""
    interpret_list = sgf_properties.interpret_point_list
    try:
        bp = interpret_list(props.get("AB", []), ctx)
        wp = interpret_list(props.get("AW", []), ctx)
        ep = interpret_list(props.get("AE", []), ctx)
    except Exception:
        raise SkipGame(BAD_SETUP, "bad setup: malformed point") from None
    if (bp & wp) or (bp & ep) or (wp & ep):
        raise SkipGame(BAD_SETUP, "bad setup: point in two of AB/AW/AE")
    return ("setup", _flat_points(bp, size), _flat_points(wp, size), _flat_points(ep, size))


def _handicap(events: list, ha: int) -> int:
    """HA[], or the number of black root stones when HA[] is absent (a handicap
    game written with AB only); 0 below 2."""
    if events and events[0][0] == "setup":
        root_black, root_white = events[0][1], events[0][2]
        if not root_white and len(root_black) >= 2 and ha == 0:
            ha = len(root_black)
    return ha if ha >= 2 else 0


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
def has_dead_string(board) -> bool:
    """True if some string has no liberty (an illegal set-up position); the
    board's own numba string labelling, not a second flood fill."""
    strings = Strings(board.n)
    ns = strings.label(board.stones, board.nbr)
    return bool(ns) and int(strings.libs_of[:ns].min()) == 0


def replay(game: Game, superko: bool = False, board=None) -> Iterator[tuple]:
    """Play ``game`` on a fresh Board; yield ``(board, color, move, move_number)``
    with the board *before* each move (the live object: use it before the next
    iteration, do not mutate it). ``move_number`` is 1-based and counts passes.
    Raises SkipGame("illegal move", "illegal move at N (...)") or SkipGame("bad setup")."""
    if board is None:
        board = Board(game.size, komi=game.komi, superko=superko)
    number = 0
    for ev in game.events:
        if ev[0] == "setup":
            board.setup(ev[1], ev[2], ev[3])
            if has_dead_string(board):
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
