"""The AlphaGo policy network, its pooled variants and policy_probabilities."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnn_core import PositionBias, build_model, policy_probabilities, summary
from cnn_core.models._utils import POOLING_TYPES


def expected_params(k: int, planes: int = 48, layers: int = 13, points: int = 361) -> int:
    """The paper's layout: 5x5 conv, (layers-2) 3x3 convs, 1x1 conv without bias, per-point bias."""
    first = planes * 5 * 5 * k + k
    middle = (layers - 2) * (3 * 3 * k * k + k)
    return first + middle + k + points


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("k, known", [(128, 1_777_641), (192, 3_882_793), (256, 6_798_953)])
def test_parameter_counts(k, known):
    assert expected_params(k) == known
    assert n_params(build_model("alphago_policy", filters=k)) == known


def test_layer_layout_and_output():
    model = build_model("alphago_policy", filters=16)
    convs = model.convs
    assert [c.kernel_size for c in convs] == [(5, 5)] + [(3, 3)] * 11 + [(1, 1)]
    assert [c.padding for c in convs] == [(2, 2)] + [(1, 1)] * 11 + [(0, 0)]
    assert convs[0].in_channels == 48 and {c.out_channels for c in convs[:-1]} == {16}
    assert convs[-1].out_channels == 1 and convs[-1].bias is None
    assert not any(isinstance(m, POOLING_TYPES) for m in model.modules())
    assert model(torch.zeros(2, 48, 19, 19)).shape == (2, 361)
    shapes = [r.output_shape for r in summary(model, (48, 19, 19)).rows if r.type == "Conv2d"]
    assert set(shapes[:-1]) == {(16, 19, 19)} and shapes[-1] == (1, 19, 19)


def test_other_sizes():
    model = build_model("alphago_policy", planes=4, filters=8, layers=3, board_size=9)
    assert model(torch.zeros(1, 4, 9, 9)).shape == (1, 81)
    assert n_params(model) == 4 * 25 * 8 + 8 + 9 * 8 * 8 + 8 + 8 + 81
    with pytest.raises(ValueError, match="layers"):
        build_model("alphago_policy", layers=1)


def test_position_bias_is_one_parameter_per_point():
    model = build_model("alphago_policy", filters=8, layers=3)
    bias = [m for m in model.modules() if isinstance(m, PositionBias)]
    assert len(bias) == 1 and bias[0].bias.shape == (361,)
    with torch.no_grad():
        bias[0].bias.copy_(torch.arange(361.0))
        out = model(torch.zeros(1, 48, 19, 19))  # zero input: convs give 0, logits = bias
    torch.testing.assert_close(out[0], torch.arange(361.0))
    layer = PositionBias(4)
    assert layer.bias.requires_grad and layer(torch.zeros(3, 4)).shape == (3, 4)


def test_he_init_keeps_deep_plain_net_alive():
    torch.manual_seed(0)
    model = build_model("alphago_policy", filters=32, layers=13)
    x = (torch.rand(4, 48, 19, 19) < 0.3).float()
    with torch.no_grad():
        logits = model(x)
    # PyTorch's default init gives ~1e-3 here: every move equally likely, loss stuck at ln 361.
    assert logits.std(dim=1).min() > 0.02
    assert all(not c.bias.detach().any() for c in model.convs if c.bias is not None)
    first = model.convs[0].weight.detach()
    assert abs(float(first.std()) - math.sqrt(2 / (48 * 25))) < 0.1 * math.sqrt(2 / (48 * 25))


def test_policy_probabilities_with_mask():
    torch.manual_seed(1)
    logits = torch.randn(3, 361) * 3
    legal = torch.rand(3, 361) < 0.5
    legal[:, 0] = True
    probs = policy_probabilities(logits, legal)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    assert (probs[~legal] == 0).all() and (probs[legal] > 0).all()
    # same ratios between legal moves as the unmasked softmax
    full = torch.softmax(logits, dim=1)
    torch.testing.assert_close(probs[0, legal[0]], full[0, legal[0]] / full[0, legal[0]].sum())


def test_policy_probabilities_temperature_and_edge_cases():
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(policy_probabilities(logits), torch.softmax(logits, 1))
    cold = policy_probabilities(logits, temperature=0.1)
    hot = policy_probabilities(logits, temperature=10.0)
    assert cold[0, 2] > 0.99 and hot[0].max() - hot[0].min() < 0.1
    only = policy_probabilities(logits, torch.tensor([False, True, False]))  # broadcast mask
    torch.testing.assert_close(only, torch.tensor([[0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="no legal move"):
        policy_probabilities(logits, torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="temperature"):
        policy_probabilities(logits, temperature=0)


@pytest.mark.parametrize("head", ["upsample", "fc"])
def test_pooled_variants(head):
    model = build_model("alphago_pooled", filters=8, layers=5, pool_after=(1, 3), head=head)
    assert model(torch.zeros(2, 48, 19, 19)).shape == (2, 361)
    rows = summary(model, (48, 19, 19)).rows
    pools = [r for r in rows if r.type == "MaxPool2d"]
    assert [r.output_shape for r in pools] == [(8, 10, 10), (8, 5, 5)]
    # same conv stack as the pool-free net
    plain = build_model("alphago_policy", filters=8, layers=5)
    body = [tuple(c.weight.shape) for c in model.convs if c.kernel_size != (1, 1)]
    assert body == [tuple(c.weight.shape) for c in plain.convs[:-1]]
    if head == "upsample":
        assert any(r.type == "Upsample" and r.output_shape == (8, 19, 19) for r in rows)
        assert isinstance(model.head[-1], PositionBias)
    else:
        linear = model.head[-1]
        assert isinstance(linear, nn.Linear) and (linear.in_features, linear.out_features) == (8 * 5 * 5, 361)


def test_pooled_rejects_bad_options():
    with pytest.raises(ValueError, match="pool_after"):
        build_model("alphago_pooled", filters=8, layers=5, pool_after=(5,))
    with pytest.raises(ValueError, match="head"):
        build_model("alphago_pooled", filters=8, layers=5, head="gap")
