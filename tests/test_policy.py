"""NetworkPolicy: legal-only probabilities (ko, superko), symmetry averaging,
greedy/tempered choice, own-eye filter, passing, model loading."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import cnn_core
from gopolicy.go import symmetry
from gopolicy.go.board import Board
from gopolicy.go.coords import BLACK, WHITE, from_gtp, to_gtp
from gopolicy.play.network_policy import NetworkPolicy, default_model_path, parse_random_spec

N = 361


class FixedLogits(torch.nn.Module):
    """Ignores the position; returns the same logits (highest where asked)."""

    def __init__(self, favourites: dict[str, float]):
        super().__init__()
        self.conv = torch.nn.Conv2d(48, 1, 1)  # gives _infer_planes something to read
        lg = torch.zeros(N)
        for v, val in favourites.items():
            lg[from_gtp(v)] = val
        self.register_buffer("lg", lg)

    def forward(self, x):
        return self.lg.expand(x.shape[0], N).clone()


def tiny(seed=0, filters=8, layers=3):
    torch.manual_seed(seed)
    return cnn_core.build_model("alphago_policy", planes=48, filters=filters, layers=layers, board_size=19)


def play(board, *moves):
    for m in moves:
        color, v = m.split()
        board.play(from_gtp(v), BLACK if color == "b" else WHITE)
    return board


def ko_board(superko=False):
    """Black E6 D5 E4, White F6 G5 F4; B F5, W E5 captures: Black may not retake F5."""
    b = Board(19, superko=superko)
    play(b, "b E6", "w F6", "b D5", "w G5", "b E4", "w F4", "b F5", "w E5")
    assert b.stones[from_gtp("F5")] == 0 and b.ko == from_gtp("F5")
    return b


@pytest.fixture(scope="module")
def policy():
    return NetworkPolicy(tiny(), device="cpu", precision="fp32")


def test_probabilities_cover_legal_points_only(policy):
    b = ko_board()
    p = policy.probabilities(b, BLACK)
    assert p.dtype == np.float32 and p.shape == (N + 1,)
    assert p[N] == 0.0                                   # pass gets nothing here
    assert p[from_gtp("F5")] == 0.0                      # simple ko
    assert p[from_gtp("E5")] == 0.0                      # occupied
    legal = b.legal_mask(BLACK)[:N]
    assert np.all(p[:N][~legal] == 0) and np.all(p[:N][legal] > 0)
    assert abs(float(p.sum()) - 1.0) < 1e-5


def test_superko_points_get_no_probability(policy):
    b = ko_board(superko=True)
    play(b, "b pass", "w pass")       # passes clear the simple ko ...
    f5 = from_gtp("F5")
    assert b.ko == -1
    assert not b.legal_mask(BLACK)[f5]    # ... but retaking repeats a position
    assert policy.probabilities(b, BLACK)[f5] == 0.0
    plain = ko_board(superko=False)
    play(plain, "b pass", "w pass")
    assert policy.probabilities(plain, BLACK)[f5] > 0.0


def test_eight_symmetries_are_invariant():
    pol = NetworkPolicy(tiny(1), device="cpu", precision="fp32", symmetries=8)
    b = Board(19)   # setup stones: the same "turns since" planes after any transform
    b.setup(black=[from_gtp(v) for v in ("D4", "C16", "K10", "E5")],
            white=[from_gtp(v) for v in ("Q16", "R5", "L3", "D5")])
    p = pol.probabilities(b)
    for s in (1, 5, 6):
        m = symmetry.point_map(s, 19)
        t = Board(19)
        t.setup(black=[m[q] for q in np.flatnonzero(b.stones == BLACK)],
                white=[m[q] for q in np.flatnonzero(b.stones == WHITE)])
        pt = pol.probabilities(t)
        np.testing.assert_allclose(pt[m[:N]], p[:N], rtol=2e-4, atol=1e-6)
    one = NetworkPolicy(tiny(1), device="cpu", precision="fp32", symmetries=1)
    assert not np.allclose(one.probabilities(b), p)   # averaging really changes things


def test_select_is_greedy_and_never_fills_own_eye():
    # A1 is Black's eye (A2, B1, B2 black); the model loves A1, then T19.
    b = Board(19)
    b.setup(black=[from_gtp(v) for v in ("A2", "B1", "B2")])
    pol = NetworkPolicy(FixedLogits({"A1": 20.0, "T19": 10.0, "K10": 5.0}), device="cpu", precision="fp32")
    assert pol.probabilities(b, BLACK)[from_gtp("A1")] > 0.99     # legal, just not sensible
    assert to_gtp(pol.select(b, BLACK)) == "T19"
    assert pol.own_eyes(b, BLACK, np.array([from_gtp("A1"), from_gtp("T19")])).tolist() == [True, False]


def test_passes_when_no_sensible_move_remains():
    g = np.ones((19, 19), int)
    g[::2, ::2] = 0                               # every empty point is a black eye
    b = Board(19)
    b.setup(black=list(np.flatnonzero(g.reshape(-1))))
    pol = NetworkPolicy(tiny(), device="cpu", precision="fp32")
    assert pol.select(b, BLACK) == N               # only eye-filling moves: pass
    assert pol.select(b, WHITE) == N               # every white move is suicide


def test_temperature_sampling_follows_p_to_the_1_over_t():
    b = Board(19)
    # logits ln 3 and 0 on two points, -inf-ish elsewhere: p = 3/4, 1/4
    fav = {"D4": float(np.log(3.0)) + 50, "Q16": 50.0}
    pol = NetworkPolicy(FixedLogits(fav), device="cpu", precision="fp32", temperature=1.0, seed=7)
    picks = [to_gtp(pol.select(b, BLACK)) for _ in range(400)]
    frac = picks.count("D4") / len(picks)
    assert set(picks) <= {"D4", "Q16"}
    assert 0.68 < frac < 0.82
    sharp = NetworkPolicy(FixedLogits(fav), device="cpu", precision="fp32", temperature=0.25, seed=7)
    picks = [to_gtp(sharp.select(b, BLACK)) for _ in range(200)]
    assert picks.count("D4") / len(picks) > 0.93       # 3**4 : 1 = 0.988
    greedy = NetworkPolicy(FixedLogits(fav), device="cpu", precision="fp32")
    assert {to_gtp(greedy.select(b, BLACK)) for _ in range(5)} == {"D4"}


def test_bundled_model_missing_says_how_to_get_one(monkeypatch, tmp_path):
    import gopolicy.play.network_policy as P

    assert default_model_path().parts[-3:] == ("data", "bundled", "policy.pt")
    monkeypatch.setattr(P, "default_model_path", lambda: tmp_path / "nope" / "policy.pt")
    with pytest.raises(FileNotFoundError, match="--model random"):
        NetworkPolicy(None, device="cpu")


def test_bundled_model_found_in_checkout_wheel_prefix_or_env(monkeypatch, tmp_path):
    """A source checkout uses data/bundled; an installed wheel <prefix>/share/gopolicy
    (pyproject's data-files put it there); $GOPOLICY_MODEL overrides both."""
    import sys
    from pathlib import Path

    import gopolicy
    from gopolicy.net import model_paths

    repo_file = Path(gopolicy.__file__).resolve().parents[1] / "data" / "bundled" / "policy.pt"
    monkeypatch.delenv("GOPOLICY_MODEL", raising=False)
    assert default_model_path() == repo_file
    # an installed wheel: no data/ beside the package, the model under the prefix
    site = tmp_path / "site" / "gopolicy"
    site.mkdir(parents=True)
    monkeypatch.setattr(model_paths, "REPO_ROOT", site.parent)   # the package's folder, no data/ beside it
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert default_model_path() == site.parents[0] / "data" / "bundled" / "policy.pt"  # neither exists
    shared = tmp_path / "prefix" / "share" / "gopolicy" / "policy.pt"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"x")
    assert default_model_path() == shared
    monkeypatch.setenv("GOPOLICY_MODEL", str(tmp_path / "mine.pt"))
    assert default_model_path() == tmp_path / "mine.pt"


def test_wheel_carries_the_bundled_model(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(tmp_path), str(root)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "No module named" in r.stderr:
        pytest.skip(f"cannot build a wheel offline here: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("gopolicy-*.whl"))).namelist()
    assert any(n.endswith(".data/data/share/gopolicy/policy.pt") for n in names), names
    assert any(n.startswith("cnn_core/") for n in names) and "gopolicy/play/network_policy.py" in names


def test_random_spec_and_checkpoint_loading(tmp_path):
    from gopolicy.net.checkpoint import export_weights, save_checkpoint

    assert parse_random_spec("random") == {"name": "alphago_policy", "planes": 48, "filters": 192,
                                           "layers": 13, "board_size": 19}
    assert parse_random_spec("random:16:3")["filters"] == 16
    assert parse_random_spec("policy.pt") is None
    with pytest.raises(ValueError):
        parse_random_spec("random:x")
    net = tiny(3)
    cfg = {"name": "alphago_policy", "planes": 48, "filters": 8, "layers": 3, "board_size": 19}
    ck = save_checkpoint(tmp_path / "ckpt.pt", model=net, model_config=cfg, rng=False)
    wt = export_weights(ck, tmp_path / "policy.pt")
    b = play(Board(19), "b D4", "w Q16")
    ref = NetworkPolicy(net, device="cpu", precision="fp32").probabilities(b)
    from_ckpt = NetworkPolicy(str(ck), device="cpu", precision="fp32").probabilities(b)
    from_fp16 = NetworkPolicy(str(wt), device="cpu", precision="fp32").probabilities(b)
    np.testing.assert_allclose(from_ckpt, ref, atol=1e-6)
    np.testing.assert_allclose(from_fp16, ref, atol=2e-3)
    with pytest.raises(FileNotFoundError):
        NetworkPolicy(str(tmp_path / "missing.pt"), device="cpu")


def test_probabilities_many_matches_one_by_one():
    pol = NetworkPolicy(tiny(2), device="cpu", precision="fp32", symmetries=8)
    boards = [Board(19), play(Board(19), "b D4"), ko_board()]
    many = pol.probabilities_many(boards, [BLACK, WHITE, BLACK])
    for b, c, row in zip(boards, [BLACK, WHITE, BLACK], many):
        np.testing.assert_allclose(row, pol.probabilities(b, c), atol=1e-6)
