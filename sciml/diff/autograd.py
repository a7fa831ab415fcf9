"""Exact derivatives at collocation points by automatic differentiation (for PINNs)."""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.diff.base import AbstractDiff

__all__ = ["AutogradDiff"]


class AutogradDiff(AbstractDiff):
    r"""Derivatives of point values ``u = f(coords)`` by ``torch.autograd.grad`` with ``create_graph=True``.

    Parameters
    ----------
    coords
        Collocation points ``(P, D)`` with ``requires_grad=True``; every ``u`` handed to this
        differentiator must be computed from them row by row (row ``p`` of ``u`` depends only on row
        ``p`` of ``coords``, as for any pointwise network), so that
        :math:`\partial_{x} \sum_p u_p = (\partial u_p / \partial x_p)_p`.
    time
        ``True``: column 0 of ``coords`` is time and columns ``1..D-1`` are the space axes, the same
        order as a grid field with time as the leading axis. ``False``: all columns are space.

    Values are ``(P, C)``; each channel is differentiated separately. Second derivatives reuse the
    graph of the first, so losses built from them backpropagate to the network's parameters.
    """

    def __init__(self, coords: Tensor, time: bool = False):
        if coords.ndim != 2 or not coords.requires_grad:
            raise ValueError(f"AutogradDiff: coords must be (points, dims) with requires_grad=True, got shape "
                             f"{tuple(coords.shape)}, requires_grad={coords.requires_grad}")
        if coords.shape[1] <= int(time):
            raise ValueError(f"AutogradDiff: coords needs a space column besides time, got {coords.shape[1]} columns")
        self.coords, self.time = coords, time

    @property
    def dim(self) -> int:
        return self.coords.shape[1] - int(self.time)

    def derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        self._check_axis(axis, order)
        self._check(u)
        column = int(self.time) + axis
        for _ in range(order):
            u = self._partial(u, column)
        return u

    def coordinates(self, u: Tensor) -> Tensor:
        self._check(u)
        return self.coords[:, int(self.time) :]  # (P, dim)

    def dt(self, u: Tensor) -> Tensor:
        if not self.time:
            raise ValueError("AutogradDiff: dt needs time=True (column 0 of coords is time)")
        self._check(u)
        return self._partial(u, 0)

    def _check(self, u: Tensor) -> None:
        if u.ndim != 2 or u.shape[0] != self.coords.shape[0]:
            raise ValueError(f"AutogradDiff: u must be (P, C) with P = {self.coords.shape[0]}, got {tuple(u.shape)}")
        if not u.requires_grad:
            raise ValueError("AutogradDiff: u has no autograd graph; compute it from the coords given to the constructor")

    def _partial(self, u: Tensor, column: int) -> Tensor:
        """``d u / d coords[:, column]``, ``(P, C) -> (P, C)``."""
        if not u.requires_grad:
            # only reached for a first derivative that is constant in coords (u was linear in them)
            return torch.zeros_like(u)
        columns = []
        for c in range(u.shape[1]):
            (g,) = torch.autograd.grad(u[:, c].sum(), self.coords, create_graph=True, materialize_grads=True)
            columns.append(g[:, column])
        return torch.stack(columns, dim=1)  # (P, C)
