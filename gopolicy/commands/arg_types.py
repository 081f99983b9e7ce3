"""Checked argument types and one-line error texts shared by the subcommands.

The number ``type=`` functions refuse a bad value while the arguments are parsed:
argparse then prints the subcommand's usage and one line
``gopolicy CMD: error: argument --flag: must be >= 1, got -5`` (exit status 2)
before anything heavy (torch, numba) is imported and before any work starts.

    p.add_argument("--games", type=positive_int)         # counts: >= 1
    p.add_argument("--playouts", type=non_negative_int)  # 0 has a documented meaning
    p.add_argument("--time", type=positive_float)        # sizes and seconds: > 0

Paths are checked by :func:`refuse_paths` when the command starts, still before
anything heavy is imported (the parsers must accept examples naming files this
machine lacks):

    if (rc := refuse_paths("prepare", [(None, args.inputs, input_path),  # exists, readable
                                       ("--out", args.out, output_dir)])) is not None:
        return rc                                         # can be created and written

The rest turns the errors met while running into one line that names the
problem: :func:`error_text`, :func:`why_no_games`.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

# ---------------------------------------------------------------- numbers


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _checked(convert, ok, requirement: str, name: str):
    noun = "an integer" if convert is int else "a number"

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    parse.__name__ = parse.__qualname__ = name
    return parse


positive_int = _checked(int, lambda v: v >= 1, ">= 1", "positive_int")
non_negative_int = _checked(int, lambda v: v >= 0, ">= 0", "non_negative_int")
positive_float = _checked(_finite, lambda v: v > 0, "> 0", "positive_float")
non_negative_float = _checked(_finite, lambda v: v >= 0, ">= 0", "non_negative_float")
finite_float = _checked(_finite, lambda v: True, "a finite number", "finite_float")
fraction = _checked(_finite, lambda v: 0 <= v < 1, "at least 0 and below 1", "fraction")
probability = _checked(_finite, lambda v: 0 <= v <= 1, "between 0 and 1", "probability")


def int_between(lo: int, hi: int):
    """An integer ``lo <= v <= hi``."""
    return _checked(int, lambda v: lo <= v <= hi, f"between {lo} and {hi}", f"int_{lo}_to_{hi}")


# ---------------------------------------------------------------- paths


def read_problem(path) -> str | None:
    """Why ``path`` (a file or folder) cannot be read, or None."""
    p = Path(path)
    if not p.exists():
        return f"no such file or folder: {path}"
    if p.is_dir():
        if not os.access(p, os.R_OK | os.X_OK):
            return f"cannot read the folder {path}: permission denied"
    elif not os.access(p, os.R_OK):
        return f"cannot read {path}: permission denied"
    return None


def write_problem(path, folder: bool = False) -> str | None:
    """Why the file (or, with ``folder``, the folder) ``path`` cannot be created or
    written, or None. Creates nothing: the nearest existing ancestor must be a
    writable folder."""
    p = Path(path)
    if p.exists():
        if folder and not p.is_dir():
            return f"cannot write into {path}: it is a file, not a folder"
        if not folder and p.is_dir():
            return f"cannot write {path}: it is a folder"
        target = p if folder else p.parent
        if not os.access(p, os.W_OK) or not os.access(target, os.W_OK | os.X_OK):
            return f"cannot write {path}: permission denied"
        return None
    a = p.parent
    while not a.exists() and a != a.parent:
        a = a.parent
    if not a.is_dir():
        return f"cannot write {path}: {a} is a file, not a folder"
    if not os.access(a, os.W_OK | os.X_OK):
        return f"cannot write {path}: no write permission in {a if str(a) != '.' else 'this folder'}"
    return None


def _path_type(problem, name: str):
    def parse(text: str) -> str:
        why = problem(text)
        if why:
            raise argparse.ArgumentTypeError(why)
        return text

    parse.__name__ = parse.__qualname__ = name
    return parse


input_path = _path_type(read_problem, "input_path")


def _input_file_problem(path) -> str | None:
    return read_problem(path) or (f"{path} is a folder, not a file" if Path(path).is_dir() else None)


input_file = _path_type(_input_file_problem, "input_file")
output_file = _path_type(write_problem, "output_file")
output_dir = _path_type(lambda path: write_problem(path, folder=True), "output_dir")


def refuse_paths(command: str, checks, status: int = 2) -> int | None:
    """Check the paths a command was given when it starts (before torch is imported):
    ``checks`` are ``(flag, value, kind)`` with ``kind`` one of input_path, input_file,
    output_file, output_dir and ``value`` a path, a list of paths or None (not given);
    ``flag`` is None for a positional argument. The first problem is printed as one line,
    ``gopolicy CMD: error: argument --flag: no such file or folder: PATH``, and ``status``
    returned; None when every path is usable.

    The parsers check numbers only: examples such as ``gopolicy prepare kgs.tar.gz --out
    shards/`` must parse on a machine without those files (tests/test_readme_commands.py)."""
    for flag, value, kind in checks:
        for path in [value] if isinstance(value, (str, os.PathLike)) else value or ():
            try:
                kind(os.fspath(path))
            except argparse.ArgumentTypeError as exc:
                where = f"argument {flag}: " if flag else ""
                print(f"gopolicy {command}: error: {where}{exc}", file=sys.stderr)
                return status
    return None


# ---------------------------------------------------------------- errors met while running


def error_text(exc: BaseException) -> str:
    """One line naming the problem: an OSError with a file name as "no such file or
    folder: PATH", "not a directory: PATH", ... (not ``[Errno 2] ...``); anything else
    its message with the lines joined (only the first line of a long one)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        what = "no such file or folder" if isinstance(exc, FileNotFoundError) else \
            (exc.strerror or type(exc).__name__).lower()
        return f"{what}: {exc.filename}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    joined = " ".join(lines)  # a message with its hint on the next lines: all of it, on one line
    return joined if len(joined) <= 400 else lines[0]


def sgf_skip_text(name: str, exc) -> str:
    """Why one SGF file gave no game (``exc``: a corpus.sgf.SkipGame)."""
    if getattr(exc, "reason", "") == "parse error":
        return f"{name} did not parse as SGF ({exc})"
    return f"{name}: game not used ({exc})"


def why_no_games(paths) -> str:
    """Why SGF inputs gave no game: the first input file that fails to parse, and
    why ("" when every file parses, e.g. when the games all fell in another split)."""
    from gopolicy.corpus import sgf as sgf_io

    skipped: list[str] = []
    try:
        for name, data in sgf_io.iter_sources(paths, on_skip=lambda reason, detail: skipped.append(detail)):
            if skipped:
                break
            try:
                sgf_io.parse_game(data, name)
            except sgf_io.SkipGame as exc:
                return sgf_skip_text(name, exc)
    except (OSError, sgf_io.SkipGame) as exc:
        return error_text(exc)
    return f"not read: {skipped[0]}" if skipped else ""
