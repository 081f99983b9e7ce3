"""The search engine from real controllers: Sabaki's @sabaki/gtp (streamed
analysis) and a short game against Pachi (skipped where they are absent)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gopolicy.play.peers import find_pachi

REPO = Path(__file__).resolve().parents[1]
ENGINE = [sys.executable, "-m", "gopolicy", "gtp", "--model", "random:8:2", "--seed", "1",
          "--threads", "1", "--quiet"]


def _node_path() -> str | None:
    if not shutil.which("node"):
        return None
    for c in (os.environ.get("GOPOLICY_NODE_PATH"), str(REPO.parent / "state" / "node" / "node_modules"),
              str(Path.home() / ".cache" / "gopolicy-node" / "node_modules")):
        if c and (Path(c) / "@sabaki" / "gtp" / "package.json").exists():
            return c
    return None


STREAM_SCRIPT = r"""
const {Controller} = require('@sabaki/gtp')
const sleep = ms => new Promise(r => setTimeout(r, ms))
async function main() {
  const [py, ...args] = JSON.parse(process.argv[2])
  const engine = new Controller(py, args, {cwd: process.argv[3]})
  engine.start()
  await engine.sendCommand({name: 'play', args: ['B', 'Q16']})
  const lines = []
  let ended = false
  const analysis = engine.sendCommand({name: 'lz-analyze', args: ['W', '20']},
                                      evt => lines.push({line: evt.line, t: Date.now()}))
  analysis.then(() => { ended = true })
  await sleep(3000)
  const atNext = lines.length
  const name = await engine.sendCommand({name: 'name'})
  const r = await analysis
  const kata = engine.sendCommand({name: 'kata-analyze', args: ['W', 'interval', '20', 'ownership', 'true']},
                                  evt => lines.push({line: evt.line, kata: true}))
  await sleep(1500)
  await engine.sendCommand({name: 'showboard'})
  await kata
  await engine.sendCommand({name: 'quit'})
  console.log(JSON.stringify({lines, atNext, total: lines.length, name: name.content,
                              ended, error: r.error}))
  await engine.stop()
}
main().catch(e => { console.error(e); process.exit(1) })
"""


def test_lz_analyze_streams_from_the_live_tree_until_the_next_command(tmp_path):
    node_path = _node_path()
    if node_path is None:
        pytest.skip("node or the npm package @sabaki/gtp not installed "
                    "(set $GOPOLICY_NODE_PATH to a node_modules holding @sabaki/gtp)")
    script = tmp_path / "stream.js"
    script.write_text(STREAM_SCRIPT)
    env = dict(os.environ, NODE_PATH=node_path,
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(["node", str(script), json.dumps(ENGINE), str(REPO)], capture_output=True,
                       timeout=240, env=env)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    res = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert res["name"] == "gopolicy" and res["ended"] and not res["error"]
    lz = [x["line"] for x in res["lines"][:res["atNext"]] if x["line"].startswith("info move")]
    assert len(lz) >= 3, res["lines"][:5]
    # Visits (summed over the moves shown) grow from one report to the next.
    totals = []
    for line in lz:
        words = line.split()
        totals.append(sum(int(words[i + 1]) for i, w in enumerate(words) if w == "visits"))
        assert words[5] == "winrate" and 0 <= int(words[6]) <= 10000 and "lcb" in words and "pv" in words
    assert all(b > a for a, b in zip(totals, totals[1:])), totals
    # The stream ended at the next command: its answer closed (the empty line), the next reply
    # is name's, and only the lines already under way when the command was sent (an interval
    # or two; a few more on a loaded machine) came after it.
    lz_all = [x for x in res["lines"] if not x.get("kata")]
    assert lz_all[-1]["line"] == "" and len([x for x in lz_all if x["line"].startswith("info")]) <= len(lz) + 5
    kata = [x["line"] for x in res["lines"] if x.get("kata") and x["line"].startswith("info move")]
    assert kata and "scoreLead" in kata[-1] and len(kata[-1].split(" ownership ")[1].split()) == 361


def test_short_game_against_pachi(tmp_path):
    pachi = find_pachi()
    if pachi is None:
        pytest.skip("Pachi not found (build it outside the repository and set $GOPOLICY_PACHI)")
    from gopolicy.play.gtp_client import GtpClient
    from gopolicy.play.referee import play_game

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ours = GtpClient(ENGINE + ["--playouts", "50"], name="gopolicy", timeout=120, cwd=str(REPO), env=env)
    opp = GtpClient([pachi, "-t", "=600", "threads=1"], name="pachi", timeout=120)
    try:
        res = play_game(ours, opp, komi=7.5, max_moves=12, score_playouts=8)
    finally:
        ours.close()
        opp.close()
    assert res.reason in ("move cap", "two passes") or "resign" in res.reason, res.reason
    assert len(res.moves) >= 2
