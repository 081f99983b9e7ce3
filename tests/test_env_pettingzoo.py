"""Cross-check of GoEnv's rules against an independent implementation:
PettingZoo's ``go_v5`` (a wrapper of minigo's ``go_base``).

Random legal games are played move by move in both; after every move the
legal-move sets and the boards must agree, and at the end (two passes) so must
the area score and the winner. Test-only dependency: ``pip install
'pettingzoo>=1.24' pygame`` (go_v5 imports pygame for its renderer).

Conventions, mapped explicitly:

* Agents: PettingZoo's ``black_0`` moves first and is Black, ``white_0`` White.
* Coordinates: minigo's ``(i, j)`` has ``i`` = row counted from the *top*
  (i = 0 is GTP line N), ``j`` = column (GTP ``A`` = 0); its action is the flat
  index ``i * N + j``, ``N * N`` = pass. GoEnv's point is ``r * N + c`` with
  ``r`` = row from the *bottom* (r = 0 is GTP line 1). So ``r = N - 1 - i`` and
  ``c = j``; pass is ``N * N`` in both. The mapping is verified against
  PettingZoo's own ``coords.to_gtp`` for every move played.
* Boards: ``go_base.Position.board[i, j]`` holds BLACK = 1, WHITE = -1, EMPTY =
  0, the same values as GoEnv's ``observation="board"``, whose ``[r, c]`` is
  upside down relative to it: ``gopolicy_board == pz_board[::-1]``.
* Legal moves: ``observe(agent)["action_mask"]`` (int8, pass always 1) for the
  agent to move, versus ``info["action_mask"]``. Both use simple ko (GoEnv's
  default ``superko=False``) and forbid suicide.
* Score: go_base's ``score()`` is Tromp-Taylor area minus komi from Black's
  side, like ``info["score"]``; komi 7.5 in both (no draws: go_base would give
  a draw to White). ``rewards["black_0"]`` is +1 when Black wins.
"""
from __future__ import annotations

import numpy as np
import pytest

try:
    import warnings

    with warnings.catch_warnings():  # "old environment creation API" notice of pettingzoo.classic
        warnings.simplefilter("ignore", DeprecationWarning)
        from pettingzoo.classic import go_v5
        from pettingzoo.classic.go import coords as pz_coords
except Exception as exc:  # ImportError, or pygame missing
    pytest.skip(f"PettingZoo's go_v5 is not importable ({exc!r}); it is a test-only dependency: "
                f"pip install 'pettingzoo>=1.24' pygame", allow_module_level=True)

from gopolicy.go.coords import BLACK, WHITE, to_gtp
from gopolicy.play.env import GoEnv

KOMI = 7.5


def to_pz(a: int, n: int) -> int:
    """GoEnv action -> PettingZoo action (rows flipped, pass unchanged)."""
    if a == n * n:
        return a
    r, c = divmod(a, n)
    return (n - 1 - r) * n + c


def mask_from_pz(pz_mask: np.ndarray, n: int) -> np.ndarray:
    """PettingZoo's action mask re-indexed by GoEnv actions."""
    out = np.empty_like(pz_mask)
    out[:n * n] = pz_mask[:n * n].reshape(n, n)[::-1].reshape(-1)
    out[n * n] = pz_mask[n * n]
    return out


def play_cross_checked_game(n: int, seed: int, pass_early: float, pass_late: float):
    """One random game in both implementations; returns statistics of what it exercised."""
    rng = np.random.default_rng(seed)
    pz = go_v5.env(board_size=n, komi=KOMI)  # sets go_base's board size (a module global)
    pz.reset(seed=seed)
    env = GoEnv(size=n, komi=KOMI, observation="board", max_moves=50 * n * n)
    board, info = env.reset(seed=seed)
    stats = {"moves": 0, "kos": 0, "captures": 0, "suicide_or_ko_points": 0}
    while True:
        agent = pz.agent_selection
        assert agent == ("black_0" if info["to_play"] == BLACK else "white_0")
        pz_mask = pz.observe(agent)["action_mask"]
        mask = info["action_mask"]
        np.testing.assert_array_equal(mask, mask_from_pz(pz_mask, n),
                                      err_msg=f"legal moves differ at move {stats['moves']}")
        stats["suicide_or_ko_points"] += int(((board.reshape(-1) == 0) & (mask[:-1] == 0)).sum())

        late = stats["moves"] > 2 * n * n
        if rng.random() < (pass_late if late else pass_early):
            a = n * n
        else:
            points = np.flatnonzero(mask[:-1])
            a = int(rng.choice(points)) if len(points) else n * n
        pa = to_pz(a, n)
        assert pz_coords.to_gtp(pz_coords.from_flat(pa)) == to_gtp(a, n)

        stones_before = int(np.count_nonzero(board))
        pz.step(pa)
        board, reward, term, trunc, info = env.step(a)
        stats["moves"] += 1
        stats["kos"] += int(env.board.ko >= 0)
        stats["captures"] += int(a != n * n and np.count_nonzero(board) < stones_before + 1)

        pz_board = pz.unwrapped._go.board
        np.testing.assert_array_equal(board, pz_board[::-1],
                                      err_msg=f"boards differ after move {stats['moves']} ({to_gtp(a, n)})")
        pz_over = all(pz.terminations.values())
        assert term == pz_over, f"game end differs after move {stats['moves']}"
        assert not trunc
        if term:
            break

    pz_score = float(pz.unwrapped._go.score())
    assert info["score"] == pz_score
    pz_black = pz.rewards["black_0"]
    assert pz_black in (1, -1)
    assert info["winner"] == (BLACK if pz_black == 1 else WHITE)
    # GoEnv's self-play reward is for the player who just moved.
    mover = WHITE if info["to_play"] == BLACK else BLACK
    assert reward == (1.0 if info["winner"] == mover else -1.0)
    pz.close()
    env.close()
    return stats


@pytest.mark.parametrize("n, games", [(9, 16), (19, 3)])
def test_random_games_agree_with_pettingzoo(n, games):
    total = {"moves": 0, "kos": 0, "captures": 0, "suicide_or_ko_points": 0}
    for g in range(games):
        # Half the games pass uniformly among the legal moves (short games), half
        # rarely pass early, which fills the board: big captures, kos, suicide points.
        early = 1.0 / (n * n) if g % 2 == 0 else 0.002
        stats = play_cross_checked_game(n, seed=100 * n + g, pass_early=early, pass_late=0.3)
        for k in total:
            total[k] += stats[k]
    # The comparison exercised the interesting rules, not just empty-board moves.
    assert total["captures"] > 10
    assert total["kos"] >= 2
    assert total["suicide_or_ko_points"] > 0
