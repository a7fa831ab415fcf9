"""Grids on boxes and the angular wavenumbers that go with them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Grid:
    """A uniform tensor-product grid on the box ``[0, L_1] x ... x [0, L_d]``.

    Parameters
    ----------
    shape
        Points per axis.
    lengths
        Box side per axis.
    periodic
        ``True``: points ``x_j = j L / n``, ``j = 0..n-1`` (the right end is the left end).
        ``False``: nodal grid with both ends, ``x_j = j L / (n - 1)``, ``j = 0..n-1``.
    """

    shape: tuple[int, ...]
    lengths: tuple[float, ...]
    periodic: bool = True

    def __post_init__(self):
        shape = tuple(int(n) for n in self.shape)
        lengths = tuple(float(length) for length in self.lengths)
        if len(shape) != len(lengths) or not shape:
            raise ValueError(f"Grid: shape {shape} and lengths {lengths} must be non-empty and of equal length")
        if min(shape) < 2:
            raise ValueError(f"Grid: every axis needs at least 2 points, got shape {shape}")
        if min(lengths) <= 0:
            raise ValueError(f"Grid: lengths must be positive, got {lengths}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "lengths", lengths)

    @classmethod
    def uniform(cls, n: int, dim: int, length: float = 1.0, periodic: bool = True) -> "Grid":
        """The ``n^dim`` grid on the cube of side ``length``."""
        return cls((n,) * dim, (length,) * dim, periodic)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        if self.periodic:
            return tuple(length / n for n, length in zip(self.shape, self.lengths))
        return tuple(length / (n - 1) for n, length in zip(self.shape, self.lengths))

    def describe(self) -> str:
        """``"periodic 1024 on [0, 1]"`` or ``"nodal 421x421 on [0, 1] x [0, 1]"``, for messages and listings."""
        kind = "periodic" if self.periodic else "nodal"
        box = " x ".join(f"[0, {length:g}]" for length in self.lengths)
        return f"{kind} {'x'.join(map(str, self.shape))} on {box}"

    def axes(self, dtype: torch.dtype = torch.float64, device=None) -> list[Tensor]:
        """The 1-D coordinates of each axis, shapes ``(n_i,)``."""
        return [torch.arange(n, dtype=dtype, device=device) * h for n, h in zip(self.shape, self.spacing)]

    def coords(self, dtype: torch.dtype = torch.float64, device=None) -> Tensor:
        """All grid points, shape ``(dim, *shape)`` (channels-first, like a field)."""
        return torch.stack(torch.meshgrid(*self.axes(dtype, device), indexing="ij"))

    def subsample(self, factor: int) -> "Grid":
        """The grid that keeps every ``factor``-th point on each axis.

        Periodic grids need ``n % factor == 0``, nodal grids ``(n - 1) % factor == 0``, so that the
        coarse grid covers the same box (421 -> 211, 141, 85 for factors 2, 3, 5).
        """
        if factor < 1:
            raise ValueError(f"subsample: factor must be >= 1, got {factor}")
        cells = [n if self.periodic else n - 1 for n in self.shape]
        if any(c % factor for c in cells):
            kind = "n" if self.periodic else "n - 1"
            raise ValueError(f"subsample: {kind} must be divisible by {factor} on every axis, got shape {self.shape}")
        shape = tuple(c // factor + (0 if self.periodic else 1) for c in cells)
        return Grid(shape, self.lengths, self.periodic)


def wavenumbers(n: int, length: float = 1.0, real: bool = False, dtype=torch.float64, device=None) -> Tensor:
    """Angular wavenumbers ``2 pi k / L`` in FFT order, shape ``(n,)`` (or ``(n // 2 + 1,)`` if ``real``)."""
    k = torch.fft.rfftfreq(n, d=1.0 / n, dtype=dtype, device=device) if real else torch.fft.fftfreq(
        n, d=1.0 / n, dtype=dtype, device=device
    )
    return (2 * math.pi / length) * k


def wavenumber_grid(grid: Grid, real: bool = True, dtype=torch.float64, device=None) -> list[Tensor]:
    """Broadcastable angular wavenumbers per axis for the (r)fftn layout of ``grid``.

    Entry ``i`` has shape ``(1, ..., m_i, ..., 1)`` with ``m_i = n_i`` except on the last axis,
    where ``m = n // 2 + 1`` when ``real``.
    """
    if not grid.periodic:
        raise ValueError("wavenumber_grid: Fourier wavenumbers need a periodic grid")
    out = []
    for i, (n, length) in enumerate(zip(grid.shape, grid.lengths)):
        last = i == grid.dim - 1
        k = wavenumbers(n, length, real=real and last, dtype=dtype, device=device)
        view = [1] * grid.dim
        view[i] = k.numel()
        out.append(k.reshape(view))
    return out
