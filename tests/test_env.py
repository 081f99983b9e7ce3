"""GoEnv (gopolicy/Go-v0): spaces, masks, game end, rewards, illegal actions,
ko/superko, seeding, rendering, gymnasium's checker, vector envs, and the
random, GTP (GNU Go) and policy-network opponents."""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gopolicy.envs
from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, WHITE, from_gtp
from gopolicy.play.env import GoEnv


def mv(v: str, size: int) -> int:
    return from_gtp(v, size)


def random_action(info: dict, rng: np.random.Generator, allow_pass: bool = True) -> int:
    mask = info["action_mask"].copy()
    if not allow_pass and mask[:-1].any():
        mask[-1] = 0
    return int(rng.choice(np.flatnonzero(mask)))


class Passer:
    """An opponent that always passes."""

    def select(self, board, color):
        return board.n


# ------------------------------------------------------------------ registration, spaces
def test_registered_and_reimport_is_harmless():
    assert "gopolicy/Go-v0" in gym.registry
    assert gym.registry["gopolicy/Go-v0"].entry_point == "gopolicy.play.env:GoEnv"
    importlib.reload(gopolicy.envs)  # registering twice must not fail
    env = gym.make("gopolicy/Go-v0", size=9, observation="board", komi=6.5)
    assert isinstance(env.unwrapped, GoEnv) and env.unwrapped.komi == 6.5
    env.close()


@pytest.mark.slow
def test_import_gopolicy_leaves_gymnasium_alone_and_make_finds_the_env():
    # registration is gymnasium's job on demand ("module:id"), not a side effect of `import gopolicy`
    code = ("import sys, gopolicy; assert 'gymnasium' not in sys.modules, 'imported gymnasium'; "
            "import gymnasium as gym; env = gym.make('gopolicy.envs:gopolicy/Go-v0', size=9); "
            "print(type(env.unwrapped).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "GoEnv", out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["planes", "board", "both"])
def test_spaces_and_dtypes(mode):
    env = GoEnv(size=9, observation=mode)
    assert env.action_space == gym.spaces.Discrete(82)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    planes = obs["planes"] if mode == "both" else obs if mode == "planes" else None
    board = obs["board"] if mode == "both" else obs if mode == "board" else None
    if planes is not None:
        assert planes.shape == (48, 9, 9) and planes.dtype == np.uint8
        assert (planes[2] == 1).all() and (planes[3] == 1).all()  # empty, ones
    if board is not None:
        assert board.shape == (9, 9) and board.dtype == np.int8
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].shape == (82,)
    assert info["to_play"] == BLACK and info["move_count"] == 0
    obs, r, term, trunc, info = env.step(mv("C3", 9))
    assert env.observation_space.contains(obs)
    if board is not None:
        b = obs["board"] if mode == "both" else obs
        assert b[2, 2] == 1 and b.sum() == 1  # [row, col], row 0 = line 1
        obs, *_ = env.step(mv("D4", 9))
        b = obs["board"] if mode == "both" else obs
        assert b[3, 3] == -1
    assert (r, term, trunc) == (0.0, False, False)


def test_default_is_19x19_planes():
    env = GoEnv()
    obs, info = env.reset()
    assert obs.shape == (48, 19, 19) and env.action_space.n == 362
    assert env.komi == 7.5 and env.max_moves == 2 * 361


def test_bad_options_rejected():
    for kw in ({"observation": "pixels"}, {"illegal_action": "ignore"}, {"opponent": "nobody"},
               {"agent_color": "red"}, {"size": 25}, {"render_mode": "human"}):
        with pytest.raises(ValueError):
            GoEnv(**{"size": 9, **kw})


# ------------------------------------------------------------------ masks
def test_mask_matches_board_legal_mask():
    env = GoEnv(size=7, observation="board", opponent="random", max_moves=400)
    rng = np.random.default_rng(101)
    obs, info = env.reset(seed=1)
    checked_illegal = 0
    for _ in range(150):
        b = env.unwrapped.board
        expect = b.legal_mask(b.to_move)
        np.testing.assert_array_equal(info["action_mask"], expect.astype(np.int8))
        np.testing.assert_array_equal(env.action_masks(), expect)
        assert env.action_masks().dtype == bool
        assert info["action_mask"][-1] == 1
        occupied = np.flatnonzero(b.stones != 0)
        assert not info["action_mask"][occupied].any()
        checked_illegal += int((info["action_mask"][:-1] == 0).sum())
        obs, r, term, trunc, info = env.step(random_action(info, rng, allow_pass=False))
        if term or trunc:
            obs, info = env.reset()
    assert checked_illegal > 100


# ------------------------------------------------------------------ end of game
def test_two_passes_end_the_game_reward_for_the_mover():
    env = GoEnv(size=9, observation="board")  # opponent None: self-play
    env.reset(seed=0)
    _, r, term, trunc, info = env.step(81)
    assert (r, term, trunc) == (0.0, False, False) and "score" not in info
    _, r, term, trunc, info = env.step(81)
    assert term and not trunc
    assert info["score"] == -7.5 and info["winner"] == WHITE
    assert r == 1.0  # White just moved and wins on komi
    with pytest.raises(RuntimeError):
        env.step(81)


def test_pass_then_move_does_not_end():
    env = GoEnv(size=9, observation="board")
    env.reset()
    env.step(81)
    env.step(mv("E5", 9))
    _, _, term, _, _ = env.step(81)
    assert not term


def test_truncation_after_max_moves():
    env = GoEnv(size=9, observation="board", max_moves=5)
    env.reset()
    for i, v in enumerate(["C3", "D4", "E5", "F6"]):
        _, r, term, trunc, _ = env.step(mv(v, 9))
        assert not (term or trunc)
    _, r, term, trunc, info = env.step(mv("G7", 9))
    assert trunc and not term and r == 0.0
    assert info["move_count"] == 5 and "score" in info


def test_truncation_counts_opponent_moves():
    env = GoEnv(size=9, observation="board", opponent="random", max_moves=6)
    _, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for step in range(3):
        _, _, term, trunc, info = env.step(random_action(info, rng, allow_pass=False))
        if term or trunc:
            break
    assert trunc and info["move_count"] == 6 and step == 2


BLACK_AHEAD = """
    . . . X O
    . . . X O
    . . . X O
    . . . X O
    . . . X O
"""  # Black 20 points, White 5: Black +15 before komi


@pytest.mark.parametrize("komi, agent, expect", [
    (7.5, "black", 1.0), (7.5, "white", -1.0), (15.0, "black", 0.0), (20.5, "black", -1.0)])
def test_reward_signs_on_a_hand_made_position(komi, agent, expect):
    env = GoEnv(size=5, komi=komi, observation="board", opponent=Passer(), agent_color=agent)
    _, info = env.reset(options={"diagram": BLACK_AHEAD})
    # As White the passing opponent (Black) moved first.
    assert info["to_play"] == (BLACK if agent == "black" else WHITE)
    _, r, term, trunc, info = env.step(25)
    assert term and not trunc
    assert info["score"] == 15.0 - komi
    assert r == expect


def test_self_play_reward_is_from_the_movers_side():
    env = GoEnv(size=5, observation="board")
    env.reset(options={"diagram": BLACK_AHEAD, "to_play": "white"})
    env.step(25)  # White passes
    _, r, term, _, info = env.step(25)  # Black passes: Black moved, Black wins
    assert term and info["winner"] == BLACK and r == 1.0
    env.reset(options={"diagram": BLACK_AHEAD})
    env.step(25)
    _, r, term, _, _ = env.step(25)  # White moved last and lost
    assert term and r == -1.0


# ------------------------------------------------------------------ illegal actions
def test_illegal_action_raises_with_vertex_and_reason():
    env = GoEnv(size=9, observation="board")
    env.reset()
    env.step(mv("E5", 9))
    with pytest.raises(ValueError, match=r"E5.*occupied"):
        env.step(mv("E5", 9))
    with pytest.raises(IllegalMove):
        env.step(mv("E5", 9))
    # The failed step changed nothing: White is still to move.
    assert env.unwrapped.board.to_move == WHITE and env.unwrapped.board.move_count == 1
    with pytest.raises(ValueError, match="outside"):
        env.step(82)


def test_illegal_action_lose():
    env = GoEnv(size=5, observation="board", illegal_action="lose", opponent="random")
    env.reset(seed=0, options={"diagram": """
        . O . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .
    """})
    _, r, term, trunc, info = env.step(mv("A5", 5))  # suicide
    assert term and not trunc and r == -1.0
    assert info["winner"] == WHITE and "suicide" in info["illegal_move"] and "A5" in info["reason"]
    env = GoEnv(size=5, observation="board", illegal_action="lose")
    env.reset()
    with pytest.raises(ValueError, match="outside"):  # not a move at all: still an error
        env.step(-1)


def test_illegal_action_lose_self_play_penalises_the_mover():
    env = GoEnv(size=9, observation="board", illegal_action="lose")
    env.reset()
    env.step(mv("E5", 9))
    _, r, term, _, info = env.step(mv("E5", 9))  # White plays on Black's stone
    assert term and r == -1.0 and info["winner"] == BLACK


# ------------------------------------------------------------------ ko and superko
KO = """
    . . . . .
    . X O . .
    X O . O .
    . X O . .
    . . . . .
"""


def test_simple_ko():
    env = GoEnv(size=5, observation="board")
    _, info = env.reset(options={"diagram": KO})
    _, _, _, _, info = env.step(mv("C3", 5))  # Black captures B3
    assert info["action_mask"][mv("B3", 5)] == 0
    with pytest.raises(ValueError, match=r"B3.*ko"):
        env.step(mv("B3", 5))
    env.step(mv("E5", 5))  # White threat
    _, _, _, _, info = env.step(mv("E1", 5))  # Black answers
    assert info["action_mask"][mv("B3", 5)] == 1
    obs, *_ = env.step(mv("B3", 5))  # White retakes
    assert obs[2, 2] == 0 and obs[2, 1] == -1


def _superko_board() -> Board:
    """The ko position with a history that makes White's retake a repetition:
    KO (Black to move) was seen, then the setup edit that 'captures' B3.
    Simple ko does not forbid the retake (no ko point after a setup);
    positional superko does (it recreates KO)."""
    b = Board.from_diagram(KO, komi=7.5)
    b.setup(black=[mv("C3", 5)], empty=[mv("B3", 5)])
    b.to_move = WHITE
    return b


@pytest.mark.parametrize("superko", [False, True])
def test_superko_option(superko):
    env = GoEnv(size=5, observation="board", superko=superko)
    _, info = env.reset(options={"board": _superko_board()})
    retake = mv("B3", 5)
    assert info["action_mask"][retake] == (0 if superko else 1)
    if superko:
        with pytest.raises(ValueError, match="superko"):
            env.step(retake)
    else:
        obs, *_ = env.step(retake)
        assert obs[2, 2] == 0


# ------------------------------------------------------------------ seeding
def _play_random_game(seed: int, steps: int = 40):
    env = GoEnv(size=9, observation="board", opponent="random")
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng([seed, 1])  # not the env's own stream
    trace = [obs.copy()]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(random_action(info, rng))
        trace.append(obs.copy())
        if term or trunc:
            break
    return np.stack(trace)


def test_seeded_reset_reproduces_opponent():
    a, b = _play_random_game(7), _play_random_game(7)
    np.testing.assert_array_equal(a, b)
    c = _play_random_game(8)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_reset_seed_then_unseeded_resets_continue_the_stream():
    env = GoEnv(size=9, observation="board", opponent="random", agent_color="white")
    firsts = []
    for seed in (5, None, None):
        obs, _ = env.reset(seed=seed)
        firsts.append(obs.copy())
    env2 = GoEnv(size=9, observation="board", opponent="random", agent_color="white")
    again = [env2.reset(seed=s)[0] for s in (5, None, None)]
    for x, y in zip(firsts, again):
        np.testing.assert_array_equal(x, y)
    assert all(np.abs(x).sum() == 1 for x in firsts)  # the opponent (Black) moved first


# ------------------------------------------------------------------ rendering
def test_render_ansi():
    env = GoEnv(size=9, observation="board", render_mode="ansi")
    env.reset()
    env.step(mv("C3", 9))
    env.step(mv("G7", 9))
    text = env.render()
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0].split() == list("ABCDEFGHJ")
    assert lines[1].split()[0] == "9" and lines[9].split()[0] == "1"
    assert lines[7].split()[3] == "X"          # C3: row "3", third column
    assert "(O)" in lines[3]                   # G7, last move marked
    assert "black to play" in text


def test_render_rgb_array():
    env = GoEnv(size=9, observation="board", render_mode="rgb_array")
    env.reset()
    env.step(mv("C3", 9))
    env.step(mv("G7", 9))
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    h, w, _ = img.shape
    assert h == w == 32 * 10
    cell = h // 10

    def px(r, c, dy=0, dx=0):  # centre pixel of board point (row, col)
        return img[cell * (9 - r) + dy, cell * (c + 1) + dx].astype(int)

    assert px(2, 2).max() < 60                     # black stone at C3
    assert (px(6, 6, 0, cell // 3) > 200).all()     # white stone at G7 (off the marker)
    r, g, b = px(6, 6)
    assert r > 180 and g < 80 and b < 80           # red last-move marker
    wood = img[cell // 2, cell // 2].astype(int)   # margin
    assert wood[0] > wood[2] + 60                  # brownish
    assert px(4, 4).max() < 80                      # tengen star point (dark)
    mid = img[cell * 5 + cell // 2, cell * 3 + cell // 2].astype(int)  # between lines
    assert mid[0] > 150
    env2 = GoEnv(size=9, observation="board", render_mode="rgb_array")
    env2.reset()
    env2.step(mv("C3", 9))
    env2.step(mv("G7", 9))
    np.testing.assert_array_equal(img, env2.render())


def test_render_19x19_size_and_no_mode():
    env = GoEnv(size=19, observation="board", render_mode="rgb_array")
    env.reset()
    assert env.render().shape == (480, 480, 3)
    env = GoEnv(size=9, observation="board")
    env.reset()
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


# ------------------------------------------------------------------ gymnasium tooling
@pytest.mark.parametrize("mode, render", [("planes", "rgb_array"), ("board", "ansi"), ("both", None)])
def test_check_env(mode, render):
    env = gym.make("gopolicy/Go-v0", size=9, observation=mode, render_mode=render)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_check_env_19_with_random_opponent():
    env = gym.make("gopolicy/Go-v0", observation="planes", opponent="random",
                   render_mode="rgb_array")
    check_env(env.unwrapped)
    env.close()


def _vector_rollout(venv, steps, seed):
    rng = np.random.default_rng(seed)
    obs, info = venv.reset(seed=seed)
    assert obs.shape == (venv.num_envs, 9, 9) and obs.dtype == np.int8
    assert info["action_mask"].shape == (venv.num_envs, 82)
    ends = 0
    for _ in range(steps):
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
        obs, r, term, trunc, info = venv.step(acts)
        assert obs.shape == (venv.num_envs, 9, 9)
        ends += int((term | trunc).sum())
    return ends


def test_sync_vector_env():
    venv = gym.vector.SyncVectorEnv(
        [lambda: gym.make("gopolicy/Go-v0", size=9, observation="board", opponent="random",
                          max_moves=30) for _ in range(3)])
    assert _vector_rollout(venv, 40, 0) >= 3  # episodes truncated and auto-reset
    venv.close()


def test_async_vector_env():
    venv = gym.make_vec("gopolicy/Go-v0", num_envs=2, vectorization_mode="async",
                        size=9, observation="board", opponent="random", max_moves=20)
    try:
        assert _vector_rollout(venv, 25, 1) >= 2
    finally:
        venv.close()


# ------------------------------------------------------------------ opponents
class Scripted:
    """An opponent that plays a fixed list of moves (then passes)."""

    def __init__(self, moves):
        self.moves = list(moves)

    def select(self, board, color):
        return self.moves.pop(0) if self.moves else board.n


def test_opponent_resignation_and_illegal_move_forfeit():
    from gopolicy.play.env import RESIGN

    env = GoEnv(size=9, observation="board", opponent=Scripted([mv("E5", 9), RESIGN]))
    env.reset()
    _, r, term, _, info = env.step(mv("C3", 9))
    assert not term and info["opponent_move"] == mv("E5", 9)
    _, r, term, _, info = env.step(mv("D4", 9))
    assert term and r == 1.0 and info["winner"] == BLACK and "resigned" in info["reason"]

    env = GoEnv(size=9, observation="board", opponent=Scripted([mv("C3", 9)] * 2),
                agent_color="white")
    _, info = env.reset()
    with pytest.warns(RuntimeWarning, match="illegal"):
        _, r, term, _, info = env.step(mv("E5", 9))  # Black then plays on its own C3 stone
    assert term and r == 1.0 and info["winner"] == WHITE and "forfeits" in info["reason"]


GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if os.path.exists("/usr/games/gnugo") else None)


def _engine_stones(client, color):
    from gopolicy.go.coords import from_gtp as fg

    reply = str(client.send(f"list_stones {color}")).split()
    return sorted(fg(v, 9) for v in reply)


@pytest.mark.gnugo
@pytest.mark.skipif(GNUGO is None, reason="GNU Go not installed (/usr/games/gnugo)")
@pytest.mark.parametrize("agent", ["black", "white"])
def test_gtp_opponent_gnugo(agent):
    env = gym.make("gopolicy/Go-v0", size=9, observation="board", agent_color=agent,
                   opponent=f"gtp:{GNUGO} --mode gtp --level 0", max_moves=60,
                   opponent_timeout=60)
    rng = np.random.default_rng(0)
    try:
        obs, info = env.reset(seed=0)
        genv = env.unwrapped
        if agent == "white":
            assert np.abs(obs).sum() == 1 and info["opponent_move"] < 81  # GNU Go opened
        for _ in range(40):
            obs, r, term, trunc, info = env.step(random_action(info, rng, allow_pass=False))
            client = genv._opp.client
            board = genv.board
            # The engine's board and ours agree stone for stone.
            assert _engine_stones(client, "black") == sorted(np.flatnonzero(board.stones == BLACK))
            assert _engine_stones(client, "white") == sorted(np.flatnonzero(board.stones == WHITE))
            if term or trunc:
                assert "score" in info and r in (-1.0, 0.0, 1.0)
                break
        else:
            pytest.fail("40 steps without an end despite max_moves=60")
    finally:
        env.close()
    assert genv._opp.client is None  # engine closed


@pytest.mark.gnugo
@pytest.mark.skipif(GNUGO is None, reason="GNU Go not installed (/usr/games/gnugo)")
def test_gtp_opponent_is_reproducible_with_seed():
    traces = []
    for _ in range(2):
        env = GoEnv(size=9, observation="board", opponent=f"gtp:{GNUGO} --mode gtp --level 0",
                    opponent_timeout=60)
        obs, info = env.reset(seed=11)
        rng = np.random.default_rng(111)
        moves = []
        for _ in range(8):
            obs, r, term, trunc, info = env.step(random_action(info, rng, allow_pass=False))
            moves.append(info.get("opponent_move"))
            if term or trunc:
                break
        env.close()
        traces.append(moves)
    assert traces[0] == traces[1]


def _tiny_model():
    """The bundled model when present, else a tiny random AlphaGo net."""
    from gopolicy.play.network_policy import default_model_path

    if default_model_path().is_file():
        return None
    import torch

    import cnn_core

    torch.manual_seed(0)
    return cnn_core.build_model("alphago_policy", filters=8, layers=3).eval()


def test_policy_opponent():
    model = _tiny_model()
    traces = []
    for _ in range(2):
        env = gym.make("gopolicy/Go-v0", observation="board", opponent="policy",
                       opponent_model=model, opponent_temperature=1.0, opponent_device="cpu")
        obs, info = env.reset(seed=4)
        rng = np.random.default_rng(104)
        moves = []
        for _ in range(6):
            board_before = env.unwrapped.board.copy()
            obs, r, term, trunc, info = env.step(random_action(info, rng, allow_pass=False))
            moves.append(info["opponent_move"])
            assert info["opponent_move"] < 361  # a point, legal (else the env forfeits it)
            assert env.unwrapped.board.move_count == board_before.move_count + 2
            assert obs[np.unravel_index(info["opponent_move"], (19, 19))] == -1
        traces.append(moves)
        env.close()
    assert traces[0] == traces[1]  # sampled with the env's seeded np_random


def test_policy_opponent_object_moves_first_as_black():
    import torch

    import cnn_core
    from gopolicy.play.network_policy import NetworkPolicy

    torch.manual_seed(1)
    net = cnn_core.build_model("alphago_policy", filters=8, layers=3).eval()
    pol = NetworkPolicy(net, device="cpu", temperature=0.0)
    env = GoEnv(observation="board", opponent=pol, agent_color="white")
    obs, info = env.reset(seed=0)
    first = info["opponent_move"]
    b = Board(19)
    assert first == pol.select(b, BLACK)  # greedy: the net's top move on the empty board
    assert obs.flat[first] == 1 and np.abs(obs).sum() == 1
    with pytest.raises(ValueError, match="19x19"):
        GoEnv(size=9, opponent=pol)


def test_stones_in_playable_order_rebuild_the_board_without_captures():
    """The order the env sends a GTP opponent's setup in: replayed on sgfmill's
    board (independent rules), every stone stays and the final position is ours,
    for positions with captures from random games."""
    from sgfmill import boards

    from gopolicy.play.env import _stones_in_playable_order

    rng = np.random.default_rng(3)
    for size, plies in ((9, 70), (9, 200), (19, 300), (5, 60)):
        b = Board(size)
        color = BLACK
        for _ in range(plies):
            legal = np.flatnonzero(b.legal_mask(color)[: size * size])
            legal = [p for p in legal if not b.is_eye(int(p), color)]
            if not legal:
                break
            b.play(int(rng.choice(legal)), color)
            color = WHITE if color == BLACK else BLACK
        order = _stones_in_playable_order(b)
        assert sorted(p for _, p in order) == sorted(np.flatnonzero(b.stones).tolist())
        ref = boards.Board(size)
        placed = set()
        for c, p in order:
            assert b.stones[p] == c
            ref.play(p // size, p % size, "b" if c == BLACK else "w")
            placed.add((p // size, p % size))
            assert {pt for _, pt in ref.list_occupied_points()} == placed, "a stone was captured"
        colours = [c for c, _ in order]
        assert colours == sorted(colours)          # black strings first, then white
