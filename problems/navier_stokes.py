r"""2-D incompressible Navier-Stokes in vorticity form on the unit torus (the FNO benchmark).

.. math::

    w_t + \mathbf{u}\cdot\nabla w = \nu \Delta w + f, \qquad \mathbf{u} = (\psi_y, -\psi_x), \qquad
    -\Delta\psi = w, \qquad w(\cdot, 0) = w_0,

on :math:`(x, y) \in [0, 1)^2` (periodic), with the forcing of Li et al. (2021)
:math:`f = A (\sin 2\pi(x + y) + \cos 2\pi(x + y))`, :math:`A = 0.1`, and initial vorticities
:math:`w_0 \sim N(0, 2\tau^{2\alpha - 2} (-\Delta + \tau^2)^{-\alpha})`, :math:`\alpha = 2.5`, :math:`\tau = 7`,
mean zero. See ``problems/navier_stokes.md`` for the card and ``docs/problems/navier_stokes.md``
for the discretization.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor

from sciml.diff import AbstractGridDiff
from sciml.problem import AbstractProblem
from sciml.solvers import ETDRK4, VorticityEquation, VorticitySolver, stream_function
from sciml.spectral import GaussianRandomField, Grid


@dataclasses.dataclass(frozen=True)
class NavierStokes(AbstractProblem):
    r"""Vorticity trajectories :math:`w_0 \mapsto (w(t_1), \dots, w(t_T))` of 2-D Navier-Stokes.

    Layout: input ``a = w0`` is ``(B, 1, n, n)``; the solution is ``(B, T, n, n)`` with the frames
    :math:`t_j = j \cdot` ``frame_interval``, ``j = 1..T``, ``T = final_time / frame_interval``, as
    channels (the FNO convention). Axis 2 is :math:`x`, axis 3 is :math:`y`.

    Parameters
    ----------
    nu
        Viscosity. The FNO benchmark uses ``1e-3`` (T = 50), ``1e-4`` (T = 30) and ``1e-5`` (T = 20).
    final_time, frame_interval
        Time horizon and spacing of the recorded frames; ``frame_interval`` must divide ``final_time``.
    solver_resolution
        Points per axis of the solver grid (256 in the FNO data); the data resolution must divide it.
    time_step
        Solver step; must divide ``frame_interval``. ``0.005`` keeps ETDRK4 stable (Courant number
        :math:`\Delta t\, |\mathbf u|_\infty\, 2\pi n / 3 \approx 1` at 256^2 for :math:`|\mathbf u| \le 0.4`) and
        accurate to ~1e-9 relative; the FNO scheme needs ``1e-4``.
    stepper
        The time stepper class, :class:`sciml.solvers.ETDRK4` or :class:`sciml.solvers.CrankNicolsonEuler`
        (which with ``time_step=1e-4`` reproduces the FNO generator).
    forcing_amplitude, alpha, tau
        :math:`A` of the forcing and the Gaussian random field of :math:`w_0`.
    """

    nu: float = 1e-3
    final_time: float = 50.0
    frame_interval: float = 1.0
    solver_resolution: int = 256
    time_step: float = 0.005
    stepper: type = ETDRK4
    forcing_amplitude: float = 0.1
    alpha: float = 2.5
    tau: float = 7.0

    name = "navier_stokes"

    def __post_init__(self):
        if not self.nu > 0:
            raise ValueError(f"NavierStokes: nu must be positive, got {self.nu}")
        if not (self.final_time > 0 and self.frame_interval > 0):
            raise ValueError(f"NavierStokes: final_time and frame_interval must be positive, got {self.final_time}, {self.frame_interval}")
        frames = round(self.final_time / self.frame_interval)
        if frames < 1 or abs(frames * self.frame_interval - self.final_time) > 1e-9 * self.final_time:
            raise ValueError(f"NavierStokes: frame_interval={self.frame_interval} must divide final_time={self.final_time}")
        if self.solver_resolution < 8:
            raise ValueError(f"NavierStokes: solver_resolution must be >= 8, got {self.solver_resolution}")
        if not isinstance(self.stepper, type) or not hasattr(self.stepper, "order"):
            raise TypeError(f"NavierStokes: stepper must be a stepper class with an `order`, got {self.stepper!r}")

    @property
    def dim(self) -> int:
        return 2

    @property
    def n_frames(self) -> int:
        """Number of recorded frames ``T``."""
        return round(self.final_time / self.frame_interval)

    def grid(self, resolution: int) -> Grid:
        """The periodic ``resolution^2`` grid on the unit torus; ``resolution`` must divide ``solver_resolution``."""
        if resolution < 4 or self.solver_resolution % resolution:
            raise ValueError(f"NavierStokes.grid: resolution must be >= 4 and divide solver_resolution={self.solver_resolution}, got {resolution}")
        return Grid.uniform(resolution, 2)

    def forcing(self, grid: Grid) -> Tensor:
        """:math:`f = A (\\sin 2\\pi(x + y) + \\cos 2\\pi(x + y))` on ``grid``, shape ``grid.shape``, float64."""
        x, y = grid.coords()
        phase = 2 * math.pi * (x + y)
        return self.forcing_amplitude * (torch.sin(phase) + torch.cos(phase))

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        r"""``n`` initial vorticities from the mean-zero GRF on ``grid``, ``(n, 1, *grid.shape)``, float64.

        The covariance is :math:`2\tau^{2\alpha - 2}(-\Delta + \tau^2)^{-\alpha}`, the one the FNO data were drawn from.
        """
        self._check_grid(grid)
        # The FNO generator scales its modes by sqrt(2) sigma and keeps the real part of complex noise, which
        # leaves variance 2 sigma^2 lambda_k per mode: twice the Karhunen-Loeve field with sigma = tau^(alpha - 1).
        sigma = math.sqrt(2.0) * self.tau ** (self.alpha - 1)
        return GaussianRandomField(grid, self.alpha, self.tau, sigma=sigma).sample(n, generator).unsqueeze(1)

    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        """The trajectories from ``a = w0`` ``(B, 1, n, n)``: ``(B, T, n, n)``, dtype and device of ``a``.

        ``w0`` is lifted to the solver grid by trigonometric interpolation (exact: the solver starts
        from the band-limited field whose samples are ``a``), and the frames are brought back by
        keeping every ``solver_resolution / n``-th point (pointwise values, as in the FNO data).
        """
        self._check_grid(grid)
        if a.dim() != 4 or a.shape[1] != 1 or tuple(a.shape[2:]) != grid.shape:
            raise ValueError(f"NavierStokes.solve: a must be (B, 1, {grid.shape[0]}, {grid.shape[1]}), got {tuple(a.shape)}")
        fine = Grid.uniform(self.solver_resolution, 2)
        equation = VorticityEquation(fine, self.nu, self.forcing(fine), dtype=a.dtype, device=a.device)
        solver = VorticitySolver(equation, self.stepper, self.time_step)
        return solver(a[:, 0], self.n_frames, self.frame_interval, stride=self.solver_resolution // grid.shape[0])

    def residual(self, u: Tensor, a: Tensor, d: AbstractGridDiff) -> Tensor:
        r""":math:`w_t + \mathbf u\cdot\nabla w - \nu\Delta w - f` along the trajectory :math:`(w_0, w(t_1), \dots, w(t_T))`.

        Parameters
        ----------
        u
            Frames ``(B, T, n, n)`` at :math:`t_1..t_T` (the layout of :meth:`solve`).
        a
            Initial vorticity ``(B, 1, n, n)``, the frame at :math:`t_0 = 0`.
        d
            A grid differentiator on the unit torus with a time grid of ``T + 1`` nodes on
            ``[0, T * frame_interval]``, e.g. ``SpectralDiff(grid, time=Grid((T + 1,), (t_T,), periodic=False))``.
            The velocity comes from the Biot-Savart law :math:`\hat\psi = \hat w / |k|^2`, which is
            nonlocal, so pointwise (autograd) differentiators are not supported.

        Returns
        -------
        Tensor
            ``(B, T + 1, n, n)``, the residual at :math:`t_0..t_T`. The time derivative is a finite
            difference over the frames, so its error scales with ``frame_interval^{time_order}``.
        """
        if not isinstance(d, AbstractGridDiff) or d.time is None:
            raise TypeError(f"NavierStokes.residual: d must be a grid differentiator with a time grid, got {d!r}")
        if d.grid.dim != 2 or not d.grid.periodic or d.grid.lengths != (1.0, 1.0):
            raise ValueError(f"NavierStokes.residual: d.grid must be the periodic unit square, got {d.grid}")
        if u.dim() != 4 or a.shape != (u.shape[0], 1, *u.shape[2:]):
            raise ValueError(f"NavierStokes.residual: need u (B, T, n, n) and a (B, 1, n, n), got {tuple(u.shape)}, {tuple(a.shape)}")
        w = torch.cat((a, u), dim=1).unsqueeze(1)  # (B, 1, T + 1, n, n): time as the differentiator's leading axis
        psi = stream_function(w, d.grid)
        advection = d.dx(psi, 1) * d.dx(w, 0) - d.dx(psi, 0) * d.dx(w, 1)
        f = self.forcing(d.grid).to(dtype=w.dtype, device=w.device)
        return (d.dt(w) + advection - self.nu * d.laplacian(w) - f)[:, 0]

    def params(self) -> dict[str, Any]:
        """The fields as JSON-able values; the stepper by its class name."""
        return {**super().params(), "stepper": self.stepper.__name__}

    def _check_grid(self, grid: Grid) -> None:
        if grid != self.grid(grid.shape[0]):
            raise ValueError(f"NavierStokes: grid must be a square periodic grid on the unit torus, got {grid}")
