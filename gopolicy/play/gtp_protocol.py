"""GTP version 2 framing and argument parsing, with no engine behind it.

Framing (GTP 2 spec, sections 2 and 3): a line may start with a numeric id,
which the reply echoes (``=0``, ``?17``); control characters other than HT and
LF are removed (so CR-LF input works), ``#`` starts a comment, HT becomes a
space, empty lines are ignored. Every reply is ``=[id] text`` or ``?[id] error``
followed by a blank line; a reply never contains a blank line inside it.
"""
from __future__ import annotations

import re

from gopolicy.go.coords import from_gtp, parse_color


class GtpFailure(Exception):
    """A command failed; the message becomes the ``?`` reply."""


# A command's result when it wrote its own reply to the stream (a streamed analysis).
STREAMED = "\x00streamed"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def preprocess(line: str) -> str:
    """GTP 2 spec 3.1: drop control characters but HT/LF, comments, HT -> space, strip."""
    line = _CONTROL.sub("", line.replace("\r", ""))
    hash_at = line.find("#")
    if hash_at >= 0:
        line = line[:hash_at]
    return line.replace("\t", " ").strip()


def format_reply(ok: bool, text: str, cid: str | None = None) -> str:
    """``=[id] text\\n\\n`` (or ``?``); inner blank lines are dropped so the reply
    cannot end early; a text starting with a newline starts on the next line."""
    text = _CONTROL.sub("", (text or "").replace("\r", "").replace("\t", " "))
    lines = text.split("\n")
    body = "\n".join([lines[0].rstrip()] + [ln.rstrip() for ln in lines[1:] if ln.strip()])
    head = ("=" if ok else "?") + (cid or "")
    return f"{head} {body}".rstrip(" ") + "\n\n" if body.strip() else f"{head}\n\n"


def split_command(line: str) -> tuple[str | None, list[str]]:
    """A preprocessed, non-empty line -> (id or None, [command, args...]); the list is
    empty when the line holds only an id."""
    parts = line.split()
    if parts[0].isascii() and parts[0].isdigit():
        return parts[0], parts[1:]
    return None, parts


# ---------------------------------------------------------------- arguments
def nargs(args, lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        raise GtpFailure("syntax error")


def color(text: str) -> int:
    try:
        return parse_color(text)
    except ValueError:
        raise GtpFailure("invalid color") from None


def vertex(text: str, size: int) -> int:
    try:
        return from_gtp(text, size)
    except ValueError:
        raise GtpFailure("invalid vertex") from None


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GtpFailure("syntax error") from None


def number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise GtpFailure("syntax error") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise GtpFailure("syntax error")
    return v


def leading_color(args, default: int) -> tuple[int, list]:
    """A leading colour argument if there is one (else ``default``), and the rest."""
    if args:
        try:
            return parse_color(args[0]), list(args[1:])
        except ValueError:
            pass
    return default, list(args)
