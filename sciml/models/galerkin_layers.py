"""The Galerkin Transformer's grid stages: the coarsening feature extractor, the refining upscaler,
and the spectral-convolution decoder (Cao 2021, Sec. 4 and Appendix C).

On a fine 2-D grid the attention would see ``n^2`` tokens; Cao's "interpolation-based CNN" extractor
instead convolves at the input grid, interpolates to an intermediate grid, convolves three times
there (concatenating the three outputs, a small dense block), and interpolates to a fixed coarse
*latent grid*, e.g. ``141^2 -> 78^2 -> 43^2``. The encoder's attention runs on the latent grid's
tokens; the upscaler interpolates back through the intermediate grid with one convolution. All
interpolations are multilinear with the ends aligned (:func:`sciml.nn.interpolate`), so the latent
grid covers the same box at every input resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn import (
    ChannelMLP,
    GridCoordinates,
    PointwiseLinear,
    SpectralConv,
    conv,
    interpolate,
)


def intermediate_grid(fine: tuple[int, ...], coarse: tuple[int, ...]) -> tuple[int, ...]:
    """The grid halfway between ``fine`` and ``coarse`` in the log: ``round(sqrt(n_f n_c))`` per axis."""
    return tuple(round(math.sqrt(f * c)) for f, c in zip(fine, coarse))


class CoarseningEncoder(nn.Module):
    """Cao's interpolation-CNN feature extractor ``(B, C_in, *S) -> (B, C, *S_latent)``.

    .. math::

        v = \\mathrm{ReLU}(W_0 * a), \\quad v \\leftarrow I_{S \\to S_m} v, \\quad
        v_1 = \\mathrm{ReLU}(W_1 * v), \\ v_2 = \\mathrm{ReLU}(W_2 * v_1), \\ v_3 = \\mathrm{ReLU}(W_3 * v_2),
        \\quad \\text{out} = I_{S_m \\to S_{latent}} [v_1, v_2, v_3]

    with 3-point (per axis) convolutions ``W_i *`` without bias, ``I`` multilinear interpolation,
    ``S_m`` the :func:`intermediate_grid` and ``[v_1, v_2, v_3]`` concatenated to ``C`` channels
    (``C // 3``, ``C // 3`` and the rest). Interpolation keeps ReLU outputs non-negative, so the
    activations Cao's code applies again after each interpolation change nothing and are left out.

    Parameters
    ----------
    in_channels, width
        ``C_in`` and ``C`` (at least 3).
    latent_grid
        ``S_latent``, one entry per space axis.
    dropout
        After each convolution, in training.
    generator
        Seeds the initialization.
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        latent_grid: tuple[int, ...],
        *,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if width < 3:
            raise ValueError(f"CoarseningEncoder: width must be >= 3 (three concatenated branches), got {width}")
        dim = len(latent_grid)
        self.latent_grid = tuple(latent_grid)
        split = (width // 3, width // 3, width - 2 * (width // 3))
        self.lift = conv(dim, in_channels, width, bias=False, generator=generator)
        self.branches = nn.ModuleList(
            conv(dim, c_in, c_out, bias=False, generator=generator) for c_in, c_out in zip((width, *split[:2]), split)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, a: Tensor) -> Tensor:
        """``a`` ``(B, C_in, *S)`` -> ``(B, C, *S_latent)``."""
        v = F.relu(self.dropout(self.lift(a)))  # (B, C, *S)
        v = interpolate(v, intermediate_grid(tuple(a.shape[2:]), self.latent_grid))  # (B, C, *S_m)
        parts = []
        for branch in self.branches:
            v = F.relu(self.dropout(branch(v)))  # (B, C_i, *S_m)
            parts.append(v)
        return interpolate(torch.cat(parts, dim=1), self.latent_grid)  # (B, C, *S_latent)


class RefiningDecoder(nn.Module):
    """Cao's interpolation upscaler ``(B, C, *S_latent) -> (B, C, *S)``: interpolate to the
    :func:`intermediate_grid`, ``SiLU(W * v)`` (a 3-point convolution without bias), interpolate to ``S``."""

    def __init__(self, width: int, dim: int, *, dropout: float = 0.0, generator: torch.Generator | None = None):
        super().__init__()
        self.conv = conv(dim, width, width, bias=False, generator=generator)
        self.dropout = nn.Dropout(dropout)

    def forward(self, v: Tensor, shape: tuple[int, ...]) -> Tensor:
        """``v`` ``(B, C, *S_latent)`` -> ``(B, C, *shape)``."""
        v = interpolate(v, intermediate_grid(shape, tuple(v.shape[2:])))  # (B, C, *S_m)
        v = self.dropout(F.silu(self.conv(v)))  # (B, C, *S_m)
        return interpolate(v, shape)  # (B, C, *S)


class SpectralDecoder(nn.Module):
    """Cao's spectral regressor ``(B, C, *S) -> (B, C_out, *S)``: Fourier layers, then a pointwise MLP.

    .. math::

        w_0 = P[v, x] \\ \\text{(with coordinates) or } v, \\qquad
        w_{l+1} = \\sigma(K_l w_l + W_l w_l + b_l), \\qquad u = Q(w_L),

    ``K_l`` a :class:`sciml.nn.SpectralConv` keeping ``|k_i| <= modes_i``, ``W_l w + b_l`` a pointwise
    linear skip, ``sigma`` the SiLU (left out after the last layer unless ``last_activation``), ``P``
    a pointwise linear map of the features and the coordinates ``x``, and ``Q`` a two-layer pointwise
    MLP with a SiLU. The first layer maps ``C`` (or ``P``'s output) to ``width`` channels.

    Parameters
    ----------
    in_channels, width, out_channels
        ``C``, the Fourier layers' channels and ``C_out``.
    modes
        Kept modes per axis (see :class:`sciml.nn.SpectralConv`).
    n_layers
        Fourier layers ``L >= 1``.
    hidden
        Hidden channels of ``Q``.
    coordinates
        Lift ``[v, x]`` with ``P`` first (Cao's ``spacial_fc``).
    last_activation
        Apply ``sigma`` after the last Fourier layer too.
    generator
        Seeds the initialization.
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        out_channels: int,
        modes: tuple[int, ...],
        n_layers: int,
        hidden: int,
        *,
        coordinates: bool,
        last_activation: bool,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"SpectralDecoder: n_layers must be >= 1, got {n_layers}")
        self.coordinates = GridCoordinates() if coordinates else None
        self.lift = PointwiseLinear(in_channels + len(modes), width, generator=generator) if coordinates else None
        widths = [width if coordinates else in_channels] + [width] * n_layers
        self.spectral = nn.ModuleList(
            SpectralConv(i, o, modes, generator=generator) for i, o in zip(widths, widths[1:])
        )
        self.skips = nn.ModuleList(PointwiseLinear(i, o, generator=generator) for i, o in zip(widths, widths[1:]))
        self.last_activation = last_activation
        self.head = ChannelMLP(width, hidden, out_channels, activation=F.silu, generator=generator)

    def forward(self, v: Tensor) -> Tensor:
        """``v`` ``(B, C, *S)`` -> ``(B, C_out, *S)``."""
        if self.coordinates is not None:
            x = self.coordinates.channels_first(tuple(v.shape[2:]), v.dtype, v.device)  # (d, *S)
            v = self.lift(torch.cat([v, x.expand(v.shape[0], *x.shape)], dim=1))  # (B, width, *S)
        for index, (spectral, skip) in enumerate(zip(self.spectral, self.skips)):
            v = spectral(v) + skip(v)  # (B, width, *S)
            if self.last_activation or index < len(self.spectral) - 1:
                v = F.silu(v)
        return self.head(v)
