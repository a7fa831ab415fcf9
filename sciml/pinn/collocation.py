r"""Collocation points for PINN training, as the batches of :func:`sciml.train.fit`.

An epoch is one point set used for ``steps_per_epoch`` optimizer steps: interior points of the
problem's domain for the ``"pde"`` term and, for each named condition, points drawn by that
condition's own sampler (the boundary and the initial slice apart). The set of epoch ``e`` is a
function of ``(seed, e)`` alone (:func:`sciml.data.sample_generator`), so a resumed run sees the points
an uninterrupted one would; with ``resample=False`` every epoch reuses the set of epoch 0 (full-batch
training, as L-BFGS needs). :func:`residual_adaptive` draws interior points where a model's residual
is large (RAD), for training loops that resample as they go; :func:`residual_importance` does so by
quasi-Monte Carlo on a grid of cells and returns the importance weights that keep the loss an estimate
of the uniform mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition
from sciml.data import sample_generator
from sciml.domain import METHODS, unit_samples
from sciml.problem import AbstractProblem

__all__ = ["Collocation", "grid_shape", "residual_adaptive", "residual_importance", "sample_cells", "select_conditions"]

#: term names that are not conditions: the residual at the interior points and the observations
RESERVED = ("pde", "data")


def select_conditions(problem: AbstractProblem, names: Sequence[str] | None, who: str) -> dict[str, AbstractCondition]:
    """The problem's conditions named in ``names`` (all for ``None``), in that order; raises naming ``who``."""
    available = problem.conditions()
    names = tuple(available) if names is None else tuple(names)
    if any(name not in available for name in names) or len(set(names)) != len(names):
        raise ValueError(f"{who}: conditions must be distinct names among {tuple(available)}, got {names}")
    clashes = [name for name in names if name in RESERVED]
    if clashes:
        raise ValueError(f"{who}: {RESERVED} name the residual and data terms; the problem's conditions {clashes} may not take them")
    return {name: available[name] for name in names}


class Collocation:
    """Point sets ``{"pde": (n_interior, D), name: (n, D) for each condition}`` for :func:`sciml.train.fit`.

    Parameters
    ----------
    problem
        Supplies the domain and the conditions.
    n_interior
        Interior (residual) points per set.
    n_condition
        Points per condition: one count for all, or ``{name: count}`` for each condition used.
    conditions
        Names of the problem's conditions that get points; ``None``: all of them. Leave out those a
        :class:`~sciml.pinn.HardConstraint` enforces.
    method
        ``"uniform"``, ``"lhs"`` (Latin hypercube) or ``"sobol"`` (:func:`sciml.domain.unit_samples`).
    steps_per_epoch
        Optimizer steps on each set: ``len(collocation)``.
    resample
        Draw a new set every epoch; ``False``: the set of epoch 0 throughout.
    seed
        With the epoch, seeds each set.
    dtype, device
        Of the points handed to the model.

    ``epoch(e)`` yields ``(points, 1)``: a global batch of one "sample", since a PINN objective
    returns each term as its mean over the points, shape ``(1,)``.
    """

    def __init__(
        self,
        problem: AbstractProblem,
        n_interior: int,
        n_condition: int | Mapping[str, int],
        *,
        conditions: Sequence[str] | None = None,
        method: str = "sobol",
        steps_per_epoch: int = 1,
        resample: bool = True,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        self.conditions = select_conditions(problem, conditions, "Collocation")
        names = tuple(self.conditions)
        counts = dict.fromkeys(names, n_condition) if isinstance(n_condition, int) else dict(n_condition)
        if set(counts) != set(names):
            raise ValueError(f"Collocation: n_condition must give a count for exactly the conditions {names}, got {sorted(counts)}")
        for name, n in {"n_interior": n_interior, **{f"n_condition[{k!r}]": v for k, v in counts.items()}}.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Collocation: {name} must be an integer >= 1, got {n!r}")
        if method not in METHODS:
            raise ValueError(f"Collocation: method must be one of {METHODS}, got {method!r}")
        if steps_per_epoch < 1:
            raise ValueError(f"Collocation: steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.problem, self.n_interior, self.counts = problem, n_interior, counts
        self.method, self.steps_per_epoch, self.resample, self.seed = method, steps_per_epoch, resample, seed
        self.dtype, self.device = dtype, device
        self._cache: tuple[int, dict[str, Tensor]] | None = None

    def __len__(self) -> int:
        return self.steps_per_epoch

    def points(self, epoch: int) -> dict[str, Tensor]:
        """The set of ``epoch`` (of epoch 0 without resampling): ``{"pde": (n_interior, D), name: (n, D)}``."""
        index = epoch if self.resample else 0
        if self._cache is None or self._cache[0] != index:
            generator = sample_generator(self.seed, index)
            drawn = {"pde": self.problem.domain.sample_interior(self.n_interior, generator, self.method)}
            for name, condition in self.conditions.items():
                drawn[name] = condition.sample(self.counts[name], generator, self.method)
            self._cache = index, {name: p.to(dtype=self.dtype, device=self.device) for name, p in drawn.items()}
        return self._cache[1]

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[dict[str, Tensor], int]]:
        """Steps ``start, .., steps_per_epoch - 1`` of ``epoch``: the epoch's points, and a global batch size of 1."""
        points = self.points(epoch)
        for _ in range(start, self.steps_per_epoch):
            yield points, 1


def residual_adaptive(problem: AbstractProblem, residual: Callable[[Tensor], Tensor], n: int, *, pool: int,
                      generator: torch.Generator, k: float = 1.0, c: float = 1.0,
                      dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    r"""``n`` interior points drawn where the residual is large: residual-based adaptive distribution (RAD).

    ``pool`` uniform candidates are drawn in the domain and ``n`` of them kept, without replacement, with
    probability proportional to :math:`|r|^k / \overline{|r|^k} + c` (Wu, Zhu, Tan, Kartha and Lu, CMAME 403,
    2023; ``k = 1, c = 1`` is their all-round choice: half the mass uniform, half on the residual).

    Parameters
    ----------
    problem
        Supplies the domain.
    residual
        ``points (pool, D) -> r (pool, C)`` at the current parameters, e.g.
        ``lambda p: objective.residual(model, p)``; its norm over the channels weighs each candidate.
    n, pool
        Points kept and candidates drawn (``n <= pool``; a pool many times ``n`` lets the density show).
    generator
        Draws the candidates and the choice.
    k, c
        The exponent and the uniform floor of the density (``k >= 0``, ``c >= 0``, not both zero).
    """
    if not 1 <= n <= pool:
        raise ValueError(f"residual_adaptive: need 1 <= n <= pool, got n={n}, pool={pool}")
    if not (k >= 0 and c >= 0 and (k > 0 or c > 0)):
        raise ValueError(f"residual_adaptive: need k >= 0 and c >= 0, not both zero, got k={k}, c={c}")
    candidates = problem.domain.sample_interior(pool, generator, "uniform").to(dtype=dtype, device=device)  # (pool, D)
    chosen = torch.multinomial(_rad_density(residual, candidates, k, c).cpu(), n, replacement=False, generator=generator)
    return candidates[chosen.to(candidates.device)]


def _rad_density(residual: Callable[[Tensor], Tensor], points: Tensor, k: float, c: float) -> Tensor:
    """RAD's unnormalized density at ``points`` ``(P, D)``: ``|r|^k / mean + c`` (ones where the residual vanishes), ``(P,)``."""
    with torch.enable_grad():
        size = residual(points).detach().reshape(len(points), -1).norm(dim=1) ** k
    return size / size.mean() + c if size.mean() > 0 else torch.ones_like(size)


def grid_shape(sides: Sequence[float], cells: int) -> tuple[int, ...]:
    """Cells per axis of a box with ``sides``, about ``cells`` in all, as nearly cubic as the sides allow (at least one per axis)."""
    if cells < 1 or any(not side > 0 for side in sides):
        raise ValueError(f"grid_shape: need cells >= 1 and positive sides, got cells={cells}, sides={tuple(sides)}")
    edge = (cells / math.prod(sides)) ** (1 / len(sides))
    return tuple(max(1, round(side * edge)) for side in sides)


def sample_cells(density: Tensor, unit: Tensor) -> tuple[Tensor, Tensor]:
    r"""Points of the unit cube distributed as the piecewise-constant ``density`` over its cells: the inverse Rosenblatt map.

    ``density`` ``(n_0, .., n_{D-1})``, non-negative with a positive sum, is the mass of each cell of the regular grid
    of the unit cube; ``unit`` ``(n, D)`` in :math:`[0, 1)^D` (uniform or quasi-random). Axis by axis, each coordinate
    is the inverse of the conditional distribution function given the cells already chosen, which is exactly
    piecewise linear: the map carries the uniform distribution to the density, keeps a low-discrepancy set's
    stratification, and sends no point to a cell of zero mass. Returns the points ``(n, D)`` and the flat index of
    each one's cell ``(n,)`` (row-major).
    """
    if density.ndim != unit.shape[1] or unit.ndim != 2:
        raise ValueError(f"sample_cells: unit (n, D) needs a density of D = {unit.shape[-1]} axes, got {tuple(density.shape)}")
    if (density < 0).any() or not density.sum() > 0:
        raise ValueError("sample_cells: density must be non-negative with a positive sum")
    shape, n = density.shape, unit.shape[0]
    prefix = torch.zeros(n, dtype=torch.long, device=density.device)  # flat index of the cells chosen so far
    coordinates = []
    for axis, cells in enumerate(shape):
        marginal = density.sum(dim=tuple(range(axis + 1, len(shape)))) if axis + 1 < len(shape) else density
        rows = marginal.reshape(-1, cells)[prefix]  # (n, cells): the mass along this axis given the earlier cells
        cumulative = torch.nn.functional.pad(rows.cumsum(dim=1), (1, 0))  # (n, cells + 1), from 0
        target = unit[:, axis].to(rows) * cumulative[:, -1]
        index = (torch.searchsorted(cumulative, target[:, None], right=True)[:, 0] - 1).clamp(0, cells - 1)
        fraction = ((target - cumulative.gather(1, index[:, None])[:, 0]) / rows.gather(1, index[:, None])[:, 0]).clamp(0, 1)
        coordinates.append((index + fraction) / cells)
        prefix = prefix * cells + index
    return torch.stack(coordinates, dim=1), prefix


def residual_importance(problem: AbstractProblem, residual: Callable[[Tensor], Tensor], n: int, *, cells: int,
                        generator: torch.Generator, k: float = 1.0, c: float = 1.0, dtype: torch.dtype = torch.float32,
                        device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    r"""``n`` interior points drawn where the residual is large, and the importance weights ``(n,)`` of the uniform mean.

    RAD's density :math:`q \propto |r|^k / \overline{|r|^k} + c` (:func:`residual_adaptive`), held constant on each of
    about ``cells`` cells of a regular grid of the domain (:func:`grid_shape`) at its value at the cell's centre,
    and sampled by quasi-Monte Carlo: an Owen-scrambled Sobol set carried through the grid's inverse Rosenblatt map
    (:func:`sample_cells`), so each point's density is known exactly. The weight of a point is
    :math:`\bar q / q`, bounded by :math:`(1 + c) / c`: :math:`\frac1n \sum_p w_p f(x_p)` estimates the uniform
    mean of :math:`f` over the domain, so a loss weighted so (``Residual.scaled(weights.sqrt())``) keeps the
    uniform mean square of the residual as its target while its points follow the residual; RAD's unweighted loss
    instead moves its minimizer each time the points are redrawn.

    Parameters
    ----------
    problem
        Supplies the domain.
    residual
        ``points (cells, D) -> r (cells, C)`` at the current parameters, evaluated at the cell centres.
    n
        Points drawn (a power of two balances the Sobol set best).
    cells
        About how many cells the grid has: the resolution of the density.
    generator
        Seeds the scrambling.
    k, c
        The exponent and the uniform floor of the density (``k >= 0``, ``c > 0``: the floor bounds the weights).
    """
    if n < 1 or cells < 1:
        raise ValueError(f"residual_importance: need n >= 1 and cells >= 1, got n={n}, cells={cells}")
    if not (k >= 0 and c > 0):
        raise ValueError(f"residual_importance: need k >= 0 and c > 0 (the floor bounds the weights), got k={k}, c={c}")
    low, high = problem.domain.bounds(dtype, device)
    shape = grid_shape((high - low).tolist(), cells)
    axes = [(torch.arange(m, dtype=dtype, device=device) + 0.5) / m for m in shape]
    centres = low + (high - low) * torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(shape))
    density = _rad_density(residual, centres, k, c)  # (cells,)
    unit, cell = sample_cells(density.reshape(shape), unit_samples(n, len(shape), generator, "sobol", dtype).to(device))
    return low + (high - low) * unit, density.mean() / density[cell]
