r"""Poisson's equation on the unit box in one to three dimensions.

.. math::
    -\Delta u = f \quad \text{in } (0, 1)^d, \qquad
    u = 0 \text{ on the boundary (Dirichlet)} \quad \text{or} \quad u \text{ periodic with } \textstyle\int u = 0.

For operator learning the input is a Gaussian random forcing :math:`f` and the output :math:`u`;
for PINNs :meth:`Poisson.exact_solution` and :meth:`Poisson.exact_forcing` give a manufactured pair.
The reference solver is exact for the discrete Laplacian: fast sine transforms (Dirichlet) or the
FFT (periodic).
"""

from __future__ import annotations

import dataclasses
import math

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
#: the manufactured solution's modes: (multiple of the base wavenumber, amplitude)
_MODES = ((1, 1.0), (2, 0.5))


@dataclasses.dataclass(frozen=True)
class Poisson(AbstractSteadyProblem):
    r"""Poisson's equation :math:`-\Delta u = f` on :math:`(0, 1)^d`.

    Parameters
    ----------
    dim
        Space dimension, 1 to 3.
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
        mode for ``"periodic"``; ``grf_alpha > d / 2``.

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

    name = "poisson"

    def __post_init__(self):
        if type(self.dim) is not int or self.dim not in (1, 2, 3):
            raise ValueError(f"Poisson: dim must be 1, 2 or 3, got {self.dim}")
        if self.boundary not in _BOUNDARIES:
            raise ValueError(f"Poisson: boundary must be one of {_BOUNDARIES}, got {self.boundary!r}")
        if self.discretization not in _DISCRETIZATIONS:
            raise ValueError(f"Poisson: discretization must be one of {_DISCRETIZATIONS}, got {self.discretization!r}")
        check_number("Poisson", "grf_alpha", self.grf_alpha, above=self.dim / 2, why="dim / 2: a finite pointwise variance")
        check_number("Poisson", "grf_tau", self.grf_tau, above=0)

    @property
    def periodic(self) -> bool:
        return self.boundary == "periodic"

    @property
    def domain(self) -> Domain:
        """The unit box ``[0, 1]^dim``."""
        return Domain(((0.0, 1.0),) * self.dim)

    def grid(self, resolution: int) -> Grid:
        """The ``resolution^dim`` grid on the unit box: nodal for ``"dirichlet"``, periodic otherwise; ``resolution >= 3``."""
        if resolution < 3:
            raise ValueError(f"Poisson.grid: resolution must be >= 3, got {resolution}")
        return Grid.uniform(resolution, self.dim, periodic=self.periodic)

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
        """``"bc"``: :math:`u = 0` on the boundary (Dirichlet), or periodicity."""
        return {"bc": Periodic(self.domain) if self.periodic else Dirichlet(self.domain, 0.0)}

    @property
    def has_exact_solution(self) -> bool:
        return True

    def _wavenumber(self) -> float:
        """The base angular wavenumber of the manufactured modes: :math:`\\pi` (Dirichlet) or :math:`2\\pi` (periodic)."""
        return 2 * math.pi if self.periodic else math.pi

    def exact_solution(self, x: Tensor) -> Tensor:
        r"""The manufactured solution :math:`u^*(x) = \sum_m c_m \prod_i \sin(m \omega x_i)` at points ``(..., dim)`` -> ``(..., 1)``.

        Modes :math:`(m, c_m) = (1, 1), (2, 1/2)` with :math:`\omega = \pi` (zero on the boundary of the
        unit box) or :math:`2\pi` (periodic, zero mean). Differentiable in ``x``.
        """
        self._check_points(x)
        omega = self._wavenumber()
        return sum(c * torch.sin(m * omega * x).prod(dim=-1, keepdim=True) for m, c in _MODES)

    def exact_input(self, x: Tensor) -> Tensor:
        """The forcing of the manufactured solution, :meth:`exact_forcing`."""
        return self.exact_forcing(x)

    def exact_forcing(self, x: Tensor) -> Tensor:
        r"""The matching forcing :math:`f^* = -\Delta u^* = \sum_m c_m\, d\, (m\omega)^2 \prod_i \sin(m \omega x_i)`, ``(..., 1)``."""
        self._check_points(x)
        omega = self._wavenumber()
        return sum(c * self.dim * (m * omega) ** 2 * torch.sin(m * omega * x).prod(dim=-1, keepdim=True) for m, c in _MODES)

    def _check_points(self, x: Tensor) -> None:
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"Poisson: points must be (..., {self.dim}), got {tuple(x.shape)}")
