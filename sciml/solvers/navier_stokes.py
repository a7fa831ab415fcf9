r"""The right-hand side of 2-D incompressible Navier-Stokes in vorticity form, for pseudo-spectral stepping.

On a periodic box the vorticity :math:`w = \partial_x v - \partial_y u` obeys

.. math::

    w_t + \mathbf{u}\cdot\nabla w = \nu \Delta w + f, \qquad
    \mathbf{u} = (\partial_y \psi, -\partial_x \psi), \qquad -\Delta \psi = w,

so the velocity is divergence free by construction. In Fourier space the equation splits into a
diagonal linear part and a nonlinear part,

.. math::

    \hat w_t = L \hat w + N(\hat w), \qquad L = -\nu |k|^2, \qquad
    N(\hat w) = -\mathcal{P}_{2/3}\,\mathcal{F}[\mathbf{u}\cdot\nabla w] + \hat f,

where :math:`\mathcal{P}_{2/3}` is Orszag's 2/3 dealiasing. :class:`sciml.solvers.PseudoSpectralSolver`
advances it with any stepper of :mod:`sciml.solvers.stepping`: :class:`sciml.solvers.CrankNicolsonEuler`
(the scheme of the FNO data generator) or :class:`sciml.solvers.ETDRK4`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.solvers.fast_poisson import poisson_periodic
from sciml.spectral import Grid, dealias_mask, derivative_symbols, inverse_neg_laplacian_symbol, laplacian_symbol

__all__ = ["VorticityEquation", "stream_function"]


def stream_function(w: Tensor, grid: Grid) -> Tensor:
    r"""The mean-zero stream function :math:`\psi` with :math:`-\Delta\psi = w` on a periodic 2-D grid.

    Parameters
    ----------
    w
        Vorticity ``(..., H, W)`` with ``(H, W) = grid.shape``; its mean is ignored (the torus admits
        only mean-zero vorticity).

    Returns
    -------
    Tensor
        :math:`\psi`, same shape and dtype as ``w``; the velocity is :math:`(\psi_y, -\psi_x)`.
    """
    if grid.dim != 2 or not grid.periodic or tuple(w.shape[-2:]) != grid.shape:
        raise ValueError(f"stream_function: need a periodic 2-D grid matching w's trailing shape, got {grid} and {tuple(w.shape)}")
    return poisson_periodic(w, grid, "spectral")


class VorticityEquation:
    r"""The right-hand side of the vorticity equation on a periodic 2-D grid, in the rfft2 layout with ``norm="forward"``.

    Parameters
    ----------
    grid
        Periodic 2-D grid of the solver; axis 0 is :math:`x`, axis 1 is :math:`y`.
    nu
        Kinematic viscosity, positive.
    forcing
        Time-independent forcing :math:`f(x, y)`, shape ``grid.shape``; ``None`` for no forcing.
    dtype, device
        Real dtype and device of the precomputed symbols; the vorticity must match them.

    Attributes
    ----------
    linear
        :math:`L = -\nu |k|^2`, real, shape ``(H, W // 2 + 1)``.
    """

    def __init__(self, grid: Grid, nu: float, forcing: Tensor | None = None, *, dtype=torch.float64, device=None):
        if grid.dim != 2 or not grid.periodic:
            raise ValueError(f"VorticityEquation: grid must be periodic and 2-D, got {grid}")
        if not nu > 0:
            raise ValueError(f"VorticityEquation: nu must be positive, got {nu}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"VorticityEquation: dtype must be float32 or float64, got {dtype}")
        self.grid, self.nu, self.dtype = grid, float(nu), dtype
        self.linear = self.nu * laplacian_symbol(grid, dtype=dtype, device=device)  # (H, W // 2 + 1), -nu |k|^2
        self._inv_neg_lap = inverse_neg_laplacian_symbol(grid, dtype, device)
        self._ikx = derivative_symbols(grid, (1, 0), dtype=dtype, device=device)
        self._iky = derivative_symbols(grid, (0, 1), dtype=dtype, device=device)
        self._dealias = dealias_mask(grid, device=device)
        if forcing is None:
            self._forcing_hat = None
        else:
            if tuple(forcing.shape) != grid.shape:
                raise ValueError(f"VorticityEquation: forcing must have shape {grid.shape}, got {tuple(forcing.shape)}")
            self._forcing_hat = torch.fft.rfft2(forcing.to(dtype=dtype, device=device), norm="forward")

    def velocity_hat(self, w_hat: Tensor) -> tuple[Tensor, Tensor]:
        r"""The velocity :math:`(\hat u, \hat v) = (i k_y \hat\psi, -i k_x \hat\psi)` with :math:`\hat\psi = \hat w / |k|^2`."""
        psi_hat = self._inv_neg_lap * w_hat
        return self._iky * psi_hat, -self._ikx * psi_hat

    def nonlinear(self, w_hat: Tensor) -> Tensor:
        """``N(w_hat) = -dealias(FFT(u w_x + v w_y)) + f_hat`` for ``w_hat`` of shape ``(..., H, W // 2 + 1)``."""
        u_hat, v_hat = self.velocity_hat(w_hat)
        spectra = torch.stack((u_hat, v_hat, self._ikx * w_hat, self._iky * w_hat), dim=-3)  # (..., 4, H, W // 2 + 1)
        u, v, wx, wy = torch.fft.irfft2(spectra, s=self.grid.shape, norm="forward").unbind(dim=-3)
        advection_hat = torch.fft.rfft2(u * wx + v * wy, norm="forward") * self._dealias
        return -advection_hat if self._forcing_hat is None else self._forcing_hat - advection_hat
