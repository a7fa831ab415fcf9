"""Physics-aware optimizers over named loss terms.

Every optimizer here is a ``torch.optim.Optimizer`` whose ``step(closure)`` takes a closure that
returns named scalar loss terms, ``{"pde": ..., "bc": ..., "ic": ...}``, back-propagates what its
rule needs and returns the terms as first evaluated, detached (see :mod:`sciml.optim.terms`).
Each update rule is also a pure function:

- :func:`conflict_free` / :class:`ConFIG`: one update with equal positive cosine to every term's
  gradient (Liu, Chu, Thuerey, ICLR 2025);
- :func:`pseudo_momentum` / :class:`MConFIG`: ConFIG on per-term momenta, one term
  back-propagated per step;
- :func:`multi_adam` / :class:`MultiAdam`: Adam moments per group of terms, the normalised updates
  averaged (Yao et al., ICML 2023);
- :class:`Adam`, :class:`AdamW`, :class:`SGD`, :class:`LBFGS`: torch's, on the weighted sum of the
  terms, as baselines (:class:`AbstractWeightedSum`); Adam and AdamW optionally with one second
  moment per complex weight stored as a real pair (:class:`AbstractComplexMoments`);
- :func:`gauss_newton_direction` / :class:`NaturalGradient`: Gauss-Newton (energy natural gradient)
  steps over :class:`Residual` terms, matrix-free or dense (Müller and Zeinhofer, ICML 2023);
- :func:`operator_preconditioner` / :class:`PreconditionedGD`: gradient descent preconditioned by the
  differential operator, for models linear in their parameters (De Ryck et al., ICLR 2024).

The first-order ones but L-BFGS take ``grad_clip``, the largest global L2 norm of the gradient its update
applies (:mod:`sciml.optim.clip`).
"""

from sciml.optim.baselines import LBFGS, SGD, AbstractWeightedSum, Adam, AdamW
from sciml.optim.complex_moments import AbstractComplexMoments
from sciml.optim.config import ConFIG
from sciml.optim.conflict_free import conflict_free
from sciml.optim.inner import AbstractInnerUpdate
from sciml.optim.m_config import MConFIG, pseudo_momentum
from sciml.optim.multiadam import MultiAdam, default_groups, multi_adam
from sciml.optim.natural_gradient import NaturalGradient, gauss_newton_direction, residual_jacobian
from sciml.optim.preconditioned import PreconditionedGD, condition_number, operator_preconditioner
from sciml.optim.terms import Closure, Pointwise, Residual

__all__ = [
    "LBFGS",
    "SGD",
    "AbstractComplexMoments",
    "AbstractInnerUpdate",
    "AbstractWeightedSum",
    "Adam",
    "AdamW",
    "Closure",
    "ConFIG",
    "MConFIG",
    "MultiAdam",
    "NaturalGradient",
    "Pointwise",
    "PreconditionedGD",
    "Residual",
    "condition_number",
    "conflict_free",
    "default_groups",
    "gauss_newton_direction",
    "multi_adam",
    "operator_preconditioner",
    "pseudo_momentum",
    "residual_jacobian",
]
