"""The differentiator interface: one set of operators, so that a PDE residual is written once."""

from __future__ import annotations

import abc

import torch
from torch import Tensor

__all__ = ["AbstractDiff"]


class AbstractDiff(abc.ABC):
    r"""Derivatives of fields, the same operators whatever the backend.

    Layouts (channels sit on tensor dimension 1 in both, so ``u[:, :1]`` picks a channel everywhere):

    - grid backends (:class:`~sciml.diff.SpectralDiff`, :class:`~sciml.diff.FiniteDiff`): fields
      ``(B, C, *S)``, or ``(B, C, T, *S)`` with time as the leading axis when the differentiator was
      built with a time grid;
    - autograd backend (:class:`~sciml.diff.AutogradDiff`): values ``(P, C)`` at collocation points.

    ``axis`` always counts **space** axes: ``axis = i`` is the ``i``-th axis of the space grid (the
    ``i``-th space coordinate of the points); time is reached only through :meth:`dt`.
    Every operator is differentiable, so residuals built from them can be trained on.
    """

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of space axes."""

    @abc.abstractmethod
    def derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        r""":math:`\partial^{order} u / \partial x_{axis}^{order}` for ``order`` in ``(1, 2)``, same shape as ``u``."""

    @abc.abstractmethod
    def coordinates(self, u: Tensor) -> Tensor:
        """The space coordinates where ``u``'s values live, in ``u``'s layout with ``dim`` channels.

        Grid backends: the grid's coordinates (starting at 0, :meth:`sciml.spectral.Grid.coords`),
        shape ``(1, dim, *S)`` or ``(1, dim, 1, *S)`` with a time axis, dtype and device of ``u``.
        Autograd: the space columns of the collocation points, ``(P, dim)``, with their graph, so that
        a residual may differentiate products with ``x``. Lets a residual use a space-dependent
        forcing or coefficient, written once for every backend.
        """

    @abc.abstractmethod
    def dt(self, u: Tensor) -> Tensor:
        r""":math:`\partial u / \partial t`, same shape as ``u``; raises if the differentiator has no time axis."""

    def dx(self, u: Tensor, axis: int = 0) -> Tensor:
        r""":math:`\partial u / \partial x_{axis}`, same shape as ``u``."""
        return self.derivative(u, axis, 1)

    def dxx(self, u: Tensor, axis: int = 0) -> Tensor:
        r""":math:`\partial^2 u / \partial x_{axis}^2`, same shape as ``u``."""
        return self.derivative(u, axis, 2)

    def grad(self, u: Tensor) -> Tensor:
        r"""Spatial gradient of a scalar field: ``(B, 1, ...) -> (B, dim, ...)`` (``(P, 1) -> (P, dim)``)."""
        if u.ndim < 2 or u.shape[1] != 1:
            raise ValueError(f"grad: u must have exactly one channel on dimension 1, got shape {tuple(u.shape)}")
        return torch.cat([self.dx(u, i) for i in range(self.dim)], dim=1)

    def div(self, v: Tensor) -> Tensor:
        r"""Divergence :math:`\sum_i \partial_i v_i` of a vector field with ``dim`` channels: ``(B, dim, ...) -> (B, 1, ...)``."""
        if v.ndim < 2 or v.shape[1] != self.dim:
            raise ValueError(f"div: v must have {self.dim} channels on dimension 1, got shape {tuple(v.shape)}")
        return sum(self.dx(v[:, i : i + 1], i) for i in range(self.dim))

    def laplacian(self, u: Tensor) -> Tensor:
        r""":math:`\Delta u = \sum_i \partial_i^2 u`, channel by channel, same shape as ``u``."""
        return sum(self.dxx(u, i) for i in range(self.dim))

    def _check_axis(self, axis: int, order: int) -> None:
        if not 0 <= axis < self.dim:
            raise ValueError(f"{type(self).__name__}: axis must be a space axis in [0, {self.dim}), got {axis}")
        if order not in (1, 2):
            raise ValueError(f"{type(self).__name__}: derivative order must be 1 or 2, got {order}")

