"""ConFIG as a torch optimizer over named loss terms (Liu, Chu, Thuerey, ICLR 2025)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from sciml.optim.conflict_free import conflict_free
from sciml.optim.inner import AbstractInnerUpdate
from sciml.optim.terms import Closure, detached, evaluate, flat_grad

__all__ = ["ConFIG"]


class ConFIG(AbstractInnerUpdate):
    r"""Conflict-free updates: one gradient per term, combined by :func:`conflict_free`.

    Every step back-propagates each of the ``m`` terms separately,
    :math:`g_k = \nabla_\theta L_k`, combines them into the update :math:`g_c` that has the same
    positive cosine with every :math:`g_k` (so no term's loss increases to first order), and hands
    :math:`g_c` to the inner optimizer as the gradient. The paper's code uses Adam as the inner
    optimizer, which is the default here.

    Parameters
    ----------
    params
        Parameters or parameter groups; one real dtype and device (the gradients are flattened).
    terms
        Names of the loss terms the closure returns, e.g. ``("pde", "bc", "ic")``.
    lr
        Learning rate of the inner optimizer.
    inner
        The torch optimizer class that applies :math:`g_c`; default ``torch.optim.Adam``.
    inner_kwargs
        Its other keyword arguments.
    ridge
        Passed to :func:`conflict_free`.
    grad_clip
        The largest L2 norm :math:`c` of :math:`g_c`: the inner optimizer gets
        :math:`g_c \min(1, c / (|g_c| + 10^{-6}))`, as ``torch.nn.utils.clip_grad_norm_`` scales;
        ``None`` does not clip. Scaling keeps the direction, so every term still decreases to first order.

    Notes
    -----
    ``step(closure)`` costs one forward and ``m`` backward passes. ``state_dict()`` is the inner
    optimizer's; ConFIG itself keeps no state.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        lr: float = 1e-3,
        inner: type[Optimizer] = torch.optim.Adam,
        inner_kwargs: Mapping[str, Any] | None = None,
        ridge: float | None = None,
        grad_clip: float | None = None,
    ):
        super().__init__(params, terms, inner=inner, lr=lr, inner_kwargs=inner_kwargs, grad_clip=grad_clip)
        if ridge is not None and not ridge >= 0:
            raise ValueError(f"ConFIG: ridge must be >= 0, got {ridge}")
        self.ridge = ridge

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Evaluate the terms, take one gradient per term, combine them, step; return the terms."""
        params = self._params()
        with torch.enable_grad():
            terms = evaluate(closure, self.terms, "ConFIG")
            last = len(self.terms) - 1
            grads = torch.stack(
                [flat_grad(terms[name], params, retain_graph=k < last) for k, name in enumerate(self.terms)]
            )  # (m, N)
        self._apply(params, conflict_free(grads, ridge=self.ridge))
        return detached(terms)
