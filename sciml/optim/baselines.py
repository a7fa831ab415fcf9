r"""Adam and L-BFGS over named loss terms: the single-objective baselines.

Both minimise the weighted sum :math:`L = \sum_k w_k L_k` of the terms the closure returns (weights
default to 1) with torch's own implementation; they differ from ``torch.optim.Adam`` / ``LBFGS``
only in taking the named-terms closure and back-propagating it themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from sciml.optim.terms import (
    Closure,
    check_names,
    check_weights,
    detached,
    evaluate,
    weighted_sum,
)

__all__ = ["LBFGS", "Adam"]


class Adam(torch.optim.Adam):
    """``torch.optim.Adam`` on the weighted sum of named loss terms.

    Parameters
    ----------
    params
        Parameters or parameter groups.
    terms
        Names of the loss terms the closure returns.
    weights
        Per-term weights :math:`w_k`; names left out weigh 1.
    lr, betas, eps, weight_decay, amsgrad
        As in ``torch.optim.Adam``.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        self.terms = check_names(terms, "Adam")
        self.weights = check_weights(weights, self.terms, "Adam")
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()  # torch's keeps only defaults, state and param_groups, not terms and weights

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Evaluate the terms, back-propagate their weighted sum, take an Adam step; return the terms."""
        with torch.enable_grad():
            terms = evaluate(closure, self.terms, "Adam")
            self.zero_grad()
            weighted_sum(terms, self.weights).backward()
        super().step()
        return detached(terms)


class LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` on the weighted sum of named loss terms.

    One ``step`` runs up to ``max_iter`` L-BFGS iterations and calls the closure as often as they
    (and the line search) need; it returns the terms of the first evaluation.

    Parameters
    ----------
    params
        Parameters (torch's L-BFGS takes a single parameter group).
    terms
        Names of the loss terms the closure returns.
    weights
        Per-term weights :math:`w_k`; names left out weigh 1.
    lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn
        As in ``torch.optim.LBFGS``; ``line_search_fn="strong_wolfe"`` is the usual choice for PINNs.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        self.terms = check_names(terms, "LBFGS")
        self.weights = check_weights(weights, self.terms, "LBFGS")
        super().__init__(
            params,
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()  # torch's keeps only defaults, state and param_groups, not terms and weights

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Run L-BFGS iterations on the weighted sum; return the terms as first evaluated."""
        first: dict[str, Tensor] = {}

        def total() -> Tensor:
            terms = evaluate(closure, self.terms, "LBFGS")
            if not first:
                first.update(detached(terms))
            self.zero_grad()
            loss = weighted_sum(terms, self.weights)
            loss.backward()
            return loss

        super().step(total)
        return first
