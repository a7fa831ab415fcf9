r"""Operator-preconditioned gradient descent (De Ryck, Bonnet, Mishra, Kovachki, ICLR 2024).

For a model linear in its parameters, :math:`u_\theta = \sum_k \theta_k \varphi_k`, a PINN loss is a
quadratic :math:`L(\theta) = \frac12 \theta^\top A \theta - b^\top\theta + c`: gradient descent converges at the
rate :math:`1 - 1/\kappa(A)`, and :math:`A` inherits the conditioning of the differential operator (for the
Laplacian on :math:`K` Fourier modes per axis, :math:`\kappa(A) \sim K^4`). Preconditioned descent

.. math:: \theta \leftarrow \theta - \eta\, P P^\top \nabla L(\theta)

is gradient descent on :math:`\tilde\theta = P^{-1}\theta`, with Hessian :math:`P^\top A P`: a :math:`P` from the
operator's symbol (:func:`operator_preconditioner`) makes it close to the identity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from sciml.optim.terms import Closure, check_names, check_weights, detached, evaluate, flat_grad, flat_params, weighted_sum

__all__ = ["PreconditionedGD", "condition_number", "operator_preconditioner"]


def operator_preconditioner(symbol: Tensor, boundary_weight: float = 1.0) -> Tensor:
    r"""The diagonal :math:`P_{kk} = (\sigma_k^2 + \lambda)^{-1/2}` from the symbol :math:`\sigma_k` of the operator on each basis function.

    For :math:`-\Delta` on Fourier modes, :math:`\sigma_k = |k|^2` (times :math:`\pi^2/L^2`), so the interior part of
    :math:`A`, about :math:`\mathrm{diag}(\sigma_k^2)`, is scaled to about the identity; the boundary weight
    :math:`\lambda` balances the boundary term, which alone controls the modes the operator does not see
    (the constant for the Laplacian).
    """
    if not (math.isfinite(boundary_weight) and boundary_weight > 0):
        raise ValueError(f"operator_preconditioner: boundary_weight must be positive, got {boundary_weight}")
    return (symbol.square() + boundary_weight).rsqrt()


def condition_number(matrix: Tensor) -> float:
    """The spectral condition number of a symmetric positive definite matrix, from its eigenvalues (float64)."""
    eigenvalues = torch.linalg.eigvalsh(matrix.double())
    if eigenvalues[0] <= 0:
        return math.inf
    return (eigenvalues[-1] / eigenvalues[0]).item()


class PreconditionedGD(torch.optim.Optimizer):
    r"""Gradient descent :math:`\theta \leftarrow \theta - \eta P P^\top \nabla L` on the weighted sum of named terms.

    Parameters
    ----------
    params
        Parameters; one real dtype and device (the gradient is a flat vector of length :math:`N`).
    terms, weights
        The closure's term names and their weights in :math:`L = \sum_k w_k L_k`.
    preconditioner
        :math:`P`: a diagonal ``(N,)`` or a matrix ``(N, N)``, in the flattened order of ``params``.
    lr
        :math:`\eta`; stable below :math:`2 / \lambda_{\max}(P^\top \nabla^2 L\, P)`.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], terms: Sequence[str], *,
                 preconditioner: Tensor, weights: Mapping[str, float] | None = None, lr: float = 1e-3):
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"PreconditionedGD: lr must be positive and finite, got {lr}")
        self.terms = check_names(terms, "PreconditionedGD")
        self.weights = check_weights(weights, self.terms, "PreconditionedGD")
        super().__init__(params, {"lr": lr})
        n = sum(p.numel() for p in flat_params(self.param_groups, "PreconditionedGD"))
        if preconditioner.shape not in ((n,), (n, n)):
            raise ValueError(f"PreconditionedGD: preconditioner must be (N,) or (N, N) with N = {n}, got {tuple(preconditioner.shape)}")
        self.preconditioner = preconditioner

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """One preconditioned step; returns the terms as evaluated before it."""
        params = flat_params(self.param_groups, "PreconditionedGD")
        with torch.enable_grad():
            terms = evaluate(closure, self.terms, "PreconditionedGD")
            grad = flat_grad(weighted_sum(terms, self.weights), params, retain_graph=False)  # (N,)
        p = self.preconditioner.to(grad)
        update = p * p * grad if p.ndim == 1 else p @ (p.T @ grad)  # P P^T grad
        offset, lr = 0, self.param_groups[0]["lr"]
        with torch.no_grad():
            for param in params:
                param -= lr * update[offset : offset + param.numel()].view_as(param)
                offset += param.numel()
        return detached(terms)
