r"""M-ConFIG: ConFIG on per-term momenta, one term back-propagated per step (Liu, Chu, Thuerey, ICLR 2025).

The rule follows the paper's Algorithm 1 as the reference ``conflictfree.momentum_operator.
PseudoMomentumOperator`` implements it: per-term first moments, each bias-corrected with its own
count, combined by :func:`~sciml.optim.conflict_free`, and one second moment of the *pseudo-gradient*
that an Adam run would have needed to produce the combined momentum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from sciml.optim.conflict_free import conflict_free
from sciml.optim.inner import AbstractInnerUpdate
from sciml.optim.terms import Closure, detached, evaluate, flat_grad

__all__ = ["MConFIG", "pseudo_momentum"]


@torch.no_grad()
def pseudo_momentum(
    grad: Tensor,
    index: int,
    exp_avgs: Tensor,
    pseudo_avg: Tensor,
    pseudo_avg_sq: Tensor,
    *,
    counts: Sequence[int],
    step: int,
    beta1: float,
    beta2: float,
    eps: float,
    ridge: float | None = None,
) -> Tensor | None:
    r"""One M-ConFIG update: absorb the gradient of term ``index``, return the direction.

    With :math:`c_i` the number of gradients term :math:`i`'s moment has absorbed and :math:`t` the
    number of directions produced so far (both counting this call):

    .. math::
        m_k &\leftarrow \beta_1 m_k + (1 - \beta_1) g_k \quad (k = \text{index}), \qquad
        \hat m_i = m_i / (1 - \beta_1^{c_i}), \\
        d_t &= \mathrm{ConFIG}(\hat m_1, \dots, \hat m_m), \qquad
        M_t = (1 - \beta_1^t)\, d_t, \qquad p_t = \frac{M_t - \beta_1 M_{t-1}}{1 - \beta_1}, \\
        V_t &= \beta_2 V_{t-1} + (1 - \beta_2)\, p_t^2, \qquad
        \text{direction} = \frac{d_t}{\sqrt{V_t / (1 - \beta_2^t)} + \epsilon}.

    :math:`d_t` plays Adam's bias-corrected first moment; :math:`M_t` undoes the correction and
    :math:`p_t` is the pseudo-gradient whose exponential average :math:`M_t` would be, so the one
    shared second moment :math:`V_t` tracks the scale of the combined update. The direction is meant
    for plain SGD, :math:`\theta \leftarrow \theta - \eta\, \text{direction}` (it already carries
    Adam's normalisation).

    Parameters
    ----------
    grad
        ``(N,)``, the gradient of term ``index`` at this step.
    index
        Which term ``grad`` belongs to.
    exp_avgs
        ``(m, N)``, the first moments :math:`m_i`; row ``index`` is updated in place.
    pseudo_avg, pseudo_avg_sq
        ``(N,)``, :math:`M_{t-1}` and :math:`V_{t-1}`; updated in place to :math:`M_t`, :math:`V_t`.
    counts
        :math:`c_i` for every term, after this call's gradient is counted.
    step
        :math:`t`, counting this call's direction; ignored while some :math:`c_i` is 0.
    beta1, beta2, eps
        As in Adam.
    ridge
        Passed to :func:`conflict_free`.

    Returns
    -------
    Tensor or None
        ``(N,)``, the direction; ``None`` while some term has no moment yet (the first ``m - 1``
        steps), when there is nothing to combine and no update to take.
    """
    exp_avgs[index].mul_(beta1).add_(grad, alpha=1 - beta1)
    if min(counts) == 0:
        return None
    corrections = torch.tensor([1 - beta1**c for c in counts], dtype=exp_avgs.dtype, device=exp_avgs.device)
    combined = conflict_free(exp_avgs / corrections[:, None], ridge=ridge)  # d_t, (N,)
    avg = combined * (1 - beta1**step)  # M_t
    pseudo_grad = (avg - beta1 * pseudo_avg) / (1 - beta1)  # p_t
    pseudo_avg.copy_(avg)
    pseudo_avg_sq.mul_(beta2).add_(pseudo_grad**2, alpha=1 - beta2)
    return combined / ((pseudo_avg_sq / (1 - beta2**step)).sqrt() + eps)


class MConFIG(AbstractInnerUpdate):
    r"""Momentum ConFIG: each step back-propagates one term, in turn, and combines per-term momenta.

    Step ``s`` (counting from 0) back-propagates term ``terms[s % m]`` only, updates that term's
    first moment and applies :func:`pseudo_momentum`'s direction with the inner optimizer: one
    backward pass per step instead of ConFIG's ``m``. The first ``m - 1`` steps only fill the
    moments and leave the parameters alone. The direction is already Adam-normalised, so the inner
    optimizer is plain SGD by default, as the reference recommends.

    Parameters
    ----------
    params
        Parameters or parameter groups; one real dtype and device.
    terms
        Names of the loss terms the closure returns; also the order in which they take turns.
    lr
        Learning rate of the inner optimizer.
    betas, eps
        :math:`\beta_1, \beta_2, \epsilon` of the pseudo-momentum rule.
    inner
        The torch optimizer class that applies the direction; default ``torch.optim.SGD``.
    inner_kwargs
        Its other keyword arguments.
    ridge
        Passed to :func:`conflict_free`.
    grad_clip
        The largest L2 norm of the direction handed to the inner optimizer (:func:`pseudo_momentum`'s
        result, not its pseudo-gradient :math:`p_t`, which only feeds the second moment), clipped as
        ``torch.nn.utils.clip_grad_norm_`` clips; ``None`` does not clip. The direction is already
        Adam-normalised, each entry of size about 1, so its norm is about :math:`\sqrt{N}` for
        ``N`` parameters: a bound well below that clips every step and bounds the step length
        :math:`\eta c`, as clipping an Adam update would.

    Notes
    -----
    The closure still evaluates every term (it returns them all), but only one is back-propagated.
    ``state_dict()`` is the inner optimizer's plus an ``"m_config"`` entry holding the term names,
    the step count and the moments, so a resumed run continues bit for bit.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        inner: type[Optimizer] = torch.optim.SGD,
        inner_kwargs: Mapping[str, Any] | None = None,
        ridge: float | None = None,
        grad_clip: float | None = None,
    ):
        super().__init__(params, terms, inner=inner, lr=lr, inner_kwargs=inner_kwargs, grad_clip=grad_clip)
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"MConFIG: betas must lie in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"MConFIG: eps must be > 0, got {eps}")
        if ridge is not None and not ridge >= 0:
            raise ValueError(f"MConFIG: ridge must be >= 0, got {ridge}")
        self.betas, self.eps, self.ridge = (float(beta1), float(beta2)), float(eps), ridge
        self.steps = 0
        # "exp_avgs" (m, N), "pseudo_avg" (N,), "pseudo_avg_sq" (N,); made at the first step, like
        # torch's optimizer state, so that the model may still move to another device before it
        self.moments: dict[str, Tensor] = {}

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """Evaluate the terms, back-propagate the one whose turn it is, step; return the terms."""
        params = self._params()
        moments = self._moments(params)
        m = len(self.terms)
        index = self.steps % m
        with torch.enable_grad():
            terms = evaluate(closure, self.terms, "MConFIG")
            grad = flat_grad(terms[self.terms[index]], params, retain_graph=False)
        taken = self.steps + 1  # steps including this one; term i has had its turn in ceil((taken - i) / m)
        counts = [(taken - i + m - 1) // m for i in range(m)]
        beta1, beta2 = self.betas
        direction = pseudo_momentum(
            grad, index, moments["exp_avgs"], moments["pseudo_avg"], moments["pseudo_avg_sq"],
            counts=counts, step=taken - m + 1, beta1=beta1, beta2=beta2, eps=self.eps, ridge=self.ridge,
        )  # fmt: skip
        if direction is not None:
            self._apply(params, direction)
        self.steps = taken
        return detached(terms)

    def _moments(self, params: list[Tensor]) -> dict[str, Tensor]:
        n = sum(p.numel() for p in params)
        if not self.moments:
            like = {"dtype": params[0].dtype, "device": params[0].device}
            self.moments = {
                "exp_avgs": torch.zeros(len(self.terms), n, **like),
                "pseudo_avg": torch.zeros(n, **like),
                "pseudo_avg_sq": torch.zeros(n, **like),
            }
        self.moments = {key: value.to(params[0]) for key, value in self.moments.items()}  # no-op unless moved
        if self.moments["exp_avgs"].shape != (len(self.terms), n):
            raise ValueError(
                f"MConFIG: the moments have shape {tuple(self.moments['exp_avgs'].shape)}, but there are "
                f"{len(self.terms)} terms and {n} parameters"
            )
        return self.moments

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["m_config"] = {"terms": list(self.terms), "steps": self.steps, **self.moments}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "m_config" not in state_dict:
            raise KeyError("MConFIG.load_state_dict: state_dict has no 'm_config' entry (it was not saved by MConFIG)")
        saved = dict(state_dict["m_config"])
        if tuple(saved.pop("terms")) != self.terms:
            raise ValueError(
                f"MConFIG.load_state_dict: the state was saved for terms {tuple(state_dict['m_config']['terms'])}, "
                f"this optimizer has terms {self.terms}"
            )
        super().load_state_dict({key: value for key, value in state_dict.items() if key != "m_config"})
        self.steps = int(saved.pop("steps"))
        self.moments = {key: value.clone() for key, value in saved.items()}
