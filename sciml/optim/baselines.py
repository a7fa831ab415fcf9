r"""Adam, AdamW, SGD and L-BFGS over named loss terms: the single-objective baselines.

Each minimises the weighted sum :math:`L = \sum_k w_k L_k` of the terms the closure returns (weights
default to 1) with torch's own implementation; they differ from ``torch.optim.Adam`` / ``AdamW`` /
``SGD`` / ``LBFGS`` only in taking the named-terms closure and back-propagating it themselves, and
(all but L-BFGS) in an optional ``grad_clip``. What they share is :class:`AbstractWeightedSum`.
Adam and AdamW also take ``complex_pairs``: complex weights stored as real ``(re, im)`` pairs that
keep one second moment each (:class:`~sciml.optim.complex_moments.AbstractComplexMoments`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from sciml.optim.clip import check_grad_clip, clip_norm_
from sciml.optim.complex_moments import AbstractComplexMoments
from sciml.optim.terms import (
    Closure,
    check_names,
    check_weights,
    detached,
    evaluate,
    weighted_sum,
)

__all__ = ["LBFGS", "SGD", "AbstractWeightedSum", "Adam", "AdamW"]


class AbstractWeightedSum(Optimizer):
    r"""A torch optimizer run on the weighted sum of named loss terms; combine with its class.

    A concrete baseline lists this class first and the torch optimizer second, e.g.
    ``class Adam(AbstractWeightedSum, torch.optim.Adam)``, and passes its keyword arguments on. Its
    ``step(closure)`` hands torch's ``step`` a closure that evaluates the named terms, back-propagates

    .. math:: L = \sum_k w_k L_k, \qquad g = \nabla_\theta L,

    clips :math:`g` to the global L2 norm ``grad_clip`` (:func:`~sciml.optim.clip.clip_norm_`, the
    rule of ``torch.nn.utils.clip_grad_norm_``) and returns :math:`L`; torch's optimizer calls it as
    often as it needs (once for the first-order ones) and applies its own update. So a baseline takes exactly
    the steps of its torch optimizer on :math:`L`, after ``clip_grad_norm_(params, grad_clip)``.

    Parameters
    ----------
    params
        Parameters or parameter groups.
    terms
        Names of the loss terms the closure returns.
    weights
        Per-term weights :math:`w_k`; names left out weigh 1.
    grad_clip
        The largest global L2 norm of :math:`g` over all parameters; ``None`` does not clip.
    **hyper
        The torch optimizer's keyword arguments.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None,
        grad_clip: float | None,
        **hyper: Any,
    ):
        who = type(self).__name__
        self.terms = check_names(terms, who)
        self.weights = check_weights(weights, self.terms, who)
        self.grad_clip = check_grad_clip(grad_clip, who)
        super().__init__(params, **hyper)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()  # torch's keeps only defaults, state and param_groups, not terms and weights

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Step torch's optimizer on the weighted sum of the terms; return the terms as first evaluated."""
        who = type(self).__name__
        first: dict[str, Tensor] = {}

        def objective() -> Tensor:
            terms = evaluate(closure, self.terms, who)
            if not first:
                first.update(detached(terms))
            self.zero_grad()
            loss = weighted_sum(terms, self.weights)
            loss.backward()
            grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
            clip_norm_(grads, self.grad_clip, who)
            return loss

        super().step(objective)
        return first


class Adam(AbstractWeightedSum, AbstractComplexMoments, torch.optim.Adam):
    r"""``torch.optim.Adam`` on the weighted sum of named loss terms.

    Parameters
    ----------
    params, terms, weights, grad_clip
        As in :class:`AbstractWeightedSum`.
    lr, betas, eps, weight_decay, amsgrad
        As in ``torch.optim.Adam``; ``weight_decay`` adds :math:`\lambda \theta` to the (clipped)
        gradient, an L2 penalty that Adam's normalisation then rescales.
    complex_pairs
        Parameters holding complex numbers as real ``(..., 2)`` pairs, each with one second moment
        :math:`\mathrm{EMA}(|g|^2)` per complex number (:class:`AbstractComplexMoments`); ``()``:
        torch's Adam everywhere.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        grad_clip: float | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        complex_pairs: Iterable[Tensor] = (),
    ):
        super().__init__(
            params, terms, weights=weights, grad_clip=grad_clip, complex_pairs=complex_pairs,
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
        )  # fmt: skip


class AdamW(AbstractWeightedSum, AbstractComplexMoments, torch.optim.AdamW):
    r"""``torch.optim.AdamW`` on the weighted sum of named loss terms: Adam with decoupled weight decay.

    The decay shrinks the parameters directly, :math:`\theta \leftarrow (1 - \eta\lambda)\, \theta`,
    before Adam's step on the (clipped) gradient, instead of entering the gradient as Adam's
    ``weight_decay`` does, so its strength does not depend on Adam's normalisation (Loshchilov and
    Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).

    Parameters
    ----------
    params, terms, weights, grad_clip
        As in :class:`AbstractWeightedSum`.
    lr, betas, eps, weight_decay, amsgrad
        As in ``torch.optim.AdamW`` (``weight_decay`` :math:`\lambda`, default 0.01).
    complex_pairs
        Parameters holding complex numbers as real ``(..., 2)`` pairs, each with one second moment
        :math:`\mathrm{EMA}(|g|^2)` per complex number, as neuraloperator's AdamW keeps for complex
        parameters (:class:`AbstractComplexMoments`); ``()``: torch's AdamW everywhere.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        grad_clip: float | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        complex_pairs: Iterable[Tensor] = (),
    ):
        super().__init__(
            params, terms, weights=weights, grad_clip=grad_clip, complex_pairs=complex_pairs,
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
        )  # fmt: skip


class SGD(AbstractWeightedSum, torch.optim.SGD):
    r"""``torch.optim.SGD`` on the weighted sum of named loss terms, with optional (Nesterov) momentum.

    With :math:`g_t` the (clipped) gradient plus :math:`\lambda \theta`, torch's rule is

    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1), \qquad
        \theta_t = \theta_{t-1} - \eta \begin{cases} g_t + \mu b_t & \text{Nesterov,} \\
        b_t & \text{otherwise;} \end{cases}

    ``momentum=0`` is plain gradient descent :math:`\theta_t = \theta_{t-1} - \eta g_t`.

    Parameters
    ----------
    params, terms, weights, grad_clip
        As in :class:`AbstractWeightedSum`.
    lr, momentum, dampening, weight_decay, nesterov
        :math:`\eta, \mu, \tau, \lambda` and the Nesterov switch, as in ``torch.optim.SGD``
        (Nesterov needs :math:`\mu > 0` and :math:`\tau = 0`).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        grad_clip: float | None = None,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        super().__init__(
            params, terms, weights=weights, grad_clip=grad_clip,
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
        )  # fmt: skip


class LBFGS(AbstractWeightedSum, torch.optim.LBFGS):
    r"""``torch.optim.LBFGS`` on the weighted sum of named loss terms.

    One ``step`` runs up to ``max_iter`` L-BFGS iterations and calls the closure as often as they
    (and the line search) need; it returns the terms of the first evaluation.

    Parameters
    ----------
    params, terms, weights
        As in :class:`AbstractWeightedSum` (torch's L-BFGS takes a single parameter group).
    grad_clip
        Must stay ``None``: L-BFGS does not clip (see Notes).
    lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn
        As in ``torch.optim.LBFGS``; ``line_search_fn="strong_wolfe"`` is the usual choice for PINNs.

    Notes
    -----
    L-BFGS needs the true gradient of the loss its closure returns: the curvature pairs
    :math:`(s_k, y_k = g_{k+1} - g_k)` of its inverse-Hessian estimate, the Wolfe conditions of its
    line search and its ``tolerance_grad`` test all compare gradients with each other and with loss
    values. A clipped gradient, scaled by a factor that changes from one evaluation to the next, is
    not a gradient of anything, and breaks all three. Nor would clipping bound the step: scaling
    every gradient by one constant leaves the L-BFGS direction unchanged, since the initial estimate
    :math:`H_0 = (s^\top y / y^\top y)\, I` scales inversely. The step is bounded by the line
    search and by ``lr`` instead, so ``grad_clip`` is refused.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        grad_clip: float | None = None,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if grad_clip is not None:
            raise ValueError(
                f"LBFGS: grad_clip must be None, got {grad_clip}: a clipped gradient breaks L-BFGS's curvature "
                "pairs and line search; bound its step with lr or line_search_fn='strong_wolfe' instead"
            )
        super().__init__(
            params, terms, weights=weights, grad_clip=None,
            lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn,
        )  # fmt: skip
