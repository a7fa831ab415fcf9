r"""The PINN network: an MLP on collocation points, with input scaling, optional random Fourier
features and an optional hard-constraint output transform.

.. math:: u_\theta(p) = T\big(p,\; N_\theta(\gamma(s(p)))\big)

- :math:`s` maps the domain's box affinely onto :math:`[-1, 1]^D`, as Raissi et al. (2019) normalise
  their inputs. A box rescaled by :math:`L` then gives the same network function of the rescaled
  coordinates, so only the loss terms see the scale (see ``Poisson.length``).
- :math:`\gamma` (optional): random Fourier features :math:`[\cos 2\pi B s, \sin 2\pi B s]` with a
  fixed :math:`B_{kj} \sim N(0, \sigma^2)` (Tancik et al., NeurIPS 2020; Wang, Wang & Perdikaris,
  CMAME 384, 2021), against the spectral bias of MLPs on multiscale solutions.
- :math:`N_\theta`: :class:`sciml.nn.MLP` with Xavier-normal weights and zero biases (Glorot &
  Bengio 2010), the usual PINN initialisation for ``tanh``.
- :math:`T` (optional): ``(points, raw) -> u``, e.g. :class:`sciml.pinn.HardConstraint`, so that
  boundary or initial conditions hold exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from sciml.domain import Domain
from sciml.nn import MLP

__all__ = ["PINN", "FourierFeatures", "OutputTransform"]

#: ``(points (P, D), raw network output (P, C)) -> u (P, C)``
OutputTransform = Callable[[Tensor, Tensor], Tensor]


class FourierFeatures(nn.Module):
    r"""Random Fourier features :math:`\gamma(x) = [\cos(2\pi B x), \sin(2\pi B x)]`, ``(..., D) -> (..., 2m)``.

    Parameters
    ----------
    in_features
        :math:`D`.
    n_features
        :math:`m`, the number of frequencies (rows of :math:`B`).
    scale
        :math:`\sigma`: :math:`B_{kj} \sim N(0, \sigma^2)`, in cycles per unit of the (scaled) input.
        Small :math:`\sigma` (about 1) suits smooth solutions; larger ones resolve finer scales and
        overfit sooner (Tancik et al. 2020, Fig. 3).
    generator
        Draws :math:`B`; it is a buffer, saved with the state dict.
    """

    def __init__(self, in_features: int, n_features: int, scale: float = 1.0, *, generator: torch.Generator | None = None):
        super().__init__()
        if in_features < 1 or n_features < 1:
            raise ValueError(f"FourierFeatures: in_features and n_features must be >= 1, got {in_features}, {n_features}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"FourierFeatures: scale must be positive and finite, got {scale}")
        self.register_buffer("frequencies", scale * torch.randn(n_features, in_features, generator=generator))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(..., D)`` -> ``(..., 2m)``: cosines first."""
        phase = 2 * math.pi * x @ self.frequencies.T  # (..., m)
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)  # (..., 2m)


class PINN(nn.Module):
    r"""A network on the points of ``domain``, ``(P, D) -> (P, out_features)`` (see the module docstring).

    Parameters
    ----------
    domain
        The problem's domain; its box is scaled onto :math:`[-1, 1]^D` and ``D = domain.columns``
        (time first, as :class:`~sciml.domain.Domain` orders points).
    out_features
        Channels of the solution, the problem's ``solution_channels``.
    hidden_features, n_layers
        Width of the hidden layers and number of linear layers of the MLP (``n_layers - 1`` hidden
        layers). ConFIG's Burgers network is ``50, 6`` (five tanh layers of 50); Raissi's is ``20, 9``.
    activation
        Elementwise; ``torch.tanh`` (smooth: the residual takes second derivatives).
    fourier_features, fourier_scale
        ``m`` random Fourier features of scale :math:`\sigma` after the input scaling (0: none).
    constraint
        Output transform ``(points, raw) -> u``, or ``None`` for ``u = raw``.
    generator
        Seeds the weights, then the Fourier frequencies.
    dtype
        The parameters' dtype (``None``: the default dtype). The weights are drawn in it, so a float64
        network is a float64 draw, not a float32 draw cast up (``.double()``), and ``sciml train`` draws
        in the run's precision. Undamped natural gradient depends on the draw either way: on the ENGD
        paper's 2-D Poisson grid, seed 1 cast up stalled at 1.3e-4 and drawn in float64 reached 6.2e-7;
        on 900 Sobol points, seed 0 drawn in float64 stalled at 1.3 and cast up reached 7.4e-8.
    """

    def __init__(
        self,
        domain: Domain,
        out_features: int = 1,
        *,
        hidden_features: int = 50,
        n_layers: int = 6,
        activation: Callable[[Tensor], Tensor] = torch.tanh,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        constraint: OutputTransform | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        if not isinstance(domain, Domain):
            raise TypeError(f"PINN: domain must be a sciml.domain.Domain, got {type(domain).__name__}")
        if fourier_features < 0:
            raise ValueError(f"PINN: fourier_features must be >= 0, got {fourier_features}")
        if constraint is not None and not callable(constraint):
            raise TypeError(f"PINN: constraint must be a function (points, raw) -> u, got {type(constraint).__name__}")
        self.domain, self.constraint = domain, constraint
        dtype = torch.get_default_dtype() if dtype is None else dtype
        low, high = domain.bounds(dtype)
        # derived from domain: not part of the state dict
        self.register_buffer("low", low, persistent=False)
        self.register_buffer("high", high, persistent=False)
        width = 2 * fourier_features if fourier_features else domain.columns
        self.mlp = MLP(width, hidden_features, out_features, n_layers, activation=activation, generator=generator).to(dtype)
        for layer in self.mlp.layers:  # drawn in dtype
            nn.init.xavier_normal_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)
        self.features = (FourierFeatures(domain.columns, fourier_features, fourier_scale, generator=generator).to(dtype)
                         if fourier_features else None)

    def forward(self, points: Tensor) -> Tensor:
        """``points`` ``(P, D)`` in the model's dtype -> ``u`` ``(P, out_features)``."""
        dtype = self.low.dtype
        if points.ndim != 2 or points.shape[1] != self.domain.columns or points.dtype != dtype:
            raise ValueError(f"PINN: points must be a (P, {self.domain.columns}) {dtype} tensor (the model's dtype), "
                             f"got {tuple(points.shape)} {points.dtype}")
        x = 2 * (points - self.low) / (self.high - self.low) - 1  # (P, D) in [-1, 1]
        if self.features is not None:
            x = self.features(x)  # (P, 2m)
        raw = self.mlp(x)  # (P, C)
        return raw if self.constraint is None else self.constraint(points, raw)
