"""Move choice with a trained policy network (no search).

:class:`NetworkPolicy` wraps a policy net (a checkpoint, the bundled model, a
module, or a randomly initialised net) and turns a :class:`gopolicy.go.board.Board`
into move probabilities and moves:

* ``probabilities(board, color)``: softmax of the logits over the *legal*
  points only (simple ko and, when the board has ``superko=True``, positional
  superko, via ``board.legal_mask``); pass gets 0. With ``symmetries=8`` the 8
  rotations/reflections of the position go through the net as one batch and
  their probabilities (mapped back) are averaged. ``probabilities_many`` does
  many positions in one forward pass; ``priors_many`` (the search's priors) takes
  the same averaged softmax over given candidate points instead of the legal ones.
* ``select(board, color)``: the greedy move (``temperature == 0``) or a sample
  proportional to ``p ** (1 / T)``, never filling one of the player's own true
  eyes (``board.is_eye``, AlphaGo's sensibleness rule); pass when no sensible
  move remains.

Device and precision come only from :func:`gopolicy.net.device.select_device`
(channels_last on the CPU, bf16 autocast where it is native, CUDA when present).

Model specifications (``model=`` / ``--model``):

* ``None``: the bundled model :func:`default_model_path` (``data/bundled/policy.pt``);
* a path to a training checkpoint or an exported weights file
  (:func:`gopolicy.net.checkpoint.load_model`);
* ``"random"``: a randomly initialised AlphaGo net (48 planes, k=192, 13
  layers) -- for tests and for running the engine before a model exists;
  ``"random:K"`` or ``"random:K:L"`` choose the filters and layers (e.g.
  ``random:16:3`` is a tiny, fast net);
* an ``nn.Module`` mapping ``(N, planes, 19, 19)`` to ``(N, 361)`` logits.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import cnn_core
from gopolicy.go import symmetry
from gopolicy.go.features import planes
from gopolicy.net.checkpoint import load_model
from gopolicy.net.device import autocast, select_device
from gopolicy.net.model_paths import BUNDLED_HINT, default_model_path
from gopolicy.play.eyes import own_eyes
from gopolicy.play.model_spec import parse_random_spec


def load_policy_model(model=None, seed: int | None = None):
    """``(module, config)`` for a model specification (see the module docstring)."""
    if isinstance(model, torch.nn.Module):
        cfg = {"name": type(model).__name__, "planes": _infer_planes(model), "board_size": 19}
        return model, cfg
    if model is None:
        path = default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"no bundled policy model at {path}. {BUNDLED_HINT}")
        model = str(path)
    spec = str(model)
    rcfg = parse_random_spec(spec)
    if rcfg is not None:
        if seed is not None:
            torch.manual_seed(seed)
        cfg = dict(rcfg)
        name = cfg.pop("name")
        net = cnn_core.build_model(name, **cfg)
        return net.eval(), rcfg
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"policy model {path}: no such file. {BUNDLED_HINT}")
    net, cfg = load_model(path, device="cpu")
    return net, cfg


def _infer_planes(model) -> int:
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            return int(m.in_channels)
    return 48


def mean_softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax of each row of ``logits`` ``[S, k]`` (one row per symmetry; -inf rules a
    point out), averaged over the rows: ``float64 [k]``."""
    # C order: each row is summed pairwise, as a 1-D array is (a gathered logits[:, pts]
    # is not C-contiguous, and its sums differ in the last bit: an exact tie, such as the
    # empty board's corners under 8 symmetries, would break the other way).
    lg = logits.astype(np.float64, order="C")
    if lg.shape[1] == 0:
        return np.zeros(0)
    lg -= lg.max(axis=1, keepdims=True)
    e = np.exp(lg)
    e /= e.sum(axis=1, keepdims=True)
    return e.mean(axis=0)


def _legal_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    lg = logits.astype(np.float64)
    lg[:, ~legal] = -np.inf
    return mean_softmax(lg)


class NetworkPolicy:
    """A policy network that chooses moves (see the module docstring).

    Args:
        model: None (bundled), a path, ``"random[:K[:L]]"`` or an ``nn.Module``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... (via ``select_device``).
        symmetries: 1 (identity only) or 8 (average of the dihedral group).
        temperature: 0 = greedy, else sample proportional to ``p ** (1/T)``.
        seed: seeds the sampling RNG (and the weights of a random model).
        precision: passed to ``select_device`` ("auto" = fp32 on a CPU, "fp32", "bf16").
        threads: torch CPU threads during inference (set around each call and
            restored after). Default 1: one small batch-1 forward pass gains
            little from more threads and loses badly (10-100x) when the cores
            are busy, e.g. with the opponent engine. None keeps torch's setting.
    """

    def __init__(self, model=None, device: str = "auto", symmetries: int = 1,
                 temperature: float = 0.0, seed: int | None = None, precision: str = "auto",
                 threads: int | None = 1):
        if symmetries not in (1, 8):
            raise ValueError(f"symmetries must be 1 or 8, got {symmetries}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.symmetries = symmetries
        self.threads = threads
        self.temperature = float(temperature)
        self.rng = np.random.default_rng(seed)
        net, cfg = load_policy_model(model, seed=seed)
        self.config = dict(cfg)
        self.board_size = int(cfg.get("board_size", 19))
        self.num_planes = int(cfg.get("planes", 48))
        if self.num_planes > 49:
            raise ValueError(f"model wants {self.num_planes} input planes; features provide at most 49")
        self.dev = select_device(device, precision, inference=True)
        self.model = self.dev.prepare_model(net.float()).eval()
        self.model_name = self._describe(model)

    # ------------------------------------------------------------ inference
    @staticmethod
    def _describe(model) -> str:
        if model is None:
            return str(default_model_path())
        if isinstance(model, (str, Path)):
            return str(model)
        return type(model).__name__

    def describe(self, threads: bool = True) -> str:
        """The model, its device and, with ``threads``, its inference thread count, in one line."""
        c = self.config
        arch = f"{c.get('name')} planes={c.get('planes')}"
        if "filters" in c:
            arch += f" k={c['filters']} layers={c.get('layers')}"
        nthreads = f", {self.threads} thread(s)" if threads and self.threads else ""
        return f"{self.model_name} ({arch}) on {self.dev.describe()}{nthreads}, symmetries={self.symmetries}"

    def _features(self, board, color: int) -> np.ndarray:
        x = planes(board, color, colour_plane=self.num_planes > 48)
        return x[:self.num_planes]

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """uint8/float planes ``(N, P, B, B)`` -> float32 logits ``(N, B*B)`` in one pass."""
        t = torch.from_numpy(np.ascontiguousarray(batch))
        old_threads = torch.get_num_threads()
        if self.threads and self.threads != old_threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                t = self.dev.to_input(t.to(torch.float32))
                with autocast(self.dev):
                    out = self.model(t)
                return out.float().cpu().numpy().reshape(len(batch), -1)
        finally:
            if self.threads and self.threads != old_threads:
                torch.set_num_threads(old_threads)

    def logits_many(self, boards, colors, symmetries: int | None = None) -> np.ndarray:
        """Raw logits ``float32 [len(boards), S, n]`` (S symmetries, default the policy's)
        from one forward pass of ``len(boards) * S`` positions, every row mapped back to
        its board's orientation."""
        S = self.symmetries if symmetries is None else symmetries
        feats = []
        for b, c in zip(boards, colors):
            if b.size != self.board_size:
                raise ValueError(f"model plays {self.board_size}x{self.board_size}, board is {b.size}")
            x = self._features(b, c)
            feats += [symmetry.apply_np(x, s) for s in range(S)]
        size = boards[0].size
        n = size * size
        out = self._forward(np.stack(feats)).reshape(len(boards), S, n)
        # Row s holds logits of the transformed board: point p of the real board is
        # point point_map(s)[p] there (symmetry 0 is the identity).
        for s in range(1, S):
            out[:, s] = out[:, s][:, symmetry.point_map(s, size)[:n]]
        return out

    def logits(self, board, color: int | None = None) -> np.ndarray:
        """Raw logits ``float32 [S, n]``, one row per symmetry, mapped back to the
        board's orientation."""
        color = board.to_move if color is None else int(color)
        return self.logits_many([board], [color])[0]

    def probabilities_many(self, boards, colors=None) -> np.ndarray:
        """:meth:`probabilities` for many positions with one forward pass
        (``len(boards) * symmetries`` rows): ``float32 [len(boards), n + 1]``."""
        boards = list(boards)
        if not boards:
            return np.zeros((0, self.board_size ** 2 + 1), np.float32)
        colors = [b.to_move for b in boards] if colors is None else [int(c) for c in colors]
        n = boards[0].size ** 2
        out = self.logits_many(boards, colors)
        res = np.zeros((len(boards), n + 1), np.float32)
        for i, (b, c) in enumerate(zip(boards, colors)):
            legal = b.legal_mask(c)[:n]
            if legal.any():
                res[i, :n] = _legal_softmax(out[i], legal)
        return res

    def probabilities(self, board, color: int | None = None) -> np.ndarray:
        """``float32 [n + 1]``: probabilities over legal points (pass = 0); all
        zeros when no point is legal."""
        color = board.to_move if color is None else int(color)
        n = board.size * board.size
        legal = board.legal_mask(color)[:n]
        probs = np.zeros(n + 1, np.float32)
        if legal.any():
            probs[:n] = _legal_softmax(self.logits(board, color), legal)
        return probs

    def priors_many(self, boards, points, symmetries: int | None = None) -> list[np.ndarray]:
        """The search's priors: for each board (its player to move), the softmax over
        the candidate ``points[i]`` only, averaged over ``symmetries`` (default the
        policy's), from one forward pass: ``float64 [len(points[i])]`` each."""
        out = self.logits_many(boards, [b.to_move for b in boards], symmetries)
        return [mean_softmax(out[i][:, pts]) for i, pts in enumerate(points)]

    # ------------------------------------------------------------ choice
    own_eyes = staticmethod(own_eyes)     # gopolicy.play.eyes; callers holding a policy reach it here

    def sensible_probabilities(self, board, color: int | None = None) -> np.ndarray:
        """:meth:`probabilities` with the player's own true eyes removed and
        renormalised; all zeros when no sensible move remains."""
        color = board.to_move if color is None else int(color)
        p = self.probabilities(board, color)
        n = board.size * board.size
        cand = np.flatnonzero(p[:n] > 0)
        eyes = self.own_eyes(board, color, cand)
        p[cand[eyes]] = 0.0
        s = float(p.sum())
        if s > 0:
            p /= s
        return p

    def top_moves(self, board, color: int, k: int = 10, min_p: float = 0.0) -> list[tuple[int, float]]:
        """The ``k`` most probable sensible points ``(point, probability)`` above ``min_p``."""
        p = self.sensible_probabilities(board, color)
        order = np.argsort(-p[:board.n], kind="stable")[:k]
        return [(int(q), float(p[q])) for q in order if p[q] > min_p]

    def choose(self, p: np.ndarray, n: int, temperature: float | None = None) -> int:
        """Greedy or tempered sample from probabilities ``p`` (pass if all zero)."""
        t = self.temperature if temperature is None else temperature
        if not (p[:n] > 0).any():
            return n
        if t <= 0:
            return int(np.argmax(p[:n]))
        q = p[:n].astype(np.float64)
        with np.errstate(divide="ignore", under="ignore"):
            logq = np.where(q > 0, np.log(np.maximum(q, 1e-300)) / t, -np.inf)
        logq -= logq.max()
        w = np.exp(logq)
        w /= w.sum()
        return int(self.rng.choice(n, p=w))

    def select(self, board, color: int | None = None) -> int:
        """A move for ``color``: a point or the pass move ``board.size ** 2``."""
        color = board.to_move if color is None else int(color)
        n = board.size * board.size
        return self.choose(self.sensible_probabilities(board, color), n)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"NetworkPolicy({self.describe()})"


__all__ = ["NetworkPolicy", "default_model_path", "load_policy_model", "parse_random_spec",
           "BUNDLED_HINT"]
