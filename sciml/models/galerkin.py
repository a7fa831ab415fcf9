r"""The Galerkin Transformer (Cao 2021): softmax-free attention encoder, spectral decoder.

The operator maps an input function ``a`` on a grid to an output function on the same grid, at any
resolution:

.. math::

    y_0 = E(a), \qquad
    y_{l+1} = y_l' + \mathrm{FFN}_l(y_l'), \quad y_l' = y_l + \mathrm{Attn}_l(y_l, x), \qquad
    u = D(R(y_L)),

where the extractor ``E`` is a pointwise linear map (tokens at every grid point, Cao's 1-D setting)
or, with a ``latent_grid``, the coarsening interpolation CNN that takes a fine 2-D grid to a fixed
coarse grid of tokens (e.g. ``141^2 -> 43^2``); ``Attn_l`` is Fourier- or Galerkin-type attention
(:mod:`sciml.nn.attention`) with the coordinates ``x`` of the token grid as positional features;
``R`` is the refining upscaler back to the input grid (identity without a latent grid) and ``D`` the
spectral decoder (Fourier layers and a pointwise MLP, :class:`~sciml.models.galerkin_layers.SpectralDecoder`).

Every stage is defined on any grid: the attention is a quadrature (its sums over points carry a
``1/n``), the latent grid is fixed in size and spans the same box at every input resolution, and the
decoder's spectral convolutions keep a fixed set of modes. So the same weights evaluate on coarser
and finer grids.

References
----------
S. Cao, "Choose a Transformer: Fourier or Galerkin", NeurIPS 2021, arXiv:2105.14995; code at
github.com/scaomath/galerkin-transformer (its ``config.yml`` gives the settings of the shipped configs).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from einops import rearrange
from torch import Tensor, nn

from sciml.models.galerkin_layers import (
    CoarseningEncoder,
    RefiningDecoder,
    SpectralDecoder,
)
from sciml.nn import GridCoordinates, PointwiseLinear, SimpleEncoderLayer
from sciml.nn.attention import ATTENTIONS


@dataclasses.dataclass(frozen=True)
class GalerkinTransformerOptions:
    """Advanced Galerkin Transformer options; the defaults are Cao's Burgers model (``config.yml``).

    Parameters
    ----------
    ffn_expansion
        Hidden width of each encoder layer's feed-forward network, in units of ``width``.
    positional_attention
        Append the token grid's coordinates to every head's query, key and value.
    xavier_gain, diagonal_weight
        The attention projections start at ``U_xavier(gain) + diagonal_weight * I``.
    norm_eps
        ``eps`` of the attention's layer normalizations (Cao: ``1e-5``; ``1e-7`` for Darcy).
    latent_grid
        Points per axis of the coarse token grid of the interpolation-CNN extractor and upscaler
        (Cao's Darcy: ``(43, 43)`` under a ``141^2`` input); ``()``: tokens at every input point
        behind a pointwise linear lift.
    decoder_width, decoder_layers, decoder_hidden
        Channels and number of the decoder's Fourier layers (Cao's ``freq_dim``,
        ``num_regressor_layers``), and hidden channels of its final MLP.
    decoder_coordinates
        Concatenate the input grid's coordinates to the decoder's input (Cao's ``spacial_fc``).
    decoder_last_activation
        Apply the SiLU after the decoder's last Fourier layer too.
    dropout
        Dropout on the encoder layers' residual branches and after the extractor's and the
        upscaler's convolutions (training only).
    """

    ffn_expansion: float = 2.0
    positional_attention: bool = True
    xavier_gain: float = 1e-2
    diagonal_weight: float = 1e-2
    norm_eps: float = 1e-5
    latent_grid: tuple[int, ...] = ()
    decoder_width: int = 48
    decoder_layers: int = 2
    decoder_hidden: int = 48
    decoder_coordinates: bool = False
    decoder_last_activation: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        if not self.ffn_expansion > 0:
            raise ValueError(f"GalerkinTransformerOptions: ffn_expansion must be > 0, got {self.ffn_expansion}")
        if not (self.xavier_gain > 0 and self.norm_eps > 0):
            raise ValueError(f"GalerkinTransformerOptions: xavier_gain and norm_eps must be > 0, got "
                             f"{self.xavier_gain}, {self.norm_eps}")
        if any(n < 2 for n in self.latent_grid):
            raise ValueError(f"GalerkinTransformerOptions: latent_grid needs >= 2 points per axis, got {self.latent_grid}")
        if min(self.decoder_width, self.decoder_layers, self.decoder_hidden) < 1:
            raise ValueError(f"GalerkinTransformerOptions: decoder_width, decoder_layers and decoder_hidden must be "
                             f">= 1, got {self.decoder_width}, {self.decoder_layers}, {self.decoder_hidden}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"GalerkinTransformerOptions: dropout must be in [0, 1), got {self.dropout}")


class GalerkinTransformer(nn.Module):
    """Fourier/Galerkin Transformer operator ``(B, C_in, *S) -> (B, C_out, *S)`` on 1-D and 2-D grids.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output functions.
    modes
        Kept Fourier modes per axis of the decoder (one entry per space axis: 1-D or 2-D).
    width
        Channels of the tokens (Cao's ``n_hidden``).
    n_layers
        Encoder layers.
    n_heads
        Attention heads; ``width`` must be a multiple.
    attention
        ``"galerkin"`` (linear in the number of tokens) or ``"fourier"`` (quadratic).
    options
        Advanced options, :class:`GalerkinTransformerOptions`.
    generator
        Seeds the initialization.
    """

    name: ClassVar[str] = "galerkin_transformer"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: tuple[int, ...],
        width: int = 96,
        n_layers: int = 4,
        n_heads: int = 1,
        attention: str = "galerkin",
        options: GalerkinTransformerOptions | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        modes = tuple(int(m) for m in modes)
        options = GalerkinTransformerOptions() if options is None else options
        if len(modes) not in (1, 2) or min(modes) < 1:
            raise ValueError(f"GalerkinTransformer: modes must hold 1 or 2 positive ints (1-D or 2-D), got {modes}")
        if min(in_channels, out_channels, width, n_layers) < 1:
            raise ValueError(f"GalerkinTransformer: in_channels, out_channels, width and n_layers must be >= 1, got "
                             f"{in_channels}, {out_channels}, {width}, {n_layers}")
        if attention not in ATTENTIONS:
            raise ValueError(f"GalerkinTransformer: attention must be one of {sorted(ATTENTIONS)}, got {attention!r}")
        if options.latent_grid and len(options.latent_grid) != len(modes):
            raise ValueError(f"GalerkinTransformer: options.latent_grid {options.latent_grid} needs one entry per "
                             f"space axis ({len(modes)})")
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.width, self.n_layers, self.n_heads, self.attention = width, n_layers, n_heads, attention
        self.options = options
        dim, dropout = len(modes), options.dropout
        if options.latent_grid:
            self.extractor = CoarseningEncoder(in_channels, width, options.latent_grid, dropout=dropout, generator=generator)
            self.upscaler = RefiningDecoder(width, dim, dropout=dropout, generator=generator)
        else:
            self.extractor = PointwiseLinear(in_channels, width, generator=generator)
            self.upscaler = None
        self.coordinates = GridCoordinates() if options.positional_attention else None
        self.encoder = nn.ModuleList(
            SimpleEncoderLayer(
                ATTENTIONS[attention](
                    width,
                    n_heads,
                    pos_dim=dim if options.positional_attention else 0,
                    xavier_gain=options.xavier_gain,
                    diagonal_weight=options.diagonal_weight,
                    eps=options.norm_eps,
                    generator=generator,
                ),
                round(options.ffn_expansion * width),
                dropout=dropout,
                generator=generator,
            )
            for _ in range(n_layers)
        )
        self.decoder = SpectralDecoder(
            width,
            options.decoder_width,
            out_channels,
            modes,
            options.decoder_layers,
            options.decoder_hidden,
            coordinates=options.decoder_coordinates,
            last_activation=options.decoder_last_activation,
            generator=generator,
        )

    def forward(self, a: Tensor) -> Tensor:
        """``a`` ``(B, in_channels, *S)`` -> ``(B, out_channels, *S)``, ``len(S) == len(modes)``."""
        dim = len(self.modes)
        if a.dim() != dim + 2 or a.shape[1] != self.in_channels:
            raise ValueError(f"GalerkinTransformer: expected a of shape (B, {self.in_channels}, *S) with {dim} space "
                             f"axes, got {tuple(a.shape)}")
        space = tuple(a.shape[2:])
        v = self.extractor(a)  # (B, C, *S_tokens)
        tokens = tuple(v.shape[2:])
        pos = None if self.coordinates is None else self.coordinates.token_major(tokens, v.dtype, v.device)  # (N, d)
        y = rearrange(v, "b c ... -> b (...) c")  # (B, N, C)
        for layer in self.encoder:
            y = layer(y, pos)
        v = rearrange(y, "b n c -> b c n").reshape(v.shape)  # (B, C, *S_tokens)
        if self.upscaler is not None:
            v = self.upscaler(v, space)  # (B, C, *S)
        return self.decoder(v)

    def config(self) -> dict[str, Any]:
        """A JSON-able description from which :meth:`from_config` rebuilds the model (weights apart)."""
        return {
            "model": self.name,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "modes": list(self.modes),
            "width": self.width,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "attention": self.attention,
            "options": {**dataclasses.asdict(self.options), "latent_grid": list(self.options.latent_grid)},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GalerkinTransformer:
        """The model that :meth:`config` describes, freshly initialized."""
        if config.get("model") != cls.name:
            raise ValueError(f"{cls.__name__}.from_config: config describes model {config.get('model')!r}, not {cls.name!r}")
        options = dict(config["options"], latent_grid=tuple(config["options"]["latent_grid"]))
        return cls(config["in_channels"], config["out_channels"], tuple(config["modes"]), config["width"],
                   config["n_layers"], config["n_heads"], config["attention"], GalerkinTransformerOptions(**options))
