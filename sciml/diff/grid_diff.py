"""Differentiators for grid fields: spectral (periodic space) and finite differences (any grid)."""

from __future__ import annotations

import abc

from torch import Tensor

from sciml.diff.base import AbstractDiff
from sciml.diff.stencils import fd_derivative
from sciml.spectral import Grid, spectral_derivative

__all__ = ["AbstractGridDiff", "FiniteDiff", "SpectralDiff"]


class AbstractGridDiff(AbstractDiff):
    """Derivatives of channels-first grid fields ``(B, C, *space)`` or ``(B, C, T, *space)``.

    Parameters
    ----------
    grid
        The space grid of the trailing axes.
    time
        Optional 1-D grid of the time axis, which then sits right after the channels. Time is
        usually not periodic: ``Grid((n_t,), (t_final,), periodic=False)`` holds the snapshots
        ``t_j = j t_final / (n_t - 1)``. Time derivatives are finite differences of order ``time_order``.
    time_order
        2 or 4.
    """

    def __init__(self, grid: Grid, time: Grid | None, time_order: int):
        if not isinstance(grid, Grid):
            raise TypeError(f"{type(self).__name__}: grid must be a sciml.spectral.Grid, got {type(grid).__name__}")
        if time is not None and (not isinstance(time, Grid) or time.dim != 1):
            raise ValueError(f"{type(self).__name__}: time must be a 1-D Grid or None, got {time!r}")
        if time_order not in (2, 4):
            raise ValueError(f"{type(self).__name__}: time_order must be 2 or 4, got {time_order}")
        self.grid, self.time, self.time_order = grid, time, time_order

    @property
    def dim(self) -> int:
        return self.grid.dim

    def _check(self, u: Tensor) -> None:
        """Raise unless ``u`` is ``(B, C, [T,] *grid.shape)``."""
        lead = () if self.time is None else self.time.shape
        expected = (*lead, *self.grid.shape)
        if u.ndim != 2 + len(expected) or tuple(u.shape[2:]) != expected:
            layout = "(B, C, *S)" if self.time is None else "(B, C, T, *S)"
            raise ValueError(f"{type(self).__name__}: expected a field {layout} with trailing shape {expected}, got {tuple(u.shape)}")

    def derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        self._check_axis(axis, order)
        self._check(u)
        return self._space_derivative(u, axis, order)

    def coordinates(self, u: Tensor) -> Tensor:
        self._check(u)
        x = self.grid.coords(u.dtype, u.device)  # (dim, *S)
        return x.reshape(1, self.dim, *(1,) * (self.time is not None), *self.grid.shape)  # (1, dim, [1,] *S)

    @abc.abstractmethod
    def _space_derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        """The derivative along space axis ``axis`` of a checked field."""

    def dt(self, u: Tensor) -> Tensor:
        if self.time is None:
            raise ValueError(f"{type(self).__name__}: dt needs a time grid (pass time=Grid(...) to the constructor)")
        self._check(u)
        return fd_derivative(u, 2, self.time.spacing[0], 1, self.time_order, self.time.periodic)

    def _tensor_dim(self, axis: int) -> int:
        return 2 + (self.time is not None) + axis


class SpectralDiff(AbstractGridDiff):
    """Exact derivatives of the trigonometric interpolant on a periodic space grid.

    Spectrally accurate for smooth periodic fields; see :func:`sciml.spectral.spectral_derivative`
    (the Nyquist mode of odd derivatives is dropped). Time, if any, uses finite differences of
    order ``time_order`` (default 4) on the time grid. Parameters as :class:`AbstractGridDiff`.
    """

    def __init__(self, grid: Grid, time: Grid | None = None, time_order: int = 4):
        if not grid.periodic:
            raise ValueError("SpectralDiff: grid must be periodic (use FiniteDiff on nodal grids)")
        super().__init__(grid, time, time_order)

    def _space_derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        orders = tuple(order if i == axis else 0 for i in range(self.dim))
        return spectral_derivative(u, self.grid, orders)


class FiniteDiff(AbstractGridDiff):
    """Central finite differences of order 2 or 4 on any uniform grid.

    Periodic grids wrap around; nodal grids (``periodic=False``, both ends on the grid) use one-sided
    or shifted stencils of the same order in the ``order / 2`` rows next to each end (see
    :func:`sciml.diff.stencils.fd_derivative`). Time, if any, uses the same ``order``.

    Parameters
    ----------
    grid, time
        As :class:`AbstractGridDiff`.
    order
        2 or 4.
    """

    def __init__(self, grid: Grid, order: int = 2, time: Grid | None = None):
        if order not in (2, 4):
            raise ValueError(f"FiniteDiff: order must be 2 or 4, got {order}")
        super().__init__(grid, time, order)
        self.order = order

    def _space_derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        dim = self._tensor_dim(axis)
        return fd_derivative(u, dim, self.grid.spacing[axis], order, self.order, self.grid.periodic)
