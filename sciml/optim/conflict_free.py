r"""The ConFIG direction: one update with the same positive cosine to every loss gradient.

Liu, Chu and Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed Neural Networks",
ICLR 2025 (arXiv:2408.11104); reference implementation ``conflictfree`` (github.com/tum-pbs/ConFIG).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["conflict_free"]


def conflict_free(grads: Tensor, *, ridge: float | None = None) -> Tensor:
    r"""The conflict-free update of ``m`` loss gradients (ConFIG with equal direction weights).

    With unit gradients :math:`u_i = g_i / |g_i|` stacked as the rows of :math:`U \in R^{m \times N}`,
    the direction :math:`x` is the minimum-norm solution of

    .. math:: U x = 1_m, \qquad x = U^+ 1_m = U^T (U U^T)^{-1} 1_m,

    so every gradient has the same cosine :math:`1/|x| > 0` with it, and the length is the sum of the
    gradients' projections on it (the paper's projection-length rule):

    .. math:: g_c = \Big(\sum_i g_i^T \hat x\Big) \hat x, \qquad \hat x = x / |x|.

    The ``m x m`` Gram system :math:`(U U^T + \lambda I) w = 1_m`, :math:`x = U^T w`, is solved with a
    tiny ridge :math:`\lambda`, so that parallel gradients (a singular Gram matrix) need no
    rank-revealing least-squares driver; ``torch.linalg.solve`` runs on any device. The Gram matrix
    squares the condition number of :math:`U`, and conflicting gradients make it ill-conditioned
    (random conflicting gradients in a few dimensions already reach 1e5), so it is formed and solved in
    float64 whatever the gradients' dtype: in float32 the equal cosines would be lost. That costs an
    ``(m, N)`` float64 copy of the gradients.

    For ``m = 2`` the direction is the bisector and the rule has a closed form, used here because it
    stays accurate at every angle: with :math:`\cos\theta = u_1^T u_2`,

    .. math:: g_c = \frac{|g_1| + |g_2|}{2} (u_1 + u_2), \qquad
              |g_c| = (|g_1| + |g_2|) \cos(\theta / 2).

    The length shrinks as the two gradients turn against each other; for exactly opposed gradients
    no direction has a positive cosine with both, the least-squares solution is :math:`x = 0`, and
    the update is the zero vector (the reference's two-gradient form gives zero as well).

    For ``m >= 3``, a set with no solution of :math:`U x = 1_m` at all (an exactly opposed pair among
    them, say) is outside this rule: the ridge solution along the inconsistent direction is rounding
    error divided by :math:`\lambda`, and the update means nothing. Nearly opposed gradients are
    solved to the accuracy of the float64 Gram matrix.

    A zero gradient has no direction: its row of :math:`U` is zero, it drops out of the solve and the
    length, and the others are combined as if it were absent.

    Parameters
    ----------
    grads
        ``(m, N)``: the gradient of each loss term, flattened over all parameters; float32 or float64.
    ridge
        :math:`\lambda`, added to the unit-diagonal Gram matrix when ``m != 2``. Default
        ``10 m eps(float64)``, about the rounding error of the float64 Gram matrix: enough to make an
        exactly singular one (duplicate gradients) invertible, while it moves the cosines by a
        relative :math:`\lambda |w|_\infty` only.

    Returns
    -------
    Tensor
        ``(N,)``, the update :math:`g_c`, to be used as a gradient (descend along it).
    """
    if not isinstance(grads, Tensor) or grads.ndim != 2 or grads.shape[0] < 1 or grads.shape[1] < 1:
        shape = tuple(grads.shape) if isinstance(grads, Tensor) else type(grads).__name__
        raise ValueError(f"conflict_free: grads must be a tensor of shape (m, N) with m, N >= 1, got {shape}")
    if grads.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"conflict_free: grads must be float32 or float64, got {grads.dtype}")
    if ridge is not None and not ridge >= 0:
        raise ValueError(f"conflict_free: ridge must be >= 0, got {ridge}")
    if grads.shape[0] == 2:
        norms = torch.linalg.vector_norm(grads, dim=1)  # (2,)
        units = grads / torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]  # (2, N); zero rows stay zero
        nonzero = (norms > 0).sum().clamp_min(1)  # one zero gradient: g_c is the other one
        return units.sum(dim=0) * (norms.sum() / nonzero)
    return _gram_solve(grads, ridge)


def _gram_solve(grads: Tensor, ridge: float | None) -> Tensor:
    """The general rule for any ``m``: ``(U U^T + ridge I) w = 1``, ``x = U^T w``, projection length."""
    m = grads.shape[0]
    if ridge is None:
        ridge = 10 * m * torch.finfo(torch.float64).eps
    wide = grads.double()  # (m, N): the system in float64 whatever the gradients' dtype (see above)
    norms = torch.linalg.vector_norm(wide, dim=1)  # (m,)
    units = wide / torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]  # (m, N); zero rows stay zero
    gram = units @ units.T  # (m, m)
    eye = torch.eye(m, dtype=torch.float64, device=grads.device)
    w = torch.linalg.solve(gram + ridge * eye, torch.ones(m, dtype=torch.float64, device=grads.device))  # (m,)
    x = w @ units  # (N,)
    xx = x @ x
    projections = norms @ (units @ x)  # sum_i g_i . x = |x| sum_i g_i . x_hat
    return (x * (projections / torch.where(xx > 0, xx, torch.ones_like(xx)))).to(grads.dtype)
