r"""Poisson's equation on a box: grids in one to three dimensions, PINN points in up to five.

.. math::
    -\Delta u = f \quad \text{in } (0, L)^d, \qquad
    u = 0 \text{ on the boundary (Dirichlet)} \quad \text{or} \quad u \text{ periodic with } \textstyle\int u = 0.

For operator learning the input is a Gaussian random forcing :math:`f` and the output :math:`u`;
for PINNs :meth:`Poisson.exact_solution` and :meth:`Poisson.exact_forcing` give a manufactured pair,
and :meth:`Poisson.pinn_classic` is the benchmark :math:`u = \prod_i \sin(\pi x_i)` on the unit
square (or its 5-D analogue). The reference solver is exact for the discrete Laplacian: fast sine
transforms (Dirichlet) or the FFT (periodic).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition, Dirichlet, Periodic
from sciml.diff import AbstractDiff, AbstractGridDiff, FiniteDiff
from sciml.domain import Domain
from sciml.problem import AbstractSteadyProblem
from sciml.solvers import poisson_dirichlet, poisson_periodic
from sciml.spectral import GaussianRandomField, Grid
from sciml.validate import check_number

__all__ = ["Poisson"]

_BOUNDARIES = ("dirichlet", "periodic")
_DISCRETIZATIONS = ("fd2", "spectral")
_EXACT_FORMS = ("product", "sum")
#: the space dimensions of points (PINNs) and of grids (the data generator)
_POINT_DIMS, _GRID_DIMS = (1, 2, 3, 4, 5), (1, 2, 3)


@dataclasses.dataclass(frozen=True)
class Poisson(AbstractSteadyProblem):
    r"""Poisson's equation :math:`-\Delta u = f` on :math:`(0, L)^d`.

    Parameters
    ----------
    dim
        Space dimension: 1 to 3 for grids (data, solver), up to 5 for points (PINNs); the grid
        methods of a 4- or 5-D problem raise.
    boundary
        ``"dirichlet"``: :math:`u = 0` on the boundary, fields on the nodal grid (both ends included).
        ``"periodic"``: periodic box, fields on the periodic grid; the solution is the zero-mean one
        and only the zero-mean part of :math:`f` enters (the pseudo-inverse).
    discretization
        ``"fd2"``: the second-order 3/5/7-point Laplacian; ``"spectral"``: the sine (Dirichlet) or
        Fourier (periodic) spectral Laplacian. Either is inverted exactly by fast transforms.
    grf_alpha, grf_tau
        Forcing :math:`f \sim N(0, \tau^{2\alpha - d}(-\Delta + \tau^2 I)^{-\alpha})`: Neumann cosines on
        the nodal grid for ``"dirichlet"`` (with the constant mode), Fourier modes without the constant
        mode for ``"periodic"``; ``grf_alpha > d / 2`` (checked where grids exist, ``d <= 3``).
    length
        The side :math:`L` of the box. Rescaling the box by :math:`s` multiplies the Laplacian of the
        same profile by :math:`s^{-2}`, so a PINN's residual loss changes by :math:`s^{-4}` against its
        boundary loss: the imbalance of MultiAdam's domain-scaling experiment (Yao et al. 2023).
    exact_amplitudes
        The manufactured solution's amplitudes :math:`c_1, c_2, \dots` of its modes
        :math:`m = 1, 2, \dots` (see :meth:`exact_solution`).
    exact_form
        ``"product"``: each mode is :math:`\prod_i \sin(m\omega x_i)`, zero on the Dirichlet boundary;
        ``"sum"``: :math:`\sum_i \sin(m\omega x_i)`, the 5-D problem of the ENGD paper (Müller and
        Zeinhofer 2023), whose Dirichlet boundary values are the solution's own (nonzero: the PINN's
        ``"bc"`` condition takes them from :meth:`exact_solution`; the grid solver's zero boundary data
        is unchanged).

    Shapes
    ------
    Forcings ``a = f`` and solutions ``u`` are ``(B, 1, *S)`` with ``S = (n,) * dim`` on :meth:`grid`;
    PINN points are ``(P, dim)``.
    """

    dim: int = 2
    boundary: str = "dirichlet"
    discretization: str = "fd2"
    grf_alpha: float = 2.0
    grf_tau: float = 3.0
    length: float = 1.0
    exact_amplitudes: tuple[float, ...] = (1.0, 0.5)
    exact_form: str = "product"

    name = "poisson"

    def __post_init__(self):
        if type(self.dim) is not int or self.dim not in _POINT_DIMS:
            raise ValueError(f"Poisson: dim must be 1 to 5 (1 to 3 on grids), got {self.dim}")
        if self.boundary not in _BOUNDARIES:
            raise ValueError(f"Poisson: boundary must be one of {_BOUNDARIES}, got {self.boundary!r}")
        if self.discretization not in _DISCRETIZATIONS:
            raise ValueError(f"Poisson: discretization must be one of {_DISCRETIZATIONS}, got {self.discretization!r}")
        if self.dim in _GRID_DIMS:  # the forcing lives on grids
            check_number("Poisson", "grf_alpha", self.grf_alpha, above=self.dim / 2, why="dim / 2: a finite pointwise variance")
        check_number("Poisson", "grf_tau", self.grf_tau, above=0)
        check_number("Poisson", "length", self.length, above=0)
        if self.exact_form not in _EXACT_FORMS:
            raise ValueError(f"Poisson: exact_form must be one of {_EXACT_FORMS}, got {self.exact_form!r}")
        amplitudes = tuple(self.exact_amplitudes)
        if not amplitudes:
            raise ValueError("Poisson: exact_amplitudes must hold at least one amplitude, got ()")
        for m, c in enumerate(amplitudes, start=1):
            check_number("Poisson", f"exact_amplitudes[{m - 1}]", c)
        object.__setattr__(self, "exact_amplitudes", tuple(float(c) for c in amplitudes))

    @classmethod
    def pinn_classic(cls, dim: int = 2, **overrides: Any) -> Poisson:
        r"""The PINN benchmark :math:`u = \prod_i \sin(\pi x_i)`, :math:`f = d \pi^2 u`, :math:`u = 0` on the unit box.

        ``dim=2`` is the usual 2-D problem on the unit square; ``dim=5`` its high-dimensional analogue
        (points only: no grid solver in five dimensions). ``exact_form="sum"`` gives the ENGD paper's
        :math:`u = \sum_i \sin(\pi x_i)`, :math:`f = \pi^2 u`, with :math:`u = u^*` on the boundary.
        """
        return cls(**{"dim": dim, "exact_amplitudes": (1.0,), **overrides})

    @property
    def periodic(self) -> bool:
        return self.boundary == "periodic"

    @property
    def domain(self) -> Domain:
        """The box ``[0, L]^dim``."""
        return Domain(((0.0, self.length),) * self.dim)

    def grid(self, resolution: int) -> Grid:
        """The ``resolution^dim`` grid on the box: nodal for ``"dirichlet"``, periodic otherwise; ``resolution >= 3``, ``dim <= 3``."""
        if self.dim not in _GRID_DIMS:
            raise ValueError(f"Poisson.grid: the grid solver covers dim 1 to 3, got dim={self.dim} "
                             f"(a {self.dim}-D problem is for PINNs: points only)")
        if resolution < 3:
            raise ValueError(f"Poisson.grid: resolution must be >= 3, got {resolution}")
        return Grid.uniform(resolution, self.dim, self.length, periodic=self.periodic)

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        """``n`` forcings ``(n, 1, *grid.shape)``, float64, from ``generator``."""
        self.check_grid(grid)
        grf = GaussianRandomField(grid, alpha=self.grf_alpha, tau=self.grf_tau,
                                  boundary="periodic" if self.periodic else "neumann", mean_zero=self.periodic)
        return grf.sample(n, generator)[:, None]  # (n, 1, *S)

    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        """The discrete solution ``(B, 1, *grid.shape)``, float64, for forcings ``a`` ``(B, 1, *grid.shape)``.

        Exact (to round-off) for the chosen discrete Laplacian; Dirichlet solutions are zero on the
        boundary nodes, and the boundary values of ``a`` are not used.
        """
        self.check_input(a, grid)
        solver = poisson_periodic if self.periodic else poisson_dirichlet
        return solver(a.to(torch.float64), grid, self.discretization)

    def residual(self, u: Tensor, a: Tensor, d: AbstractDiff) -> Tensor:
        r"""The pointwise residual :math:`-\Delta u - f` with ``d.laplacian`` (grid fields or points); ``a = f``."""
        return -d.laplacian(u) - a

    def differentiator(self, grid: Grid, time: Grid | None = None) -> AbstractGridDiff:
        """The differentiator of the discretization: spectral on periodic grids with ``"spectral"``, else second-order differences.

        With ``"fd2"`` the interior stencil is the solver's, so the reference solution's residual is
        zero to round-off at interior nodes.
        """
        if grid.periodic and self.discretization == "spectral":
            return super().differentiator(grid, time)
        return FiniteDiff(grid, order=2, time=time)

    def conditions(self) -> dict[str, AbstractCondition]:
        """``"bc"``: :math:`u = 0` on the boundary (Dirichlet; :math:`u = u^*` for ``exact_form="sum"``), or periodicity."""
        if self.periodic:
            return {"bc": Periodic(self.domain)}
        return {"bc": Dirichlet(self.domain, self.exact_solution if self.exact_form == "sum" else 0.0)}

    @property
    def has_exact_solution(self) -> bool:
        return True

    def _wavenumber(self) -> float:
        """The base angular wavenumber of the manufactured modes: :math:`\\pi / L` (Dirichlet) or :math:`2\\pi / L` (periodic)."""
        return (2 * math.pi if self.periodic else math.pi) / self.length

    def _modes(self) -> list[tuple[int, float]]:
        """``(m, c_m)`` for the manufactured solution's modes ``m = 1, 2, ...``."""
        return list(enumerate(self.exact_amplitudes, start=1))

    def exact_solution(self, x: Tensor) -> Tensor:
        r"""The manufactured solution :math:`u^*(x) = \sum_m c_m \prod_i \sin(m \omega x_i)` at points ``(..., dim)`` -> ``(..., 1)``
        (:math:`\sum_m c_m \sum_i \sin(m \omega x_i)` for ``exact_form="sum"``).

        Amplitudes :math:`c_m` from :attr:`exact_amplitudes`, by default :math:`(1, 1/2)`, with
        :math:`\omega = \pi / L` (zero on the boundary of the box) or :math:`2\pi / L` (periodic, zero
        mean). Differentiable in ``x``.
        """
        self._check_points(x)
        omega = self._wavenumber()
        return sum(c * self._combine(torch.sin(m * omega * x)) for m, c in self._modes())

    def exact_input(self, x: Tensor) -> Tensor:
        """The forcing of the manufactured solution, :meth:`exact_forcing`."""
        return self.exact_forcing(x)

    def exact_forcing(self, x: Tensor) -> Tensor:
        r"""The matching forcing :math:`f^* = -\Delta u^* = \sum_m c_m\, d\, (m\omega)^2 \prod_i \sin(m \omega x_i)`, ``(..., 1)``
        (:math:`\sum_m c_m (m\omega)^2 \sum_i \sin(m \omega x_i)` for ``exact_form="sum"``: each term is one axis's)."""
        self._check_points(x)
        omega = self._wavenumber()
        axes = 1 if self.exact_form == "sum" else self.dim  # second derivatives that each term of a mode has
        return sum(c * axes * (m * omega) ** 2 * self._combine(torch.sin(m * omega * x)) for m, c in self._modes())

    def _combine(self, sines: Tensor) -> Tensor:
        """One mode from its per-axis sines ``(..., dim)`` -> ``(..., 1)``: their product, or their sum."""
        return sines.sum(dim=-1, keepdim=True) if self.exact_form == "sum" else sines.prod(dim=-1, keepdim=True)

    def _check_points(self, x: Tensor) -> None:
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"Poisson: points must be (..., {self.dim}), got {tuple(x.shape)}")
