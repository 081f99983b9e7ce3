"""`gopolicy features GAME.sgf --move N [--out planes.npy] [--dump]`: the planes of one position.

For independent checks and for humans: writes the uint8 array (48, 19, 19) of
the position before move N (N = 1 is the position after the setup stones;
passes count as moves) and/or prints one ASCII board per non-empty plane.
"""
from __future__ import annotations

import sys

from gopolicy.commands.arg_types import (
    error_text,
    input_file,
    output_file,
    positive_int,
    refuse_paths,
    sgf_skip_text,
)


def add_parser(sub, name):
    p = sub.add_parser(name, help="write or dump the 48 AlphaGo planes of one SGF position")
    p.add_argument("sgf", help="an .sgf file")
    p.add_argument("--move", "-m", type=positive_int, default=1,
                   help="position before move N (1 = after the setup stones; passes count)")
    p.add_argument("--out", "-o", help="write the planes here as .npy (uint8 [48, 19, 19])")
    p.add_argument("--dump", action="store_true", help="print an ASCII board per non-empty plane")
    p.add_argument("--colour-plane", action="store_true",
                   help="add plane 48: 1 when Black is to move (the value net's extra plane)")
    p.set_defaults(func=run)


def position_before(game, move_number: int):
    """(board, colour to move) before move ``move_number`` of ``game``."""
    from gopolicy.corpus import sgf as sgf_io
    from gopolicy.go.board import Board

    if move_number < 1:
        raise ValueError("--move counts from 1")
    last = None
    for board, color, move, n in sgf_io.replay(game):
        if n == move_number:
            return board.copy(), color
        last = (board, color, n)
    if last is not None and move_number == last[2] + 1:
        b = last[0].copy()  # the replay's board is the final one after its last move
        return b, b.to_move
    if last is None and move_number == 1:
        board = Board(game.size, game.komi)
        return board, board.to_move
    raise ValueError(f"the game has {0 if last is None else last[2]} moves; "
                     f"--move must be 1..{1 if last is None else last[2] + 1}")


def run(args) -> int:
    rc = refuse_paths("features", [(None, args.sgf, input_file), ("--out", args.out, output_file)])
    if rc is not None:
        return rc
    import numpy as np

    from gopolicy.corpus import sgf as sgf_io
    from gopolicy.go.features import describe, planes

    try:
        with open(args.sgf, "rb") as f:
            game = sgf_io.parse_game(f.read(), args.sgf)
        board, color = position_before(game, args.move)
    except sgf_io.SkipGame as exc:
        print(f"gopolicy features: error: {sgf_skip_text(args.sgf, exc)}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"gopolicy features: error: {error_text(exc)}", file=sys.stderr)
        return 2
    p = planes(board, color, colour_plane=args.colour_plane)
    if args.out:
        try:
            from pathlib import Path

            Path(args.out).parent.mkdir(parents=True, exist_ok=True)   # checked by refuse_paths
            np.save(args.out, p)
        except OSError as exc:
            print(f"gopolicy features: error: cannot write --out: {error_text(exc)}", file=sys.stderr)
            return 1
        print(f"wrote {args.out}: uint8 {p.shape}, {'black' if color == 1 else 'white'} to move",
              file=sys.stderr)
    if args.dump or not args.out:
        print(board)
        print(f"{'Black' if color == 1 else 'White'} to move (move {args.move})\n")
        print(describe(p))
    return 0
