"""The linear softmax of a rollout or tree policy over the candidate moves of a position:
``p(a) = exp(sum of the weights of a's features) / sum over the candidates``. One kernel
(:func:`candidate_softmax`) serves the trainer and the tree policy's move probabilities."""
from __future__ import annotations

import numpy as np
from numba import njit

from gopolicy.go.rules_kernels import inner_kernel
from gopolicy.numba_cache import ensure_fresh
from gopolicy.rollout.incremental_board import NMETA, NROWS, init_state, set_captures
from gopolicy.rollout.move_features import new_features, new_point_patterns, position_features, refresh_points

ensure_fresh()


@inner_kernel
def candidate_softmax(w, fx, ncand, sc):
    """``exp(score - best score)`` of each of the ``ncand`` candidates of :class:`Features`
    ``fx`` into ``sc`` (a candidate's score: the sum of the weights ``w`` of its features);
    returns their sum."""
    mx = -1e300
    for j in range(ncand):
        s = 0.0
        for i in range(fx.nf[j]):
            s += w[fx.feats[j, i]]
        sc[j] = s
        if s > mx:
            mx = s
    tot = 0.0
    for j in range(ncand):
        sc[j] = np.exp(sc[j] - mx)
        tot += sc[j]
    return tot


@njit(cache=True)
def scores_from_scratch(pos, c, t, table, w, tree, out):
    """Softmax probabilities of mover c's candidates in :class:`Position` ``pos`` into ``out``
    (n + 1, pass last: 1 when there is no candidate), for the policy with weights ``w``,
    :class:`PatternTable` ``table`` and tree features when ``tree``; ``t``: the board's
    :class:`Tables`."""
    n = pos.stones.shape[0]
    S = np.zeros((NROWS, n), np.int32)
    meta = np.zeros(NMETA, np.int64)
    pp = new_point_patterns(n)
    fx = new_features(n)
    init_state(S, meta, pos.stones, t.nbr, t.nbr8, pos.ko, pos.last, pos.last2)
    set_captures(S, meta, pos.capt)
    refresh_points(S, meta, np.arange(n).astype(np.int32), n, c, t.halves, table, pp, True)
    ncand = position_features(S, meta, t, table, c, tree, pp, fx)
    for q in range(n + 1):
        out[q] = 0.0
    if ncand == 0:
        out[n] = 1.0
        return
    sc = np.empty(ncand, np.float64)
    tot = candidate_softmax(w, fx, ncand, sc)
    for j in range(ncand):
        out[fx.cand[j]] = sc[j] / tot
