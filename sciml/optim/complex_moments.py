r"""Adam's second moment per complex weight, for complex numbers stored as real ``(re, im)`` pairs.

sciml stores a complex weight :math:`w = a + ib` as a real tensor with a trailing axis of 2
(:mod:`sciml.nn.spectral_weights`), so torch's Adam keeps one second moment per real component,
:math:`v_a = \mathrm{EMA}(g_a^2)` and :math:`v_b = \mathrm{EMA}(g_b^2)`, and normalises the two
components of one weight by different scales. Adam written for complex parameters (neuraloperator's
``AdamW``: ``exp_avg_sq += (1 - beta2) * g * conj(g)``) keeps one,

.. math:: v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2, \qquad |g_t|^2 = g_a^2 + g_b^2,

shared by both components, and so scales the complex step :math:`m_t / \sqrt{v_t}` without turning
it. :class:`AbstractComplexMoments` gives torch's ``Adam`` / ``AdamW`` that moment on the parameters
named ``complex_pairs`` and leaves every other parameter to torch's own step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["AbstractComplexMoments"]


class AbstractComplexMoments(Optimizer):
    r"""torch's ``Adam`` or ``AdamW`` with one second moment per complex weight of ``complex_pairs``; combine with it.

    A concrete optimizer lists this class before the torch class, e.g.
    ``class AdamW(AbstractWeightedSum, AbstractComplexMoments, torch.optim.AdamW)``. Parameters not in
    ``complex_pairs`` take torch's step unchanged. A parameter ``(..., 2)`` in ``complex_pairs``, with
    :math:`\eta` the group's current ``lr``, :math:`\lambda` its ``weight_decay`` and
    :math:`b_i = 1 - \beta_i^t`, takes torch's Adam step with the shared moment:

    .. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) (g_{t,\mathrm{re}}^2 + g_{t,\mathrm{im}}^2), \\
        \theta_t = \theta_{t-1} - \frac{\eta}{b_1} \frac{m_t}{\sqrt{v_t / b_2} + \epsilon},

    :math:`v` of shape ``(..., 1)``, after :math:`\theta \leftarrow (1 - \eta\lambda)\theta` (AdamW's
    decoupled decay) or with :math:`g_t + \lambda\theta` for :math:`g_t` (Adam's L2 penalty), and with
    :math:`\max_{s \le t} v_s` for :math:`v_t` under ``amsgrad``: on the complex number :math:`w`,
    :math:`m_t \in \mathbb{C}` and :math:`v_t = \mathrm{EMA}(|g|^2)`, neuraloperator's rule.

    The state of a pair is torch's (``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) with the
    second moments ``(..., 1)``, so ``state_dict`` / ``load_state_dict`` resume it; a state of
    torch's per-component moments loaded onto a pair is refused at the next step.

    Parameters
    ----------
    params
        Parameters or parameter groups.
    complex_pairs
        Parameters among ``params`` that hold complex numbers as real ``(..., 2)`` pairs (real,
        imaginary), e.g. :func:`sciml.nn.complex_pair_parameters` of the model; ``()``: torch's step
        everywhere.
    **hyper
        The torch optimizer's keyword arguments.

    Notes
    -----
    neuraloperator's ``AdamW`` puts :math:`\epsilon` outside the bias correction,
    :math:`\eta \sqrt{b_2} / b_1 \cdot m / (\sqrt{v} + \epsilon)`, and decays after the step; with
    :math:`\epsilon = 0` and no decay the two rules are the same map (tested against it).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], *, complex_pairs: Iterable[Tensor] = (),
                 **hyper: Any):
        super().__init__(params, **hyper)
        self.complex_pairs = _check_pairs(complex_pairs, self.param_groups, type(self).__name__)

    def step(self, closure=None):  # type: ignore[override]
        """torch's step on the other parameters, then the complex-moment step on the pairs; returns the closure's loss."""
        if not self.complex_pairs:
            return super().step(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = {id(p) for p in self.complex_pairs}
        held = [(p, p.grad) for group in self.param_groups for p in group["params"] if id(p) in pairs]
        for p, _ in held:
            p.grad = None  # torch's step skips a parameter without a gradient
        try:
            super().step()
        finally:
            for p, grad in held:
                p.grad = grad
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if id(p) in pairs and p.grad is not None:
                        _pair_step(p, p.grad, self.state[p], group, type(self).__name__)
        return loss


def _check_pairs(pairs: Iterable[Tensor], groups: list[dict[str, Any]], who: str) -> tuple[Tensor, ...]:
    """``pairs`` as a tuple, each a real floating ``(..., 2)`` parameter of the optimizer; errors name ``who``."""
    if isinstance(pairs, Tensor):
        raise TypeError(f"{who}: complex_pairs must be an iterable of parameters, got one tensor of shape "
                         f"{tuple(pairs.shape)} (wrap it in a list)")
    pairs = tuple(pairs)
    known = {id(p) for group in groups for p in group["params"]}
    for i, p in enumerate(pairs):
        if not isinstance(p, Tensor) or id(p) not in known:
            what = f"a tensor of shape {tuple(p.shape)}" if isinstance(p, Tensor) else type(p).__name__
            raise ValueError(f"{who}: complex_pairs[{i}] is not among the optimizer's parameters (got {what})")
        if p.ndim == 0 or p.shape[-1] != 2 or p.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{who}: complex_pairs[{i}] must be a float32 or float64 tensor with a last axis of 2 "
                             f"(real, imaginary), got {p.dtype} of shape {tuple(p.shape)}")
    return pairs


def _pair_step(p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any], who: str) -> None:
    """One Adam(W) step of the pair parameter ``p`` ``(..., 2)``, in place, as torch's single-tensor Adam takes it."""
    lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    moment_shape = (*p.shape[:-1], 1)
    if not state:
        state["step"] = torch.tensor(0.0)  # torch's format: a CPU scalar tensor
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = p.new_zeros(moment_shape)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = p.new_zeros(moment_shape)
    wrong = [v.shape for key, v in state.items() if key in ("exp_avg_sq", "max_exp_avg_sq") and v.shape != moment_shape]
    if wrong:
        raise ValueError(f"{who}: the state of a complex pair of shape {tuple(p.shape)} holds a second moment of shape "
                         f"{tuple(wrong[0])}, not {moment_shape} (a state dict saved without complex_pairs?)")
    state["step"] += 1
    if decay != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * decay)
        else:
            grad = grad.add(p, alpha=decay)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    z = torch.view_as_complex(grad.contiguous())  # (...): g_re + i g_im
    square = torch.view_as_real(z * z.conj())[..., :1]  # |g|^2, (..., 1); on CPU 7x faster than .sum(-1) over the pair
    exp_avg_sq.mul_(beta2).add_(square, alpha=1 - beta2)
    step = state["step"].item()
    bias1, bias2_sqrt = 1 - beta1**step, (1 - beta2**step) ** 0.5
    if group["amsgrad"]:
        torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        exp_avg_sq = state["max_exp_avg_sq"]
    denom = (exp_avg_sq.sqrt() / bias2_sqrt).add_(eps)  # (..., 1): one scale for both components
    p.addcdiv_(exp_avg, denom, value=-lr / bias1)
