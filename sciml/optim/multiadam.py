r"""MultiAdam: Adam moments per group of loss terms, the normalised updates averaged.

Yao, Su, Hao, Liu, Su, Zhu, "MultiAdam: Parameter-wise Scale-invariant Optimizer for Multiscale
Training of Physics-informed Neural Networks", ICML 2023 (arXiv:2306.02816); reference
implementation in PINNacle (``src/optimizer/multiadam.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from sciml.optim.clip import check_grad_clip, clip_norm_
from sciml.optim.terms import Closure, check_names, detached, evaluate

__all__ = ["MultiAdam", "default_groups", "multi_adam"]

PDE_PREFIXES = ("pde", "residual")


def default_groups(terms: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The paper's split: PDE residual terms in one group, every other term in the other.

    A term is a PDE term when its name starts with ``"pde"`` or ``"residual"``; the rest (boundary,
    initial, data, ...) form ``"boundary"``. An empty group is left out, so terms that are all of one
    kind give a single group, which is plain Adam on their sum.
    """
    pde = tuple(name for name in terms if name.startswith(PDE_PREFIXES))
    rest = tuple(name for name in terms if not name.startswith(PDE_PREFIXES))
    return {key: group for key, group in (("pde", pde), ("boundary", rest)) if group}


@torch.no_grad()
def multi_adam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[int],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
) -> None:
    r"""One MultiAdam step on a list of parameters, in place.

    For every parameter, with the gradients :math:`g_{t,j}` of the ``G`` group losses
    :math:`L_j = \sum_{k \in \text{group } j} L_k`:

    .. math::
        m_{t,j} &= \beta_1 m_{t-1,j} + (1 - \beta_1) g_{t,j}, \qquad
        v_{t,j} = \beta_2 v_{t-1,j} + (1 - \beta_2) g_{t,j}^2, \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{G} \sum_{j=1}^{G}
            \frac{m_{t,j} / (1 - \beta_1^t)}{\sqrt{v_{t,j} / (1 - \beta_2^t)} + \epsilon}.

    Each group's update is Adam's, elementwise of size about :math:`\eta` whatever the scale of its
    loss, so no group dominates; the operations are torch's single-tensor Adam's, in its order, so
    that one group reproduces ``torch.optim.Adam`` exactly. ``weight_decay`` adds
    :math:`\lambda \theta` to every group's gradient, as Adam's L2 penalty does.

    Parameters
    ----------
    params
        The parameters, each ``(*S)``.
    grads
        Per parameter ``(G, *S)``: the gradient of each group loss.
    exp_avgs, exp_avg_sqs
        Per parameter ``(G, *S)``: :math:`m` and :math:`v`, updated in place.
    steps
        Per parameter :math:`t`, already counting this step.
    lr, beta1, beta2, eps, weight_decay
        As in Adam.
    """
    for param, grad, exp_avg, exp_avg_sq, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps, strict=True):
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)  # (G, *S)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = lr / (1 - beta1**step)
        denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(eps)  # (G, *S)
        for j in range(grad.shape[0]):
            param.addcdiv_(exp_avg[j], denom[j], value=-step_size / grad.shape[0])


class MultiAdam(Optimizer):
    r"""Adam with separate moments per group of loss terms, the normalised updates averaged.

    Every step back-propagates each group loss (the sum of its terms) separately and applies
    :func:`multi_adam`. With one group this is ``torch.optim.Adam`` on the sum of the terms, bit for
    bit (same hyper-parameters, CPU single-tensor path).

    Parameters
    ----------
    params
        Parameters or parameter groups; per-group ``lr``, ``betas``, ``eps``, ``weight_decay`` work
        as in torch.
    terms
        Names of the loss terms the closure returns.
    groups
        Group name -> the names of its terms; every term in exactly one group. Default
        :func:`default_groups`: terms named ``pde*`` / ``residual*`` against all others.
    lr, betas, eps, weight_decay
        As in Adam; the default betas ``(0.99, 0.99)`` are the paper's (Adam's are (0.9, 0.999)).
    grad_clip
        The largest global L2 norm, over all parameters, of each group's gradient :math:`g_{t,j}`:
        each is clipped on its own, before it enters its moments, as
        ``torch.nn.utils.clip_grad_norm_`` clips; ``None`` does not clip. Clipping one group leaves
        the others alone, so a group with huge gradients cannot shrink the rest (its Adam step is
        about :math:`\eta` in size anyway); what clipping changes is how much one spike of a group's
        gradient weighs in its moments, as in Adam. With one group this is ``torch.optim.Adam``
        after ``clip_grad_norm_(params, grad_clip)``, bit for bit.

    Notes
    -----
    ``step(closure)`` costs one forward and ``G`` backward passes. A parameter no group reaches is
    left alone, as Adam leaves a parameter without gradient.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        groups: Mapping[str, Sequence[str]] | None = None,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.99, 0.99),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        grad_clip: float | None = None,
    ):
        if not lr >= 0:
            raise ValueError(f"MultiAdam: lr must be >= 0, got {lr}")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"MultiAdam: betas must lie in [0, 1), got {betas}")
        if not eps >= 0 or not weight_decay >= 0:
            raise ValueError(f"MultiAdam: eps and weight_decay must be >= 0, got {eps}, {weight_decay}")
        self.terms = check_names(terms, "MultiAdam")
        self.groups = _check_groups(default_groups(self.terms) if groups is None else groups, self.terms)
        self.grad_clip = check_grad_clip(grad_clip, "MultiAdam")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()  # torch's keeps only defaults, state and param_groups, not terms and groups

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Evaluate the terms, take one gradient per group, apply :func:`multi_adam`; return the terms."""
        params = [p for group in self.param_groups for p in group["params"] if p.requires_grad]
        with torch.enable_grad():
            terms = evaluate(closure, self.terms, "MultiAdam")
            losses = [sum(terms[name] for name in members) for members in self.groups.values()]
            per_group = [
                torch.autograd.grad(loss, params, retain_graph=j < len(losses) - 1, allow_unused=True)
                for j, loss in enumerate(losses)
            ]
        grads = {  # the parameters some group reaches -> (G, *S), zeros where a group does not reach
            p: torch.stack([torch.zeros_like(p) if g[i] is None else g[i] for g in per_group])
            for i, p in enumerate(params)
            if any(g[i] is not None for g in per_group)
        }
        for j in range(len(per_group)):  # fresh tensors from torch.stack: autograd.grad's may alias each other
            clip_norm_([grad[j] for grad in grads.values()], self.grad_clip, "MultiAdam")
        for group in self.param_groups:
            chosen, stacked, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p not in grads:
                    continue
                stacked.append(grads[p])
                state = self._state(p)
                state["step"] += 1
                chosen.append(p)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            beta1, beta2 = group["betas"]
            multi_adam(
                chosen, stacked, exp_avgs, exp_avg_sqs, steps,
                lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
            )  # fmt: skip
        return detached(terms)

    def _state(self, p: Tensor) -> dict[str, Any]:
        state = self.state[p]
        n = len(self.groups)
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros((n, *p.shape), dtype=p.dtype, device=p.device)
            state["exp_avg_sq"] = torch.zeros((n, *p.shape), dtype=p.dtype, device=p.device)
        elif state["exp_avg"].shape[0] != n:
            raise ValueError(
                f"MultiAdam: the loaded state has moments for {state['exp_avg'].shape[0]} groups, "
                f"but this optimizer has {n} groups {list(self.groups)}"
            )
        return state


def _check_groups(groups: Mapping[str, Sequence[str]], terms: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f"MultiAdam: groups must be a non-empty dict of group name -> term names, got {groups!r}")
    seen: dict[str, str] = {}
    checked = {}
    for key, members in groups.items():
        members = check_names(members, f"MultiAdam group {key!r}")
        for name in members:
            if name not in terms:
                raise ValueError(f"MultiAdam: group {key!r} names term {name!r}, which is not one of terms {terms}")
            if name in seen:
                raise ValueError(f"MultiAdam: term {name!r} is in both group {seen[name]!r} and group {key!r}")
            seen[name] = key
        checked[str(key)] = members
    left = [name for name in terms if name not in seen]
    if left:
        raise ValueError(f"MultiAdam: term(s) {left} belong to no group in {list(checked)}")
    return checked
