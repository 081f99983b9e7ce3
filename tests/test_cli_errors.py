"""Bad input to every `gopolicy` subcommand ends with one line on stderr that names the
problem, a non-zero exit status and no traceback (issue 22).

One table: (command line, expected exit status, a substring of the error line). Most
cases are refused before torch is imported (numbers by the parsers, paths by
gopolicy.commands.arg_types.refuse_paths when the command starts), so each is one quick
subprocess. In the command lines, ``{SGF}`` is a shipped
game, ``{NOTSGF}`` a text file, ``{UNREADABLE}`` a file nobody may read (those cases are
skipped as root, who reads anything), ``{PLAIN}`` a regular file (a path under it cannot
be created), ``{RO}`` a folder without write permission (skipped as root) and ``{TMP}`` a
scratch folder. ``cwd`` runs a case in ``{GAMESFILE}`` (a folder whose ``games`` is a
file) or ``{RO}``. The selected cases run three at a time (fixture ``results``).
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SGF = sorted((ROOT / "data" / "selfplay").glob("*.sgf"))[0]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
root_reads_anything = pytest.mark.skipif(AS_ROOT, reason="root reads and writes anything: no permission error")


def case(cmd: str, rc: int, text: str, cwd: str | None = None, max_seconds: float | None = None, marks=()):
    return pytest.param(cmd, rc, text, cwd, max_seconds, marks=marks, id=cmd.split()[0] + ": " + cmd)


CASES = [
    # ----- the top level
    case("nosuchcommand", 2, "invalid choice: 'nosuchcommand'"),
    # ----- summary
    case("summary alphago_policy --filters 0", 2, "argument --filters: must be >= 1, got 0"),
    case("summary alphago_policy --filters -5", 2, "argument --filters: must be >= 1, got -5"),
    case("summary alphago_policy --layers x", 2, "argument --layers: expected an integer, got 'x'"),
    case("summary alphago_policy --bogus", 2, "unrecognized arguments: --bogus"),
    case("summary {TMP}/nosuch.pt", 2, "no such file or folder: "),
    case("summary {UNREADABLE}", 2, "permission denied", marks=root_reads_anything),
    case("summary {NOTSGF}", 2, "not a gopolicy checkpoint"),
    case("summary nosuchmodel", 2, "unknown model 'nosuchmodel'"),
    # ----- features
    case("features {TMP}/nosuch.sgf", 2, "gopolicy features: error: no such file or folder: "),
    case("features {UNREADABLE}", 2, "permission denied", marks=root_reads_anything),
    case("features {TMP}", 2, "is a folder, not a file"),
    case("features {NOTSGF}", 2, "did not parse as SGF"),
    case("features {SGF} --move 0", 2, "argument --move/-m: must be >= 1, got 0"),
    case("features {SGF} --move 9999", 2, "--move must be 1.."),
    case("features {SGF} --move 5 --out {PLAIN}/p.npy", 2, "is a file, not a folder"),
    case("features {SGF} --move 5 --out {RO}/p.npy", 2, "no write permission in", marks=root_reads_anything),
    case("features {SGF} --bogus", 2, "unrecognized arguments: --bogus"),
    # ----- replay-check
    case("replay-check {TMP}/nosuch", 2, "no such file or folder"),
    case("replay-check {NOTSGF} --workers 1 --quiet", 1, "no game replayed: "),
    case("replay-check {UNREADABLE}", 2, "permission denied", marks=root_reads_anything),
    case("replay-check {SGF} --workers 0", 2, "argument --workers: must be >= 1"),
    case("replay-check {SGF} --interval -1", 2, "argument --interval: must be > 0"),
    # ----- prepare
    case("prepare {TMP}/nosuch.sgf --out {TMP}/shards", 2, "no such file or folder: "),
    case("prepare {UNREADABLE} --out {TMP}/shards", 2, "permission denied", marks=root_reads_anything),
    case("prepare {NOTSGF} --out {TMP}/shards-notsgf --workers 1 --quiet", 1, "did not parse as SGF"),
    case("prepare {SGF} --out {PLAIN}/shards", 2, "is a file, not a folder"),
    case("prepare {SGF} --out {RO}/shards", 2, "no write permission in", marks=root_reads_anything),
    case("prepare {SGF} --out {TMP}/s --games-per-shard 0", 2, "argument --games-per-shard: must be >= 1"),
    case("prepare {SGF} --out {TMP}/s --val-fraction 1.5", 2, "argument --val-fraction: must be at least 0"),
    case("prepare {SGF} --out {TMP}/s --workers -2", 2, "argument --workers: must be >= 1, got -2"),
    case("prepare {SGF} --out {TMP}/s --max-file-mb nan", 2, "argument --max-file-mb: expected a number"),
    # ----- train
    case("train --sgf {SGF} --out {TMP}/run --max-samples -100", 2, "argument --max-samples: must be >= 1, got -100"),
    case("train --sgf {SGF} --out {TMP}/run --batch-size 0", 2, "argument --batch-size: must be >= 1"),
    case("train --sgf {SGF} --out {TMP}/run --lr -1", 2, "argument --lr: must be > 0"),
    case("train --sgf {SGF} --out {TMP}/run --time-limit 0", 2, "argument --time-limit: must be > 0"),
    case("train --sgf {SGF} --out {TMP}/run --filters 0", 2, "argument --filters: must be >= 1"),
    case("train --sgf {TMP}/nosuch.sgf --out {TMP}/run", 1, "argument --sgf: no such file or folder"),
    case("train --sgf {SGF} --out {PLAIN}/run", 1, "argument --out: cannot write"),
    case("train --sgf {SGF} --out {TMP}/run --init {TMP}/nosuch.pt", 1, "argument --init: no such file"),
    case("train --data {TMP}/nosuch --out {TMP}/run", 1, "argument --data: no such file or folder"),
    case("train --sgf {UNREADABLE} --out {TMP}/run", 1, "permission denied", marks=root_reads_anything),
    case("train --sgf {SGF} --out {TMP}/run --bogus", 2, "unrecognized arguments: --bogus"),
    # ----- train-rollout
    case("train-rollout --sgf {SGF} --out {TMP}/r.npz --positions 0", 2, "argument --positions: must be >= 1"),
    case("train-rollout --sgf {TMP}/nosuch --out {TMP}/r.npz", 1, "argument --sgf: no such file or folder"),
    case("train-rollout --data {TMP}/nosuch --out {TMP}/r.npz", 1, "argument --data: no such file or folder"),
    case("train-rollout --sgf {SGF} --out {PLAIN}/r.npz", 1, "is a file, not a folder"),
    case("train-rollout --sgf {NOTSGF} --out {TMP}/ro/r.npz --positions 100", 1, "did not parse as SGF"),
    # ----- eval
    case("eval --sgf {TMP}/nosuch.sgf", 2, "argument --sgf: no such file or folder: "),
    case("eval --sgf {UNREADABLE}", 2, "permission denied", marks=root_reads_anything),
    case("eval --sgf {NOTSGF}", 1, "did not parse as SGF"),
    case("eval --sgf {SGF} --batch-size -1", 2, "argument --batch-size: must be >= 1, got -1"),
    case("eval --sgf {SGF} --max-positions 0", 2, "argument --max-positions: must be >= 1"),
    case("eval --sgf {SGF} --model {TMP}/nosuch.pt", 2, "argument --model: no such file or folder"),
    case("eval --data {TMP}/nosuch", 2, "argument --data: no such file or folder"),
    case("eval --sgf {SGF} --bogus", 2, "unrecognized arguments: --bogus"),
    # ----- plot
    case("plot {TMP}/nosuchrun --out {TMP}/c.png", 2, "no such file or folder"),
    case("plot {TMP} --out {PLAIN}/c.png", 2, "is a file, not a folder"),
    # ----- gtp
    case("gtp --playouts -5", 2, "argument --playouts: must be >= 0, got -5"),
    case("gtp --threads 0", 2, "argument --threads: must be >= 1, got 0"),
    case("gtp --time 0", 2, "argument --time: must be > 0, got 0"),
    case("gtp --temperature -1", 2, "argument --temperature: must be >= 0"),
    case("gtp --model {TMP}/nosuch.pt", 2, "no such file"),
    case("gtp --bogus", 2, "unrecognized arguments: --bogus"),
    # ----- match
    case("match --opponent cat --games 0 --out {TMP}/m", 2, "argument --games: must be >= 1, got 0"),
    case("match --opponent cat --games 1 --out {PLAIN}/m", 2, "is a file, not a folder"),
    case("match --opponent cat --games 1 --out {TMP}/m --handshake-timeout 0", 2,
         "argument --handshake-timeout: must be > 0"),
    case("match --opponent '/no/such/engine --mode gtp' --games 1 --out {TMP}/m", 2,
         "--opponent: cannot start engine 'opponent' (/no/such/engine --mode gtp): no such program"),
    case("match --opponent false --games 1 --out {TMP}/m", 2, "exited before answering"),
    case("match --opponent cat --games 1 --out {TMP}/m", 2, "gave no GTP reply", max_seconds=15),
    case("match --recount {TMP}", 2, "cannot recount"),
    case("match --recount {TMP}/nosuch", 2, "argument --recount: no such file or folder"),
    # ----- play
    case("play --max-moves 0", 2, "argument --max-moves: must be >= 1, got 0"),
    case("play --gnugo-level 11", 2, "argument --gnugo-level: must be between 0 and 10"),
    case("play --show-every -1", 2, "argument --show-every: must be >= 0"),
    case("play --out {PLAIN}/g.sgf", 2, "is a file, not a folder"),
    case("play --self-play", 2, "give --out FILE.sgf in a folder you can write", cwd="{GAMESFILE}"),
    case("play --self-play", 2, "no write permission in this folder", cwd="{RO}", marks=root_reads_anything),
    case("play --opponent /no/such/engine", 2, "--opponent: cannot start engine"),
    # ----- pooling-study
    case("pooling-study --seeds 0", 2, "argument --seeds: must be >= 1"),
    case("pooling-study --image-lr 0", 2, "argument --image-lr: must be > 0"),
    case("pooling-study --out {PLAIN}/ps", 2, "is a file, not a folder"),
    case("pooling-study --go {TMP}/nosuch", 2, "argument --go: no such file or folder"),
    # ----- warmup
    case("warmup --bogus", 2, "unrecognized arguments: --bogus"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli-errors")
    notsgf = tmp / "notsgf.sgf"
    notsgf.write_text("this is not a game record\n")
    unreadable = tmp / "unreadable.sgf"
    unreadable.write_bytes(SGF.read_bytes())
    unreadable.chmod(0)
    plain = tmp / "plain.txt"
    plain.write_text("a file, not a folder\n")
    ro = tmp / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    gamesfile = tmp / "gamesfile"
    gamesfile.mkdir()
    (gamesfile / "games").write_text("a file where play's games/ folder would go\n")
    yield {"SGF": str(SGF), "NOTSGF": str(notsgf), "UNREADABLE": str(unreadable), "PLAIN": str(plain),
           "RO": str(ro), "TMP": str(tmp), "GAMESFILE": str(gamesfile)}
    ro.chmod(0o755)
    unreadable.chmod(0o644)


def _fill(text: str, places: dict) -> str:
    for key, value in places.items():
        text = text.replace("{" + key + "}", value)
    return text


def _run(argv, cwd=None, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "gopolicy", *argv], cwd=cwd or ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def _timed_run(cmd: str, cwd: str | None, places: dict):
    argv = [_fill(a, places) for a in shlex.split(cmd)]
    t0 = time.monotonic()
    res = _run(argv, cwd=_fill(cwd, places) if cwd else None)
    return res, time.monotonic() - t0


@pytest.fixture(scope="module")
def results(places, request):
    """The selected cases' runs, started at once three at a time (the match with `cat`
    mostly waits for its handshake): {(cmd, cwd): future of (CompletedProcess, seconds)}."""
    from concurrent.futures import ThreadPoolExecutor

    wanted = []
    for item in request.session.items:
        if getattr(item, "originalname", "") != "test_bad_input_ends_with_one_line":
            continue
        if any(m.args and m.args[0] for m in item.iter_markers("skipif")):
            continue
        params = item.callspec.params
        wanted.append((params["cmd"], params["cwd"], params["max_seconds"]))
    wanted.sort(key=lambda w: w[2] is None)      # the slow ones first
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(cmd, cwd): pool.submit(_timed_run, cmd, cwd, places) for cmd, cwd, _ in wanted}
        yield futures
        for f in futures.values():
            f.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("cmd, rc, text, cwd, max_seconds", CASES)
def test_bad_input_ends_with_one_line(results, places, cmd, rc, text, cwd, max_seconds):
    future = results.get((cmd, cwd))
    res, seconds = future.result() if future else _timed_run(cmd, cwd, places)
    err = res.stderr
    assert "Traceback" not in err, err
    assert res.returncode == rc, (res.returncode, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no error line on stderr"
    assert text in lines[-1], err
    naming = [line for line in lines if line.startswith("gopolicy") or "error" in line.lower()]
    assert len(naming) == 1, err                 # one line names the problem (usage lines before it are fine)
    if max_seconds:
        assert seconds < max_seconds, f"took {seconds:.1f} s"


def test_unknown_flag_shows_the_subcommands_usage():
    res = _run(["features", str(SGF), "--bogus"])
    assert res.returncode == 2
    assert res.stderr.startswith("usage: gopolicy features ") and "COMMAND" not in res.stderr


def test_version():
    res = _run(["--version"])
    assert res.returncode == 0 and res.stdout.startswith("gopolicy ")


@pytest.mark.slow
def test_summary_takes_a_checkpoint():
    res = _run(["summary", str(ROOT / "data" / "bundled" / "policy.pt")])
    assert res.returncode == 0, res.stderr
    assert "Model: alphago_policy" in res.stdout and "Total params" in res.stdout
