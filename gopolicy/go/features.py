"""The 48 input planes of the AlphaGo SL policy network (Silver et al. 2016,
Extended Data Table 2), relative to the player to move.

=======  ===============================================================
planes   feature (integer features one-hot; a block's last plane = "or more")
=======  ===============================================================
0-2      stone colour: player / opponent / empty
3        ones
4-11     turns since a stone was played: 1 .. >=8 (setup stones: >=8)
12-19    liberties of the stone's string: 1 .. >=8
20-27    capture size of a legal move: 0 .. >=7
28-35    self-atari size: the new string's size if it is left with 1 liberty
36-43    liberties after the move: 1 .. >=8
44       ladder capture (see :mod:`gopolicy.go.ladders`)
45       ladder escape
46       sensibleness: legal and does not fill the player's own eye
47       zeros
(48)     optional: player colour (1 when Black moves), the value net's extra plane
=======  ===============================================================

Array index ``[plane, row, col]`` uses sgfmill's (row, col); "legal" means
empty, not suicide and not the simple-ko recapture; illegal points are zero in
planes 20-46.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from gopolicy.go.board import zobrist_table
from gopolicy.go.ladders import canonical_rank, ladder_capture_move, ladder_escape_move
from gopolicy.go.rules_kernels import EMPTY, Strings, analyze_moves, is_eye, label_strings, neighbour_tables
from gopolicy.go.symmetry import point_map

NUM_PLANES = 48
# Extended Data Table 3 ablations use the first k planes.
FEATURE_SUBSETS = {4: "stone colour + ones", 12: "+ turns since",
                   20: "+ liberties", 48: "all features"}
PLANE_NAMES = (["player", "opponent", "empty", "ones"]
               + [f"turns_since_{i}" for i in range(1, 9)]
               + [f"liberties_{i}" for i in range(1, 9)]
               + [f"capture_size_{i}" for i in range(0, 8)]
               + [f"self_atari_{i}" for i in range(1, 9)]
               + [f"liberties_after_{i}" for i in range(1, 9)]
               + ["ladder_capture", "ladder_escape", "sensibleness", "zeros", "colour"])


@njit(cache=True)
def fill_planes(stones, placed_at, move_count, ko, color, nbr, diag, zob, maps, out,
                sid, size_of, libs_of, order, start, lib_list, lib_start,
                legal, capture, libs_after, size_after):
    """Write the planes for ``color`` to move into ``out`` (uint8 [P, n], P >= 48)."""
    n = stones.shape[0]
    out[:, :] = 0
    label_strings(stones, nbr, sid, size_of, libs_of, order, start, lib_list, lib_start)
    analyze_moves(stones, nbr, ko, color, sid, size_of, libs_of, order, start,
                  lib_list, lib_start, legal, capture, libs_after, size_after)
    opp = 3 - color
    rank = np.empty(0, np.int32)  # canonical move order for ladder reads, made on first need
    for p in range(n):
        out[3, p] = 1
        s = stones[p]
        if s == EMPTY:
            out[2, p] = 1
            if legal[p] == 0:
                continue
            out[20 + min(capture[p], 7), p] = 1
            if libs_after[p] == 1:
                out[28 + min(size_after[p], 8) - 1, p] = 1
            out[36 + min(libs_after[p], 8) - 1, p] = 1
            if not is_eye(stones, nbr, diag, p, color):
                out[46, p] = 1
            # Ladder reading only where it can matter: next to a string with
            # 2 liberties (capture) or 1 liberty (escape).
            cap_cand = False
            esc_cand = False
            for k in range(4):
                q = nbr[p, k]
                if q < 0 or stones[q] == EMPTY:
                    continue
                lq = libs_of[sid[q]]
                if stones[q] == opp and lq == 2:
                    cap_cand = True
                elif stones[q] == color and lq == 1:
                    esc_cand = True
            if (cap_cand or esc_cand) and rank.shape[0] == 0:
                rank = canonical_rank(stones, zob, maps)
            if cap_cand and ladder_capture_move(stones, nbr, rank, p, color):
                out[44, p] = 1
            if esc_cand and ladder_escape_move(stones, nbr, rank, p, color):
                out[45, p] = 1
        else:
            out[0 if s == color else 1, p] = 1
            age = move_count - placed_at[p]
            out[4 + min(age, 7), p] = 1
            out[12 + min(libs_of[sid[p]], 8) - 1, p] = 1
    if out.shape[0] > 48 and color == 1:
        out[48, :] = 1


class PlaneWriter:
    """Reusable scratch space for computing planes of many positions of one size."""

    def __init__(self, size: int = 19):
        self.size = size
        n = size * size
        self.nbr, self.diag = neighbour_tables(size)
        self.zob = zobrist_table(size)
        self.maps = np.stack([point_map(s, size)[:n] for s in range(8)]).astype(np.int32)
        self.s = Strings(n)
        self.legal = np.empty(n, np.uint8)
        self.capture = np.empty(n, np.int32)
        self.libs_after = np.empty(n, np.int32)
        self.size_after = np.empty(n, np.int32)

    def __call__(self, board, color: int | None = None, colour_plane: bool = False,
                 out: np.ndarray | None = None) -> np.ndarray:
        color = board.to_move if color is None else int(color)
        n = self.size * self.size
        nplanes = NUM_PLANES + (1 if colour_plane else 0)
        if out is None:
            out = np.empty((nplanes, self.size, self.size), np.uint8)
        ko = board.ko if color == board.to_move else -1
        s = self.s
        fill_planes(board.stones, board.placed_at, board.move_count, ko, color,
                    self.nbr, self.diag, self.zob, self.maps, out.reshape(nplanes, n),
                    s.sid, s.size_of, s.libs_of, s.order, s.start, s.lib_list, s.lib_start,
                    self.legal, self.capture, self.libs_after, self.size_after)
        return out


_WRITERS: dict[int, PlaneWriter] = {}


def planes(board, color: int | None = None, colour_plane: bool = False) -> np.ndarray:
    """The AlphaGo planes ``(48, size, size)`` uint8 for ``color`` (default: side to move).

    With ``colour_plane=True`` a 49th plane is 1 when Black is to move.
    """
    w = _WRITERS.get(board.size)
    if w is None:
        w = _WRITERS[board.size] = PlaneWriter(board.size)
    return w(board, color, colour_plane)


def describe(p: np.ndarray, names=PLANE_NAMES) -> str:
    """A readable dump: one ASCII board per non-empty plane (row 19 at the top)."""
    size = p.shape[-1]
    chunks = []
    for i in range(p.shape[0]):
        if not p[i].any() and i not in (0, 1, 2):
            continue
        rows = [f"plane {i:2d} {names[i] if i < len(names) else ''} ({int(p[i].sum())} set)"]
        for r in range(size - 1, -1, -1):
            rows.append(f"{r + 1:2d} " + " ".join("#" if v else "." for v in p[i, r]))
        chunks.append("\n".join(rows))
    return "\n\n".join(chunks)

