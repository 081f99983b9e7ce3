#!/usr/bin/env python
"""Make the small set of 19x19 games the project ships (data/selfplay/).

GNU Go plays itself through GTP (two engine processes, one per colour, so the
levels can differ). Every game gets a few seeded random opening moves so that
games at the same levels differ; a few games are handicap games (GNU Go's
``fixed_handicap``). Each move is checked with ``gopolicy.go.board.Board`` and the
game is saved with ``gopolicy.corpus.sgf.write_sgf``; the result comes from GNU Go's
``final_score`` after two passes (``B+R``/``W+R`` on resignation, ``?`` when the
move cap ends the game).

    python scripts/make_selfplay_data.py --out data/selfplay            # the shipped set
    python scripts/make_selfplay_data.py --out /tmp/sp --games 4 --max-moves 60

Deterministic for a given GNU Go build and arguments.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gopolicy.corpus.sgf import write_sgf  # noqa: E402
from gopolicy.go.board import Board  # noqa: E402
from gopolicy.go.coords import BLACK, WHITE, from_gtp, pass_move, to_gtp  # noqa: E402

GNUGO = "/usr/games/gnugo"

# (black level, white level, handicap); the shipped set: 16 games.
SCHEDULE = [
    (0, 0, 0), (0, 0, 0), (1, 1, 0), (1, 1, 0),
    (2, 2, 0), (2, 2, 0), (0, 1, 0), (1, 0, 0),
    (0, 2, 0), (2, 0, 0), (1, 2, 0), (2, 1, 0),
    (0, 0, 2), (0, 1, 3), (1, 1, 4), (0, 2, 2),
]


class GTP:
    def __init__(self, level: int, komi: float, gnugo: str = GNUGO):
        self.p = subprocess.Popen(
            [gnugo, "--mode", "gtp", "--level", str(level), "--komi", str(komi),
             "--chinese-rules"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)

    def cmd(self, line: str) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = []
        while True:
            row = self.p.stdout.readline()
            if row == "":
                raise RuntimeError(f"GNU Go died on {line!r}")
            if row.strip() == "" and out:
                break
            if row.strip() == "" and not out:
                continue
            out.append(row.rstrip("\n"))
        text = "\n".join(out)
        if not text.startswith("="):
            raise RuntimeError(f"GTP error for {line!r}: {text}")
        return text[1:].strip()

    def close(self):
        try:
            self.cmd("quit")
        except Exception:
            pass
        self.p.wait(timeout=10)


def random_opening(rng: random.Random, k: int, taken: set[int], size: int = 19) -> list[int]:
    """k distinct points on the 3rd/4th lines (plausible openings)."""
    lines = [2, 3, size - 4, size - 3]
    out = []
    while len(out) < k:
        r = rng.choice(lines) if rng.random() < 0.5 else rng.randrange(2, size - 2)
        c = rng.choice(lines) if r not in lines else rng.randrange(2, size - 2)
        if rng.random() < 0.5:
            r, c = c, r
        p = r * size + c
        if p not in taken:
            taken.add(p)
            out.append(p)
    return out


def play_game(index: int, levels: tuple[int, int], handicap: int, komi: float,
              max_moves: int, opening: int, seed: int, gnugo: str = GNUGO):
    size = 19
    rng = random.Random(seed * 1000 + index)
    eng = {BLACK: GTP(levels[0], komi, gnugo), WHITE: GTP(levels[1], komi, gnugo)}
    try:
        for e in eng.values():
            e.cmd(f"set_random_seed {seed * 1000 + index}")   # GNU Go seeds from the clock otherwise
            e.cmd(f"boardsize {size}")
            e.cmd("clear_board")
            e.cmd(f"komi {komi}")
        stones: list[int] = []
        if handicap:
            verts = eng[BLACK].cmd(f"fixed_handicap {handicap}").split()
            stones = [from_gtp(v, size) for v in verts]
            eng[WHITE].cmd("set_free_handicap " + " ".join(verts))
        board = Board(size, komi=komi)
        if stones:
            board.setup(black=stones)
        color = WHITE if handicap else BLACK
        moves: list[tuple[int, int]] = []
        taken = set(stones)
        forced = [] if handicap else random_opening(rng, opening, taken)
        result = ""
        passes = 0
        while len(moves) < max_moves:
            name = "black" if color == BLACK else "white"
            other = eng[WHITE if color == BLACK else BLACK]
            if forced:                      # a random opening move: tell both engines
                mv = forced.pop(0)
                eng[color].cmd(f"play {name} {to_gtp(mv, size)}")
            else:
                v = eng[color].cmd(f"genmove {name}")
                if v.lower() == "resign":
                    result = ("W" if color == BLACK else "B") + "+R"
                    break
                mv = from_gtp(v, size)
            board.play(mv, color)           # raises IllegalMove if GNU Go disagrees
            other.cmd(f"play {name} {to_gtp(mv, size)}")
            moves.append((color, mv))
            passes = passes + 1 if mv == pass_move(size) else 0
            if passes >= 2:
                break
            color = WHITE if color == BLACK else BLACK
        if not result:
            if passes >= 2:                 # finished: GNU Go scores it (dead stones removed)
                result = eng[BLACK].cmd("final_score")
                if result in ("0", "Draw"):
                    result = "0"
            else:                           # move cap: unknown result (SGF's "?")
                result = "?"
        return stones, moves, result
    finally:
        for e in eng.values():
            e.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "selfplay"))
    ap.add_argument("--games", type=int, default=len(SCHEDULE))
    ap.add_argument("--max-moves", type=int, default=400)
    ap.add_argument("--opening", type=int, default=2, help="seeded random opening moves")
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gnugo", default=GNUGO)
    args = ap.parse_args(argv)
    if not os.path.exists(args.gnugo):
        print(f"GNU Go not found at {args.gnugo} (apt-get install gnugo)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.games):
        lb, lw, ha = SCHEDULE[i % len(SCHEDULE)]
        t = time.time()
        stones, moves, result = play_game(i, (lb, lw), ha, args.komi, args.max_moves,
                                          args.opening, args.seed, args.gnugo)
        name = f"gnugo-{i:02d}-b{lb}-w{lw}" + (f"-h{ha}" if ha else "") + ".sgf"
        write_sgf(os.path.join(args.out, name), 19, args.komi, moves,
                  black_name=f"GNU Go level {lb}", white_name=f"GNU Go level {lw}",
                  result=result, handicap_stones=stones,
                  extra={"GN": f"selfplay {i}", "SO": "scripts/make_selfplay_data.py"})
        print(f"{name}: {len(moves)} moves, {result}, {time.time() - t:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
