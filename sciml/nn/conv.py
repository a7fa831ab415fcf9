"""Local layers on grids of any dimension: convolutions with "same" padding, and grid interpolation.

The attention operators use them around their token mixers: the Galerkin Transformer's coarsening
feature extractor and refining upscaler (Cao 2021), and the U-shaped multiscale encoder-decoder of
the Latent Spectral Model (Wu et al. 2023). One helper per concept, 1-, 2- and 3-D alike, so that
the models pick the dimension from their input instead of hard-coding ``Conv2d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn.mlp import _init_uniform

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_INTERPOLATION = {1: "linear", 2: "bilinear", 3: "trilinear"}


def conv(
    dim: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    *,
    bias: bool = True,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """``nn.Conv{dim}d`` with zero "same" padding (an odd ``kernel_size``), initialized from ``generator``.

    The initialization is torch's default, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for the weight and
    the bias with ``fan_in = in_channels * kernel_size ** dim``, drawn from ``generator``.
    """
    if dim not in _CONV:
        raise ValueError(f"conv: dim must be 1, 2 or 3, got {dim}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"conv: kernel_size must be odd and positive (same padding), got {kernel_size}")
    layer = nn.utils.skip_init(_CONV[dim], in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)
    _init_uniform(layer.weight.view(out_channels, -1), layer.bias, generator)  # (C_out, C_in * k^d) view
    return layer


def interpolate(u: Tensor, size: tuple[int, ...]) -> Tensor:
    """Multilinear interpolation of ``u`` ``(B, C, *S)`` onto ``size`` points per axis, ends aligned.

    ``align_corners=True``: the first and last points of every axis stay where they are, so the map
    from ``n`` to ``m`` points restricts the piecewise-linear interpolant on the nodes ``j / (n - 1)``
    to the nodes ``i / (m - 1)``; a field that is linear along an axis is reproduced exactly.
    """
    dim = u.dim() - 2
    if dim not in _INTERPOLATION or len(size) != dim:
        raise ValueError(f"interpolate: expected u (B, C, *S) with 1 to 3 space axes and one size per axis, "
                         f"got u {tuple(u.shape)} and size {tuple(size)}")
    if tuple(u.shape[2:]) == tuple(size):
        return u
    return F.interpolate(u, size=tuple(size), mode=_INTERPOLATION[dim], align_corners=True)
