r"""Pseudo-spectral time stepping of 2-D incompressible Navier-Stokes in vorticity form.

On a periodic box the vorticity :math:`w = \partial_x v - \partial_y u` obeys

.. math::

    w_t + \mathbf{u}\cdot\nabla w = \nu \Delta w + f, \qquad
    \mathbf{u} = (\partial_y \psi, -\partial_x \psi), \qquad -\Delta \psi = w,

so the velocity is divergence free by construction. In Fourier space the equation splits into a
diagonal linear part and a nonlinear part,

.. math::

    \hat w_t = L \hat w + N(\hat w), \qquad L = -\nu |k|^2, \qquad
    N(\hat w) = -\mathcal{P}_{2/3}\,\mathcal{F}[\mathbf{u}\cdot\nabla w] + \hat f,

where :math:`\mathcal{P}_{2/3}` is Orszag's 2/3 dealiasing. Any stepper with the signature
``Stepper(linear, nonlinear, dt)`` and an ``order`` attribute advances it: :class:`CrankNicolsonEuler`
(the scheme of the FNO data generator) or :class:`sciml.solvers.ETDRK4`.
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch
from torch import Tensor

from sciml.solvers.fast_poisson import poisson_periodic
from sciml.spectral import Grid, dealias_mask, derivative_symbols, inverse_neg_laplacian_symbol, laplacian_symbol, pad_spectrum


class Stepper(Protocol):
    """One step ``w_hat -> w_hat`` of ``w_t = L w + N(w)``; built as ``Stepper(linear, nonlinear, dt)``."""

    order: int

    def __call__(self, w_hat: Tensor) -> Tensor: ...


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
    r"""The right-hand side of the vorticity equation on a periodic 2-D grid, in the rfft2 layout.

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
            self._forcing_hat = torch.fft.rfft2(forcing.to(dtype=dtype, device=device))

    def velocity_hat(self, w_hat: Tensor) -> tuple[Tensor, Tensor]:
        r"""The velocity :math:`(\hat u, \hat v) = (i k_y \hat\psi, -i k_x \hat\psi)` with :math:`\hat\psi = \hat w / |k|^2`."""
        psi_hat = self._inv_neg_lap * w_hat
        return self._iky * psi_hat, -self._ikx * psi_hat

    def nonlinear(self, w_hat: Tensor) -> Tensor:
        """``N(w_hat) = -dealias(FFT(u w_x + v w_y)) + f_hat`` for ``w_hat`` of shape ``(..., H, W // 2 + 1)``."""
        u_hat, v_hat = self.velocity_hat(w_hat)
        # one batched inverse transform for the four fields: (..., 4, H, W // 2 + 1) -> (..., 4, H, W)
        fields = torch.fft.irfft2(torch.stack((u_hat, v_hat, self._ikx * w_hat, self._iky * w_hat), dim=-3), s=self.grid.shape)
        u, v, wx, wy = fields.unbind(dim=-3)
        advection_hat = torch.fft.rfft2(u * wx + v * wy) * self._dealias
        return -advection_hat if self._forcing_hat is None else self._forcing_hat - advection_hat


class CrankNicolsonEuler:
    r"""The FNO generator's scheme: forward Euler on :math:`N`, Crank-Nicolson on the diagonal :math:`L`,

    .. math::

        \hat w^{n+1} = \frac{(1 + \tfrac{\Delta t}{2} L)\, \hat w^n + \Delta t\, N(\hat w^n)}{1 - \tfrac{\Delta t}{2} L}.

    First order in time (second order when :math:`N` is constant, e.g. for a single-shell flow whose
    advection vanishes). The viscous part is unconditionally stable, the explicit advection is not:
    Li et al. (2021, "Fourier Neural Operator for Parametric PDEs") use ``dt = 1e-4`` at 256^2.
    """

    order = 1

    def __init__(self, linear: Tensor, nonlinear: Callable[[Tensor], Tensor], dt: float):
        if not dt > 0:
            raise ValueError(f"CrankNicolsonEuler: dt must be positive, got {dt}")
        self.nonlinear, self.dt = nonlinear, float(dt)
        self._explicit = 1 + 0.5 * dt * linear
        self._inv_implicit = 1 / (1 - 0.5 * dt * linear)

    def __call__(self, w_hat: Tensor) -> Tensor:
        return (self._explicit * w_hat + self.dt * self.nonlinear(w_hat)) * self._inv_implicit


class VorticitySolver:
    r"""Batched trajectories of the vorticity equation, recorded at equally spaced frames.

    Parameters
    ----------
    equation
        The right-hand side on the solver grid.
    stepper
        A stepper class, ``stepper(equation.linear, equation.nonlinear, dt)``, e.g.
        :class:`CrankNicolsonEuler` or :class:`sciml.solvers.ETDRK4`.
    dt
        Time step; must divide ``frame_interval`` of :meth:`__call__` into a whole number of steps.

    Notes
    -----
    Stability: the explicit advection needs roughly :math:`\Delta t\, |\mathbf u|_\infty k_{\max} \lesssim C`,
    with :math:`k_{\max} = 2\pi n / 3` the largest kept angular wavenumber and :math:`C \approx 2.8` for
    ETDRK4; forward Euler (:class:`CrankNicolsonEuler`) relies on viscous damping and needs far smaller steps.
    A blow-up is reported as an error, never returned.
    """

    def __init__(self, equation: VorticityEquation, stepper: Callable[..., Stepper], dt: float):
        if not dt > 0:
            raise ValueError(f"VorticitySolver: dt must be positive, got {dt}")
        self.equation, self.dt = equation, float(dt)
        self.step = stepper(equation.linear, equation.nonlinear, self.dt)

    def __call__(self, w0: Tensor, n_frames: int, frame_interval: float = 1.0, stride: int = 1) -> Tensor:
        """Solve from ``w0`` and return the frames at ``t = frame_interval * (1, ..., n_frames)``.

        Parameters
        ----------
        w0
            Initial vorticity ``(B, h, w)`` on the solver grid or on a coarser periodic grid whose sides
            divide the solver's; a coarse ``w0`` is lifted by trigonometric interpolation (exact).
        n_frames, frame_interval
            Number of recorded frames and the time between them.
        stride
            Keep every ``stride``-th grid point of each frame (pointwise subsampling).

        Returns
        -------
        Tensor
            ``(B, n_frames, H / stride, W / stride)``, same dtype as ``w0``.
        """
        grid = self.equation.grid
        H, W = grid.shape
        if w0.dim() != 3 or H % w0.shape[-2] or W % w0.shape[-1]:
            raise ValueError(f"VorticitySolver: w0 must be (B, h, w) with h, w dividing {grid.shape}, got {tuple(w0.shape)}")
        if w0.dtype != self.equation.dtype:
            raise ValueError(f"VorticitySolver: w0 dtype {w0.dtype} != the equation's {self.equation.dtype}")
        if n_frames < 1 or H % stride or W % stride:
            raise ValueError(f"VorticitySolver: need n_frames >= 1 and stride dividing {grid.shape}, got {n_frames}, {stride}")
        steps = round(frame_interval / self.dt)
        if steps < 1 or abs(steps * self.dt - frame_interval) > 1e-9 * frame_interval:
            raise ValueError(f"VorticitySolver: dt={self.dt} must divide frame_interval={frame_interval}")
        # the trigonometric interpolant of a coarser w0 on the solver grid, in torch's default (unscaled) rfft2 norm
        w_hat = pad_spectrum(torch.fft.rfft2(w0, norm="forward"), tuple(w0.shape[-2:]), grid.shape) * (H * W)
        frames = w0.new_empty((w0.shape[0], n_frames, H // stride, W // stride))
        for frame in range(n_frames):
            for _ in range(steps):
                w_hat = self.step(w_hat)
            w = torch.fft.irfft2(w_hat, s=grid.shape)
            if not torch.isfinite(w).all():
                raise FloatingPointError(f"VorticitySolver: blow-up before t={(frame + 1) * frame_interval}; reduce dt={self.dt}")
            frames[:, frame] = w[..., ::stride, ::stride]
        return frames
