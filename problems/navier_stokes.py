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

from sciml.conditions import AbstractCondition, Periodic
from sciml.diff import AbstractDiff, AbstractGridDiff
from sciml.domain import Domain
from sciml.problem import AbstractPseudoSpectralProblem
from sciml.solvers import ETDRK4, CrankNicolsonEuler, VorticityEquation, stream_function
from sciml.spectral import GaussianRandomField, Grid
from sciml.validate import check_number

__all__ = ["NavierStokes"]

#: the steppers a dataset's parameters may name
_STEPPERS = {cls.__name__: cls for cls in (ETDRK4, CrankNicolsonEuler)}
#: |k|^2 of the forcing's shell, k = 2 pi (+-1, +-1)
_SHELL = 8 * math.pi**2


@dataclasses.dataclass(frozen=True)
class NavierStokes(AbstractPseudoSpectralProblem):
    r"""Vorticity trajectories :math:`w_0 \mapsto (w(t_1), \dots, w(t_T))` of 2-D Navier-Stokes.

    Layout: input ``a = w0`` is ``(B, 1, n, n)``; the solution is ``(B, T, n, n)`` with the frames
    :math:`t_j = j \cdot` ``frame_interval``, ``j = 1..T``, ``T = final_time / frame_interval``, as
    channels (the FNO convention, and the frames layout of
    :class:`~sciml.problem.AbstractEvolutionProblem`). Axis 2 is :math:`x`, axis 3 is :math:`y`.
    Space-time fields (:meth:`trajectory`, :meth:`residual`) are ``(B, C, T + 1, n, n)``; PINN points
    are ``(t, x, y)`` with the two channels :math:`(w, \psi)` (see :meth:`residual`).

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
        (which with ``time_step=1e-4`` reproduces the FNO generator); a dataset stores its class name.
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
    point_channels = 2  # (w, psi): the local vorticity-stream function form at points

    def __post_init__(self):
        for field in ("nu", "final_time", "frame_interval", "time_step", "tau"):
            check_number("NavierStokes", field, getattr(self, field), above=0)
        check_number("NavierStokes", "forcing_amplitude", self.forcing_amplitude)
        check_number("NavierStokes", "alpha", self.alpha, above=1, why="dim / 2: a finite pointwise variance")
        check_number("NavierStokes", "solver_resolution", self.solver_resolution, at_least=8, integer=True)
        for long, short in (("final_time", "frame_interval"), ("frame_interval", "time_step")):
            ratio = getattr(self, long) / getattr(self, short)
            if not (math.isfinite(ratio) and ratio >= 0.5 and abs(round(ratio) - ratio) <= 1e-9 * ratio):
                raise ValueError(f"NavierStokes: {short}={getattr(self, short)} must divide {long}={getattr(self, long)} "
                                 "a whole number of times")
        if not isinstance(self.stepper, type) or not hasattr(self.stepper, "order"):
            raise TypeError(f"NavierStokes: stepper must be a stepper class with an `order`, got {self.stepper!r}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "NavierStokes":
        """As :meth:`AbstractProblem.from_params`, the stepper given by its class name (``"ETDRK4"``, ``"CrankNicolsonEuler"``)."""
        stepper = params.get("stepper", ETDRK4.__name__)
        if stepper not in _STEPPERS:
            raise ValueError(f"NavierStokes.from_params: unknown stepper {stepper!r} (known: {', '.join(_STEPPERS)})")
        return super().from_params({**params, "stepper": _STEPPERS[stepper]})

    @property
    def dim(self) -> int:
        return 2

    @property
    def domain(self) -> Domain:
        """The unit torus ``[0, 1]^2`` times ``[0, T]``; points ``(t, x, y)``."""
        return Domain(((0.0, 1.0), (0.0, 1.0)), time=(0.0, self.final_time))

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
        return self._forcing_at(x, y)

    def _forcing_at(self, x: Tensor, y: Tensor) -> Tensor:
        """The forcing at coordinates ``x``, ``y`` of any (broadcastable) shape."""
        phase = 2 * math.pi * (x + y)
        return self.forcing_amplitude * (torch.sin(phase) + torch.cos(phase))

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        r"""``n`` initial vorticities from the mean-zero GRF on ``grid``, ``(n, 1, *grid.shape)``, float64.

        The covariance is :math:`2\tau^{2\alpha - 2}(-\Delta + \tau^2)^{-\alpha}`, the one the FNO data were drawn from.
        """
        self.check_grid(grid)
        # The FNO generator scales its modes by sqrt(2) sigma and keeps the real part of complex noise, which
        # leaves variance 2 sigma^2 lambda_k per mode: twice the Karhunen-Loeve field with sigma = tau^(alpha - 1).
        sigma = math.sqrt(2.0) * self.tau ** (self.alpha - 1)
        return GaussianRandomField(grid, self.alpha, self.tau, sigma=sigma).sample(n, generator).unsqueeze(1)

    # --- the reference solver: the right-hand side; the trajectory is AbstractPseudoSpectralProblem's ----

    def solver_grid(self, grid: Grid) -> Grid:
        """The ``solver_resolution^2`` torus: ``w0`` is lifted to it by trigonometric interpolation, frames sampled back pointwise."""
        return Grid.uniform(self.solver_resolution, 2)

    def step_size(self, n_frames: int) -> float:
        """``time_step``, which must divide ``final_time / n_frames``."""
        return self.time_step

    def equation(self, grid: Grid, dtype: torch.dtype, device: torch.device) -> VorticityEquation:
        """The pseudo-spectral vorticity equation with this problem's viscosity and forcing (:class:`sciml.solvers.VorticityEquation`)."""
        return VorticityEquation(grid, self.nu, self.forcing(grid), dtype=dtype, device=device)

    # --- physics -----------------------------------------------------------------------------------

    def residual(self, u: Tensor, a: Tensor | None, d: AbstractDiff) -> Tensor:
        r"""The residual of the vorticity equation, :math:`w_t + \mathbf u\cdot\nabla w - \nu\Delta w - f`.

        Parameters
        ----------
        u
            Either the vorticity alone, ``(B, 1, T + 1, n, n)`` on a periodic unit-torus grid with a
            time grid (e.g. :meth:`space_time` of :meth:`solve`'s frames): the stream function then
            comes from the Biot-Savart law :math:`\hat\psi = \hat w / |k|^2`, which is nonlocal, so
            it needs a grid differentiator. Or the pair :math:`(w, \psi)` as two channels,
            ``(B, 2, T + 1, n, n)`` or ``(P, 2)`` at points ``(t, x, y)`` with
            ``AutogradDiff(coords, time=True)``: the local vorticity-stream function form, whose second
            residual channel is :math:`-\Delta\psi - w`.
        a
            The initial vorticity; not used (the trajectory ``u`` holds it at :math:`t_0`).
        d
            A differentiator with time.

        Returns
        -------
        Tensor
            ``u``'s shape with one channel (the vorticity equation) or two (and the Poisson constraint).
        """
        if u.ndim < 2 or u.shape[1] not in (1, 2):
            raise ValueError(f"NavierStokes.residual: u must carry (w) or (w, psi) on dimension 1, got {tuple(u.shape)}")
        w = u[:, :1]
        if isinstance(d, AbstractGridDiff) and (d.grid.dim != 2 or not d.grid.periodic or d.grid.lengths != (1.0, 1.0)):
            raise ValueError(f"NavierStokes.residual: d.grid must be the periodic unit square, got {d.grid}")
        if u.shape[1] == 2:
            psi = u[:, 1:]
        elif isinstance(d, AbstractGridDiff):
            psi = stream_function(w, d.grid)
        else:
            raise TypeError(f"NavierStokes.residual: the vorticity alone needs a periodic grid differentiator (the "
                            f"Biot-Savart law is nonlocal); at points pass (w, psi) as two channels, got {d!r}")
        x = d.coordinates(w)
        f = self._forcing_at(x[:, 0:1], x[:, 1:2])
        transport = d.dt(w) + d.dx(psi, 1) * d.dx(w, 0) - d.dx(psi, 0) * d.dx(w, 1) - self.nu * d.laplacian(w) - f
        return transport if u.shape[1] == 1 else torch.cat([transport, -d.laplacian(psi) - w], dim=1)

    def conditions(self) -> dict[str, AbstractCondition]:
        """``"bc"``: periodicity in ``x`` and ``y`` (of every channel)."""
        return {"bc": Periodic(self.domain)}

    @property
    def has_exact_solution(self) -> bool:
        return True

    def exact_solution(self, points: Tensor) -> Tensor:
        r"""A decaying single-shell flow, exact for any viscosity and forcing amplitude: ``(P, 3)`` -> ``(P, 2)`` = :math:`(w, \psi)`.

        On the shell :math:`|k|^2 = K^2 = 8\pi^2` of the forcing, :math:`\psi = w / K^2`, so the
        advection :math:`\mathbf u\cdot\nabla w = J(\psi, w)` vanishes and the equation is linear:

        .. math::
            w = \frac{f}{\nu K^2} + e^{-\nu K^2 t} \cos 2\pi x \cos 2\pi y, \qquad \psi = \frac{w}{K^2}

        (the steady Kolmogorov state plus a decaying Taylor-Green vortex). Differentiable in ``points``.
        """
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"NavierStokes.exact_solution: points must be (P, 3) with columns (t, x, y), got {tuple(points.shape)}")
        t, x, y = points[:, :1], points[:, 1:2], points[:, 2:]
        vortex = torch.exp(-self.nu * _SHELL * t) * torch.cos(2 * math.pi * x) * torch.cos(2 * math.pi * y)
        w = self._forcing_at(x, y) / (self.nu * _SHELL) + vortex
        return torch.cat([w, w / _SHELL], dim=1)

    def params(self) -> dict[str, Any]:
        """The fields as JSON-able values; the stepper by its class name."""
        return {**super().params(), "stepper": self.stepper.__name__}
