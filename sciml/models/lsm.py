r"""The Latent Spectral Model (Wu et al. 2023): a U-shaped multiscale network of neural spectral blocks.

.. math::

    v_0 = P(a, x), \qquad
    v_0^{(1)} = D_0(v_0), \quad v_0^{(s)} = D_s(\mathrm{pool}(v_0^{(s-1)})) \ (s = 2..S), \qquad
    w^{(S)} = N_S(v_0^{(S)}), \quad w^{(s)} = U_s\big(N_s(v_0^{(s)}), \mathrm{up}(w^{(s+1)})\big), \qquad
    u = Q(w^{(1)}),

where ``P`` is a pointwise linear lifting of the input and the grid coordinates ``x``, ``D_s`` a
double 3-point convolution (convolution, batch normalization, ReLU, twice), ``pool`` a 2x max
pooling, ``N_s`` the neural spectral block of scale ``s`` (:mod:`sciml.models.lsm_block`: patches
projected onto latent tokens, a trigonometric transition, and back), ``up`` a 2x multilinear
upsampling, ``U_s`` a double convolution of the concatenated skip and upsampled fields, and ``Q`` a
two-layer pointwise GELU MLP. Channels double at each scale (``C, 2C, 4C, ...``) except the deepest,
which keeps the channels of the one above it (the paper's bilinear U-Net).

Every scale cuts its field into patches of ``patch_size`` points, so the lifted field is zero-padded
at the far end of each axis to a multiple of ``patch_size * 2^(S-1)`` (85 points, patches of 6 and 5
scales: padded to 96, as the paper's ``padding = 11``) and cropped after the network. The patch
size is a number of points, so the model runs at any resolution, but its convolutions and patches
see a different physical size on another grid: unlike FNO it is not built for zero-shot
super-resolution.

References
----------
H. Wu, T. Hu, H. Luo, J. Wang, M. Long, "Solving High-Dimensional PDEs with Latent Spectral Models",
ICML 2023, arXiv:2301.12664; code at github.com/thuml/Latent-Spectral-Models (``LSM_2D.py`` and
``scripts/darcy_lsm.sh`` give the shipped Darcy config).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.models.lsm_block import NeuralSpectralBlock
from sciml.nn import ChannelMLP, GridCoordinates, PointwiseLinear, conv, interpolate

_BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}


@dataclasses.dataclass(frozen=True)
class LSMOptions:
    """Advanced LSM options; the defaults are the paper's.

    Parameters
    ----------
    n_scales
        Scales of the U-shaped network (the paper: 5), each halving the grid.
    n_heads
        Heads of the latent attentions (the paper: 8); every scale's channels must be a multiple.
    projection_width
        Hidden channels of the output MLP ``Q`` (the paper: 128).
    """

    n_scales: int = 5
    n_heads: int = 8
    projection_width: int = 128

    def __post_init__(self):
        if min(self.n_scales, self.n_heads, self.projection_width) < 1:
            raise ValueError(f"LSMOptions: n_scales, n_heads and projection_width must be >= 1, got {self}")


def double_conv(dim: int, in_channels: int, out_channels: int, mid_channels: int, generator: torch.Generator | None) -> nn.Sequential:
    """``ReLU(BN(W_2 * ReLU(BN(W_1 * v))))`` with 3-point convolutions without bias."""
    return nn.Sequential(
        conv(dim, in_channels, mid_channels, bias=False, generator=generator),
        _BATCH_NORM[dim](mid_channels),
        nn.ReLU(),
        conv(dim, mid_channels, out_channels, bias=False, generator=generator),
        _BATCH_NORM[dim](out_channels),
        nn.ReLU(),
    )


class LSM(nn.Module):
    """Latent Spectral Model ``(B, C_in, *S) -> (B, C_out, *S)`` on 1-D, 2-D and 3-D grids.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output functions.
    patch_size
        Points per patch on every axis, one entry per space axis (the paper's Darcy: ``(6, 6)``).
    width
        Channels ``C`` of the finest scale (the paper's ``d_model``; Darcy: 64).
    n_basis
        Trigonometric frequencies ``K`` of the spectral transition (the paper: 12).
    n_tokens
        Latent tokens per patch (the paper: 4).
    options
        Advanced options, :class:`LSMOptions`.
    generator
        Seeds the initialization.
    """

    name: ClassVar[str] = "lsm"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        patch_size: tuple[int, ...] = (3, 3),
        width: int = 32,
        n_basis: int = 12,
        n_tokens: int = 4,
        options: LSMOptions | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        patch_size = tuple(int(p) for p in patch_size)
        options = LSMOptions() if options is None else options
        if len(patch_size) not in _BATCH_NORM or min(patch_size) < 1:
            raise ValueError(f"LSM: patch_size must hold 1 to 3 positive ints (one per space axis), got {patch_size}")
        if min(in_channels, out_channels, width, n_basis, n_tokens) < 1:
            raise ValueError(f"LSM: in_channels, out_channels, width, n_basis and n_tokens must be >= 1, got "
                             f"{in_channels}, {out_channels}, {width}, {n_basis}, {n_tokens}")
        scales = options.n_scales
        channels = [width * 2**s for s in range(scales - 1)] + [width * 2 ** max(scales - 2, 0)]
        if any(c % options.n_heads for c in channels):
            raise ValueError(f"LSM: width {width} must be a multiple of options.n_heads {options.n_heads}")
        self.in_channels, self.out_channels, self.patch_size = in_channels, out_channels, patch_size
        self.width, self.n_basis, self.n_tokens, self.options = width, n_basis, n_tokens, options
        dim = len(patch_size)
        self.coordinates = GridCoordinates()
        self.lifting = PointwiseLinear(in_channels + dim, width, generator=generator)
        self.down = nn.ModuleList(
            double_conv(dim, c_in, c_out, c_out, generator) for c_in, c_out in zip([width] + channels, channels)
        )
        self.pool = _MAX_POOL[dim](2)
        self.spectral = nn.ModuleList(
            NeuralSpectralBlock(c, patch_size, n_basis, n_tokens, options.n_heads, generator=generator) for c in channels
        )
        # scale s combines its skip (channels[s]) with the upsampled field from below (channels[s] too)
        self.up = nn.ModuleList(
            double_conv(dim, 2 * c, channels[s - 1] if s > 0 else width, c, generator) for s, c in enumerate(channels[:-1])
        )
        self.projection = ChannelMLP(width, options.projection_width, out_channels, activation=F.gelu, generator=generator)

    @property
    def multiple(self) -> tuple[int, ...]:
        """Every axis of the lifted field is padded to a multiple of this: ``patch_size * 2^(n_scales - 1)``."""
        return tuple(p * 2 ** (self.options.n_scales - 1) for p in self.patch_size)

    def forward(self, a: Tensor) -> Tensor:
        """``a`` ``(B, in_channels, *S)`` -> ``(B, out_channels, *S)``, ``len(S) == len(patch_size)``."""
        dim = len(self.patch_size)
        if a.dim() != dim + 2 or a.shape[1] != self.in_channels:
            raise ValueError(f"LSM: expected a of shape (B, {self.in_channels}, *S) with {dim} space axes, "
                             f"got {tuple(a.shape)}")
        space = tuple(a.shape[2:])
        x = self.coordinates.channels_first(space, a.dtype, a.device)  # (d, *S)
        v = self.lifting(torch.cat([a, x.expand(a.shape[0], *x.shape)], dim=1))  # (B, C, *S)
        padded = tuple(-(-n // m) * m for n, m in zip(space, self.multiple))
        v = F.pad(v, [p for n, target in zip(reversed(space), reversed(padded)) for p in (0, target - n)])  # (B, C, *S_pad)
        skips = []
        for scale, down in enumerate(self.down):
            v = down(v if scale == 0 else self.pool(v))  # (B, C_s, *S_pad / 2^s)
            skips.append(self.spectral[scale](v))
        w = skips[-1]
        for scale in reversed(range(len(self.up))):
            skip = skips[scale]
            w = self.up[scale](torch.cat([skip, interpolate(w, tuple(skip.shape[2:]))], dim=1))  # (B, C_s', *S_pad / 2^s)
        w = w[(slice(None), slice(None)) + tuple(slice(0, n) for n in space)]  # (B, C, *S)
        return self.projection(w)

    def config(self) -> dict[str, Any]:
        """A JSON-able description from which :meth:`from_config` rebuilds the model (weights apart)."""
        return {
            "model": self.name,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "patch_size": list(self.patch_size),
            "width": self.width,
            "n_basis": self.n_basis,
            "n_tokens": self.n_tokens,
            "options": dataclasses.asdict(self.options),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LSM:
        """The model that :meth:`config` describes, freshly initialized."""
        if config.get("model") != cls.name:
            raise ValueError(f"{cls.__name__}.from_config: config describes model {config.get('model')!r}, not {cls.name!r}")
        return cls(config["in_channels"], config["out_channels"], tuple(config["patch_size"]), config["width"],
                   config["n_basis"], config["n_tokens"], LSMOptions(**config["options"]))
