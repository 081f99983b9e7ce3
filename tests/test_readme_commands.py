"""Every `gopolicy ...` command the README and docs/ show parses with the real argument parser.

Examples rot when a flag is renamed; this keeps them honest. Commands are taken from fenced code
blocks (one per line, `\\` continuations joined, `# comments` dropped) and from inline code spans.
Usage synopses (the command table; `[optional]` or `a | b` placeholders) and a bare command name
mentioned in prose are not commands and are left out; so is anything after a shell operator (`&&`, `|`, `;`, `>`).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gopolicy import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PROGRAM = re.compile(r"(?:^|\s)(?:\S*/)?(?:-m\s+)?gopolicy\s+(?=[a-z])")


def _commands_in(text: str) -> list[str]:
    found = []
    chunks = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        chunks += block.replace("\\\n", " ").splitlines()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"^\|.*$", "", prose, flags=re.M)  # the command table holds synopses
    chunks += [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    for chunk in chunks:
        chunk = chunk.split(" #")[0]
        m = PROGRAM.search(chunk)
        if not m or "python" in chunk[:m.start()]:
            continue
        cmd = chunk[m.end():]
        cmd = re.split(r"\s(?:&&|\|\||\||;|>|2>)\s", cmd)[0].strip().rstrip('"')
        if " " not in cmd and cmd not in ("gtp", "play", "pooling-study"):
            continue  # a command named in prose (`gopolicy replay-check`), not run
        if re.search(r"\[|\s\\?\|\s|\.\.\.(?:\)|\s|$)|<[A-Z]", cmd):
            continue  # a usage synopsis, not a command
        found.append(cmd)
    return found


COMMANDS = [c for page in PAGES for c in _commands_in(page.read_text())]


def test_readme_has_commands():
    # a README whose examples the extractor cannot see would make the test below vacuous
    assert len(COMMANDS) >= 10, COMMANDS
    verbs = {c.split()[0] for c in COMMANDS}
    assert {"prepare", "train", "eval", "gtp", "match"} <= verbs, verbs


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_parses(command, capsys):
    parser = cli.build_parser()
    argv = shlex.split(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0 and ("--help" in argv or "-h" in argv):
            return  # a help page shown, as the docs promise
        err = capsys.readouterr().err
        pytest.fail(f"README command `gopolicy {command}` does not parse ({exc.code}): {err}")
    assert getattr(args, "func", None) is not None


def test_extractor_rejects_a_wrong_flag():
    (cmd,) = _commands_in("```bash\ngopolicy train --data D --out R --no-such-flag 3\n```")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(shlex.split(cmd))
