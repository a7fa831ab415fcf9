"""Physics-informed neural networks on any :class:`~sciml.problem.AbstractProblem`.

A PINN is assembled from the problem's own pieces, nothing per problem:

- :class:`PINN`: an MLP on points ``(P, D)`` of the problem's domain, with input scaling, optional
  random Fourier features and an optional output transform such as :class:`HardConstraint`;
- :class:`Collocation`: the point sets (interior, and each condition's own boundary or initial
  points; uniform, Latin hypercube or Sobol; resampled every epoch or fixed), as the batches of
  :func:`sciml.train.fit`; :func:`residual_adaptive` draws points where a model's residual is large,
  :func:`residual_importance` too, with the importance weights that keep the loss's target fixed;
- :class:`PINNObjective`: the named loss terms ``"pde"`` (the problem's ``residual`` through
  :class:`sciml.diff.AutogradDiff`), one per condition (``"bc"``, ``"ic"``, ...) and ``"data"``,
  for any optimizer of :mod:`sciml.optim`;
- :func:`relative_l2`: the error against an exact solution or a reference at points.
"""

from sciml.pinn.collocation import Collocation, residual_adaptive, residual_importance
from sciml.pinn.constraint import HardConstraint
from sciml.pinn.evaluate import predict, relative_l2
from sciml.pinn.network import PINN, FourierFeatures, OutputTransform
from sciml.pinn.objective import PINNObjective

__all__ = [
    "PINN",
    "Collocation",
    "FourierFeatures",
    "HardConstraint",
    "OutputTransform",
    "PINNObjective",
    "predict",
    "relative_l2",
    "residual_adaptive",
    "residual_importance",
]
