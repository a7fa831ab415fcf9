"""Spectral derivatives and dealiasing on periodic grids."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.spectral.grid import Grid, wavenumber_grid


def _nyquist_free(k: Tensor, n: int) -> Tensor:
    """Zero the Nyquist wavenumber of an even axis: its odd derivatives are not real-representable.

    In both the fft and the rfft layout the Nyquist entry sits at index ``n // 2``.
    """
    if n % 2:
        return k
    k = k.clone()
    k.view(-1)[n // 2] = 0
    return k


def derivative_symbols(grid: Grid, orders: tuple[int, ...], dtype=torch.float64, device=None) -> Tensor:
    """The rfftn multiplier of ``prod_i d^{orders_i} / dx_i^{orders_i}``, broadcastable to ``grid``'s rfft layout."""
    if len(orders) != grid.dim:
        raise ValueError(f"derivative_symbols: need one order per axis ({grid.dim}), got {orders}")
    ks = wavenumber_grid(grid, real=True, dtype=dtype, device=device)
    symbol = torch.ones((), dtype=torch.complex128 if dtype == torch.float64 else torch.complex64, device=device)
    for n, k, p in zip(grid.shape, ks, orders):
        if p == 0:
            continue
        if p % 2:
            k = _nyquist_free(k, n)
        symbol = symbol * (1j * k) ** p
    return symbol


def spectral_derivative(u: Tensor, grid: Grid, orders: tuple[int, ...]) -> Tensor:
    """Exact derivative of the trigonometric interpolant of ``u``.

    Parameters
    ----------
    u
        Real field, shape ``(..., *grid.shape)``.
    grid
        Periodic grid of the trailing axes.
    orders
        Derivative order along each grid axis, e.g. ``(1, 0)`` for ``d/dx`` in 2-D.

    Returns
    -------
    Tensor
        Same shape and dtype as ``u``. Spectrally accurate for smooth periodic ``u``.
    """
    dims = tuple(range(-grid.dim, 0))
    if not u.is_floating_point():
        raise TypeError(f"spectral_derivative: u must be a real floating tensor, got {u.dtype}")
    if tuple(u.shape[-grid.dim :]) != grid.shape:
        raise ValueError(f"spectral_derivative: u's trailing shape {tuple(u.shape[-grid.dim:])} != grid {grid.shape}")
    symbol = derivative_symbols(grid, orders, dtype=u.dtype, device=u.device)
    return torch.fft.irfftn(symbol * torch.fft.rfftn(u, dim=dims), s=grid.shape, dim=dims)


def laplacian_symbol(grid: Grid, dtype=torch.float64, device=None) -> Tensor:
    """``-|k|^2``, the rfftn multiplier of the Laplacian, shape broadcastable to the rfft layout."""
    ks = wavenumber_grid(grid, real=True, dtype=dtype, device=device)
    return -sum(k**2 for k in ks)


def inverse_neg_laplacian_symbol(grid: Grid, dtype=torch.float64, device=None) -> Tensor:
    """``1 / |k|^2`` on the rfftn layout with ``0`` at ``k = 0``: the mean-zero inverse of ``-Laplacian``."""
    lap = laplacian_symbol(grid, dtype=dtype, device=device)
    return torch.where(lap == 0, 0.0, -1.0 / torch.where(lap == 0, -1.0, lap))


def dealias_mask(grid: Grid, device=None) -> Tensor:
    """Orszag's 2/3 rule on the rfftn layout: keep ``|k_i| < n_i / 3`` on every axis.

    A quadratic product of fields band-limited to the kept set then aliases only onto removed modes.
    """
    mask = torch.ones((), dtype=torch.bool, device=device)
    for k, n, length in zip(wavenumber_grid(grid, real=True, device=device), grid.shape, grid.lengths):
        index = torch.round(k * (length / (2 * math.pi)))  # the integer frequency of each entry
        mask = mask & (3 * index.abs() < n)
    return mask
