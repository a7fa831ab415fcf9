"""Space(-time) box domains and the point samplers of PINNs: interior, boundary and initial points.

Points are rows ``(P, D)`` of physical coordinates in the column order ``(t, x_1, ..., x_d)`` when the
domain has a time interval and ``(x_1, ..., x_d)`` otherwise, the order of
:class:`sciml.diff.AutogradDiff` with ``time=True`` / ``False``. Every sampler draws from an explicit
``torch.Generator``, so a point set is a function of the generator's state alone.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor

from sciml.spectral.grid import Grid

__all__ = ["METHODS", "Domain", "unit_samples"]

#: how points fill the unit cube: independent uniform draws, a Latin hypercube, a scrambled Sobol sequence
METHODS = ("uniform", "lhs", "sobol")


def unit_samples(n: int, dims: int, generator: torch.Generator, method: str = "uniform",
                 dtype: torch.dtype = torch.float64) -> Tensor:
    r"""``n`` points in the unit cube :math:`[0, 1)^{dims}`, shape ``(n, dims)``, on the CPU.

    - ``"uniform"``: independent uniform draws.
    - ``"lhs"``: a Latin hypercube: along every axis each of the ``n`` strata :math:`[j/n, (j+1)/n)`
      holds exactly one point, at a uniform position inside it; the strata are paired across axes by
      independent random permutations.
    - ``"sobol"``: the first ``n`` points of an Owen-scrambled Sobol sequence (seeded from
      ``generator``); its balance properties are best for ``n`` a power of two.
    """
    if method not in METHODS:
        raise ValueError(f"unit_samples: method must be one of {METHODS}, got {method!r}")
    if n < 0 or dims < 0:
        raise ValueError(f"unit_samples: n and dims must be >= 0, got n={n}, dims={dims}")
    if n == 0 or dims == 0:
        return torch.zeros(n, dims, dtype=dtype)
    if method == "uniform":
        return torch.rand(n, dims, generator=generator, dtype=dtype)
    if method == "lhs":
        strata = torch.rand(dims, n, generator=generator).argsort(dim=1).T.to(dtype)  # (n, dims): a permutation per axis
        return (strata + torch.rand(n, dims, generator=generator, dtype=dtype)) / n
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    return torch.quasirandom.SobolEngine(dims, scramble=True, seed=seed).draw(n, dtype=dtype)


def _split(n: int, weights: list[float]) -> list[int]:
    """``n`` split in proportion to ``weights`` by largest remainders (the counts sum to ``n``)."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])  # largest remainder first
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


@dataclasses.dataclass(frozen=True)
class Domain:
    r"""A box :math:`\prod_i [a_i, b_i]` in space, times a time interval :math:`[t_0, t_1]` where the problem evolves.

    Parameters
    ----------
    space
        ``(low, high)`` per space axis, ``low < high``, finite.
    time
        ``(t0, t1)`` with ``t0 < t1``, or ``None`` for a steady problem.

    The boundary is the spatial boundary (times the time interval); the initial slice is
    :math:`t = t_0`. Periodicity is a condition on the boundary, not a property of the box
    (see :class:`sciml.conditions.Periodic`).
    """

    space: tuple[tuple[float, float], ...]
    time: tuple[float, float] | None = None

    def __post_init__(self):
        space = tuple((float(low), float(high)) for low, high in self.space)
        if not space:
            raise ValueError("Domain: space needs at least one axis")
        time = None if self.time is None else (float(self.time[0]), float(self.time[1]))
        for name, (low, high) in [*((f"space[{i}]", b) for i, b in enumerate(space)), *([("time", time)] if time else [])]:
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"Domain: {name} must be finite with low < high, got ({low}, {high})")
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "time", time)

    @property
    def dim(self) -> int:
        """Number of space axes."""
        return len(self.space)

    @property
    def columns(self) -> int:
        """Coordinates per point: ``dim``, plus one for time."""
        return self.dim + (self.time is not None)

    def bounds(self, dtype: torch.dtype = torch.float64, device=None) -> tuple[Tensor, Tensor]:
        """Lower and upper corners ``(D,)`` in column order (time first)."""
        box = ([self.time] if self.time is not None else []) + list(self.space)
        low, high = zip(*box)
        return torch.tensor(low, dtype=dtype, device=device), torch.tensor(high, dtype=dtype, device=device)

    def contains(self, points: Tensor, atol: float = 0.0) -> Tensor:
        """Whether each row of ``points`` ``(P, D)`` lies in the closed box (up to ``atol``), ``(P,)`` bool."""
        self._check_points(points)
        low, high = self.bounds(points.dtype, points.device)
        return ((points >= low - atol) & (points <= high + atol)).all(dim=1)

    def on_boundary(self, points: Tensor, atol: float = 1e-12) -> Tensor:
        """Whether each row lies in the box with some space coordinate on a face, ``(P,)`` bool."""
        self._check_points(points)
        low, high = self.bounds(points.dtype, points.device)
        space = slice(self.columns - self.dim, None)
        face = ((points - low).abs() <= atol) | ((points - high).abs() <= atol)  # (P, D)
        return self.contains(points, atol) & face[:, space].any(dim=1)

    # --- samplers --------------------------------------------------------------------------------

    def sample_interior(self, n: int, generator: torch.Generator, method: str = "uniform",
                        dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` points filling the space(-time) box, ``(n, D)``."""
        low, high = self.bounds(dtype)
        return low + (high - low) * unit_samples(n, self.columns, generator, method, dtype)

    def sample_boundary(self, n: int, generator: torch.Generator, method: str = "uniform",
                        axes: tuple[int, ...] | None = None, sides: tuple[int, ...] = (0, 1),
                        dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` points on the faces :math:`x_i = a_i` (side 0) and :math:`x_i = b_i` (side 1) of the space axes ``axes``.

        Points are shared among the faces in proportion to their measure (largest remainders; a
        face of a 1-D box is a point of measure one) and fill each face with ``method``; times, if
        any, fill the time interval. Rows are grouped face by face: ``(axis, side)`` in the order of
        ``axes`` then ``sides``. ``axes=None`` takes every space axis.
        """
        axes = tuple(range(self.dim)) if axes is None else tuple(axes)
        if not axes or any(not 0 <= i < self.dim for i in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"Domain.sample_boundary: axes must be distinct space axes in [0, {self.dim}), got {axes}")
        if not sides or any(s not in (0, 1) for s in sides):
            raise ValueError(f"Domain.sample_boundary: sides must be drawn from (0, 1), got {sides}")
        low, high = self.bounds(dtype)
        offset = self.columns - self.dim  # column of space axis 0
        extent = (high - low).tolist()
        faces = [(axis, side) for axis in axes for side in sides]
        measures = [math.prod(e for j, e in enumerate(extent) if j != offset + axis) for axis, _ in faces]
        parts = []
        for (axis, side), count in zip(faces, _split(n, measures)):
            column = offset + axis
            free = [j for j in range(self.columns) if j != column]
            points = torch.empty(count, self.columns, dtype=dtype)
            points[:, free] = low[free] + (high - low)[free] * unit_samples(count, len(free), generator, method, dtype)
            points[:, column] = (low, high)[side][column]
            parts.append(points)
        return torch.cat(parts)

    def sample_initial(self, n: int, generator: torch.Generator, method: str = "uniform",
                       dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` points on the initial slice :math:`t = t_0`, ``(n, 1 + dim)``."""
        if self.time is None:
            raise ValueError("Domain.sample_initial: a steady domain (time=None) has no initial slice")
        low, high = self.bounds(dtype)
        points = low + (high - low) * unit_samples(n, self.columns, generator, method, dtype)
        points[:, 0] = low[0]
        return points

    def grid_points(self, grid: Grid, times: Tensor | None = None, dtype: torch.dtype = torch.float64,
                    device=None) -> Tensor:
        """The physical coordinates of a grid's nodes (at ``times``), shape ``(*T, *grid.shape, D)``.

        The grid's coordinates start at 0 (:meth:`Grid.coords`) and are shifted to the box's lower
        corner; the grid's box must have the domain's extents. ``times`` ``(T,)`` is required exactly
        when the domain has a time interval.
        """
        if grid.dim != self.dim or any(not math.isclose(length, high - low) for length, (low, high) in zip(grid.lengths, self.space)):
            raise ValueError(f"Domain.grid_points: grid {grid.describe()} does not span the domain's box {self.space}")
        if (times is None) != (self.time is None):
            raise ValueError("Domain.grid_points: give times exactly when the domain has a time interval")
        space = grid.coords(dtype, device).movedim(0, -1) + torch.tensor([low for low, _ in self.space], dtype=dtype, device=device)
        if times is None:
            return space  # (*S, d)
        t = times.to(dtype=dtype, device=device).reshape(-1, *(1,) * grid.dim, 1).expand(-1, *grid.shape, 1)  # (T, *S, 1)
        return torch.cat([t, space.expand(t.shape[0], *space.shape)], dim=-1)  # (T, *S, 1 + d)

    def _check_points(self, points: Tensor) -> None:
        if points.ndim != 2 or points.shape[1] != self.columns:
            raise ValueError(f"Domain: points must be (P, {self.columns}), got {tuple(points.shape)}")
