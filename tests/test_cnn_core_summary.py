"""summary(): the per-layer table and its totals, and the `gopolicy summary` command."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnn_core import build_model, summary
from gopolicy import cli


def test_rows_and_totals_small_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5))
    s = summary(model, (3, 8, 8))
    assert [r.name for r in s.rows] == ["0", "1", "2", "3", "4"]
    assert [r.type for r in s.rows] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r.output_shape for r in s.rows] == [(4, 8, 8), (4, 8, 8), (4, 4, 4), (64,), (5,)]
    assert [r.params for r in s.rows] == [3 * 9 * 4 + 4, 0, 0, 0, 64 * 5 + 5]
    assert [r.macs for r in s.rows] == [8 * 8 * 4 * 3 * 9, 0, 0, 0, 64 * 5]
    assert s.total_params == s.trainable_params == sum(p.numel() for p in model.parameters())
    assert s.total_macs == sum(r.macs for r in s.rows)


@pytest.mark.parametrize("name, kwargs, shape", [
    ("resnet", {}, (1, 28, 28)),
    ("densenet", {}, (1, 28, 28)),
    ("googlenet", {}, (3, 32, 32)),
    ("alphago_pooled", dict(filters=8, layers=4), (48, 19, 19)),
])
def test_rows_add_up_to_totals(name, kwargs, shape):
    if name == "googlenet":
        kwargs = dict(in_channels=3)
    model = build_model(name, **kwargs)
    s = summary(model, shape)
    assert s.total_params == sum(p.numel() for p in model.parameters()) == sum(r.params for r in s.rows)
    assert s.total_macs == sum(r.macs for r in s.rows) > 0
    assert model.training  # restored after the eval-mode pass


def test_non_trainable_and_own_parameters():
    class Scale(nn.Module):  # a container owning a parameter directly
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(3, 3)
            self.gain = nn.Parameter(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x) * self.gain

    model = nn.Sequential(Scale(), nn.Linear(3, 2))
    model[1].weight.requires_grad_(False)
    s = summary(model, (3,))
    assert s.total_params == 12 + 3 + 8 == sum(r.params for r in s.rows)
    assert s.trainable_params == s.total_params - 6
    assert "Non-trainable params: 6" in str(s)


def test_str_table():
    text = str(summary(build_model("alphago_policy", filters=192), (48, 19, 19)))
    assert "Total params: 3,882,793" in text
    assert "Conv2d" in text and "PositionBias" in text and "192x19x19" in text
    assert f"Total mult-adds: {361 * (48 * 25 * 192 + 11 * 9 * 192 * 192 + 192):,}" in text


def test_cli_summary_alphago(capsys):
    assert cli.main(["summary", "alphago_policy", "--filters", "192"]) == 0
    assert "3,882,793" in capsys.readouterr().out


def test_cli_summary_options(capsys):
    assert cli.main(["summary", "alphago_policy", "--filters", "8", "--layers", "3",
                     "--planes", "4", "--board-size", "9"]) == 0
    assert f"Total params: {4 * 25 * 8 + 8 + 9 * 64 + 8 + 8 + 81:,}" in capsys.readouterr().out
    assert cli.main(["summary", "lenet", "--input-shape", "1,32,32", "--set", "padding=0"]) == 0
    assert "6x28x28" in capsys.readouterr().out
    assert cli.main(["summary", "simple_cnn", "--set", "downsample=none", "--set", "head=gap"]) == 0
    assert "AdaptiveAvgPool2d" in capsys.readouterr().out


def test_cli_summary_errors(capsys):
    assert cli.main(["summary", "no_such_model"]) == 2
    assert "known models" in capsys.readouterr().err
    assert cli.main(["summary", "lenet", "--filters", "3"]) == 2
    assert "does not take filters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["summary", "lenet", "--input-shape", "1,28"])
