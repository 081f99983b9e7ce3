"""The Monte-Carlo tree search: positions the bare network gets wrong, visit
bookkeeping, tree reuse, the clock, passing and resigning."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest

from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp, to_gtp
from gopolicy.play.gtp_analysis import analysis_args
from gopolicy.play.gtp_engine import GtpEngine
from gopolicy.play.network_player import NetworkPlayer
from gopolicy.play.network_policy import NetworkPolicy, default_model_path
from gopolicy.play.search import SearchConfig, Searcher
from gopolicy.play.search.player import SearchPlayer
from gopolicy.play.time_control import TimeControl

needs_model = pytest.mark.skipif(not default_model_path().is_file(), reason="no bundled model")


@pytest.fixture(scope="module")
def net():
    return NetworkPolicy(None, device="cpu")


def settled(black_eye=("D4", "E4"), white_eye=("P16", "Q16"), to_move=BLACK) -> Board:
    """Black fills columns A-K, White L-T; each big group has one two-point eye
    (two liberties): a capturing race that the side to move wins by filling
    a point of the other's eye, and loses by filling its own."""
    g = np.zeros(361, int)
    cols = np.arange(361) % 19
    g[cols < 10] = BLACK
    g[cols >= 10] = WHITE
    for v in (*black_eye, *white_eye):
        g[from_gtp(v)] = 0
    b = Board(19, 7.5, superko=True)
    b.setup(black=np.flatnonzero(g == BLACK), white=np.flatnonzero(g == WHITE))
    b.to_move = to_move
    return b


# ---------------------------------------------------------------- finds what the network misses
@needs_model
@pytest.mark.parametrize("to_move,good", [(BLACK, {"P16", "Q16"}), (WHITE, {"D4", "E4"})])
def test_search_wins_the_capturing_race_the_network_loses(net, to_move, good):
    b = settled(to_move=to_move)
    p = net.sensible_probabilities(b)
    net_move = int(np.argmax(p))
    assert to_gtp(net_move) not in good               # the network fills its own eye
    s = Searcher(net, threads=1, seed=1)
    root = s.search(b, playouts=300)
    best = to_gtp(int(root.moves[s.chosen()]))     # the move played, network-move rule included
    assert best in good, best
    q = root.winrates()
    assert q[s.chosen()] > q[root.index_of(net_move)] + s.cfg.keep_network_move


def test_keeps_the_network_move_unless_clearly_worse():
    from gopolicy.play.search.tree import Node

    # edge 0: the network's move (top prior); edge 1: most visited
    def root(q_net, q_best, n_net=40):
        r = Node(np.array([10, 20, 30]), np.array([0.6, 0.3, 0.1]), BLACK)
        r.N[:] = [n_net, 60, 0]
        r.W[:] = [q_net * n_net, q_best * 60, 0]
        return r
    assert root(0.50, 0.55).best() == 1
    assert root(0.50, 0.55).choice(0.1) == 0           # within the margin: the network's
    assert root(0.50, 0.65).choice(0.1) == 1           # clearly better: the search's
    assert root(0.50, 0.55).choice(0.0) == 1           # rule off: most visited
    assert root(0.50, 0.55, n_net=0).choice(0.1) == 1  # never played an unvisited move
    fresh = Node(np.array([10, 20]), np.array([0.3, 0.7]), BLACK)
    assert fresh.choice(0.1) == fresh.best() == 1      # no visits yet: the top prior


@needs_model
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_genmove_without_playouts_plays_the_prior(precision):
    # A search cut to nothing (its second spent before the first playout, as when the
    # kernels compile on a cold start) still answers with the network's move: the top of
    # the root's prior, the 8-symmetry average. Run in both precisions on every CPU (bf16
    # emulated where not native), so that a CPU we don't have cannot fail it. Not on the
    # empty board: there the 8-symmetry average ties the four corners exactly, and
    # rounding alone picks one (the bf16 failure of issue 22).
    net = NetworkPolicy(None, device="cpu", precision=precision)
    b = Board(19, 7.5, superko=True)
    for gtp in ("D4", "Q16", "Q4"):
        b.play(from_gtp(gtp, 19))
    player = SearchPlayer(Searcher(net, threads=1), playouts=0, seconds=None)
    move = player.genmove(b, BLACK)
    assert player.last["visits"] == 0
    p8 = NetworkPolicy(None, device="cpu", precision=precision, symmetries=8).sensible_probabilities(b)
    assert move == int(np.argmax(p8)) == from_gtp("D16", 19)     # 0.43 against 0.19 for D17


def test_cpu_inference_defaults_to_fp32():
    # the same move on every CPU: "auto" inference is fp32 whatever the CPU runs natively
    assert NetworkPolicy("random:8:2", device="cpu").dev.precision == "fp32"
    assert NetworkPolicy("random:8:2", device="cpu", precision="bf16").dev.precision == "bf16"


def test_score_term_keeps_a_gradient_when_every_move_wins(net):
    # Black owns all but three columns: every rollout wins for Black, so win/loss
    # alone ranks all moves alike; the score term still tells them apart, while
    # the win rates the engine reports stay the plain ones.
    g = np.zeros(361, int)
    cols = np.arange(361) % 19
    g[cols <= 12] = BLACK
    g[cols >= 16] = WHITE
    g[(np.arange(361) // 19) % 4 == 1] *= (cols[(np.arange(361) // 19) % 4 == 1] % 4 != 1)
    b = Board(19, 7.5, superko=True)
    b.setup(black=np.flatnonzero(g == BLACK), white=np.flatnonzero(g == WHITE))
    s = Searcher(None, threads=1, seed=3, config=SearchConfig(expand_threshold=2))
    root = s.search(b, playouts=200)
    seen = root.N > 0
    assert np.all(root.W[seen] == root.N[seen])                     # all wins
    u = root.U[seen] / root.N[seen]
    assert u.max() - u.min() > 0.02 and u.max() < 1.0        # win/loss alone: 0
    assert s.root_winrate() == 1.0
    off = Searcher(None, threads=1, seed=3, config=SearchConfig(expand_threshold=2, score_weight=0.0))
    r0 = off.search(b, playouts=200)
    assert np.array_equal(r0.U, r0.W)


# ---------------------------------------------------------------- bookkeeping
@pytest.mark.parametrize("threads", [1, 2])
def test_visits_sum_to_playouts(net, threads):
    b = Board(19, 7.5, superko=True)
    b.play(from_gtp("Q16"))
    s = Searcher(net, threads=threads, config=SearchConfig(expand_threshold=2))
    root = s.search(b, playouts=200)
    assert root.N.sum() == 200 == s.stats.playouts
    assert not root.VL.any()
    for child in root.children.values():   # the expanding visit and the ones before it end at the edge
        i = next(k for k, c in root.children.items() if c is child)
        assert child.N.sum() == root.N[i] - s.cfg.expand_threshold or child.terminal is not None
    assert s.ownership() is not None and abs(s.ownership()).max() <= 1


def test_tree_reuse_keeps_the_subtree(net):
    b = Board(19, 7.5, superko=True)
    s = Searcher(net, threads=1)
    root = s.search(b, playouts=300)
    i = root.best()
    child = root.children[i]
    kept = child.visits
    assert kept > 0
    b.play(int(root.moves[i]))
    root2 = s.search(b, playouts=100)
    assert root2 is child and root2.visits == kept + 100
    b.play(from_gtp("K10") if b.is_legal(from_gtp("K10")) else from_gtp("K11"))
    b2 = Board(19, 7.5, superko=True)
    b2.play(from_gtp("C3"))                               # another game: a new tree
    assert s.search(b2, playouts=50).visits == 50


# ---------------------------------------------------------------- clock
def test_time_control_shares():
    tc = TimeControl()
    assert tc.budget(BLACK, 10) is None
    tc.set_canadian(0, 10, 5)                     # 10 s for 5 stones
    aim, hard = tc.budget(BLACK, 10)
    assert hard <= 2.0 - 0.3 and aim <= hard
    tc.set_left(BLACK, 3, 2)                      # 3 s for 2 stones
    assert tc.budget(BLACK, 11)[1] <= 1.5 - 0.3
    tc.set_kgs("absolute", [60])
    tc.set_left(WHITE, 20, 0)
    aim, hard = tc.budget(WHITE, 200)
    assert hard <= 5 and aim <= 20 / 20
    tc.set_kgs("byoyomi", [0, 5, 3])
    tc.set_left(BLACK, 5, 3)
    aim, hard = tc.budget(BLACK, 50)
    assert hard <= 5 - 0.3 and aim > 2
    tc.set_canadian(0, 5, 0)                      # byo-yomi without stones: no limit
    assert tc.budget(BLACK, 1) is None


def test_genmove_keeps_time_left(net):
    player = SearchPlayer(Searcher(net, threads=2), playouts=None, seconds=30)
    eng = GtpEngine(player, log=io.StringIO())
    for cmd in ("time_settings 0 2 1", "time_left b 2 1"):
        assert eng.handle_line(cmd) == "=\n\n"
    for color in "bw":
        t0 = time.perf_counter()
        r = eng.handle_line(f"genmove {color}")
        dt = time.perf_counter() - t0
        assert r.startswith("= ") and 0.4 < dt < 2.0, dt


# ---------------------------------------------------------------- passing, resigning
@needs_model
def test_passes_when_the_board_is_settled(net):
    # Black A-J with eyes, White K-T with eyes: nothing left to play.
    g = np.zeros(361, int)
    r, c = np.divmod(np.arange(361), 19)
    g[c <= 8] = BLACK
    g[c >= 9] = WHITE
    g[(r % 2 == 1) & (c % 2 == 1) & ((c <= 6) | (c >= 11))] = 0
    eng = GtpEngine(SearchPlayer(Searcher(net, threads=1), playouts=200, seconds=None), log=io.StringIO())
    eng.game.board.setup(black=np.flatnonzero(g == BLACK), white=np.flatnonzero(g == WHITE))
    eng.game.events.append(("setup", (), ()))
    assert eng.handle_line("genmove b") == "= pass\n\n"          # no open point left
    assert eng.handle_line("genmove w") == "= pass\n\n"          # opponent passed, White wins
    assert eng.handle_line("final_score") == "= W+26.5\n\n"    # 190 - 171 + 7.5
    assert eng.handle_line("final_status_list dead") == "=\n\n"


@needs_model
def test_resigns_only_when_lost_and_allowed(net):
    for threshold, want in ((0.1, True), (None, False)):
        player = SearchPlayer(Searcher(net, threads=1), playouts=200, seconds=None,
                              resign_threshold=threshold)
        eng = GtpEngine(player, log=io.StringIO())
        # Black lives on columns A-E, White on G-T, column F is dame: Black loses by 150.
        g = np.zeros(361, int)
        r, c = np.divmod(np.arange(361), 19)
        g[c <= 4] = BLACK
        g[c >= 6] = WHITE
        g[(r % 2 == 1) & (c % 2 == 1) & ((c <= 2) | (c >= 8))] = 0
        eng.game.board.setup(black=np.flatnonzero(g == BLACK), white=np.flatnonzero(g == WHITE))
        eng.game.events.append(("setup", (), ()))
        eng.game.board.move_count = 100
        replies = []
        for _ in range(3):
            replies.append(eng.handle_line("genmove b"))
            if replies[-1] == "= resign\n\n":
                break
            eng.handle_line("play w pass")
        assert (replies[-1] == "= resign\n\n") == want, replies
        assert len(replies) == 3          # never on the first low move: it must stay low


def engine_on_finished_board(net, white_c3: bool):
    """A finished game (Black A-J, White K-T, eyes everywhere) but for an empty 3x3
    area B2-D4 inside Black's side, with a dead white stone on C3 if ``white_c3``."""
    g = np.zeros(361, int)
    r, c = np.divmod(np.arange(361), 19)
    g[c <= 9] = BLACK
    g[c >= 10] = WHITE
    g[(r % 2 == 1) & (c % 2 == 1) & ((c <= 7) | (c >= 11))] = 0
    g[(r >= 1) & (r <= 3) & (c >= 1) & (c <= 3)] = 0
    if white_c3:
        g[from_gtp("C3")] = WHITE
    eng = GtpEngine(SearchPlayer(Searcher(net, threads=1), playouts=200, seconds=None), log=io.StringIO())
    eng.game.board.setup(black=np.flatnonzero(g == BLACK), white=np.flatnonzero(g == WHITE))
    eng.game.events.append(("setup", (), ()))
    return eng


@needs_model
def test_cleanup_captures_dead_stones(net):
    eng = engine_on_finished_board(net, white_c3=True)
    assert "C3" in eng.handle_line("final_status_list dead")
    c3 = from_gtp("C3")
    for _ in range(6):
        assert eng.handle_line("kgs-genmove_cleanup b").startswith("= ")
        if eng.game.board.stones[c3] == 0:
            break
        eng.handle_line("play w pass")
    assert eng.game.board.stones[c3] == 0


@needs_model
def test_answers_an_invasion_instead_of_passing(net):
    # White plays into Black's area: Black wins the count either way, yet a pass
    # would let White go on playing there (in the first GNU Go match we passed six
    # times in a row while GNU Go played on, and lost by 20.5).
    eng = engine_on_finished_board(net, white_c3=False)
    assert eng.handle_line("play w C3") == "=\n\n"
    assert eng.handle_line("genmove b") != "= pass\n\n"
    # After White's pass the count wins for Black with C3 dead: now Black passes.
    assert eng.handle_line("play w pass") == "=\n\n"
    assert eng.handle_line("genmove b") == "= pass\n\n"
    assert "C3" in eng.handle_line("final_status_list dead")
    assert eng.handle_line("final_score").startswith("= B+")


@needs_model
@pytest.mark.parametrize("tactics", [False, True])
def test_does_not_pass_on_a_count_in_doubt(net, tactics):
    # Game 25 of the 800-playout match against GNU Go level 10, after White's pass: the
    # policy's rollouts leave Black's 11-stone group at D1-K1 in doubt (mean ownership
    # +0.14), the plain count said B+42.5 and Black passed; GNU Go counts that group dead,
    # W+4.5. The playout tactics (the default) read it as GNU Go does.
    from pathlib import Path

    sgf = Path(__file__).resolve().parents[1] / "data/results/match_search800_gnugo_level10/game-025.sgf"
    text = sgf.read_text()
    assert text.rstrip().endswith(";W[];B[])")
    cfg = SearchConfig() if tactics else SearchConfig(playout_capture=0.0, playout_self_atari=0.0)
    eng = GtpEngine(SearchPlayer(Searcher(net, threads=1, seed=3, config=cfg), playouts=200, seconds=None,
                                 count_playouts=0), log=io.StringIO())
    assert eng.handle_line(f"loadsgf {sgf} 291").startswith("=")    # before Black's pass
    assert eng.game.board.to_move == BLACK and eng.game.board.moves[-1] == (WHITE, eng.game.board.n)
    count = eng.handle_line("final_score")
    assert count == "= W+4.5\n\n" if tactics else count.startswith("= B+")   # GNU Go's / the misread
    assert eng.handle_line("genmove b") != "= pass\n\n"


@needs_model
def test_network_count_only_confirms_a_pass(net):
    # The same position: the fast count in doubt loses for Black, so Black plays on
    # without asking the network's count (~8 s), which could only confirm a pass.
    from pathlib import Path

    sgf = Path(__file__).resolve().parents[1] / "data/results/match_search800_gnugo_level10/game-025.sgf"
    player = SearchPlayer(Searcher(net, threads=1, seed=3), playouts=100, seconds=None)
    eng = GtpEngine(player, log=io.StringIO())
    assert eng.handle_line(f"loadsgf {sgf} 291").startswith("=")
    assert eng.handle_line("genmove b") != "= pass\n\n"
    assert player._count_cache is None and player._count_seconds == 0.0


# GNU Go 3.8's `final_status_list dead` and `final_score` (--chinese-rules) on the final
# positions of two finished match games whose status the fast rollouts misread: game 25
# above (they call Black's D1-K1 group alive: B+42.5), game 15 of the --no-resign match
# (they call White's N5-T3 group dead: B+47.5).
GNUGO_COUNTS = {
    "match_search800_gnugo_level10/game-025.sgf": (
        "W+4.5", "H18 J18 H17 D17 E17 O15 B13 B12 H10 J9 G8 H8 D6 F4 F3 E2 F2 G2 H2 J2 D1 E1 J1 K1 "
        "O4 O3 A3 B2 P2 Q2 P1 R1"),
    "match_search800_gnugo_noresign/game-015.sgf": (
        "W+6.5", "M16 M15 G15 O15 N14 T14 T13 G10 G7 Q2 T2 S1"),
}


@pytest.mark.slow
@needs_model
@pytest.mark.parametrize("game", sorted(GNUGO_COUNTS))
def test_network_count_reads_the_groups_the_rollouts_misread(net, game):
    from pathlib import Path

    score, dead = GNUGO_COUNTS[game]
    sgf = Path(__file__).resolve().parents[1] / "data/results" / game
    # the policy's rollouts without the playout tactics (as in those games)
    no_tactics = SearchConfig(playout_capture=0.0, playout_self_atari=0.0)
    fast = GtpEngine(SearchPlayer(Searcher(net, threads=1, config=no_tactics), playouts=100, count_playouts=0),
                     log=io.StringIO())
    assert fast.handle_line(f"loadsgf {sgf}").startswith("=")
    assert fast.handle_line("final_score").startswith("= B+")      # the misread that cost the games
    eng = GtpEngine(SearchPlayer(Searcher(net, threads=1), playouts=100), log=io.StringIO())
    assert eng.handle_line(f"loadsgf {sgf}").startswith("=")
    assert eng.handle_line("final_score") == f"= {score}\n\n"
    ours = eng.handle_line("final_status_list dead")[2:].split()
    assert sorted(ours) == sorted(dead.split())


def test_network_count_only_with_time_for_it(net):
    player = SearchPlayer(Searcher(net, threads=1), playouts=100)
    assert player._net_count_ok(BLACK, 200)                    # no clock
    player.clock.set_canadian(0, 10, 25)                       # 10 s for 25 moves: 0.4 s a move
    assert not player._net_count_ok(BLACK, 200)
    player.clock.set_canadian(600, 30, 1)
    assert player._net_count_ok(BLACK, 10)


# ---------------------------------------------------------------- command line, analysis text
def test_budget_options():
    import argparse

    from gopolicy.commands.gtp_cmd import add_engine_arguments, make_engine

    pol = NetworkPolicy("random:8:2", device="cpu", seed=0)
    p = argparse.ArgumentParser()
    add_engine_arguments(p)

    def engine(*argv):
        return make_engine(p.parse_args(list(argv)), pol, io.StringIO())

    alone = engine("--playouts", "0", "--score-playouts", "32", "--resign").player   # the policy alone
    assert isinstance(alone, NetworkPlayer) and (alone.score_playouts, alone.allow_resign) == (32, True)
    d = engine().player
    assert isinstance(d, SearchPlayer)
    assert (d.playouts, d.seconds, d.searcher.threads, d.resign_threshold) == (1600, 1.0, 2, 0.10)
    assert d.count_playouts == 16 and engine("--count-playouts", "0").player.count_playouts == 0
    s = engine("--playouts", "50", "--threads", "1", "--no-resign").player
    assert (s.playouts, s.seconds, s.searcher.threads, s.resign_threshold) == (50, None, 1, None)
    t = engine("--time", "0.5", "--c-puct", "3", "--resign-threshold", "0.05").player
    assert (t.playouts, t.seconds, t.searcher.cfg.c_puct, t.resign_threshold) == (None, 0.5, 3.0, 0.05)
    u = engine("--search", "rave_equiv=0", "--search", "batch=4", "--search", "prior_eqex=250.5").player
    assert (u.searcher.cfg.rave_equiv, u.searcher.cfg.batch, u.searcher.cfg.prior_eqex) == (0.0, 4, 250.5)
    assert type(u.searcher.cfg.batch) is int
    for bad in ("nosuch=1", "batch=0", "batch=2.5", "c_puct=-1", "root_symmetries=4", "rave_equiv"):
        with pytest.raises(SystemExit):
            engine("--search", bad)


def test_info_lines_add_up(net):
    from gopolicy.play.search import analysis

    b = Board(19, 7.5, superko=True)
    s = Searcher(net, threads=1)
    root = s.search(b, playouts=120)
    line = analysis.info_line(root, 19, "lz", max_moves=400)
    infos = ["info" + x for x in line.split("info")[1:]]
    visits = [int(x.split()[4]) for x in infos]
    assert sum(visits) == 120 and visits == sorted(visits, reverse=True)
    first = infos[0].split()
    assert first[2] == to_gtp(int(root.moves[root.best()])) and first[first.index("order") + 1] == "0"
    kata = analysis.info_line(root, 19, "kata", ownership=s.ownership(), color=BLACK)
    assert "scoreLead" in kata and len(kata.split(" ownership ")[1].split()) == 361
    assert analysis_args(["b", "interval", "25", "ownership", "true"], WHITE) == (BLACK, 0.25, True)
    assert analysis_args(["50"], WHITE) == (WHITE, 0.5, False)
    assert analysis.gfx_pv(root, 19, BLACK).startswith("VAR b ")
    heat = analysis.visit_fractions(root, 361)
    assert abs(heat.sum() - 1 + root.N[-1] / 120) < 1e-9 and heat[root.moves[root.best()]] == heat.max()


def test_positional_superko_edge_is_removed(net):
    # Make the network's favourite move repeat an earlier position: the walk finds
    # it illegal, drops the edge, and never visits it.
    b = Board(19, 7.5, superko=True)
    b.play(from_gtp("Q16"))
    top = int(np.argmax(net.sensible_probabilities(b)))
    b.history.add(b._hash_after(top, b.to_move))
    assert not b.is_legal(top)
    root = Searcher(net, threads=1).search(b, playouts=100)
    i = root.index_of(top)
    assert i >= 0 and root.bad[i] and root.N[i] == 0 and root.visits == 100
