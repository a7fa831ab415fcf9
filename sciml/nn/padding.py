"""Fractional domain padding: zeros around the box, the same physical margin at every resolution.

A spectral convolution sees its input as periodic. On a problem that is not (Dirichlet walls, an
inflow and an outflow), a model pads the domain with zeros before its Fourier layers and removes
the margin after them, so the wrap-around of the FFT runs through the padding instead of joining
opposite walls. Any model built on spectral convolutions or Fourier attention needs this, which
is why it lives here and not in one model: it holds no parameters, and the margin is a fraction of
each axis so that a model trained at one resolution and evaluated at another pads the same box.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def padding_widths(shape: tuple[int, ...], fraction: float) -> tuple[int, ...]:
    """Points added on EACH side of every axis: ``round(fraction * n_i)``.

    The padded length ``n (1 + 2 fraction)`` scales with the resolution, so the padded domain is the
    same physical box ``[-fraction, 1 + fraction)`` at every resolution (up to the rounding of
    ``fraction * n``, exact when it is an integer), which keeps zero-shot super-resolution consistent.
    """
    return tuple(round(fraction * n) for n in shape)


def pad_domain(u: Tensor, widths: tuple[int, ...]) -> Tensor:
    """Zero-pad ``u`` ``(B, C, *S)`` by ``widths[i]`` points on both sides of space axis ``i``."""
    if len(widths) != u.dim() - 2:
        raise ValueError(f"pad_domain: widths {widths} must have one entry per space axis of u {tuple(u.shape)}")
    pads = [p for w in reversed(widths) for p in (w, w)]  # F.pad lists the last axis first
    return F.pad(u, pads)


def unpad_domain(u: Tensor, widths: tuple[int, ...]) -> Tensor:
    """Inverse of :func:`pad_domain` on the interior: drop ``widths[i]`` points on both sides of axis ``i``."""
    if len(widths) != u.dim() - 2:
        raise ValueError(f"unpad_domain: widths {widths} must have one entry per space axis of u {tuple(u.shape)}")
    index = (slice(None), slice(None)) + tuple(slice(w, n - w) for w, n in zip(widths, u.shape[2:]))
    return u[index]
