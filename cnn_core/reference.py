"""NumPy reference implementations of convolution and pooling.

Deliberately naive-but-vectorised code that follows the lecture definitions
(cross-correlation, (N - F + 2P) / S + 1 output size) so the torch layers can
be checked against an independent oracle on random inputs.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv_output_size", "conv2d_ref", "maxpool2d_ref", "avgpool2d_ref"]

IntPair = int | tuple[int, int]


def conv_output_size(n: int, f: int, stride: int = 1, padding: int = 0,
                     strict: bool = True) -> int:
    """Spatial output size of a convolution or pooling: (N - F + 2P) / S + 1.

    With ``strict=True`` (the lecture's rule) a filter that does not tile the
    padded input exactly raises ``ValueError``; ``strict=False`` floors like
    PyTorch does, silently dropping the last rows/columns.
    """
    if n <= 0 or f <= 0 or stride <= 0 or padding < 0:
        raise ValueError(f"invalid sizes: N={n}, F={f}, S={stride}, P={padding}")
    span = n - f + 2 * padding
    if span < 0:
        raise ValueError(f"filter F={f} doesn't fit input N={n} with padding P={padding}")
    if strict and span % stride:
        raise ValueError(
            f"filter F={f} with stride S={stride} doesn't fit input N={n} "
            f"(padding P={padding}): (N - F + 2P) / S = {span}/{stride} is not an integer")
    return span // stride + 1


def _pair(v: IntPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _as_batch(x: np.ndarray) -> tuple[np.ndarray, int]:
    """View (H, W), (C, H, W) or (N, C, H, W) as (N, C, H, W); also return how
    many leading axes were added, so the result can be given the input's rank."""
    x = np.asarray(x, dtype=np.float64)
    if not 2 <= x.ndim <= 4:
        raise ValueError(f"expected (H,W), (C,H,W) or (N,C,H,W), got shape {x.shape}")
    added = 4 - x.ndim
    return x.reshape((1,) * added + x.shape), added


def _restore(out: np.ndarray, added: int) -> np.ndarray:
    return out.reshape(out.shape[added:])


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: IntPair, padding: IntPair,
             pad_value: float) -> np.ndarray:
    """All receptive fields of a (N, C, H, W) array: shape (N, C, Ho, Wo, kh, kw)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    # Floor division like torch; use conv_output_size() for the strict check.
    win = sliding_window_view(x, kernel, axis=(2, 3))
    return win[:, :, ::sh, ::sw]


def conv2d_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
               stride: IntPair = 1, padding: IntPair = 0) -> np.ndarray:
    """2-D cross-correlation (what deep-learning libraries call convolution).

    x: (C, H, W) or (N, C, H, W); w: (O, C, kh, kw); b: (O,) or None.
    Returns (O, Ho, Wo) or (N, O, Ho, Wo) matching the input's rank. For the
    lectures' worked examples an (H, W) image with an (kh, kw) filter gives
    an (Ho, Wo) map.
    """
    xb, added = _as_batch(x)
    w = np.asarray(w, dtype=np.float64)
    single_filter = w.ndim == 2
    if single_filter:
        w = w[None, None]
    if w.shape[1] != xb.shape[1]:
        raise ValueError(f"filter depth {w.shape[1]} != input channels {xb.shape[1]}")
    win = _windows(xb, w.shape[2:], stride, padding, 0.0)
    out = np.einsum("nchwij,ocij->nohw", win, w)
    if b is not None:
        out = out + np.asarray(b, dtype=np.float64)[None, :, None, None]
    # The output-channel axis is dropped only for the (H, W) image, (kh, kw) filter case.
    return _restore(out, added if single_filter and added == 2 else min(added, 1))


def maxpool2d_ref(x: np.ndarray, kernel_size: IntPair = 2, stride: IntPair | None = None,
                  padding: IntPair = 0) -> np.ndarray:
    """Max pooling per channel; padding counts as -inf (as in torch)."""
    xb, added = _as_batch(x)
    k = _pair(kernel_size)
    out = _windows(xb, k, k if stride is None else stride, padding, -np.inf).max(axis=(-2, -1))
    return _restore(out, added)


def avgpool2d_ref(x: np.ndarray, kernel_size: IntPair = 2, stride: IntPair | None = None,
                  padding: IntPair = 0) -> np.ndarray:
    """Average pooling per channel; zero padding is included in the mean
    (torch's default ``count_include_pad=True``)."""
    xb, added = _as_batch(x)
    k = _pair(kernel_size)
    out = _windows(xb, k, k if stride is None else stride, padding, 0.0).mean(axis=(-2, -1))
    return _restore(out, added)
