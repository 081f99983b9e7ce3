"""The numba planes agree with an independent pure-Python implementation on
sgfmill's board (planes 0-43 and 46; ladders are checked on diagrams)."""
import numpy as np
import pytest

from gopolicy.corpus import sgf as sgf_io
from gopolicy.go.features import planes
from gopolicy.go.reference_features import replay_reference

CHECKED = [p for p in range(48) if p not in (44, 45)]


@pytest.mark.slow
def test_planes_match_sgfmill_reference_on_shipped_games(shipped_sgf_files):
    compared = 0
    for path in shipped_sgf_files[:6]:
        game = sgf_io.parse_game(path.read_bytes(), str(path))
        ours = {n: planes(b, c) for b, c, m, n in sgf_io.replay(game)
                if n % 5 == 0 and m != game.size ** 2}
        for ref, color, n in replay_reference(game, every=5):
            diff = np.argwhere(ours[n][CHECKED] != ref[CHECKED])
            assert diff.size == 0, f"{path.name} move {n}: planes {sorted(set(CHECKED[i] for i in diff[:, 0]))}"
            compared += 1
    assert compared >= 200


@pytest.mark.slow
def test_planes_match_reference_on_corpus_sample(corpus_dir):
    archive = corpus_dir / "kgs_below6d_train.tar.gz"   # handicap games: setup stones
    compared = 0
    for i, (name, raw) in enumerate(sgf_io.iter_sources([str(archive)])):
        if i >= 12:
            break
        game = sgf_io.parse_game(raw, name)
        ours = {n: planes(b, c) for b, c, m, n in sgf_io.replay(game) if n % 9 == 0}
        for ref, color, n in replay_reference(game, every=9):
            assert np.array_equal(ours[n][CHECKED], ref[CHECKED]), f"{name} move {n}"
            compared += 1
    assert compared > 100
