r"""Boundary and initial conditions: where each holds and its pointwise residual.

A condition is the second half of a PDE problem next to its residual: a problem's
:meth:`~sciml.problem.AbstractProblem.conditions` returns them by name (``{"bc": ..., "ic": ...}``),
so that a PINN loss is a set of named terms, one per condition plus ``"pde"``. Each condition samples
its own points (:meth:`AbstractCondition.sample`, rows ``(P, D)`` of the domain's column order) and
evaluates a solution there: ``residual(u, points)`` takes the solution as a function ``u(points) ->
(P, C)`` (a network, or an exact solution), because some conditions compare values at two places
(periodicity) or need derivatives.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import torch
from torch import Tensor

from sciml.diff import AutogradDiff
from sciml.domain import Domain

__all__ = ["AbstractCondition", "AbstractFaceCondition", "Dirichlet", "Initial", "Neumann", "Periodic"]

#: a solution as a function of points: ``(P, D) -> (P, C)``
Field = Callable[[Tensor], Tensor]


class AbstractCondition(abc.ABC):
    """A condition on part of a domain's boundary or on its initial slice.

    Parameters
    ----------
    domain
        The problem's domain; points are its rows ``(P, D)``.
    """

    def __init__(self, domain: Domain):
        if not isinstance(domain, Domain):
            raise TypeError(f"{type(self).__name__}: domain must be a sciml.domain.Domain, got {type(domain).__name__}")
        self.domain = domain

    @abc.abstractmethod
    def sample(self, n: int, generator: torch.Generator, method: str = "uniform",
               dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` points ``(n, D)`` where the condition is enforced (see :func:`sciml.domain.unit_samples` for ``method``)."""

    @abc.abstractmethod
    def residual(self, u: Field, points: Tensor) -> Tensor:
        """The pointwise residual ``(P, C')`` of the solution ``u`` at ``points`` ``(P, D)``; zero where ``u`` satisfies it."""

    def _check(self, points: Tensor) -> None:
        if points.ndim != 2 or points.shape[1] != self.domain.columns:
            raise ValueError(f"{type(self).__name__}: points must be (P, {self.domain.columns}), got {tuple(points.shape)}")


def _values(value: Field | float, points: Tensor, like: Tensor) -> Tensor:
    """``value(points)``, or a constant broadcast like ``like``."""
    return value(points) if callable(value) else torch.full_like(like, float(value))


class AbstractFaceCondition(AbstractCondition):
    """A condition on the faces of some space axes, with data ``value`` (a number or a function of points)."""

    def __init__(self, domain: Domain, value: Field | float = 0.0, axes: tuple[int, ...] | None = None):
        super().__init__(domain)
        self.value, self.axes = value, tuple(range(domain.dim)) if axes is None else tuple(axes)

    def sample(self, n, generator, method="uniform", dtype=torch.float64):
        return self.domain.sample_boundary(n, generator, method, axes=self.axes, dtype=dtype)


class Dirichlet(AbstractFaceCondition):
    r""":math:`u = g` on the faces of space axes ``axes``: residual :math:`u - g`.

    Parameters
    ----------
    domain
        The problem's domain.
    value
        :math:`g`, a number or a function of points ``(P, D) -> (P, C)``.
    axes
        The space axes whose two faces carry the condition; ``None``: all.
    """

    def residual(self, u, points):
        self._check(points)
        values = u(points)
        return values - _values(self.value, points, values)


class Neumann(AbstractFaceCondition):
    r""":math:`\partial u / \partial n = g` on the faces of space axes ``axes`` (outward normal): residual :math:`\partial_n u - g`.

    On the face :math:`x_i = a_i` the outward derivative is :math:`-\partial_i u`, on :math:`x_i = b_i` it is
    :math:`+\partial_i u` (computed by autograd through ``u``). A point belongs to the first face of ``axes``
    it lies on.

    Parameters
    ----------
    domain
        The problem's domain.
    value
        :math:`g`, a number or a function of points ``(P, D) -> (P, C)``.
    axes
        The space axes whose two faces carry the condition; ``None``: all.
    """

    def residual(self, u, points):
        self._check(points)
        low, high = self.domain.bounds(points.dtype, points.device)
        offset = self.domain.columns - self.domain.dim
        # (P, 2 n_axes): +-1 where a point lies on the high / low face of an axis
        signs = torch.cat([torch.stack([-(points[:, offset + i] == low[offset + i]).to(points.dtype),
                                        (points[:, offset + i] == high[offset + i]).to(points.dtype)], dim=1)
                           for i in self.axes], dim=1)
        if not bool((signs != 0).any(dim=1).all()):
            raise ValueError(f"Neumann: every point must lie on a face of axes {self.axes}")
        first = signs * ((signs != 0).cumsum(dim=1) == 1)  # (P, 2 n_axes): each point's first face, with its sign
        here = points.detach().requires_grad_(True)
        values = u(here)
        d = AutogradDiff(here, time=self.domain.time is not None)
        normal = sum((first[:, 2 * k : 2 * k + 2].sum(dim=1, keepdim=True)) * d.dx(values, i) for k, i in enumerate(self.axes))
        return normal - _values(self.value, points, values)


class Initial(AbstractCondition):
    r""":math:`u(t_0, x) = u_0(x)` on the initial slice: residual :math:`u - u_0`.

    Parameters
    ----------
    domain
        A domain with a time interval.
    value
        :math:`u_0` as a function of points ``(P, 1 + d) -> (P, C)`` (it sees ``t = t_0`` in column 0).
    """

    def __init__(self, domain: Domain, value: Field):
        super().__init__(domain)
        if domain.time is None:
            raise ValueError("Initial: the domain has no time interval")
        if not callable(value):
            raise TypeError(f"Initial: value must be a function of points, got {type(value).__name__}")
        self.value = value

    def sample(self, n, generator, method="uniform", dtype=torch.float64):
        return self.domain.sample_initial(n, generator, method, dtype=dtype)

    def residual(self, u, points):
        self._check(points)
        return u(points) - self.value(points)


class Periodic(AbstractCondition):
    r"""Periodicity along space axes ``axes``: :math:`u` and :math:`\partial_{x_i} u` agree on opposite faces.

    Points are sampled on the low faces :math:`x_i = a_i`; the residual compares them with their
    images :math:`x_i = b_i`:

    .. math:: r = \big(u(x) - u(x + L_i e_i),\; \partial_i u(x) - \partial_i u(x + L_i e_i)\big),

    ``(P, 2C)``, the value jumps first (only ``(P, C)`` with ``derivative=False``). For a second-order
    PDE both are needed: matching values alone admits a kink at the seam. A point belongs to the
    first axis in ``axes`` on whose low face it lies (any, where the condition holds on every face).

    Parameters
    ----------
    domain
        The problem's domain.
    axes
        The periodic space axes; ``None``: all.
    derivative
        Also match the first derivative along the axis (computed by autograd through ``u``).
    """

    def __init__(self, domain: Domain, axes: tuple[int, ...] | None = None, derivative: bool = True):
        super().__init__(domain)
        self.axes = tuple(range(domain.dim)) if axes is None else tuple(axes)
        self.derivative = derivative

    def sample(self, n, generator, method="uniform", dtype=torch.float64):
        return self.domain.sample_boundary(n, generator, method, axes=self.axes, sides=(0,), dtype=dtype)

    def residual(self, u, points):
        self._check(points)
        low, high = self.domain.bounds(points.dtype, points.device)
        offset, has_time = self.domain.columns - self.domain.dim, self.domain.time is not None
        on_face = torch.stack([points[:, offset + i] == low[offset + i] for i in self.axes], dim=1)  # (P, n_axes)
        if not bool(on_face.any(dim=1).all()):
            raise ValueError(f"Periodic: every point must lie on a low face x_i = a_i of axes {self.axes}")
        first = (on_face & (on_face.cumsum(dim=1) == 1)).to(points.dtype)  # (P, n_axes): each point's first low face
        shift = torch.zeros_like(points)
        for k, i in enumerate(self.axes):
            shift[:, offset + i] = first[:, k] * (high - low)[offset + i]
        here, there = points.detach().requires_grad_(self.derivative), (points + shift).detach().requires_grad_(self.derivative)
        u_here, u_there = u(here), u(there)
        jumps = [u_here - u_there]
        if self.derivative:
            d_here, d_there = AutogradDiff(here, time=has_time), AutogradDiff(there, time=has_time)
            jumps.append(sum(first[:, k : k + 1] * (d_here.dx(u_here, i) - d_there.dx(u_there, i)) for k, i in enumerate(self.axes)))
        return torch.cat(jumps, dim=1)
