"""A gymnasium environment for Go: ``GoEnv``, registered as ``gopolicy/Go-v0``.

    import gymnasium as gym
    import gopolicy.envs  # registers gopolicy/Go-v0

    env = gym.make("gopolicy/Go-v0", size=9, observation="board", opponent="random")
    obs, info = env.reset(seed=0)
    while True:
        legal = info["action_mask"].nonzero()[0]
        obs, reward, terminated, truncated, info = env.step(int(legal[0]))
        if terminated or truncated:
            break

(``scripts/env_example.py`` plays a random or policy-network agent against GNU Go.)

Rules
    Board ``size`` 2..19 (default 19), ``komi`` 7.5, suicide illegal, simple ko
    or, with ``superko=True``, positional superko; two consecutive passes end the
    game (``terminated``), which is scored by Tromp-Taylor area (stones + empty
    regions bordering only one colour) minus komi. After ``max_moves`` moves
    (both colours, passes included; default ``2 * size * size``) the episode is
    ``truncated`` with reward 0 (``info["score"]`` still holds the area score).

Actions
    ``Discrete(size*size + 1)``: ``a = row * size + col`` with row 0 = GTP line 1
    (the bottom) and col 0 = GTP ``A`` (gopolicy.go.coords' points); ``size*size``
    is pass. ``info["action_mask"]`` (int8, 1 = legal, pass always legal) and
    :meth:`GoEnv.action_masks` (bool; sb3-contrib's MaskablePPO convention) give
    the legal moves of the player to act next.

Observations (``observation=``)
    ``"planes"``: the 48 AlphaGo planes ``Box(0, 1, (48, size, size), uint8)``
    (gopolicy.go.features) for the *agent's* colour (with ``opponent=None``: for the
    player to move). ``"board"``: ``Box(-1, 1, (size, size), int8)``, black 1,
    white -1, empty 0, indexed ``[row, col]`` like the actions (row 0 at the
    bottom). ``"both"``: ``Dict(planes=..., board=...)``.

Opponents (``opponent=``)
    ``None``: the agent plays both colours in turn (self-play); rewards are then
    from the point of view of the player who just moved. ``"random"``: uniformly
    random legal move (pass included), drawn from the env's ``np_random`` so
    ``reset(seed=...)`` makes games reproducible. ``"policy"``: a
    :class:`gopolicy.play.network_policy.NetworkPolicy` with ``opponent_model=`` None (the
    bundled ``data/bundled/policy.pt``, 19x19), a checkpoint path,
    ``"random[:K[:L]]"`` or an ``nn.Module``; ``opponent_temperature`` (default
    1: sample from the net's move probabilities; 0: greedy), ``opponent_device``.
    It never fills its own true eyes and passes when no sensible move is left;
    its samples come from the env's ``np_random``. ``"gtp:CMD"``:
    any GTP engine started with the command line ``CMD`` (e.g.
    ``"gtp:gnugo --mode gtp --level 1"``), ``"gnugo"`` being a shorthand for GNU
    Go at level 1; ``opponent_timeout`` (seconds per GTP reply, default 300,
    None = wait forever) turns a hung engine into ``GtpTimeout``. Any object
    with ``select(board, color) -> move`` (such as a ``NetworkPolicy``
    instance) also works. With ``agent_color="white"`` the
    opponent moves first on reset. An opponent that resigns or returns a move
    that is illegal here loses the game (``info["reason"]``). Games against a
    GTP engine are scored by the env (Tromp-Taylor area: no dead-stone
    removal), not by the engine; a start position from ``reset(options=...)``
    reaches the engine as plain moves (its ko and superko history does not).

Rewards
    0 until the end; then +1 win, -1 loss, 0 draw from the agent's point of view
    (``opponent=None``: the player who just moved). An illegal action raises
    :class:`gopolicy.go.board.IllegalMove` (a ``ValueError`` naming the GTP vertex and
    the reason) unless ``illegal_action="lose"``: then the mover loses, reward -1,
    ``terminated=True`` (PettingZoo's convention).

Info
    ``action_mask``, ``to_play`` (1 black, 2 white: who acts next), ``move_count``;
    with an opponent, ``opponent_move`` (action index) when it moved this step;
    at the end ``score`` (Black's area minus White's minus komi), ``winner``
    (1, 2, or 0 for a draw or a truncated game) and ``reason``.

``reset(options={"diagram": text, "to_play": "white"})`` or
``reset(options={"board": board})`` starts from a given position (a
:meth:`Board.from_diagram` diagram or a :class:`Board`, copied; the env's komi
and superko rule apply).

Render modes: ``"ansi"`` (text board with GTP coordinates) and ``"rgb_array"``
(see :mod:`gopolicy.go.render`).
"""
from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gopolicy.go import render
from gopolicy.go.board import Board, IllegalMove
from gopolicy.go.coords import BLACK, COLOR_NAMES, WHITE, from_gtp, opponent, parse_color, to_gtp
from gopolicy.go.features import planes
from gopolicy.play.gtp_client import GtpClient, knows_command
from gopolicy.play.network_policy import NetworkPolicy
from gopolicy.play.peers import find_gnugo

__all__ = ["GoEnv", "RESIGN"]

RESIGN = -1  # what an opponent's select() returns to resign
_BOARD_LUT = np.array([0, 1, -1], np.int8)  # EMPTY, BLACK, WHITE -> 0, 1, -1


# ---------------------------------------------------------------------------
# Opponents: select(board, color, rng) -> move | RESIGN; observe(color, move)
# mirrors the agent's moves; reset(board, rng) at the start of each episode.
# ---------------------------------------------------------------------------

class _Opponent:
    def reset(self, board: Board, rng: np.random.Generator) -> None:
        pass

    def select(self, board: Board, color: int, rng: np.random.Generator) -> int:
        raise NotImplementedError

    def observe(self, color: int, move: int, board: Board) -> None:
        pass

    def close(self) -> None:
        pass


class _RandomOpponent(_Opponent):
    """Uniform over the legal moves (pass included)."""

    def select(self, board, color, rng):
        return int(rng.choice(np.flatnonzero(board.legal_mask(color))))


class _PolicyOpponent(_Opponent):
    """Wraps a policy object: ``select(board, color)`` (e.g. a
    :class:`gopolicy.play.network_policy.NetworkPolicy`) or ``probabilities(board, color)``.

    A policy that samples with a ``rng`` attribute (NetworkPolicy does) gets
    the env's ``np_random`` on every reset, so ``reset(seed=...)`` reproduces
    the game. An object with only ``probabilities`` is sampled here, with the
    env's ``np_random``.
    """

    def __init__(self, policy):
        self.policy = policy

    def reset(self, board, rng):
        if isinstance(getattr(self.policy, "rng", None), np.random.Generator):
            self.policy.rng = rng

    def select(self, board, color, rng):
        if hasattr(self.policy, "select"):
            return int(self.policy.select(board, color))
        p = np.asarray(self.policy.probabilities(board, color), dtype=np.float64).reshape(-1)
        if p.size == board.n:  # no pass entry
            p = np.append(p, 0.0)
        if p.size != board.n + 1:
            raise ValueError(f"policy returned {p.size} probabilities for a {board.size}x{board.size} board")
        p = np.where(board.legal_mask(color), np.clip(p, 0.0, None), 0.0)
        total = p.sum()
        if not np.isfinite(total) or total <= 0:
            return board.n  # nothing playable: pass
        return int(rng.choice(p.size, p=p / total))


class _CallableOpponent(_Opponent):
    def __init__(self, fn):
        self.fn = fn

    def select(self, board, color, rng):
        return int(self.fn(board, color))


class _GtpOpponent(_Opponent):
    """A GTP engine driven through :class:`gopolicy.play.gtp_client.GtpClient`.

    The engine is started lazily on the first reset and told ``boardsize``,
    ``komi``, ``clear_board`` each episode (plus ``set_random_seed`` from the
    env's ``np_random`` where the engine knows it, so seeded resets are
    reproducible with deterministic engines such as GNU Go).
    """

    def __init__(self, command: str, size: int, komi: float, timeout: float | None = None):
        self.command = command
        self.size = size
        self.komi = komi
        self.timeout = timeout
        self.client = None
        self._seedable: bool | None = None

    def _send(self, cmd: str) -> str:
        return str(self.client.send(cmd)).strip()

    def reset(self, board, rng):
        if self.client is None:
            self.client = GtpClient(self.command, timeout=self.timeout)
        self._send(f"boardsize {self.size}")
        self._send(f"komi {board.komi:g}")
        self._send("clear_board")
        if self._seedable is None:
            self._seedable = knows_command(self.client, "set_random_seed")
        if self._seedable:
            self._send(f"set_random_seed {int(rng.integers(0, 2**31 - 1))}")
        for color, move in _stones_in_playable_order(board):
            self.client.play(COLOR_NAMES[color], to_gtp(move, self.size))

    def select(self, board, color, rng):
        reply = str(self.client.genmove(COLOR_NAMES[color])).strip()
        if reply.lower() == "resign":
            return RESIGN
        return from_gtp(reply, self.size)

    def observe(self, color, move, board):
        self.client.play(COLOR_NAMES[color], to_gtp(move, self.size))

    def close(self):
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None


def _stones_in_playable_order(board: Board) -> list[tuple[int, int]]:
    """The stones of ``board`` as (color, point) moves that rebuild it on an empty
    board without captures or suicide: all black stones, then all white ones.
    No string walk is needed: a placed part of a string that is not yet whole
    touches one of its own points, still empty; a whole string has its
    liberties on ``board``, and those stay empty because every stone placed
    stands on ``board`` too."""
    return [(color, int(p)) for color in (BLACK, WHITE)
            for p in np.flatnonzero(board.stones == color)]


def _check_policy_size(opp: _PolicyOpponent, size: int) -> _PolicyOpponent:
    bs = getattr(opp.policy, "board_size", None)
    if isinstance(bs, int) and bs != size:
        raise ValueError(f"the policy opponent plays {bs}x{bs} (the bundled network needs "
                         f"size=19), the env is {size}x{size}")
    return opp


def _make_opponent(spec, size, komi, model, temperature, device, timeout):
    if spec is None:
        return None
    if isinstance(spec, str):
        s = spec.strip()
        if s == "random":
            return _RandomOpponent()
        if s == "policy":
            kwargs: dict[str, Any] = {"temperature": temperature, "device": device}
            if model is not None:
                kwargs["model"] = model
            return _check_policy_size(_PolicyOpponent(NetworkPolicy(**kwargs)), size)
        if s == "gnugo":
            path = find_gnugo()
            if path is None:
                raise ValueError("opponent='gnugo': GNU Go not found (install it, e.g. apt-get install gnugo)")
            return _GtpOpponent(f"{path} --mode gtp --level 1", size, komi, timeout)
        if s.startswith("gtp:"):
            cmd = s[4:].strip()
            if not cmd:
                raise ValueError("opponent='gtp:<command>' needs a command")
            return _GtpOpponent(cmd, size, komi, timeout)
        raise ValueError(f"unknown opponent {spec!r}: use None, 'random', 'policy', "
                         f"'gnugo', 'gtp:<command>' or an object with select(board, color)")
    if isinstance(spec, _Opponent):
        return spec
    if hasattr(spec, "probabilities") or hasattr(spec, "select"):
        return _check_policy_size(_PolicyOpponent(spec), size)
    if callable(spec):
        return _CallableOpponent(spec)
    raise TypeError(f"opponent must be None, a string or a policy object, not {type(spec).__name__}")


# ---------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------

class GoEnv(gym.Env):
    """Go against an opponent (or self-play); see the module docstring."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, size: int = 19, komi: float = 7.5, superko: bool = False,
                 max_moves: int | None = None, observation: str = "planes",
                 opponent=None, agent_color: str | int = "black",
                 illegal_action: str = "raise", render_mode: str | None = None,
                 opponent_model=None, opponent_temperature: float = 1.0,
                 opponent_device: str = "auto", opponent_timeout: float | None = 300.0):
        super().__init__()
        if not 2 <= int(size) <= 19:
            raise ValueError(f"size must be 2..19, got {size}")
        if observation not in ("planes", "board", "both"):
            raise ValueError(f"observation must be 'planes', 'board' or 'both', not {observation!r}")
        if illegal_action not in ("raise", "lose"):
            raise ValueError(f"illegal_action must be 'raise' or 'lose', not {illegal_action!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}")
        self.size = int(size)
        self.n = self.size * self.size
        self.komi = float(komi)
        self.superko = bool(superko)
        self.max_moves = 2 * self.n if max_moves is None else int(max_moves)
        if self.max_moves < 1:
            raise ValueError(f"max_moves must be >= 1, got {max_moves}")
        self.observation = observation
        self.agent_color = parse_color(agent_color) if isinstance(agent_color, str) else int(agent_color)
        if self.agent_color not in (BLACK, WHITE):
            raise ValueError(f"agent_color must be 'black' or 'white', not {agent_color!r}")
        self.illegal_action = illegal_action
        self.render_mode = render_mode
        self.opponent_spec = opponent
        self._opp = _make_opponent(opponent, self.size, self.komi, opponent_model,
                                   opponent_temperature, opponent_device, opponent_timeout)

        self.action_space = spaces.Discrete(self.n + 1)
        planes_space = spaces.Box(0, 1, (48, self.size, self.size), np.uint8)
        board_space = spaces.Box(-1, 1, (self.size, self.size), np.int8)
        if observation == "planes":
            self.observation_space = planes_space
        elif observation == "board":
            self.observation_space = board_space
        else:
            self.observation_space = spaces.Dict({"planes": planes_space, "board": board_space})

        self.board: Board | None = None
        self._mask: np.ndarray | None = None
        self._done = False
        self._end: dict[str, Any] = {}

    # ------------------------------------------------------------ helpers
    @property
    def pass_action(self) -> int:
        return self.n

    def _viewer(self) -> int:
        """Whose point of view the observation takes."""
        return self.agent_color if self._opp is not None else self.board.to_move

    def _get_obs(self):
        out = {}
        if self.observation in ("planes", "both"):
            out["planes"] = planes(self.board, self._viewer())
        if self.observation in ("board", "both"):
            out["board"] = _BOARD_LUT[self.board.grid()]
        return out if self.observation == "both" else next(iter(out.values()))

    def _get_info(self, extra: dict | None = None) -> dict:
        self._mask = self.board.legal_mask()
        info = {"action_mask": self._mask.astype(np.int8), "to_play": int(self.board.to_move),
                "move_count": int(self.board.move_count)}
        if extra:
            info.update(extra)
        if self._done:
            info.update(self._end)
        return info

    def _finish(self, winner: int | None, reason: str) -> None:
        """Record the end of the episode; ``winner=None``: decide by area score."""
        score = float(self.board.area_score())
        if winner is None:
            winner = BLACK if score > 0 else WHITE if score < 0 else 0
        self._done = True
        self._end = {"score": score, "winner": int(winner), "reason": reason}

    def _reward_for(self, color: int) -> float:
        w = self._end.get("winner", 0)
        return 0.0 if w == 0 else (1.0 if w == color else -1.0)

    def _game_over(self) -> bool:
        return self.board.consecutive_passes >= 2

    def _check_end(self) -> tuple[bool, bool]:
        """(terminated, truncated) after a legal move has been played."""
        if self._game_over():
            self._finish(None, "two passes")
            return True, False
        if self.board.move_count >= self.max_moves:
            self._finish(0, f"move cap {self.max_moves}")
            return False, True
        return False, False

    def _describe(self, move: int) -> str:
        return to_gtp(move, self.size) if 0 <= move <= self.n else str(move)

    def _opponent_turn(self) -> tuple[bool, bool, dict]:
        color = self.board.to_move
        move = self._opp.select(self.board, color, self.np_random)
        if move == RESIGN:
            self._finish(opponent(color), f"{COLOR_NAMES[color]} resigned")
            return True, False, {"opponent_move": RESIGN}
        move = int(move)
        why = self.board.why_illegal(move, color) if 0 <= move <= self.n else "off the board"
        if why is not None:
            msg = f"opponent played an illegal move {self._describe(move)} ({why}) and forfeits"
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            self._finish(opponent(color), msg)
            return True, False, {"opponent_move": move}
        self.board.play(move, color)
        term, trunc = self._check_end()
        return term, trunc, {"opponent_move": move}

    def _to_action(self, action) -> int:
        try:
            a = int(np.asarray(action).item())
        except (TypeError, ValueError) as e:
            raise ValueError(f"action must be an integer in [0, {self.n}], got {action!r}") from e
        if not 0 <= a <= self.n:
            raise ValueError(f"action {a} outside Discrete({self.n + 1}) (0..{self.n - 1} points, {self.n} pass)")
        return a

    # ------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        if "board" in options and options["board"] is not None:
            src = options["board"]
            if src.size != self.size:
                raise ValueError(f"options['board'] is {src.size}x{src.size}, env is {self.size}x{self.size}")
            self.board = src.copy()
            self.board.komi, self.board.superko = self.komi, self.superko
        elif options.get("diagram"):
            to_play = options.get("to_play", "black")
            to_play = parse_color(to_play) if isinstance(to_play, str) else int(to_play)
            self.board = Board.from_diagram(options["diagram"], to_move=to_play, komi=self.komi,
                                            superko=self.superko)
            if self.board.size != self.size:
                raise ValueError(f"diagram is {self.board.size}x{self.board.size}, env is {self.size}x{self.size}")
        else:
            self.board = Board(self.size, self.komi, self.superko)
        self._done = False
        self._end = {}
        extra = {}
        if self._opp is not None:
            self._opp.reset(self.board, self.np_random)
            if self.board.to_move != self.agent_color:
                _, _, extra = self._opponent_turn()
        return self._get_obs(), self._get_info(extra)

    def step(self, action):
        if self.board is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended: call reset()")
        move = self._to_action(action)
        mover = self.board.to_move
        extra: dict[str, Any] = {}
        why = self.board.why_illegal(move, mover)
        if why is not None:
            msg = f"illegal action {move} = {self._describe(move)} for {COLOR_NAMES[mover]}: {why}"
            if self.illegal_action == "raise":
                raise IllegalMove(msg)
            self._finish(opponent(mover), msg)
            return self._get_obs(), -1.0, True, False, self._get_info({"illegal_move": msg})
        self.board.play(move, mover)
        terminated, truncated = self._check_end()
        if self._opp is not None:
            # Tell the engine (GTP) about the agent's move (even the last one, so
            # that its board stays the env's), then let it answer.
            self._opp.observe(mover, move, self.board)
            if not self._done:
                terminated, truncated, extra = self._opponent_turn()
        perspective = self.agent_color if self._opp is not None else mover
        reward = self._reward_for(perspective) if terminated else 0.0
        return self._get_obs(), reward, terminated, truncated, self._get_info(extra)

    def action_masks(self) -> np.ndarray:
        """Bool ``[size*size + 1]``: the legal actions of the player to act next."""
        if self.board is None:
            raise RuntimeError("call reset() first")
        if self._mask is None:
            self._mask = self.board.legal_mask()
        return self._mask.copy()

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("GoEnv.render() called without a render_mode")
            return None
        if self.board is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "ansi":
            text = render.ansi(self.board)
            if self._done:
                e = self._end
                text += f"game over ({e['reason']}): score {e['score']:+g} (black - white - komi)\n"
            return text
        return render.rgb_array(self.board)

    def close(self):
        if self._opp is not None:
            self._opp.close()
        super().close()
