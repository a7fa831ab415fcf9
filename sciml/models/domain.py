"""Resolution-independent helpers of grid operators: cached coordinates and fractional domain padding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sciml.spectral import Grid


class CoordinateCache:
    """The coordinates ``x_j = j / n_i`` of the unit box ``[0, 1)^d`` at any resolution, cached.

    The grid is the periodic unit grid of :class:`sciml.spectral.Grid` (the left end included, the
    right end excluded), so the embedding of a field at resolution ``n`` is the restriction of the
    embedding at ``2n``: a model sees the same coordinates at every resolution. One tensor per
    ``(shape, dtype, device)`` is built on first use and reused, so a forward pass allocates nothing.
    """

    def __init__(self):
        self._cache: dict[tuple, Tensor] = {}

    def __call__(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
        """Coordinates ``(d, prod(shape))``, channels-first with flattened space."""
        key = (tuple(shape), dtype, device)
        coords = self._cache.get(key)
        if coords is None:
            grid = Grid(tuple(shape), (1.0,) * len(shape))
            coords = grid.coords(torch.float64, device).reshape(len(shape), -1).to(dtype)  # (d, N)
            self._cache[key] = coords
        return coords


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
