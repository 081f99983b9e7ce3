"""Move-prediction accuracy of a policy network (``gopolicy eval``).

Top-1, top-5, mean log-likelihood of the move played, broken down by game
phase (move-number buckets) and by data source, on prepared shards or straight
from SGF files. ``symmetries=8`` averages the probabilities of the 8
rotated/reflected inputs (each mapped back to the original board) as in the
paper's Extended Data Table 3, whose rows are printed beside ours.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch

from gopolicy.corpus import sgf as sgf_io
from gopolicy.corpus.shards import ShardSet, iter_eval_batches, model_input, to_device
from gopolicy.go import features, symmetry
from gopolicy.go.coords import pass_move
from gopolicy.net.checkpoint import load_model
from gopolicy.net.device import autocast
from gopolicy.net.model_paths import default_model_path
from gopolicy.rollout.model import RolloutPolicy
from gopolicy.rollout.train import GameStream, batches, evaluate_batches, sgf_inputs_of

# Extended Data Table 3 (48 planes, 13 layers; test-set accuracy)
PAPER_ROWS = [
    ("AlphaGo k=128", 128, 1, 0.546),
    ("AlphaGo k=192", 192, 1, 0.554),
    ("AlphaGo k=256", 256, 1, 0.559),
    ("AlphaGo k=256, 8 symmetries", 256, 8, 0.570),
]
PHASES = [(1, 30), (31, 80), (81, 150), (151, None)]


class ModelNotFound(FileNotFoundError):
    pass


def phase_name(lo: int, hi: int | None) -> str:
    return f"{lo}-{hi}" if hi is not None else f"{lo}+"


def resolve_model_path(path=None) -> Path:
    p = Path(path) if path else default_model_path()
    if not p.is_file():
        if path:
            raise ModelNotFound(f"no model file {p}")
        raise ModelNotFound(
            f"no bundled model at {p}. Train one and export it, e.g.\n"
            f"  gopolicy prepare SGF_FILES... --out SHARDS\n"
            f"  gopolicy train --data SHARDS --out RUN --recipe fast\n"
            f"then pass --model RUN/ckpt.pt (or copy RUN/policy.pt, the fp16 export, to {p}).")
    return p


def load_policy(path=None, device="cpu"):
    """``(model, model_config)`` for ``path`` or the bundled model."""
    return load_model(resolve_model_path(path), device=device)


# ---------------------------------------------------------------------------
# prediction
# ---------------------------------------------------------------------------

def symmetric_probabilities(model, x, symmetries: int = 1, dev=None):
    """Move probabilities ``(N, P)`` for planes ``x`` (N, C, S, S), averaged over
    the first ``symmetries`` board symmetries: each transformed input's
    prediction is mapped back (``p[q] = p_s[image of q under s]``) before averaging."""
    size = x.shape[-1]
    cl = bool(dev is not None and dev.channels_last)
    total = None
    for s in range(symmetries):
        xs = symmetry.apply_torch(x, s) if s else x
        if dev is not None:
            with autocast(dev):
                logits = model(model_input(xs, cl))
        else:
            logits = model(xs.float())
        p = torch.softmax(logits.float(), dim=-1)
        if s:
            m = torch.as_tensor(symmetry.point_map(s, size)[: size * size], device=p.device)
            p = p[:, m]
        total = p if total is None else total + p
    return total / symmetries


class Tally:
    """Running sums for top-1 / top-5 / log-likelihood, overall and per group."""

    def __init__(self):
        self.groups: dict[tuple[str, str], np.ndarray] = {}

    def add(self, kind: str, keys: np.ndarray, top1: np.ndarray, top5: np.ndarray, logp: np.ndarray):
        for key in np.unique(keys):
            sel = keys == key
            acc = self.groups.setdefault((kind, str(key)), np.zeros(4))
            acc += (sel.sum(), top1[sel].sum(), top5[sel].sum(), logp[sel].sum())

    @staticmethod
    def summary(acc: np.ndarray) -> dict:
        n = max(1.0, acc[0])
        return {"positions": int(acc[0]), "top1": acc[1] / n, "top5": acc[2] / n, "log_likelihood": acc[3] / n}

    def result(self) -> dict:
        out = self.summary(self.groups.get(("all", "all"), np.zeros(4)))
        names = [phase_name(lo, hi) for lo, hi in PHASES]
        out["by_phase"] = {k: self.summary(self.groups[("phase", k)]) for k in names if ("phase", k) in self.groups}
        out["by_source"] = {k: self.summary(v) for (kind, k), v in sorted(self.groups.items()) if kind == "source"}
        return out


def _phase_keys(move_number: np.ndarray) -> np.ndarray:
    keys = np.empty(len(move_number), dtype=object)
    for lo, hi in PHASES:
        sel = (move_number >= lo) & (move_number <= (hi if hi is not None else np.iinfo(np.int32).max))
        keys[sel] = phase_name(lo, hi)
    return keys


def score_batch(tally: Tally, probs, target, move_number: np.ndarray, sources: np.ndarray) -> None:
    top5_idx = torch.topk(probs, k=min(5, probs.shape[1]), dim=1).indices
    t = target.view(-1, 1)
    top1 = (top5_idx[:, :1] == t).any(1).cpu().numpy()
    top5 = (top5_idx == t).any(1).cpu().numpy()
    logp = torch.log(probs.gather(1, t).squeeze(1).clamp_min(1e-30)).double().cpu().numpy()
    n = len(top1)
    tally.add("all", np.array(["all"] * n, dtype=object), top1, top5, logp)
    tally.add("phase", _phase_keys(np.asarray(move_number)), top1, top5, logp)
    tally.add("source", np.asarray(sources, dtype=object), top1, top5, logp)


def _model_planes(model, planes: int | None) -> int | None:
    if planes is not None:
        return planes
    for m in model.modules():
        if hasattr(m, "in_channels"):
            return int(m.in_channels)
    return None


def evaluate_shards(model, data, split: str = "val", *, symmetries: int = 1, batch_size: int = 256,
                    max_positions: int | None = None, dev=None, planes: int | None = None,
                    verify: bool = False) -> dict:
    """Evaluate ``model`` on a split of prepared shards (``max_positions`` spread evenly)."""
    shards = ShardSet(data, split, verify=verify)
    k = _model_planes(model, planes) or shards.num_planes
    if k > shards.num_planes:
        raise ValueError(f"the model takes {k} planes, the shards hold {shards.num_planes}")
    device = dev.device if dev is not None else torch.device("cpu")
    tally = Tally()
    with torch.inference_mode():
        for packed, meta in iter_eval_batches(shards, batch_size, num_planes=k, max_positions=max_positions):
            b = to_device(packed, meta, None, k, device, board_size=shards.board_size)
            probs = symmetric_probabilities(model, b.x, symmetries, dev)
            sources = np.array([shards.source_name(int(c)) for c in b.meta["source"]], dtype=object)
            score_batch(tally, probs, b.target, b.meta["move_number"].astype(np.int64), sources)
    res = tally.result()
    res.update({"symmetries": symmetries, "data": str(data), "split": split, "planes": k})
    return res


def iter_sgf_positions(paths, *, planes: int = 48, max_positions: int | None = None, skipped: dict | None = None):
    """``(planes uint8 (k,S,S), target, move_number, source)`` for every non-pass
    move of every SGF file/folder/archive in ``paths`` (features on the fly)."""
    def count_skip(reason: str, detail: str = "") -> None:
        if skipped is not None:
            skipped[reason] = skipped.get(reason, 0) + 1

    count = 0
    for name, data in sgf_io.iter_sources(paths, on_skip=count_skip):  # broken archives: counted
        try:
            game = sgf_io.parse_game(data, name)
            positions = []
            for board, color, move, number in sgf_io.replay(game):
                if move == pass_move(game.size):
                    continue
                positions.append((features.planes(board, color)[:planes], int(move), int(number)))
        except sgf_io.SkipGame as exc:
            count_skip(exc.reason)
            continue
        source = game.source or sgf_io.source_of(name)
        for p, move, number in positions:
            yield p, move, number, source
            count += 1
            if max_positions is not None and count >= max_positions:
                return


def evaluate_sgf(model, paths, *, symmetries: int = 1, batch_size: int = 256, max_positions: int | None = None,
                 dev=None, planes: int | None = None) -> dict:
    """Evaluate ``model`` on SGF files/folders (passes are skipped as targets)."""
    k = _model_planes(model, planes) or 48
    device = dev.device if dev is not None else torch.device("cpu")
    tally = Tally()
    skipped: dict = {}
    buf: list = []

    def flush():
        if not buf:
            return
        x = torch.from_numpy(np.stack([b[0] for b in buf])).to(device)
        target = torch.tensor([b[1] for b in buf], dtype=torch.int64, device=device)
        with torch.inference_mode():
            probs = symmetric_probabilities(model, x, symmetries, dev)
        score_batch(tally, probs, target, np.array([b[2] for b in buf]), np.array([b[3] for b in buf], dtype=object))
        buf.clear()

    for item in iter_sgf_positions(paths, planes=k, max_positions=max_positions, skipped=skipped):
        buf.append(item)
        if len(buf) >= batch_size:
            flush()
    flush()
    res = tally.result()
    res.update({"symmetries": symmetries, "sgf": [str(p) for p in paths], "planes": k, "skipped_games": skipped})
    return res


def evaluate_rollout(path, sgf=None, data=None, split: str = "val", max_positions: int | None = None) -> dict:
    """Accuracy of a rollout/tree-policy weights file (gopolicy/rollout) on SGF files, or on the
    ``split`` games of the SGF inputs a shard directory was prepared from."""
    policy = RolloutPolicy.load(path)
    if sgf:
        stream = GameStream(sgf, None)
    else:
        paths, vf, tf = sgf_inputs_of(data)
        stream = GameStream(paths, split, val_fraction=vf, test_fraction=tf)
    top1, top5, logp, number, sources = evaluate_batches(policy, batches(stream, 100), max_positions)
    tally = Tally()
    if len(top1):
        tally.add("all", np.array(["all"] * len(top1), dtype=object), top1, top5, logp)
        tally.add("phase", _phase_keys(number), top1, top5, logp)
        tally.add("source", sources, top1, top5, logp)
    res = tally.result()
    paper = ("AlphaGo rollout policy", 0.242) if policy.kind == "rollout" else ("AlphaGo tree policy", None)
    res.update({"symmetries": 1, "kind": policy.kind, "patterns": int(len(policy.pattern_keys)),
                "paper_rows": [paper], "skipped_games": stream.skipped})
    res.update({"sgf": [str(p) for p in sgf]} if sgf else {"data": str(data), "split": split})
    return res


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def _pct(x) -> str:
    return f"{100 * x:6.2f}%" if x is not None and math.isfinite(x) else "     - "


def format_report(res: dict, model_config: dict | None = None, model_name: str = "this model") -> str:
    cfg = model_config or {}
    lines = []
    desc = model_name
    if cfg.get("kind"):
        desc += f": {cfg['kind']} policy, {cfg.get('patterns', 0):,} patterns"
    elif cfg:
        desc += f": k={cfg.get('filters')}, {cfg.get('layers')} layers, {cfg.get('planes')} planes"
    where = res.get("data") and f"{res['data']} [{res.get('split')}]" or ", ".join(res.get("sgf", []))[:60]
    lines.append(f"model {desc}; {res['symmetries']} symmetr{'y' if res['symmetries'] == 1 else 'ies'}; "
                 f"data {where}")
    lines.append(f"{'':34s} {'top-1':>7s} {'top-5':>7s} {'log-lik':>8s} {'positions':>10s}")
    lines.append(f"{'this model':34s} {_pct(res['top1'])} {_pct(res['top5'])} {res['log_likelihood']:8.3f} "
                 f"{res['positions']:10,d}")
    for name, acc in res.get("paper_rows", []):
        lines.append(f"{name:34s} {_pct(acc)} {'      -':>7s} {'-':>8s} {'(paper)':>10s}")
    for name, k, syms, acc in PAPER_ROWS if "paper_rows" not in res else []:
        mark = " <" if cfg.get("filters") == k and res["symmetries"] == syms and cfg.get("planes", 48) == 48 else ""
        lines.append(f"{name:34s} {_pct(acc)} {'      -':>7s} {'-':>8s} {'(paper)':>10s}{mark}")
    lines.append("")
    lines.append("by game phase (move number)")
    for k, v in res.get("by_phase", {}).items():
        lines.append(f"  {k:32s} {_pct(v['top1'])} {_pct(v['top5'])} {v['log_likelihood']:8.3f} {v['positions']:10,d}")
    if res.get("by_source"):
        lines.append("by source")
        for k, v in res["by_source"].items():
            lines.append(f"  {k[:32]:32s} {_pct(v['top1'])} {_pct(v['top5'])} {v['log_likelihood']:8.3f} "
                         f"{v['positions']:10,d}")
    if res.get("skipped_games"):
        lines.append("skipped games: " + ", ".join(f"{k} {v}" for k, v in res["skipped_games"].items()))
    return "\n".join(lines)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
