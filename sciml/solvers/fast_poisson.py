r"""Fast Poisson solvers on boxes: exact inverses of the discrete Laplacian by sine and Fourier transforms.

- :func:`poisson_dirichlet`: :math:`-\Delta u = f`, :math:`u = 0` on the boundary of a box, solved
  exactly (to round-off) for the 3/5/7-point finite-difference Laplacian, or the sine-spectral one,
  by diagonalizing it with discrete sine transforms (DST-I along each axis, done with the real FFT).
- :func:`poisson_periodic`: :math:`-\Delta u = f` on a periodic box by the FFT; zero-mean solution.

Dirichlet fields live on the nodal grid of :class:`sciml.spectral.Grid` (``periodic=False``: both
ends of each axis included), periodic ones on the periodic grid, with the space axes trailing:
``(..., *grid.shape)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from sciml.spectral.derivative import inverse_neg_laplacian_symbol
from sciml.spectral.grid import Grid, wavenumber_grid

__all__ = [
    "ORDERS",
    "apply_sine_inverse",
    "check_field",
    "dirichlet_eigenvalues",
    "dst1",
    "interior",
    "poisson_dirichlet",
    "poisson_periodic",
    "sine_inverse_weights",
    "with_boundary",
]

ORDERS = ("fd2", "spectral")


def dst1(x: Tensor, dim: int = -1) -> Tensor:
    r"""The unnormalized DST-I along ``dim``: :math:`X_k = \sum_{j=1}^{m} x_j \sin(\pi j k / (m + 1))`, ``k = 1..m``.

    Computed with a real FFT of length :math:`2(m + 1)` (:func:`_minus_dst1_last`). The transform is
    its own inverse up to a factor: ``dst1(dst1(x)) = (m + 1) / 2 * x``.
    """
    return -_minus_dst1_last(x.movedim(dim, -1)).movedim(-1, dim)  # transform on (..., m), then back in place


def _minus_dst1_last(x: Tensor) -> Tensor:
    """``-dst1`` along the last axis: the imaginary part of the real FFT of ``(0, x_1, .., x_m, 0, ..)``.

    The sign is left out because the solvers apply an even number of transforms. The zero pad also
    makes the FFT input contiguous, which keeps the FFT on its fast unit-stride path.
    """
    m = x.shape[-1]
    return torch.fft.rfft(F.pad(x, (1, 0)), n=2 * (m + 1), dim=-1).imag[..., 1 : m + 1]


def _sine_transform_all(x: Tensor, dim: int) -> Tensor:
    """``(-1)^dim`` times the DST-I along each of the trailing ``dim`` axes, one axis at a time on the last axis.

    After each transform the last axis is rotated to the front of the space axes, so after ``dim``
    passes the axes are back in order.
    """
    for _ in range(dim):
        x = _minus_dst1_last(x).movedim(-1, -dim)  # (..., m_0, .., m_{d-1}) -> (..., m_{d-1}, m_0, .., m_{d-2})
    return x


def check_field(f: Tensor, grid: Grid, periodic: bool, name: str, arg: str = "f") -> None:
    """Raise unless argument ``arg`` of function ``name``, ``f``, is a real field ``(..., *grid.shape)`` on a grid of the expected kind."""
    if grid.periodic != periodic:
        raise ValueError(f"{name}: needs a grid with periodic={periodic}, got periodic={grid.periodic}")
    if tuple(f.shape[-grid.dim :]) != grid.shape:
        raise ValueError(f"{name}: {arg}'s trailing shape {tuple(f.shape[-grid.dim:])} must equal grid.shape {grid.shape}")
    if not f.is_floating_point():
        raise ValueError(f"{name}: {arg} must be a real floating tensor, got {f.dtype}")
    if not periodic and min(grid.shape) < 3:
        raise ValueError(f"{name}: a Dirichlet grid needs >= 3 points per axis (one interior point), got {grid.shape}")


def interior(u: Tensor, dim: int) -> Tensor:
    """The interior nodes of the trailing ``dim`` axes of a nodal field."""
    for axis in range(-dim, 0):
        u = u.narrow(axis, 1, u.shape[axis] - 2)
    return u


def with_boundary(u: Tensor, dim: int) -> Tensor:
    """Pad the interior values ``(..., *m)`` with the zero Dirichlet boundary to ``(..., *(m + 2))``."""
    return F.pad(u, (1, 1) * dim)


def dirichlet_eigenvalues(grid: Grid, order: str = "fd2", dtype=torch.float64, device=None) -> Tensor:
    r"""Eigenvalues of :math:`-\Delta` with zero Dirichlet data on the interior nodes, in the DST-I layout.

    Mode :math:`k_i = 1..n_i - 2` along axis ``i`` has the symbol :math:`(2 \sin(\pi k_i h_i / 2L_i) / h_i)^2`
    for ``"fd2"`` (the 3-point second difference) or :math:`(\pi k_i / L_i)^2` for ``"spectral"``.
    Returns the sum over axes, shape ``tuple(n - 2 for n in grid.shape)``.
    """
    if order not in ORDERS:
        raise ValueError(f"dirichlet_eigenvalues: order must be one of {ORDERS}, got {order!r}")
    lam = torch.zeros((), dtype=dtype, device=device)
    for i, (n, length, h) in enumerate(zip(grid.shape, grid.lengths, grid.spacing)):
        k = torch.arange(1, n - 1, dtype=dtype, device=device)
        omega = math.pi * k / length
        symbol = omega**2 if order == "spectral" else (2 * torch.sin(omega * h / 2) / h) ** 2
        view = [1] * grid.dim
        view[i] = n - 2
        lam = lam + symbol.reshape(view)
    return lam


def poisson_dirichlet(f: Tensor, grid: Grid, order: str = "fd2") -> Tensor:
    r"""Solve :math:`-\Delta u = f` in a box with :math:`u = 0` on its boundary, exactly for the discrete Laplacian.

    The discrete Laplacian (``"fd2"``: 3/5/7-point in 1/2/3-D; ``"spectral"``: sine-spectral) is
    diagonal in the DST-I basis, so :math:`u = S^{-1} \Lambda^{-1} S f` with one DST-I per axis each
    way, :math:`O(N \log N)`. ``"spectral"`` is exact for sine polynomials
    :math:`\prod_i \sin(\pi k_i x_i / L_i)` with :math:`k_i < n_i - 1`.

    Parameters
    ----------
    f
        Forcing on the nodal grid, shape ``(..., *grid.shape)``; its boundary values are not used.
    grid
        Nodal grid (``periodic=False``), at least 3 points per axis.
    order
        ``"fd2"`` (second order) or ``"spectral"``.

    Returns
    -------
    Tensor
        ``u``, shape and dtype of ``f``, zero on the boundary.
    """
    check_field(f, grid, periodic=False, name="poisson_dirichlet")
    lam = dirichlet_eigenvalues(grid, order, dtype=f.dtype, device=f.device)
    return with_boundary(apply_sine_inverse(interior(f, grid.dim), sine_inverse_weights(lam), grid.dim), grid.dim)


def sine_inverse_weights(lam: Tensor) -> Tensor:
    """The weights ``w`` with ``S diag(w) S = diag(lam)^{-1}`` in the DST-I basis (:func:`apply_sine_inverse`).

    ``1 / lam`` times the DST-I normalization ``prod (2 / (m + 1))``; ``lam`` ``(*m)`` as returned by
    :func:`dirichlet_eigenvalues`. Scaled weights give preconditioners, e.g. ``(a_mean (-Delta_h))^{-1}``
    in :func:`sciml.solvers.solve_darcy`.
    """
    return math.prod(2.0 / (m + 1) for m in lam.shape) / lam


def apply_sine_inverse(r: Tensor, weights: Tensor, dim: int) -> Tensor:
    """Apply ``S diag(weights) S`` (``S`` the DST-I on each of the ``dim`` space axes) to ``r`` ``(..., *m)``."""
    return _sine_transform_all(_sine_transform_all(r, dim) * weights, dim)  # the signs cancel: 2 dim transforms


def poisson_periodic(f: Tensor, grid: Grid, order: str = "fd2") -> Tensor:
    r"""Solve :math:`-\Delta u = f` on a periodic box by the FFT; returns the zero-mean solution.

    On a periodic box the equation is solvable only for zero-mean :math:`f`; the constant mode of
    ``f`` is dropped, so the result is the zero-mean solution for :math:`f - \bar f` (the
    pseudo-inverse). The Laplacian is the ``"fd2"`` 3/5/7-point one, with symbol
    :math:`-\sum_i (2 \sin(k_i h_i / 2) / h_i)^2`, or the ``"spectral"`` one, :math:`-|k|^2`, which is
    exact for trigonometric polynomials resolved by the grid.

    Parameters
    ----------
    f
        Forcing on the periodic grid, shape ``(..., *grid.shape)``.
    grid
        Periodic grid.
    order
        ``"fd2"`` or ``"spectral"``.

    Returns
    -------
    Tensor
        ``u``, shape and dtype of ``f``, with zero mean.
    """
    check_field(f, grid, periodic=True, name="poisson_periodic")
    if order not in ORDERS:
        raise ValueError(f"poisson_periodic: order must be one of {ORDERS}, got {order!r}")
    if order == "spectral":
        inverse = inverse_neg_laplacian_symbol(grid, f.dtype, f.device)
    else:
        ks = wavenumber_grid(grid, real=True, dtype=f.dtype, device=f.device)
        lam = sum((2 * torch.sin(k * h / 2) / h) ** 2 for k, h in zip(ks, grid.spacing))
        inverse = torch.where(lam > 0, 1 / lam.clamp_min(torch.finfo(f.dtype).tiny), 0.0)  # drops the mean mode
    dims = tuple(range(-grid.dim, 0))
    return torch.fft.irfftn(inverse * torch.fft.rfftn(f, dim=dims), s=grid.shape, dim=dims)
