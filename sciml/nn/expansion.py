r"""A model linear in its parameters: a real Fourier expansion on a box, for operator-preconditioning studies."""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

__all__ = ["FourierExpansion"]


class FourierExpansion(nn.Module):
    r""":math:`u(x) = \sum_{k} \theta_k \varphi_k(x)` with the real Fourier modes of the box :math:`[0, L]^d`.

    The modes are the constant and, for every integer vector :math:`k \ne 0` in a half-space with
    :math:`|k_i| \le K`, the pair :math:`\cos(2\pi k\cdot x / L)`, :math:`\sin(2\pi k\cdot x / L)`:
    :math:`(2K + 1)^d` features, orthogonal on the box (exactly so on a uniform grid of more than
    :math:`2K` points per axis), each an eigenfunction of the Laplacian,
    :math:`-\Delta\varphi_k = (2\pi |k| / L)^2 \varphi_k` (:meth:`laplacian_symbol`). Every mode is
    :math:`L`-periodic, so the span holds the periodic functions: a Dirichlet problem's solution
    must vanish on the boundary and be periodic (e.g. :math:`\sin 2\pi x`). The model is linear in
    :math:`\theta`, so a PINN loss built on it is a quadratic whose Hessian is the operator's Gram
    matrix: the setting of De Ryck et al. (ICLR 2024), where the condition number of that matrix
    governs gradient descent.

    Parameters
    ----------
    dim
        Space dimension :math:`d` of the points ``(P, d)``.
    modes
        :math:`K`, the largest wavenumber per axis.
    out_channels
        Channels of :math:`u`.
    length
        :math:`L`.
    generator
        Seeds the initialization (normal, standard deviation :math:`10^{-2}`).
    """

    def __init__(self, dim: int, modes: int, out_channels: int = 1, length: float = 1.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        if dim < 1 or modes < 0 or out_channels < 1 or not length > 0:
            raise ValueError(f"FourierExpansion: need dim >= 1, modes >= 0, out_channels >= 1, length > 0, "
                             f"got {dim}, {modes}, {out_channels}, {length}")
        half = [k for k in itertools.product(range(-modes, modes + 1), repeat=dim)
                if next((c for c in k if c != 0), 0) > 0]  # one of each pair +-k
        self.dim, self.modes, self.length = dim, modes, float(length)
        self.register_buffer("wavenumbers", torch.tensor(half, dtype=torch.float64).reshape(-1, dim))  # (H, d)
        features = 1 + 2 * len(half)
        self.weight = nn.Parameter(0.01 * torch.randn(features, out_channels, generator=generator, dtype=torch.float64))

    def features(self, x: Tensor) -> Tensor:
        """The basis at points ``x`` ``(P, d)``: ``(P, F)``, columns constant, cosines, sines."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"FourierExpansion: points must be (P, {self.dim}), got {tuple(x.shape)}")
        phase = (2 * math.pi / self.length) * x @ self.wavenumbers.to(x.dtype).T  # (P, H)
        return torch.cat([torch.ones_like(x[:, :1]), phase.cos(), phase.sin()], dim=1)  # (P, F)

    def forward(self, x: Tensor) -> Tensor:
        """``u(x)``: ``(P, d) -> (P, out_channels)``."""
        return self.features(x) @ self.weight.to(x.dtype)

    def laplacian_symbol(self) -> Tensor:
        r""":math:`(2\pi |k| / L)^2` per feature, ``(F,)``: :math:`-\Delta\varphi = ` symbol :math:`\times\,\varphi` (0 for the constant)."""
        k2 = (2 * math.pi / self.length) ** 2 * self.wavenumbers.square().sum(dim=1)  # (H,)
        return torch.cat([k2.new_zeros(1), k2, k2])
