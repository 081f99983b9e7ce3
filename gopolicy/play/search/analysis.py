"""The search's analysis lines for GUIs, read from the live tree (the commands and
their arguments: :mod:`gopolicy.play.gtp_analysis`).

* ``lz-analyze`` (Leela Zero; Sabaki, Lizzie): ``info move D4 visits 120
  winrate 5234 prior 1830 lcb 4987 order 0 pv D4 Q16 ...`` with win rate,
  prior and lcb as integers in 1/10000;
* ``analyze`` (the engine-neutral form Sabaki also speaks): the same fields
  with win rate, prior and lcb as fractions;
* ``kata-analyze`` (KataGo): ``info move ... visits ... winrate ... scoreMean
  ... scoreLead ... prior ... lcb ... order ... pv ...`` as fractions, the
  score being the rollouts' mean area margin for the player to move, and
  ``ownership`` (361 values, +1 = the player to move's) when asked for.
  Fields our search has no honest value for (utility, scoreStdev) are left out.

Numbers are the search's own: visits are the root edges' visit counts (they
add up to the root's simulations), win rates are the edges' Q for the player
to move, lcb is Q minus 1.96 standard errors of a Bernoulli mean (0 below two
visits). GoGui's gfx answers (visit labels, principal variation) are here too.
"""
from __future__ import annotations

import math

import numpy as np

from gopolicy.go.coords import BLACK, to_gtp


def lcb(q: float, n: int) -> float:
    if n < 2:
        return 0.0
    return max(0.0, q - 1.96 * math.sqrt(max(q * (1 - q), 1e-4) / n))


def info_line(root, size: int, style: str, max_moves: int = 20, ownership=None,
              color: int = BLACK, first: int | None = None) -> str:
    """One ``info ...`` line per visited root edge on one line: ``first`` (the edge the
    engine would play, as Leela Zero puts its LCB choice first), then most visited first."""
    if root is None or root.visits == 0:
        return ""
    # the order of Node.best(): visits, then win rate, then prior
    order = [int(i) for i in np.lexsort((-root.P, -root.winrates(), -root.N)) if root.N[i] > 0]
    if first is not None and first in order:
        order.remove(first)
        order.insert(0, first)
    order = order[:max_moves]
    parts = []
    sign = 1.0 if color == BLACK else -1.0
    for k, i in enumerate(order):
        n = int(root.N[i])
        q = float(root.W[i] / n)
        pv = " ".join(to_gtp(m, size) for m in root.pv(i))
        v = to_gtp(int(root.moves[i]), size)
        p = float(root.P[i])
        if style == "lz":
            parts.append(f"info move {v} visits {n} winrate {int(round(q * 10000))} "
                         f"prior {int(round(p * 10000))} lcb {int(round(lcb(q, n) * 10000))} "
                         f"order {k} pv {pv}")
        elif style == "kata":
            score = sign * float(root.S[i] / n)
            parts.append(f"info move {v} visits {n} winrate {q:.6f} scoreMean {score:.3f} "
                         f"scoreLead {score:.3f} prior {p:.6f} lcb {lcb(q, n):.6f} order {k} pv {pv}")
        else:
            parts.append(f"info move {v} visits {n} winrate {q:.6f} prior {p:.6f} "
                         f"lcb {lcb(q, n):.6f} order {k} pv {pv}")
    line = " ".join(parts)
    if style == "kata" and ownership is not None:
        # KataGo's order: row 19 first, A..T; values for the player to move.
        grid = (sign * ownership).reshape(size, size)[::-1]
        line += " ownership " + " ".join(f"{v:.3f}" for v in grid.reshape(-1))
    return line


def gfx_visits(root, size: int) -> str:
    """GoGui gfx: visit counts as labels, the most visited move marked."""
    if root is None or root.visits == 0:
        return ""
    idx = [int(i) for i in np.argsort(-root.N) if root.N[i] > 0 and root.moves[i] < size * size][:30]
    labels = " ".join(f"{to_gtp(int(root.moves[i]), size)} {int(root.N[i])}" for i in idx)
    q = root.winrates()[root.best()]
    out = [f"LABEL {labels}"] if labels else []
    if idx:
        out.append(f"MARK {to_gtp(int(root.moves[idx[0]]), size)}")
    out.append(f"TEXT {root.visits} playouts, win rate {100 * q:.1f}% for the player to move")
    return "\n".join(out)


def gfx_pv(root, size: int, color: int) -> str:
    """GoGui gfx: the principal variation as ``VAR b D4 w Q16 ...``."""
    if root is None or root.visits == 0:
        return ""
    seq, c = [], color
    for m in root.pv():
        seq.append(f"{'b' if c == BLACK else 'w'} {to_gtp(m, size)}")
        c = 3 - c
    return "VAR " + " ".join(seq)


def visit_fractions(root, n: int) -> np.ndarray:
    """Share of the root's visits on each point (pass left out): GoGui's visit heatmap."""
    out = np.zeros(n)
    if root is not None and root.visits:
        pts = root.moves < n
        out[root.moves[pts]] = root.N[pts] / root.visits
    return out
