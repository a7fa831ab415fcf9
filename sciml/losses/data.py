r"""Relative data losses per sample, as the FNO paper and neuraloperator define them.

Both return one value per sample, ``(B,)``; training and the reported errors take their mean over
the batch (the FNO paper's "relative L2 error"). Norms run over every channel and grid point of a
sample, so a trajectory stored as frames on the channels is measured as a whole.
"""

from __future__ import annotations

from torch import Tensor

from sciml.diff import AbstractGridDiff

__all__ = ["relative_h1", "relative_lp"]


def _check(pred: Tensor, target: Tensor, name: str) -> None:
    if pred.shape != target.shape or pred.ndim < 2:
        raise ValueError(f"{name}: pred and target must have the same shape (B, C, *S), got {tuple(pred.shape)} and {tuple(target.shape)}")


def relative_lp(pred: Tensor, target: Tensor, p: float = 2.0, eps: float = 1e-8) -> Tensor:
    r"""Per-sample relative :math:`L^p` error :math:`\|u - v\|_p / (\|v\|_p + \varepsilon)`, ``(B, ...) -> (B,)``.

    On a uniform grid the quadrature weights cancel in the ratio, so this is the ratio of vector
    norms (neuraloperator's ``LpLoss.rel``; the FNO paper's ``LpLoss.rel`` without the batch sum).
    """
    _check(pred, target, "relative_lp")
    diff = (pred - target).flatten(1).norm(p=p, dim=1)  # (B,)
    return diff / (target.flatten(1).norm(p=p, dim=1) + eps)


def relative_h1(pred: Tensor, target: Tensor, d: AbstractGridDiff, eps: float = 1e-8) -> Tensor:
    r"""Per-sample relative :math:`H^1` error, ``(B, C, *S) -> (B,)``.

    .. math:: \frac{\big(\|e\|^2 + \sum_i \|\partial_i e\|^2\big)^{1/2}}{\big(\|v\|^2 + \sum_i \|\partial_i v\|^2\big)^{1/2} + \varepsilon},
              \qquad e = u - v,

    with the derivatives from the grid differentiator ``d`` (neuraloperator's ``H1Loss`` uses second-order
    central differences, i.e. ``FiniteDiff(grid, order=2)``, periodic or not as the grid is).
    """
    _check(pred, target, "relative_h1")
    error = pred - target

    def squared(u: Tensor) -> Tensor:  # (B,): |u|^2 + sum_i |d_i u|^2 over channels and points
        total = u.square().flatten(1).sum(dim=1)
        for axis in range(d.dim):
            total = total + d.dx(u, axis).square().flatten(1).sum(dim=1)
        return total

    return squared(error).sqrt() / (squared(target).sqrt() + eps)
