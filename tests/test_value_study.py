"""The rollout value-error study (the paper's Fig. 2b) runs its variants on the same
positions and writes one column per variant; shipped match records stand in for the
held-out corpus games."""
from __future__ import annotations

import json
from pathlib import Path

from gopolicy.rollout import value_study as V
from gopolicy.rollout.train import GameStream

GAMES = Path(__file__).resolve().parents[1] / "data" / "results" / "match_search2000_pachi"


def test_variants_share_positions_and_columns(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "held_out_games", lambda paths: (
        g for g in GameStream(paths, None) if V.outcome(g.result) is not None))
    variants = ("uniform", "uniform + tactics")
    res = V.run_study([str(GAMES)], games=2, n=4, variants=variants, log=lambda m: None)
    assert res["games"] == 2 and res["variants"] == list(variants)
    assert sum(b["positions"] for b in res["bins"]) == res["positions"] > 2
    first = res["all"]["improvement"]["uniform"]
    assert first == 0.0                      # each variant is compared with the first
    out = tmp_path / "value"
    V.write_outputs(res, out, "python -m gopolicy.rollout.value_study ...", "test CPU")
    table = out.with_suffix(".md").read_text()
    assert "| MSE uniform | MSE uniform + tactics | improvement uniform + tactics |" in table
    assert json.loads(out.with_suffix(".json").read_text())["positions"] == res["positions"]
    assert out.with_suffix(".png").stat().st_size > 1000
