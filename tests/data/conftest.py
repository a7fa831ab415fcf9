"""A tiny test-only problem, solved exactly, to exercise the data layer independently of problems/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from torch import Tensor

from sciml.conditions import AbstractCondition, Neumann, Periodic
from sciml.diff import AbstractDiff
from sciml.domain import Domain
from sciml.problem import AbstractSteadyProblem
from sciml.spectral import GaussianRandomField, Grid, wavenumber_grid


@dataclass(frozen=True)
class ScreenedPoisson(AbstractSteadyProblem):
    r"""``(I - Laplacian) u = f`` on ``[0, L]^ndim``, periodic or homogeneous Neumann, solved exactly by FFT.

    Input: a Gaussian random forcing ``f`` ``(n, 1, *S)``; output: ``u`` ``(n, 1, *S)``. The Neumann
    problem on a nodal grid is the periodic problem of the even extension to ``[0, 2L]``, so one
    Fourier solve serves both: :math:`\hat u_k = \hat f_k / (1 + |k|^2)`.
    """

    name: ClassVar[str] = "screened_poisson"
    ndim: int = 1
    length: float = 1.0
    periodic: bool = True
    alpha: float = 4.0
    tau: float = 5.0

    @property
    def dim(self) -> int:
        return self.ndim

    @property
    def domain(self) -> Domain:
        return Domain(((0.0, self.length),) * self.ndim)

    def conditions(self) -> dict[str, AbstractCondition]:
        return {"bc": Periodic(self.domain) if self.periodic else Neumann(self.domain, 0.0)}

    def grid(self, resolution: int) -> Grid:
        if resolution < 8:
            raise ValueError(f"ScreenedPoisson: resolution must be >= 8, got {resolution}")
        return Grid.uniform(resolution, self.ndim, self.length, self.periodic)

    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        grf = GaussianRandomField(grid, self.alpha, self.tau, boundary="periodic" if grid.periodic else "neumann",
                                  mean_zero=False)
        return grf.sample(n, generator)[:, None]  # (n, *S) -> (n, 1, *S)

    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        dims = tuple(range(2, 2 + grid.dim))
        ext, ext_grid = a, grid
        if not grid.periodic:
            for d in dims:  # even extension x_0..x_{n-1}, x_{n-2}..x_1 along each axis
                ext = torch.cat([ext, ext.flip(d).narrow(d, 1, ext.shape[d] - 2)], dim=d)
            ext_grid = Grid(tuple(2 * (n - 1) for n in grid.shape), tuple(2 * L for L in grid.lengths))
        symbol = 1 + sum(k**2 for k in wavenumber_grid(ext_grid, real=True, device=a.device))
        u = torch.fft.irfftn(torch.fft.rfftn(ext, dim=dims) / symbol, s=ext_grid.shape, dim=dims)
        for d, n in zip(dims, grid.shape):
            u = u.narrow(d, 0, n)
        return u

    def residual(self, u: Tensor, a: Tensor, d: AbstractDiff) -> Tensor:
        return u - d.laplacian(u) - a


@pytest.fixture
def toy_problem() -> type[ScreenedPoisson]:
    """The class of the test problem; build it with the dimension and boundary a test needs."""
    return ScreenedPoisson
