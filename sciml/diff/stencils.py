"""Central and one-sided finite-difference stencils of orders 2 and 4 on uniform axes."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["fd_derivative", "fd_weights"]


@functools.lru_cache(maxsize=None)
def fd_weights(offsets: tuple[int, ...], deriv: int) -> tuple[float, ...]:
    r"""Weights :math:`w_k` with :math:`\sum_k w_k f(x + s_k h) = h^m f^{(m)}(x) + O(h^{K})`, ``K = len(offsets)``.

    They solve the moment (Vandermonde) system :math:`\sum_k w_k s_k^q / q! = \delta_{qm}`,
    ``q = 0..K-1``, i.e. they differentiate exactly the polynomial interpolant through the ``K``
    offsets ``s_k`` (in units of the spacing ``h``); ``m = deriv``.
    """
    if deriv >= len(offsets):
        raise ValueError(f"fd_weights: {len(offsets)} offsets cannot give a derivative of order {deriv}")
    s = np.asarray(offsets, dtype=np.float64)
    q = np.arange(len(offsets))
    moments = s[None, :] ** q[:, None] / np.array([math.factorial(i) for i in q], dtype=np.float64)[:, None]
    rhs = (q == deriv).astype(np.float64)
    return tuple(float(w) for w in np.linalg.solve(moments, rhs))


def fd_derivative(u: Tensor, dim: int, spacing: float, deriv: int, order: int, periodic: bool) -> Tensor:
    r"""The ``deriv``-th derivative of ``u`` along tensor dimension ``dim`` to accuracy :math:`O(h^{order})`.

    Interior points use the central stencil on ``order + 1`` points (half width ``order / 2``; e.g.
    :math:`(-1, 8, 0, -8, 1) / 12h` for the first derivative at order 4). Periodic axes wrap around.
    Nodal axes (both ends are grid points) use, for the ``order / 2`` rows at each end, the one-sided
    or shifted stencil on the ``order + deriv`` nearest points, which keeps the same order.

    Parameters
    ----------
    u
        Real field, any shape; ``u.shape[dim]`` points spaced ``spacing`` apart.
    deriv
        1 or 2.
    order
        2 or 4.
    periodic
        Whether the axis wraps around.

    Returns
    -------
    Tensor
        Same shape as ``u``; differentiable in ``u``.
    """
    if deriv not in (1, 2):
        raise ValueError(f"fd_derivative: deriv must be 1 or 2, got {deriv}")
    if order not in (2, 4):
        raise ValueError(f"fd_derivative: order must be 2 or 4, got {order}")
    n, half = u.shape[dim], order // 2
    scale = spacing**-deriv
    central = tuple(range(-half, half + 1))
    weights = fd_weights(central, deriv)
    if periodic:
        if n < len(central):
            raise ValueError(f"fd_derivative: a periodic axis of order {order} needs >= {len(central)} points, got {n}")
        return scale * sum(w * torch.roll(u, -s, dim) for s, w in zip(central, weights) if w != 0)
    width = order + deriv
    if n < width:
        raise ValueError(f"fd_derivative: a nodal axis at order {order} needs >= {width} points for d^{deriv}, got {n}")
    interior = sum(w * u.narrow(dim, half + s, n - 2 * half) for s, w in zip(central, weights) if w != 0)
    # boundary row j uses the window of the first (last) `width` points; offsets are relative to row j
    left = torch.tensor(
        [fd_weights(tuple(i - j for i in range(width)), deriv) for j in range(half)], dtype=u.dtype, device=u.device
    )  # (half, width)
    right = left.flip(0, 1) * (-1) ** deriv  # mirror image: x -> -x flips odd derivatives
    u_last = u.movedim(dim, -1)  # (..., n)
    ends_left = u_last[..., :width] @ left.T  # (..., half)
    ends_right = u_last[..., n - width :] @ right.T  # (..., half)
    return scale * torch.cat([ends_left.movedim(-1, dim), interior, ends_right.movedim(-1, dim)], dim=dim)
