"""A match's files: ``results.csv`` (one row per game), ``results.md`` (the command
lines, the table, the win rate and what was left out), and their re-count."""
from __future__ import annotations

import csv
import os
import shlex
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from gopolicy.play.match_stats import DECIDED, NO_RESULT, GameRecord, MatchSummary, recount, summarise

TABLE_HEAD = "| # | Black | White | Result | Engine | Reason | Moves | Time (s) | SGF |"


def command_text(cmd) -> str:
    """An engine's command line (or factory) as results.md shows it."""
    if cmd is None:
        return "-"
    if isinstance(cmd, (list, tuple)):
        return " ".join(shlex.quote(str(a)) for a in cmd)
    if callable(cmd) and not isinstance(cmd, str):
        return getattr(cmd, "__name__", "in-process engine")
    return str(cmd)


def write_csv(path: Path, records: list[GameRecord]) -> None:
    fields = list(GameRecord.__dataclass_fields__)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in records:
            w.writerow(asdict(r))
    os.replace(tmp, path)


def read_csv(path: Path) -> list[GameRecord]:
    types = {"game": int, "moves": int, "seconds": float}
    with open(path, newline="", encoding="utf-8") as f:
        return [GameRecord(**{k: types.get(k, str)(v) for k, v in row.items()})
                for row in csv.DictReader(f)]


def _not_counted(summary: MatchSummary) -> list[str]:
    out = []
    if summary.no_result:
        out.append(f"{summary.no_result} game(s) with no result (the opponent crashed: "
                   f"game {', '.join(str(r.game) for r in summary.records if r.engine_result == NO_RESULT)}) "
                   f"not counted")
    void = sum(r.engine_result == "void" for r in summary.records)
    if void:
        out.append(f"{void} void game(s) (rules disagreement) not counted")
    return out


def results_body(summary: MatchSummary, link_prefix: str = "") -> list[str]:
    """The results table and the summary lines of results.md."""
    lo, hi = summary.ci
    by_colour = []
    for col, word in (("B", "Black"), ("W", "White")):
        rs = [r for r in summary.records if r.engine_color == col and r.engine_result in DECIDED]
        wins = sum(r.engine_result == "win" for r in rs) + 0.5 * sum(r.engine_result == "draw" for r in rs)
        by_colour.append(f"as {word} {wins:g}/{len(rs)}")
    lines = [TABLE_HEAD, "|--:|-------|-------|--------|--------|--------|------:|---------:|-----|"]
    for r in summary.records:
        lines.append(f"| {r.game} | {r.black} | {r.white} | {r.result} | {r.engine_result} | "
                     f"{r.reason.replace('|', '/')} | {r.moves} | {r.seconds:.1f} | "
                     f"[{r.sgf}]({link_prefix}{r.sgf}) |")
    distinct = len({r.signature for r in summary.records})
    seeds = [r.seed for r in summary.records if r.seed]
    lines += [
        "",
        f"**{summary.engine}: {summary.wins:g} wins in {summary.decided} decided games, win rate "
        f"{100 * summary.win_rate:.1f}% (Wilson 95% CI {100 * lo:.1f}% - {100 * hi:.1f}%)**; "
        f"{', '.join(by_colour)}" + "".join(f"; {t}" for t in _not_counted(summary)) + ".",
        "",
        f"Distinct games (move sequences): {distinct} of {len(summary.records)}"
        + (f"; engines seeded per game with set_random_seed {seeds[0]}..{seeds[-1]}." if seeds
           else "; no engine took set_random_seed."),
        "",
    ]
    return lines


def write_results(out: Path, summary: MatchSummary, engine_cmd, opponent_cmd, komi, max_moves,
                  scorer_cmd) -> None:
    write_csv(out / "results.csv", summary.records)
    lines = [
        f"# Match: {summary.engine} vs {summary.opponent}",
        "",
        f"- engine: `{command_text(engine_cmd)}`",
        f"- opponent: `{command_text(opponent_cmd)}`",
        f"- komi {komi:g}, area scoring, positional superko, move cap {max_moves}; "
        f"scorer: {'`' + command_text(scorer_cmd) + '`' if scorer_cmd else 'gopolicy (MC dead stones + Tromp-Taylor)'}",
        f"- played {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
    ] + results_body(summary)
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")


def recount_results(folder, md_path=None) -> MatchSummary:
    """Re-count a finished match by today's rules (:func:`recount`): rewrite
    ``folder/results.csv`` and the table and summary of its results.md
    (``md_path``, default ``folder/results.md``; everything above the table, the
    commands and any notes, is kept, and SGF links keep pointing at ``folder``)."""
    folder = Path(folder)
    md_path = Path(md_path) if md_path else folder / "results.md"
    before = {r.game: r for r in read_csv(folder / "results.csv")}
    records = sorted(recount(list(before.values())), key=lambda r: r.game)
    for r in records:
        old = before[r.game].result
        if r.result != old:        # the SGF's RE says what the CSV says
            sgf = folder / r.sgf
            sgf.write_text(sgf.read_text(encoding="utf-8").replace(f"RE[{old}]", f"RE[{r.result}]", 1),
                           encoding="utf-8")
    text = md_path.read_text(encoding="utf-8")
    if TABLE_HEAD not in text:
        raise ValueError(f"{md_path}: no results table")
    head = text[:text.index(TABLE_HEAD)]
    first = records[0]
    engine, opp = (first.black, first.white) if first.engine_color == "B" else (first.white, first.black)
    summary = summarise(records, engine, opp)
    prefix = os.path.relpath(folder, md_path.parent)
    prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
    write_csv(folder / "results.csv", records)
    md_path.write_text(head + "\n".join(results_body(summary, prefix)), encoding="utf-8")
    return summary
