"""The lecture image models: shapes from the slides, registry, pooling=False variants."""
from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

import cnn_core
from cnn_core import build_model, list_models, summary
from cnn_core.models._utils import POOLING_TYPES

IMAGE_MODELS = ["lenet", "cifar_net", "alexnet", "vgg", "nin", "googlenet", "resnet", "densenet"]
# Models with a global-average head: it must survive pooling=False.
GAP_HEAD = {"nin", "googlenet", "resnet", "densenet"}
# Keep the big-fc models small so the no-pooling variants stay cheap.
SMALL = {"alexnet": dict(width=0.125, hidden=128), "vgg": dict(hidden=64)}


def conv_rows(model: nn.Module, input_shape) -> list:
    return [r for r in summary(model, input_shape).rows if r.type == "Conv2d"]


def pools(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, POOLING_TYPES)]


def test_registry_names():
    names = set(list_models())
    assert set(IMAGE_MODELS) | {"simple_cnn", "alphago_policy", "alphago_pooled"} <= names
    assert list_models() == sorted(names)


def test_unknown_model_lists_known_names():
    with pytest.raises(ValueError, match="unknown model 'nope'") as err:
        build_model("nope")
    assert all(n in str(err.value) for n in IMAGE_MODELS)


def test_register_decorator_adds_a_builder():
    @cnn_core.register("test_only_tiny")
    def tiny(num_classes: int = 3) -> nn.Module:
        return nn.Linear(4, num_classes)
    assert "test_only_tiny" in list_models()
    assert build_model("test_only_tiny", num_classes=5).out_features == 5
    with pytest.raises(ValueError, match="already registered"):
        cnn_core.register("test_only_tiny")(lambda: nn.Identity())


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("pooling", [True, False], ids=["pool", "nopool"])
@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32)])
def test_image_model_forward(name, pooling, in_channels, size):
    kwargs = dict(SMALL.get(name, {}), in_channels=in_channels, num_classes=10, pooling=pooling)
    if "input_size" in inspect.signature(cnn_core.get_builder(name)).parameters:
        kwargs["input_size"] = size
    torch.manual_seed(0)
    model = build_model(name, **kwargs).eval()
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()
    found = pools(model)
    if pooling:
        assert any(not isinstance(p, nn.AdaptiveAvgPool2d) for p in found)
    elif name in GAP_HEAD:
        assert [type(p) for p in found] == [nn.AdaptiveAvgPool2d]
        assert found[0].output_size in (1, (1, 1))
    else:
        assert found == []


def test_lenet5_c1_and_s2_on_32x32():
    model = build_model("lenet", in_channels=1, input_size=32, padding=0)
    rows = summary(model, (1, 32, 32)).rows
    c1, s2 = rows[0], rows[2]
    assert (c1.type, c1.output_shape, c1.params) == ("Conv2d", (6, 28, 28), 156)
    outputs = 28 * 28 * 6
    assert c1.macs + outputs == 122_304 == 28 * 28 * 156  # connections: weights + bias per output
    assert (s2.type, s2.output_shape) == ("AvgPool2d", (6, 14, 14))
    assert isinstance(model.features[1], nn.Sigmoid)


def test_lenet_d2l_pads_28x28_to_a_28x28_c1():
    rows = summary(build_model("lenet"), (1, 28, 28)).rows
    assert rows[0].output_shape == (6, 28, 28)
    assert [r.output_shape for r in rows if r.type == "Linear"] == [(120,), (84,), (10,)]


def test_cifar_net_is_the_lecture_net():
    model = build_model("cifar_net")
    shapes = [r.output_shape for r in summary(model, (3, 32, 32)).rows if r.type in ("Conv2d", "MaxPool2d")]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    assert [m.in_features for m in model.modules() if isinstance(m, nn.Linear)] == [400, 120, 84]
    assert any(isinstance(m, nn.ReLU) for m in model.modules())


def test_alexnet_227_shapes():
    s = summary(build_model("alexnet"), (3, 227, 227))
    shapes = [r.output_shape for r in s.rows if r.type in ("Conv2d", "MaxPool2d", "Linear")]
    assert shapes == [(96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13),
                      (384, 13, 13), (256, 13, 13), (256, 6, 6), (4096,), (4096,), (1000,)]
    conv = [(3, 96, 11), (96, 256, 5), (256, 384, 3), (384, 384, 3), (384, 256, 3)]
    fc = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
    expected = sum(i * o * k * k + o for i, o, k in conv) + sum(i * o + o for i, o in fc)
    assert s.total_params == expected == 62_378_344


def test_keras_example_shapes_via_summary():
    model = nn.Sequential(
        nn.Conv2d(1, 25, 3), nn.MaxPool2d(2),
        nn.Conv2d(25, 50, 3), nn.MaxPool2d(2),
        nn.Flatten())
    rows = summary(model, (1, 28, 28)).rows
    assert [r.output_shape for r in rows] == [(25, 26, 26), (25, 13, 13), (50, 11, 11), (50, 5, 5), (1250,)]
    assert model[2].weight[0].numel() == 225  # each 3x3 filter sees all 25 input channels
    assert rows[0].params == 25 * (9 + 1)


def test_vgg_blocks_follow_the_arch():
    model = build_model("vgg", arch=((1, 8), (2, 16)), input_size=32, in_channels=3)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 8), (8, 16), (16, 16)]
    assert model.classifier[0].in_features == 16 * 8 * 8


def test_resnet_projects_shortcut_only_when_shape_changes():
    from cnn_core.models.resnet import Residual
    assert isinstance(Residual(8, 8).shortcut, nn.Identity)
    assert isinstance(Residual(8, 16).shortcut[0], nn.Conv2d)
    assert Residual(8, 8, stride=2).shortcut[0].stride == (2, 2)
    assert Residual(8, 16, stride=2)(torch.zeros(1, 8, 7, 7)).shape == (1, 16, 4, 4)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in build_model("resnet").modules()) > 8


def test_densenet_blocks_concatenate_and_transitions_halve():
    from cnn_core.models.densenet import DenseBlock, transition_block
    assert DenseBlock(2, 3, 10)(torch.zeros(1, 3, 8, 8)).shape == (1, 23, 8, 8)
    t = transition_block(23, 11)
    assert [type(m) for m in t] == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.AvgPool2d]
    assert t(torch.zeros(1, 23, 8, 8)).shape == (1, 11, 4, 4)


def test_inception_has_four_paths():
    from cnn_core.models.googlenet import Inception
    block = Inception(8, 2, (3, 4), (1, 5), 6)
    assert block(torch.zeros(1, 8, 7, 7)).shape == (1, 2 + 4 + 5 + 6, 7, 7)
    assert isinstance(block.p4[0], nn.MaxPool2d)


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_simple_cnn_variants_share_conv_weights(head):
    models = {d: build_model("simple_cnn", downsample=d, head=head, channels=(8, 16))
              for d in ("maxpool", "none", "stride")}
    shapes = {d: [tuple(c.weight.shape) for c in m.convs] for d, m in models.items()}
    assert shapes["maxpool"] == shapes["none"] == shapes["stride"] == [(8, 1, 3, 3), (16, 8, 3, 3)]
    expected_pools = [] if head == "fc" else [nn.AdaptiveAvgPool2d]
    for d in ("none", "stride"):
        assert [type(p) for p in pools(models[d])] == expected_pools
    assert [c.stride for c in models["stride"].convs] == [(2, 2), (2, 2)]
    x = torch.randn(2, 1, 28, 28)
    for m in models.values():
        assert m(x).shape == (2, 10)
    # maxpool and stride give the same resolution, so the same fc size.
    assert models["maxpool"].fc.in_features == models["stride"].fc.in_features
    if head == "fc":
        assert models["maxpool"].fc.in_features == 16 * 7 * 7
        assert models["none"].fc.in_features == 16 * 28 * 28
    else:
        assert {m.fc.in_features for m in models.values()} == {16}


def test_simple_cnn_rejects_unknown_options():
    with pytest.raises(ValueError, match="downsample"):
        build_model("simple_cnn", downsample="avgpool")
    with pytest.raises(ValueError, match="head"):
        build_model("simple_cnn", head="conv")


def test_default_input_shape():
    assert cnn_core.default_input_shape("lenet") == (1, 28, 28)
    assert cnn_core.default_input_shape("cifar_net") == (3, 32, 32)
    assert cnn_core.default_input_shape("alexnet") == (3, 227, 227)
    assert cnn_core.default_input_shape("alphago_policy", board_size=9) == (48, 9, 9)
