"""Convolution/pooling arithmetic against the lectures' worked examples, and
torch's layers against the NumPy reference on random inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnn_core import avgpool2d_ref, conv2d_ref, conv_output_size, maxpool2d_ref

IMAGE = np.array([[1, 0, 0, 0, 0, 1],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 1, 0, 0],
                  [1, 0, 0, 0, 1, 0],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 0, 1, 0]], dtype=float)
FILTER1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
FILTER2 = np.array([[-1, 1, -1]] * 3, dtype=float)
MAP1 = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
MAP2 = [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]


def torch_conv(x: np.ndarray, w: np.ndarray, **kw) -> np.ndarray:
    return F.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], **kw)[0, 0].numpy()


def torch_maxpool(x: np.ndarray, k: int = 2) -> np.ndarray:
    return F.max_pool2d(torch.tensor(x, dtype=torch.float64)[None, None], k)[0, 0].numpy()


@pytest.mark.parametrize("conv", [conv2d_ref, torch_conv], ids=["numpy", "torch"])
@pytest.mark.parametrize("w, stride, expected", [
    (FILTER1, 1, MAP1),
    (FILTER1, 2, [[3, -3], [-3, 0]]),
    (FILTER2, 1, MAP2),
])
def test_lecture_6x6_convolutions(conv, w, stride, expected):
    np.testing.assert_array_equal(conv(IMAGE, w, stride=stride), expected)


@pytest.mark.parametrize("pool", [maxpool2d_ref, torch_maxpool], ids=["numpy", "torch"])
@pytest.mark.parametrize("feature_map, expected", [(MAP1, [[3, 0], [3, 1]]), (MAP2, [[-1, 1], [0, 3]])])
def test_lecture_2x2_max_pooling(pool, feature_map, expected):
    np.testing.assert_array_equal(pool(np.array(feature_map, dtype=float), 2), expected)


@pytest.mark.parametrize("conv", [conv2d_ref, torch_conv], ids=["numpy", "torch"])
def test_d2l_cross_correlation(conv):
    x = np.arange(9, dtype=float).reshape(3, 3)
    k = np.array([[0, 1], [2, 3]], dtype=float)
    np.testing.assert_array_equal(conv(x, k), [[19, 25], [37, 43]])


@pytest.mark.parametrize("n, f, stride, padding, expected", [
    (7, 3, 1, 0, 5), (7, 3, 2, 0, 3), (7, 3, 1, 1, 7), (32, 5, 1, 2, 32), (227, 11, 4, 0, 55),
])
def test_output_size_formula(n, f, stride, padding, expected):
    assert conv_output_size(n, f, stride, padding) == expected


def test_output_size_stride_that_does_not_fit():
    with pytest.raises(ValueError, match="doesn't fit"):
        conv_output_size(7, 3, stride=3)
    assert conv_output_size(7, 3, stride=3, strict=False) == 2  # what torch would do (floor)
    with pytest.raises(ValueError, match="doesn't fit"):
        conv_output_size(3, 5)


def test_ten_5x5_filters_on_32x32x3():
    conv = torch.nn.Conv2d(3, 10, kernel_size=5, stride=1, padding=2)
    assert conv(torch.zeros(1, 3, 32, 32)).shape == (1, 10, 32, 32)
    assert sum(p.numel() for p in conv.parameters()) == 760 == (5 * 5 * 3 + 1) * 10


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 0), (3, 2, 1), (5, 1, 2), (1, 1, 0), (4, 3, 2)])
def test_conv2d_matches_reference_on_random_input(kernel, stride, padding):
    rng = np.random.default_rng(kernel * 100 + stride * 10 + padding)
    x = rng.standard_normal((2, 3, 11, 9))
    w = rng.standard_normal((4, 3, kernel, kernel))
    b = rng.standard_normal(4)
    got = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=padding)
    np.testing.assert_allclose(got.numpy(), conv2d_ref(x, w, b, stride=stride, padding=padding), rtol=1e-10)
    # a single image (C, H, W) gives a single map stack
    np.testing.assert_allclose(conv2d_ref(x[0], w, b, stride, padding),
                               conv2d_ref(x, w, b, stride, padding)[0])


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_pooling_matches_reference_on_random_input(kernel, stride, padding):
    rng = np.random.default_rng(7 + kernel)
    x = rng.standard_normal((2, 3, 9, 10))
    t = torch.tensor(x)
    np.testing.assert_allclose(F.max_pool2d(t, kernel, stride, padding).numpy(),
                               maxpool2d_ref(x, kernel, stride, padding))
    np.testing.assert_allclose(F.avg_pool2d(t, kernel, stride, padding).numpy(),
                               avgpool2d_ref(x, kernel, stride, padding), rtol=1e-12)


def test_reference_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="channels"):
        conv2d_ref(np.zeros((2, 5, 5)), np.zeros((1, 3, 3, 3)))
