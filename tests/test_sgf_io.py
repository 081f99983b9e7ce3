"""SGF ingestion: parsing edge cases, skip reasons, archives, writing."""
from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest

from gopolicy.corpus.sgf import (
    SkipGame,
    iter_sources,
    parse_game,
    parse_komi,
    parse_rank,
    replay,
    replay_all,
    source_of,
    write_sgf,
)
from gopolicy.go.coords import BLACK, WHITE, from_gtp, pass_move, to_sgf

P = pass_move(19)


def pt(v: str) -> int:
    return from_gtp(v, 19)


def s(v: str) -> str:
    return to_sgf(pt(v), 19)


def skip_reason(data: bytes) -> str:
    """The reason a game is skipped, by parsing and replaying it."""
    try:
        replay_all(parse_game(data, "t.sgf"))
    except SkipGame as exc:
        return exc.reason
    return "ok"


# ---------------------------------------------------------------- parsing
def test_handicap_game_with_ab_in_root():
    g = parse_game(b"(;GM[1]FF[4]SZ[19]HA[2]KM[0.5]AB[dd][pp];W[dp];B[pd])", "h.sgf")
    assert g.handicap == 2
    assert g.events[0] == ("setup", tuple(sorted((pt("D16"), pt("Q4")))), (), ())
    assert g.moves == [(WHITE, pt("D4")), (BLACK, pt("Q16"))]
    assert g.handicap_stones == tuple(sorted((pt("D16"), pt("Q4"))))
    assert g.komi == 0.5
    # replay: handicap stones on the board before White's first move
    first = next(replay(g))
    board, color, move, number = first
    assert color == WHITE and move == pt("D4") and number == 1
    assert board.stones[pt("D16")] == BLACK and board.stones[pt("Q4")] == BLACK


def test_handicap_inferred_from_ab_without_ha():
    g = parse_game(b"(;SZ[19]AB[dd][pp][dp];W[pd])")
    assert g.handicap == 3


def test_setup_in_later_nodes_is_applied_in_order():
    data = f"(;SZ[19];B[{s('D4')}];W[{s('Q16')}];AB[{s('C3')}]AE[{s('D4')}];W[{s('R17')}])".encode()
    g = parse_game(data)
    kinds = [e[0] for e in g.events]
    assert kinds == ["move", "move", "setup", "move"]
    assert g.events[2] == ("setup", (pt("C3"),), (), (pt("D4"),))
    seen = {n: b.stones.copy() for b, c, m, n in replay(g)}
    assert seen[3][pt("D4")] == 0 and seen[3][pt("C3")] == BLACK    # before move 3: setup applied
    assert seen[2][pt("D4")] == BLACK


def test_passes_are_moves_and_counted_in_move_numbers():
    g = parse_game(b"(;SZ[19];B[dd];W[];B[tt];W[pp])")
    assert [m for _, m in g.moves] == [pt("D16"), P, P, pt("Q4")]
    got = [(c, m, n) for _, c, m, n in replay(g)]
    assert got == [(BLACK, pt("D16"), 1), (WHITE, P, 2), (BLACK, P, 3), (WHITE, pt("Q4"), 4)]


def test_only_the_main_line_of_variations():
    g = parse_game(b"(;SZ[19];B[dd](;W[pp];B[dp])(;W[pd]C[a variation]))")
    assert [m for _, m in g.moves] == [pt("D16"), pt("Q4"), pt("D4")]


def test_non_19_board_is_skipped():
    with pytest.raises(SkipGame) as e:
        parse_game(b"(;GM[1]SZ[9];B[ee];W[gg])")
    assert e.value.reason == "board size 9"
    with pytest.raises(SkipGame) as e:
        parse_game(b"(;GM[1]SZ[13];B[ee])")
    assert e.value.reason == "board size 13"


@pytest.mark.parametrize("data", [b"", b"garbage \x00\xff", b"(;B[dd", b"\x89PNG\r\n\x1a\n\x00\x00",
                                  b"(;SZ[19]", b")("])
def test_garbage_is_skipped_with_parse_error(data):
    with pytest.raises(SkipGame) as e:
        parse_game(data, "junk.sgf")
    assert e.value.reason == "parse error"


# Hand-written broken files: each maps to one stable reason; none crashes.
BROKEN = {
    b"": "parse error",
    b"\xff\xfe not sgf at all": "parse error",
    b"(;GM[1]SZ[9];B[ee];W[gg])": "board size 9",
    b"(;GM[1]SZ[abc];B[dd])": "bad board size",
    b"(;GM[1]SZ[19]PB[nobody])": "no moves",
    b"(;GM[1]SZ[19];W[];B[])": "no moves",
    b"(;GM[1]SZ[19];B[zz])": "bad move",
    b"(;GM[1]SZ[19];B[dd]W[pp])": "bad move",
    b"(;GM[1]SZ[19]AB[dd]AW[dd];B[pp])": "bad setup",
    b"(;GM[1]SZ[19]AB[aa]AW[ab][ba];B[pp])": "bad setup",          # black aa has no liberty
    b"(;GM[1]SZ[19];B[dd];W[dd])": "illegal move",                  # occupied
    b"(;GM[1]SZ[19]AW[ab][ba];B[aa])": "illegal move",              # suicide
    b"(;GM[3]SZ[19];B[dd];W[pp])": "not go",                        # GM[3] is chess
    b"(;GM[2]FF[4];B[dd])": "not go",                              # Othello
}


def _ko_game() -> bytes:
    # Black at B=(5,6) captures the white stone at A=(5,5); White retakes at once: ko.
    A, B = 5 * 19 + 5, 5 * 19 + 6
    black = [4 * 19 + 5, 6 * 19 + 5, 5 * 19 + 4]
    white = [4 * 19 + 6, 6 * 19 + 6, 5 * 19 + 7, A]
    ab = "".join(f"[{to_sgf(p)}]" for p in black)
    aw = "".join(f"[{to_sgf(p)}]" for p in white)
    return f"(;SZ[19]AB{ab}AW{aw};B[{to_sgf(B)}];W[{to_sgf(A)}])".encode()


def test_each_broken_file_gets_its_reason():
    for data, reason in BROKEN.items():
        assert skip_reason(data) == reason, data
    assert skip_reason(_ko_game()) == "illegal move"


def test_broken_files_in_a_directory_are_counted_not_fatal(tmp_path):
    for i, data in enumerate(BROKEN):
        (tmp_path / f"b{i:02d}.sgf").write_bytes(data)
    (tmp_path / "good.sgf").write_bytes(b"(;SZ[19];B[dd];W[pp])")
    counts = {}
    for name, data in iter_sources([tmp_path]):
        r = skip_reason(data)
        counts[r] = counts.get(r, 0) + 1
    want = {}
    for r in list(BROKEN.values()) + ["ok"]:
        want[r] = want.get(r, 0) + 1
    assert counts == want


def test_illegal_move_detail_names_the_move_number():
    with pytest.raises(SkipGame) as e:
        replay_all(parse_game(b"(;SZ[19];B[dd];W[pp];B[dd])"))
    assert e.value.reason == "illegal move"
    assert "at 3" in e.value.detail


def test_bad_utf8_in_player_names_never_crashes():
    g = parse_game(b"(;CA[UTF-8]SZ[19]PB[\xff\xfe\xfa]PW[Lee \xe2\x80]BR[9d];B[dd];W[pp])")
    assert isinstance(g.black_player, str) and isinstance(g.white_player, str)
    assert g.white_player.startswith("Lee")
    assert g.black_rank == 9
    # an unknown charset falls back to raw bytes
    g = parse_game(b"(;CA[no-such-codec]SZ[19]PB[\xe9l\xe8ve];B[dd])")
    assert g.black_player
    # GB18030 names without CA (Fox/Tygem style)
    g = parse_game("(;SZ[19]PB[柯洁];B[dd])".encode("gb18030"))
    assert g.black_player == "柯洁"
    g = parse_game("(;SZ[19]PB[柯洁];B[dd])".encode("utf-8"))
    assert g.black_player == "柯洁"


@pytest.mark.parametrize("raw,komi,ok", [
    (b"650", 6.5, True), (b"750", 7.5, True), (b"-650", -6.5, True), (b"375", 7.5, True),
    (b"6.5", 6.5, True), (b"0.50", 0.5, True), (b"0", 0.0, True), (b" 7,5 ", 7.5, True),
    (b"5.5pts", 5.5, True), (b"abc", 7.5, False), (b"", 7.5, True), (None, 7.5, True),
])
def test_komi_encodings(raw, komi, ok):
    assert parse_komi(raw) == (komi, ok)


def test_komi_in_games():
    assert parse_game(b"(;SZ[19]KM[650];B[dd])").komi == 6.5
    g = parse_game(b"(;SZ[19]KM[what];B[dd])")
    assert g.komi == 7.5 and "komi unparsable" in g.notes


@pytest.mark.parametrize("text,rank", [
    ("9d", 9), ("1d", 1), ("5k", -5), ("30k", -30), ("1p", 101), ("9p", 109), ("3d?", 3),
    ("P9段", 109), ("P1段", 101), ("9段", 9), ("18级", -18), ("5級", -5), ("9단", 9), ("3급", -3),
    ("2 dan", 2), ("4 kyu", -4), ("", 0), ("-", 0), ("?", 0), ("pro", 0), ("99d", 0),
])
def test_rank_parsing(text, rank):
    assert parse_rank(text) == rank


# ---------------------------------------------------------------- sources
def _make_tree(root):
    (root / "games" / "sub").mkdir(parents=True)
    (root / "games" / "a.sgf").write_bytes(b"(;SZ[19];B[dd])")
    (root / "games" / "sub" / "b.sgf").write_bytes(b"(;SZ[19];B[pp])")
    (root / "games" / "notes.txt").write_bytes(b"not a game")
    (root / "games" / "sub" / "C.SGF").write_bytes(b"(;SZ[19];B[dp])")


def _expected_members():
    return ["games/a.sgf", "games/sub/C.SGF", "games/sub/b.sgf"]


@pytest.mark.parametrize("kind", ["tar.gz", "tar.bz2", "zip"])
def test_archives_are_read_without_unpacking(tmp_path, kind):
    _make_tree(tmp_path)
    arch = tmp_path / f"coll.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(arch, "w") as zf:
            for m in ["games/a.sgf", "games/notes.txt", "games/sub/C.SGF", "games/sub/b.sgf"]:
                zf.write(tmp_path / m, m)
    else:
        with tarfile.open(arch, "w:" + kind.split(".")[1]) as tf:
            for m in ["games/a.sgf", "games/notes.txt", "games/sub/C.SGF", "games/sub/b.sgf"]:
                tf.add(tmp_path / m, m)
    got = list(iter_sources([arch]))
    assert [n for n, _ in got] == [f"coll.{kind}!{m}" for m in _expected_members()]
    assert got[0][1] == b"(;SZ[19];B[dd])"
    assert all(source_of(n) == "games" for n, _ in got)
    # member without a directory: the source is the archive's stem
    assert source_of(f"kgs_train.{kind}!x.sgf") == "kgs_train"


def test_directory_is_read_recursively_in_sorted_order(tmp_path):
    _make_tree(tmp_path)
    got = list(iter_sources([tmp_path / "games"]))
    names = [str((tmp_path / m)) for m in ["games/a.sgf", "games/sub/C.SGF", "games/sub/b.sgf"]]
    assert [n for n, _ in got] == names
    assert source_of(names[0]) == "games" and source_of(names[1]) == "sub"
    # a single file
    assert [n for n, _ in iter_sources(str(tmp_path / "games" / "a.sgf"))] == [names[0]]


def test_missing_input_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(iter_sources([tmp_path / "nope.sgf"]))


def test_source_names():
    assert source_of("kgs_train.tar.gz!kgs/KGS2001/x.sgf") == "kgs"
    assert source_of("/x/y/data/selfplay/g.sgf") == "selfplay"


# ---------------------------------------------------------------- writing
def test_write_sgf_round_trip(tmp_path):
    moves = [(WHITE, pt("D4")), (BLACK, pt("Q3")), (WHITE, P), (BLACK, pt("A1")),
             (WHITE, pt("T19")), (BLACK, P), (WHITE, P)]
    hcap = (pt("D16"), pt("Q4"))
    path = tmp_path / "out" / "g.sgf"
    text = write_sgf(path, 19, 6.5, moves, black_name="Bl]ack \\ 黑", white_name="White",
                     result="W+3.5", handicap_stones=hcap)
    assert path.read_text(encoding="utf-8") == text
    for prop in ("FF[4]", "GM[1]", "SZ[19]", "KM[6.5]", "RU[Chinese]", "RE[W+3.5]", "HA[2]",
                 "PW[White]", ";W[]", ";B[]"):
        assert prop in text
    g = parse_game(path.read_bytes(), str(path))
    assert g.size == 19 and g.komi == 6.5 and g.handicap == 2
    assert g.black_player == "Bl]ack \\ 黑" and g.white_player == "White"
    assert g.result == "W+3.5"
    assert g.moves == moves
    assert g.events[0] == ("setup", tuple(sorted(hcap)), (), ())
    replay_all(g)


def test_write_sgf_plain_move_list_alternates():
    text = write_sgf(None, 19, 7.5, [pt("D4"), pt("Q16"), P], result="?")
    g = parse_game(text.encode())
    assert g.moves == [(BLACK, pt("D4")), (WHITE, pt("Q16")), (BLACK, P)]
    assert "KM[7.5]" in text


def test_shipped_games_parse_and_replay(shipped_sgf_files):
    assert len(shipped_sgf_files) >= 8
    handicap = 0
    for path in shipped_sgf_files:
        g = parse_game(path.read_bytes(), str(path))
        assert g.size == 19 and g.num_moves > 50
        assert g.source == "selfplay"
        handicap += g.handicap > 0
        replay_all(g)
    assert handicap >= 2


def test_undecodable_member_and_file_names(tmp_path):
    arch = tmp_path / "odd.tar.gz"
    data = b"(;SZ[19];B[dd])"
    with tarfile.open(arch, "w:gz", encoding="utf-8", errors="surrogateescape") as tf:
        info = tarfile.TarInfo(b"games/\xff\xfeodd.sgf".decode("utf-8", "surrogateescape"))
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (name, got), = list(iter_sources([arch]))
    assert got == data
    name.encode("utf-8")                     # printable / JSON-safe
    assert name.startswith("odd.tar.gz!games/")
    d = tmp_path / "dir"
    d.mkdir()
    odd = os.path.join(os.fsencode(d), b"\xff\xfe.sgf")
    with open(odd, "wb") as f:
        f.write(data)
    (name, got), = list(iter_sources([d]))
    assert got == data
    name.encode("utf-8")


# ---------------------------------------------------------------- one parser for loadsgf too
def test_game_type_must_be_go():
    for ok in (b"(;SZ[19];B[dd])", b"(;GM[1]SZ[19];B[dd])", b"(;GM[ 1 ]SZ[19];B[dd])"):
        assert parse_game(ok).num_moves == 1
    with pytest.raises(SkipGame) as e:
        parse_game(b"(;GM[3]SZ[8];B[dd])")
    assert e.value.reason == "not go" and "GM[3]" in e.value.detail


def test_position_without_moves_only_when_asked():
    data = f"(;GM[1]SZ[19]KM[0.5]AB[{s('D4')}][{s('Q16')}]AW[{s('K10')}];B[];W[])".encode()
    with pytest.raises(SkipGame) as e:
        parse_game(data)
    assert e.value.reason == "no moves"
    g = parse_game(data, require_moves=False)
    assert g.komi == 0.5 and g.moves == [(BLACK, P), (WHITE, P)]
    assert g.events[0] == ("setup", tuple(sorted((pt("D4"), pt("Q16")))), (pt("K10"),), ())
    g = parse_game(b"(;SZ[9])", require_size=None, require_moves=False)
    assert g.size == 9 and g.events == []
    # other problems are still reported
    with pytest.raises(SkipGame) as e:
        parse_game(b"(;SZ[19]AB[dd]AW[dd])", require_moves=False)
    assert e.value.reason == "bad setup"


def test_write_sgf_white_setup_stones_round_trip():
    black, white = (pt("D4"), pt("Q16")), (pt("K10"), pt("C3"))
    moves = [(WHITE, pt("R4")), (BLACK, P)]
    text = write_sgf(None, 19, 7.5, moves, handicap_stones=black, white_stones=white)
    assert "HA[" not in text                 # a set-up position, not a handicap game
    g = parse_game(text.encode())
    assert g.events[0] == ("setup", tuple(sorted(black)), tuple(sorted(white)), ())
    assert g.moves == moves and g.handicap == 0
    # white stones alone
    g = parse_game(write_sgf(None, 19, 7.5, [(BLACK, pt("D4"))], white_stones=white).encode())
    assert g.events[0] == ("setup", (), tuple(sorted(white)), ())
    # sgfmill, independently, sees the same position
    from sgfmill import sgf

    root = sgf.Sgf_game.from_bytes(text.encode()).get_root()
    bp, wp, _ = root.get_setup_stones()
    assert sorted(r * 19 + c for r, c in bp) == sorted(black)
    assert sorted(r * 19 + c for r, c in wp) == sorted(white)


def test_dead_string_check_agrees_with_sgfmill():
    """The setup check (the board's numba string labelling) against sgfmill's
    own group finder, on random stone patterns of every density."""
    import random

    from sgfmill import boards

    from gopolicy.corpus.sgf import has_dead_string
    from gopolicy.go.board import Board

    rng = random.Random(7)
    dead_seen = alive_seen = 0
    for trial in range(300):
        size = rng.choice((5, 9, 19))
        fill = rng.random()
        b = Board(size)
        ref = boards.Board(size)
        bl, wh = [], []
        for p in range(size * size):
            if rng.random() < fill:
                (bl if rng.random() < 0.5 else wh).append(p)
        b.setup(bl, wh)
        for pts, col in ((bl, "b"), (wh, "w")):
            for p in pts:
                ref.board[p // size][p % size] = col
        want = any(ref._make_group(r, c, ref.board[r][c]).is_surrounded
                   for r in range(size) for c in range(size) if ref.board[r][c] is not None)
        assert has_dead_string(b) == want, (size, bl, wh)
        dead_seen += want
        alive_seen += not want
    assert dead_seen > 30 and alive_seen > 30
