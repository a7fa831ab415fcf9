r"""Viscous Burgers' equation on a periodic interval.

.. math::
    u_t + (u^2 / 2)_x = \nu u_{xx}, \qquad x \in [x_{\min}, x_{\min} + L) \text{ periodic}, \quad t \in (0, T],
    \qquad u(0, x) = u_0(x).

The defaults are the FNO benchmark (Li et al. 2021): ``L = 1``, ``nu = 0.1``, ``T = 1``,
``u0 ~ N(0, 625 (-Laplacian + 25 I)^(-2))`` with zero mean, learning ``u0 -> u(T)``.
:meth:`Burgers.pinn_classic` is the PINN benchmark (Raissi et al. 2019): ``[-1, 1]``,
``nu = 0.01 / pi``, ``u0 = -sin(pi x)``, ``u(t, +-1) = 0``, whose exact solution is given by the
Cole-Hopf transform.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition, Dirichlet, Initial, Periodic
from sciml.diff import AbstractDiff
from sciml.domain import Domain
from sciml.problem import AbstractPseudoSpectralProblem
from sciml.solvers import ETDRK4, SemilinearEquation
from sciml.spectral import GaussianRandomField, Grid, dealias_mask, wavenumbers
from sciml.validate import check_number

__all__ = ["Burgers"]

_INITIAL_CONDITIONS = ("grf", "sine")
_BOUNDARIES = ("periodic", "dirichlet")


@dataclasses.dataclass(frozen=True)
class Burgers(AbstractPseudoSpectralProblem):
    r"""Burgers' equation :math:`u_t + u u_x - \nu u_{xx} = 0`, periodic in space.

    Parameters
    ----------
    length
        Period :math:`L` of the interval.
    x_min
        Left end of the interval; grid coordinate ``x_j = j L / N`` is the physical point ``x_min + x_j``.
    viscosity
        :math:`\nu > 0`.
    final_time
        :math:`T`.
    n_frames
        Frames :math:`u(jT / n_\text{frames})`, ``j = 1..n_frames``, that :meth:`solve` returns on the
        channels; ``1`` (the FNO benchmark) is :math:`u(T)` alone, for which no residual of the output
        exists; ``n_frames >= 2`` gives space-time data whose :meth:`solution_residual` is the PDE's.
    initial_condition
        ``"grf"``: :math:`u_0 \sim N(0, \sigma^2(-\Delta + \tau^2 I)^{-\alpha})`, mean zero, drawn by
        :meth:`sample_inputs`. ``"sine"``: the deterministic :math:`u_0(x) = -\sin(2\pi x / L)` (``x``
        physical), for which :meth:`exact_solution` is available.
    boundary
        The condition the problem states at the interval's ends: ``"periodic"``, or ``"dirichlet"``
        (:math:`u = 0`), which the periodic solution satisfies when it is odd about the ends: the
        ``"sine"`` initial condition with ``x_min`` a multiple of ``L / 2`` (the PINN benchmark).
    grf_sigma, grf_tau, grf_alpha
        Covariance of the ``"grf"`` initial condition (see :class:`sciml.spectral.GaussianRandomField`).
    max_dt
        Solver: the largest ETDRK4 step; the step is ``T / ceil(T / max_dt)``.
    min_solve_points
        Solver: the fewest grid points to solve on. A resolution-``N`` input is solved at
        ``N 2^k`` points with the smallest ``k >= 1`` reaching ``min_solve_points``, then sampled back
        exactly (every ``2^k``-th point). ``k >= 1`` keeps all of the input's ``N / 2`` modes inside the
        2/3 dealiased band. Rule: the viscous front has width about ``4 nu / Delta u``; with
        ``min_solve_points >= 4 L max|u0| / nu`` the spatial error is about 1e-11 (measured on both
        benchmarks, see the README card). The default 256 covers the FNO setting with a 4x margin.

    Shapes
    ------
    Inputs ``a = u0`` are ``(B, 1, N)`` on :meth:`grid`, outputs ``(B, n_frames, N)`` (``u(T)`` by
    default). Space-time fields (for :meth:`residual`) are ``(B, 1, n_t, N)`` with time as the
    leading axis, on :meth:`time_grid`; PINN points are ``(P, 2)`` with columns ``(t, x)``.
    """

    length: float = 1.0
    x_min: float = 0.0
    viscosity: float = 0.1
    final_time: float = 1.0
    n_frames: int = 1
    initial_condition: str = "grf"
    boundary: str = "periodic"
    grf_sigma: float = 25.0
    grf_tau: float = 5.0
    grf_alpha: float = 2.0
    max_dt: float = 1e-3
    min_solve_points: int = 256

    name = "burgers"
    stepper = ETDRK4
    solver_dtype = torch.float64

    def __post_init__(self):
        for field in ("length", "viscosity", "final_time", "max_dt", "grf_sigma", "grf_tau"):
            check_number("Burgers", field, getattr(self, field), above=0)
        check_number("Burgers", "x_min", self.x_min)
        check_number("Burgers", "grf_alpha", self.grf_alpha, above=0.5, why="dim / 2: a finite pointwise variance")
        check_number("Burgers", "n_frames", self.n_frames, at_least=1, integer=True)
        check_number("Burgers", "min_solve_points", self.min_solve_points, at_least=1, integer=True)
        if self.initial_condition not in _INITIAL_CONDITIONS:
            raise ValueError(f"Burgers: initial_condition must be one of {_INITIAL_CONDITIONS}, got {self.initial_condition!r}")
        if self.boundary not in _BOUNDARIES:
            raise ValueError(f"Burgers: boundary must be one of {_BOUNDARIES}, got {self.boundary!r}")
        half_periods = 2 * self.x_min / self.length
        if self.boundary == "dirichlet" and (self.initial_condition != "sine" or not math.isclose(half_periods, round(half_periods), abs_tol=1e-12)):
            raise ValueError("Burgers: boundary='dirichlet' holds only for the 'sine' initial condition with x_min a "
                             f"multiple of length / 2 (the solution is then odd about the ends); got "
                             f"initial_condition={self.initial_condition!r}, x_min={self.x_min}, length={self.length}")

    @classmethod
    def pinn_classic(cls, **overrides: Any) -> "Burgers":
        """The PINN benchmark: ``x in [-1, 1]``, ``nu = 0.01 / pi``, ``T = 1``, ``u0 = -sin(pi x)``.

        The front at ``x = 0`` steepens to ``|u_x| ~ 150``; 4096 solve points on the period 2 resolve it.
        """
        defaults = dict(length=2.0, x_min=-1.0, viscosity=0.01 / math.pi, initial_condition="sine", boundary="dirichlet",
                        max_dt=2e-4, min_solve_points=4096)
        return cls(**{**defaults, **overrides})

    @property
    def dim(self) -> int:
        return 1

    @property
    def domain(self) -> Domain:
        """``[x_min, x_min + L]`` in space, ``[0, T]`` in time; points ``(t, x)``."""
        return Domain(((self.x_min, self.x_min + self.length),), time=(0.0, self.final_time))

    # --- grids and inputs --------------------------------------------------------------------------

    def grid(self, resolution: int) -> Grid:
        """The periodic grid of ``resolution`` points on ``[x_min, x_min + L)`` (grid coordinates start at 0)."""
        if resolution < 4:
            raise ValueError(f"Burgers.grid: resolution must be >= 4, got {resolution}")
        return Grid((resolution,), (self.length,), periodic=True)

    def initial_value(self, x: Tensor) -> Tensor:
        """The ``"sine"`` initial condition :math:`-\\sin(2\\pi x / L)` at physical points ``x``, any shape."""
        if self.initial_condition != "sine":
            raise ValueError("Burgers.initial_value: only the 'sine' initial condition is deterministic")
        return -torch.sin((2 * math.pi / self.length) * x)

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        """``n`` initial conditions ``(n, 1, N)``, float64; all equal for ``"sine"``."""
        self.check_grid(grid)
        if self.initial_condition == "sine":
            if n <= 0:
                raise ValueError(f"Burgers.sample_inputs: n must be positive, got {n}")
            x = self.x_min + grid.axes()[0]
            return self.initial_value(x).expand(n, 1, -1).clone()
        grf = GaussianRandomField(grid, alpha=self.grf_alpha, tau=self.grf_tau, sigma=self.grf_sigma, mean_zero=True)
        return grf.sample(n, generator)[:, None]  # (n, 1, N)

    # --- the reference solver: the right-hand side; the trajectory is AbstractPseudoSpectralProblem's ----

    def solver_grid(self, grid: Grid) -> Grid:
        """``N 2^k`` points with the smallest ``k >= 1`` reaching ``min_solve_points``: the input's modes stay inside the 2/3 band."""
        factor = 2
        while grid.shape[0] * factor < self.min_solve_points:
            factor *= 2
        return Grid((grid.shape[0] * factor,), (self.length,))

    def step_size(self, n_frames: int) -> float:
        """``T / (n_frames * ceil(T / (n_frames max_dt)))``: the largest step up to ``max_dt`` with frames on steps."""
        ratio = self.final_time / (n_frames * self.max_dt)
        # a ratio within round-off of an integer (T / max_dt = 1000.0000000001) takes that many steps, not one more
        per_frame = round(ratio) if math.isclose(ratio, round(ratio), rel_tol=1e-12) else math.ceil(ratio)
        return self.final_time / (n_frames * per_frame)

    def equation(self, grid: Grid, dtype: torch.dtype, device: torch.device) -> SemilinearEquation:
        r"""Fourier-Galerkin with the 2/3 rule on the nonlinear term:

        .. math:: \hat u_t = -\nu k^2 \hat u - \tfrac{i k}{2} P_{2/3} \widehat{u^2}.

        Stepped by ETDRK4 the error is spectral in the solver grid and :math:`O(\Delta t^4)` in time
        (see the README card).
        """
        n = grid.shape[0]
        k = wavenumbers(n, self.length, real=True, dtype=dtype, device=device)  # (n // 2 + 1,)
        advect = -0.5j * k * dealias_mask(grid, device=device)  # -(ik/2) P_2/3, applied to FFT(u^2)

        def nonlinear(v_hat: Tensor) -> Tensor:
            u = torch.fft.irfft(v_hat, n=n, norm="forward")
            return advect * torch.fft.rfft(u * u, norm="forward")

        return SemilinearEquation(grid, -self.viscosity * k**2, nonlinear)

    # --- physics -----------------------------------------------------------------------------------

    def residual(self, u: Tensor, a: Tensor | None, d: AbstractDiff) -> Tensor:
        r"""The pointwise residual :math:`u_t + u u_x - \nu u_{xx}` of a space-time field ``u``.

        ``u`` is ``(B, 1, n_t, N)`` with ``d`` a grid differentiator built with
        ``time=self.time_grid(n_t)``, or ``(P, 1)`` at points ``(t, x)`` with
        ``AutogradDiff(coords, time=True)``. ``a`` (the initial condition) does not enter the PDE; it
        is matched separately (:meth:`initial_value`, or the input of an operator).
        """
        return d.dt(u) + u * d.dx(u, 0) - self.viscosity * d.dxx(u, 0)

    def conditions(self) -> dict[str, AbstractCondition]:
        """``"bc"``: periodicity, or :math:`u = 0` for ``boundary="dirichlet"``; ``"ic"`` for the ``"sine"`` initial condition."""
        domain = self.domain
        conditions = {"bc": Dirichlet(domain, 0.0) if self.boundary == "dirichlet" else Periodic(domain)}
        if self.initial_condition == "sine":
            conditions["ic"] = Initial(domain, lambda points: self.initial_value(points[:, 1:]))
        return conditions

    @property
    def has_exact_solution(self) -> bool:
        return self.initial_condition == "sine"

    def exact_solution(self, points: Tensor, nodes: int = 801) -> Tensor:
        r"""Cole-Hopf solution for the ``"sine"`` initial condition at points ``(P, 2)`` = ``(t, x)`` -> ``(P, 1)``.

        With :math:`A = L / (4\pi\nu)`, :math:`\varphi_0(y) = \exp(-A \cos(2\pi y / L))` and
        :math:`\eta = \sqrt{4 \nu t}\, z`,

        .. math:: u(t, x) = \frac{\int u_0(x - \eta)\, \varphi_0(x - \eta)\, e^{-z^2}\, dz}
                                 {\int \varphi_0(x - \eta)\, e^{-z^2}\, dz}.

        Both integrals use the trapezoidal rule with ``nodes`` points on :math:`|z| \le Z`,
        :math:`Z^2 = 2A + 40` (beyond it :math:`e^{-z^2}` beats the :math:`e^{2A}` range of
        :math:`\varphi_0` by :math:`e^{-40}`); for these analytic, Gaussian-decaying integrands it
        converges exponentially. The ratio is a softmax over the nodes, so :math:`e^{\pm A}` never
        overflows. Differentiable in ``points`` (for ``t > 0``).
        """
        if self.initial_condition != "sine":
            raise ValueError("Burgers.exact_solution: only the 'sine' initial condition has a closed form here")
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"Burgers.exact_solution: points must be (P, 2) with columns (t, x), got {tuple(points.shape)}")
        amplitude = self.length / (4 * math.pi * self.viscosity)
        z = torch.linspace(-1, 1, nodes, dtype=points.dtype, device=points.device) * math.sqrt(2 * amplitude + 40)
        t, x = points[:, :1], points[:, 1:]  # (P, 1) each
        y = x - torch.sqrt(4 * self.viscosity * t) * z  # (P, nodes)
        weights = torch.softmax(-(z**2) - amplitude * torch.cos((2 * math.pi / self.length) * y), dim=1)  # (P, nodes)
        return (weights * self.initial_value(y)).sum(1, keepdim=True)

    def pinn_reference(self, n_times: int = 100, n_points: int = 256, t_max: float = 0.99) -> tuple[Tensor, Tensor]:
        r"""The reference on Raissi's evaluation grid: ``n_times`` times in ``[0, t_max]`` by ``n_points`` in the closed interval.

        The defaults are the grid of Raissi et al.'s ``burgers_shock.mat`` (JCP 378, 2019):
        :math:`t_j = 0.01 j`, ``j = 0..99``, and 256 equispaced :math:`x` from -1 to 1, both ends
        included. Values are :meth:`exact_solution` (Cole-Hopf, converged to about 1e-13 in the
        quadrature and matched by the spectral solver to about 1e-11, see ``tests/problems``).

        Returns
        -------
        points, values
            ``(n_times * n_points, 2)`` rows ``(t, x)``, time-major (reshape to ``(n_times, n_points)``
            for a space-time picture), and ``(n_times * n_points, 1)``; float64.
        """
        if self.initial_condition != "sine":
            raise ValueError("Burgers.pinn_reference: needs the 'sine' initial condition (an exact solution)")
        if n_times < 1 or n_points < 2 or not 0 <= t_max <= self.final_time:
            raise ValueError(f"Burgers.pinn_reference: need n_times >= 1, n_points >= 2 and 0 <= t_max <= T = {self.final_time}, "
                             f"got n_times={n_times}, n_points={n_points}, t_max={t_max}")
        t = torch.linspace(0, t_max, n_times, dtype=torch.float64)
        x = torch.linspace(self.x_min, self.x_min + self.length, n_points, dtype=torch.float64)
        points = torch.stack(torch.meshgrid(t, x, indexing="ij"), dim=-1).reshape(-1, 2)  # (n_t * n_x, 2)
        # in chunks: the quadrature holds (P, nodes) arrays
        return points, torch.cat([self.exact_solution(chunk) for chunk in points.split(4096)])
