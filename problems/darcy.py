r"""Steady Darcy flow on the unit square.

.. math::
    -\nabla\cdot(a(x)\, \nabla u(x)) = f, \qquad x \in (0, 1)^2, \qquad u = 0 \text{ on } \partial(0, 1)^2.

The defaults are the FNO benchmark (Li et al. 2021): ``f = 1``, the coefficient
:math:`a = \psi(g)` with :math:`g \sim N(0, (-\Delta + 9 I)^{-2})` (Neumann cosines, mean zero) and
:math:`\psi = 12` where :math:`g \ge 0`, :math:`3` elsewhere; data at 421 x 421 nodes, subsampled to
211, 141 and 85. The operator to learn is :math:`a \mapsto u`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition, Dirichlet
from sciml.diff import AbstractDiff
from sciml.domain import Domain
from sciml.problem import AbstractSteadyProblem
from sciml.solvers import solve_darcy
from sciml.spectral import GaussianRandomField, Grid
from sciml.validate import check_number

__all__ = ["Darcy"]

_COEFFICIENTS = ("threshold", "lognormal")


@dataclasses.dataclass(frozen=True)
class Darcy(AbstractSteadyProblem):
    r"""Darcy flow :math:`-\nabla\cdot(a \nabla u) = f` on :math:`(0, 1)^2` with :math:`u = 0` on the boundary.

    Parameters
    ----------
    forcing
        The constant source :math:`f`.
    coefficient
        ``"threshold"``: :math:`a = a_+` where :math:`g \ge 0` and :math:`a_-` elsewhere (the FNO
        benchmark). ``"lognormal"``: :math:`a = \exp(g)`.
    high, low
        :math:`a_+` and :math:`a_-` of the ``"threshold"`` coefficient, both positive.
    grf_alpha, grf_tau
        Covariance of :math:`g \sim N(0, \tau^{2\alpha - 2}(-\Delta + \tau^2 I)^{-\alpha})` with zero
        Neumann data and no constant mode (see :class:`sciml.spectral.GaussianRandomField`), evaluated
        on the nodal grid.
    rtol
        Relative residual at which the solver (:func:`sciml.solvers.solve_darcy`) stops; ``1e-9``
        agrees with a sparse direct solve to about ``1e-12``.

    Shapes
    ------
    Inputs ``a`` and solutions ``u`` are ``(B, 1, n, n)`` on the nodal grid :meth:`grid` (both ends
    of each axis included, ``h = 1 / (n - 1)``); ``u`` is zero on the boundary nodes.
    """

    forcing: float = 1.0
    coefficient: str = "threshold"
    high: float = 12.0
    low: float = 3.0
    grf_alpha: float = 2.0
    grf_tau: float = 3.0
    rtol: float = 1e-9

    name = "darcy"

    def __post_init__(self):
        if self.coefficient not in _COEFFICIENTS:
            raise ValueError(f"Darcy: coefficient must be one of {_COEFFICIENTS}, got {self.coefficient!r}")
        for field in ("high", "low", "grf_tau"):
            check_number("Darcy", field, getattr(self, field), above=0)
        check_number("Darcy", "forcing", self.forcing)
        check_number("Darcy", "grf_alpha", self.grf_alpha, above=1, why="dim / 2: a finite pointwise variance")
        check_number("Darcy", "rtol", self.rtol, above=0, below=1, why="the solver's relative residual target")

    @property
    def dim(self) -> int:
        return 2

    @property
    def domain(self) -> Domain:
        """The unit square ``[0, 1]^2``."""
        return Domain(((0.0, 1.0), (0.0, 1.0)))

    def grid(self, resolution: int) -> Grid:
        """The nodal ``resolution x resolution`` grid on the unit square (``periodic=False``), ``resolution >= 3``."""
        if resolution < 3:
            raise ValueError(f"Darcy.grid: resolution must be >= 3 (one interior node), got {resolution}")
        return Grid.uniform(resolution, 2, periodic=False)

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        """``n`` coefficient fields ``(n, 1, *grid.shape)``, float64, from ``generator``."""
        self.check_grid(grid)
        g = GaussianRandomField(grid, alpha=self.grf_alpha, tau=self.grf_tau, boundary="neumann").sample(n, generator)
        if self.coefficient == "lognormal":
            a = g.exp()
        else:
            a = torch.where(g >= 0, torch.tensor(self.high, dtype=g.dtype), torch.tensor(self.low, dtype=g.dtype))
        return a[:, None]  # (n, 1, *S)

    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        r"""The finite-difference solution ``(B, 1, *grid.shape)``, float64, for coefficients ``a`` ``(B, 1, *grid.shape)``.

        Conservative 5-point scheme with arithmetic face averages of ``a``, second order for smooth
        ``a``; solved by Poisson-preconditioned conjugate gradients, batched
        (:func:`sciml.solvers.solve_darcy`).
        """
        self.check_input(a, grid)
        return solve_darcy(a.to(torch.float64), self.forcing, grid, rtol=self.rtol)

    def residual(self, u: Tensor, a: Tensor, d: AbstractDiff) -> Tensor:
        r"""The pointwise residual :math:`-\nabla\cdot(a \nabla u) - f`.

        Grid fields ``u``, ``a`` ``(B, 1, n, n)`` with a grid differentiator on :meth:`grid`, or point
        values ``(P, 1)`` with :class:`~sciml.diff.AutogradDiff`, where ``a`` must be computed from the
        points. It is the divergence of the flux :math:`a \nabla u` (conservative form); with
        :class:`~sciml.diff.FiniteDiff` its central differences span :math:`2h`, unlike the solver's
        compact stencil, so the solver's output has an :math:`O(h^2)` residual for smooth ``a``
        (away from the corners, where :math:`f = 1` and :math:`u = 0` make :math:`u` singular) and a
        residual of size :math:`O(1/h)` along the jumps of a thresholded ``a``. The boundary
        condition :math:`u = 0` is not part of the residual (:meth:`conditions`).
        """
        return -d.div(a * d.grad(u)) - self.forcing

    def conditions(self) -> dict[str, AbstractCondition]:
        """``"bc"``: :math:`u = 0` on the boundary of the square."""
        return {"bc": Dirichlet(self.domain, 0.0)}
