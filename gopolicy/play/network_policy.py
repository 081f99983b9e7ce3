"""Move choice with a trained policy network (no search).

:class:`NetworkPolicy` wraps a policy net (a checkpoint, the bundled model, a
module, or a randomly initialised net) and turns a :class:`gopolicy.go.board.Board`
into move probabilities and moves:

* ``probabilities(board, color)``: softmax of the logits over the *legal*
  points only (simple ko and, when the board has ``superko=True``, positional
  superko, via ``board.legal_mask``); pass gets 0. With ``symmetries=8`` the 8
  rotations/reflections of the position go through the net as one batch and
  their probabilities (mapped back) are averaged.
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


from gopolicy.net.model_paths import BUNDLED_HINT, default_model_path


def parse_random_spec(spec: str) -> dict | None:
    """``"random"``, ``"random:K"``, ``"random:K:L"`` -> model config; None if not a random spec."""
    parts = spec.strip().split(":")
    if parts[0].lower() != "random":
        return None
    cfg = {"name": "alphago_policy", "planes": 48, "filters": 192, "layers": 13, "board_size": 19}
    try:
        if len(parts) > 1 and parts[1]:
            cfg["filters"] = int(parts[1])
        if len(parts) > 2 and parts[2]:
            cfg["layers"] = int(parts[2])
    except ValueError:
        raise ValueError(f"bad random model spec {spec!r}: expected random[:FILTERS[:LAYERS]]") from None
    if len(parts) > 3 or cfg["filters"] < 1 or cfg["layers"] < 2:
        raise ValueError(f"bad random model spec {spec!r}: expected random[:FILTERS[:LAYERS]] "
                         f"with FILTERS >= 1, LAYERS >= 2")
    return cfg


def load_policy_model(model=None, seed: int | None = None):
    """``(module, config)`` for a model specification (see the module docstring)."""
    import torch

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
        import cnn_core

        if seed is not None:
            torch.manual_seed(seed)
        cfg = dict(rcfg)
        name = cfg.pop("name")
        net = cnn_core.build_model(name, **cfg)
        return net.eval(), rcfg
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"policy model {path}: no such file. {BUNDLED_HINT}")
    from gopolicy.net.checkpoint import load_model

    net, cfg = load_model(path, device="cpu")
    return net, cfg


def _infer_planes(model) -> int:
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            return int(m.in_channels)
    return 48


class NetworkPolicy:
    """A policy network that chooses moves (see the module docstring).

    Args:
        model: None (bundled), a path, ``"random[:K[:L]]"`` or an ``nn.Module``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... (via ``select_device``).
        symmetries: 1 (identity only) or 8 (average of the dihedral group).
        temperature: 0 = greedy, else sample proportional to ``p ** (1/T)``.
        seed: seeds the sampling RNG (and the weights of a random model).
        precision: passed to ``select_device`` ("auto", "fp32", "bf16").
        threads: torch CPU threads during inference (set around each call and
            restored after). Default 1: one small batch-1 forward pass gains
            little from more threads and loses badly (10-100x) when the cores
            are busy, e.g. with the opponent engine. None keeps torch's setting.
    """

    def __init__(self, model=None, device: str = "auto", symmetries: int = 1,
                 temperature: float = 0.0, seed: int | None = None, precision: str = "auto",
                 threads: int | None = 1):
        import torch

        from gopolicy.net.device import select_device

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
        self.dev = select_device(device, precision)
        self.model = self.dev.prepare_model(net.float()).eval()
        self._torch = torch
        self.model_name = self._describe(model)

    # ------------------------------------------------------------ inference
    @staticmethod
    def _describe(model) -> str:
        if model is None:
            return str(default_model_path())
        if isinstance(model, (str, Path)):
            return str(model)
        return type(model).__name__

    def describe(self) -> str:
        c = self.config
        arch = f"{c.get('name')} planes={c.get('planes')}"
        if "filters" in c:
            arch += f" k={c['filters']} layers={c.get('layers')}"
        threads = f", {self.threads} thread(s)" if self.threads else ""
        return f"{self.model_name} ({arch}) on {self.dev.describe()}{threads}, symmetries={self.symmetries}"

    def _features(self, board, color: int) -> np.ndarray:
        from gopolicy.go.features import planes

        colour_plane = self.num_planes > 48
        x = planes(board, color, colour_plane=colour_plane)
        return x[:self.num_planes]

    def logits(self, board, color: int | None = None) -> np.ndarray:
        """Raw logits ``float32 [S, n]``, one row per symmetry, mapped back to the
        board's orientation."""
        from gopolicy.go import symmetry

        color = board.to_move if color is None else int(color)
        if board.size != self.board_size:
            raise ValueError(f"model plays {self.board_size}x{self.board_size}, board is {board.size}")
        x = self._features(board, color)
        n = board.size * board.size
        syms = range(self.symmetries)
        batch = np.stack([np.ascontiguousarray(symmetry.apply_np(x, s)) for s in syms])
        out = self._forward(batch).reshape(len(syms), n)
        # Row s holds logits of the transformed board: point p of the real board
        # is point point_map(s)[p] there.
        back = np.empty_like(out)
        for i, s in enumerate(syms):
            back[i] = out[i, symmetry.point_map(s, board.size)[:n]]
        return back

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """uint8/float planes ``(N, P, B, B)`` -> float32 logits ``(N, B*B)`` in one pass."""
        torch = self._torch
        from gopolicy.net.device import autocast

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

    def probabilities_many(self, boards, colors=None) -> np.ndarray:
        """:meth:`probabilities` for many positions with one forward pass
        (``len(boards) * symmetries`` rows): ``float32 [len(boards), n + 1]``."""
        from gopolicy.go import symmetry

        boards = list(boards)
        if not boards:
            return np.zeros((0, self.board_size ** 2 + 1), np.float32)
        colors = [b.to_move for b in boards] if colors is None else [int(c) for c in colors]
        n = boards[0].size ** 2
        S = self.symmetries
        feats = []
        for b, c in zip(boards, colors):
            x = self._features(b, c)
            feats += [symmetry.apply_np(x, s) for s in range(S)]
        out = self._forward(np.stack(feats)).reshape(len(boards), S, n)
        res = np.zeros((len(boards), n + 1), np.float32)
        for i, (b, c) in enumerate(zip(boards, colors)):
            legal = b.legal_mask(c)[:n]
            if not legal.any():
                continue
            lg = np.stack([out[i, s, symmetry.point_map(s, b.size)[:n]] for s in range(S)]).astype(np.float64)
            lg[:, ~legal] = -np.inf
            lg -= lg.max(axis=1, keepdims=True)
            e = np.exp(lg)
            e /= e.sum(axis=1, keepdims=True)
            res[i, :n] = e.mean(axis=0)
        return res

    def probabilities(self, board, color: int | None = None) -> np.ndarray:
        """``float32 [n + 1]``: probabilities over legal points (pass = 0); all
        zeros when no point is legal."""
        color = board.to_move if color is None else int(color)
        n = board.size * board.size
        legal = board.legal_mask(color)[:n]
        probs = np.zeros(n + 1, np.float32)
        if not legal.any():
            return probs
        lg = self.logits(board, color).astype(np.float64)
        lg[:, ~legal] = -np.inf
        lg -= lg.max(axis=1, keepdims=True)
        e = np.exp(lg)
        e /= e.sum(axis=1, keepdims=True)
        probs[:n] = e.mean(axis=0)
        return probs

    # ------------------------------------------------------------ choice
    @staticmethod
    def own_eyes(board, color: int, candidates: np.ndarray) -> np.ndarray:
        """Bool mask over ``candidates`` (points) that are ``color``'s true eyes."""
        if len(candidates) == 0:
            return np.zeros(0, bool)
        nbr = board.nbr[candidates]            # (k, 4), -1 off board
        st = board.stones
        own = np.where(nbr >= 0, st[np.maximum(nbr, 0)] == color, True)
        maybe = own.all(axis=1)
        out = np.zeros(len(candidates), bool)
        for i in np.flatnonzero(maybe):
            out[i] = board.is_eye(int(candidates[i]), color)
        return out

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
