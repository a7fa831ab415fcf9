r"""PINN residuals one point at a time, as pure functions of the parameters, for ``torch.func``.

A Gauss-Newton step needs the Jacobian of the residual vector with respect to the parameters. Built
from autograd products it costs one batched backward pass per row or column; built as
``vmap(jacrev(r))`` over the points, with the derivatives in the inputs taken by forward-mode
products, it is one vectorized pass (measured 30x faster on the 2-D Poisson PINN of the ENGD paper).
:class:`PointDiff` is the differentiator that makes a problem's own ``residual(u, a, d)`` run under
those transforms unchanged. For a :class:`~sciml.pinn.PINN` each form also carries the builder of the
same Jacobian from the network's jets (:mod:`sciml.pinn.jet`), 3 to 6 times faster again.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp

from sciml.conditions import AbstractCondition, Dirichlet, Initial
from sciml.diff.base import AbstractDiff
from sciml.optim import Pointwise
from sciml.pinn.jet import Jet, JetDiff, jet_jacobian, supports_jets
from sciml.problem import AbstractProblem

with warnings.catch_warnings():  # forward-mode AD scripts torch's jvp decompositions on first use, and torch
    # 2.13 warns there that torch.jit.script is deprecated: loaded here once, that warning of torch's own silenced
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning)
    import torch._decomp.decompositions_for_jvp

__all__ = ["PointDiff", "condition_pointwise", "data_pointwise", "pde_pointwise"]

#: the conditions whose residual only evaluates u (the others differentiate it through autograd)
VALUE_CONDITIONS = (Dirichlet, Initial)


def _directional(function: Callable[[Tensor], Tensor], direction: Tensor, x: Tensor) -> Tensor:
    """The derivative of ``function`` at ``x`` along ``direction`` (a forward-mode product)."""
    return jvp(function, (x,), (direction,))[1]


class PointDiff(AbstractDiff):
    r"""Derivatives of :math:`u = f(x)` at one point :math:`x` ``(D,)`` by nested forward-mode products.

    Values are ``(1, C)``: :class:`~sciml.diff.AutogradDiff`'s ``(P, C)`` with one point, so that a
    problem's ``residual`` runs unchanged inside ``torch.func.vmap`` over the points. Only the output
    :attr:`u` itself is differentiated (what the residuals of sciml's problems differentiate); any
    other tensor is an error.

    Parameters
    ----------
    function
        :math:`f`, ``(D,) -> (C,)``.
    point
        :math:`x`, ``(D,)``.
    time
        ``True``: entry 0 of the point is time, as for ``AutogradDiff``.
    """

    def __init__(self, function: Callable[[Tensor], Tensor], point: Tensor, time: bool = False):
        self.function, self.point, self.time = function, point, time
        self.u = function(point)[None]  # (1, C)

    @property
    def dim(self) -> int:
        return self.point.shape[-1] - int(self.time)

    def derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        self._check_axis(axis, order)
        return self._partial(u, int(self.time) + axis, order)

    def coordinates(self, u: Tensor) -> Tensor:
        self._check(u)
        return self.point[None, int(self.time) :]  # (1, dim)

    def dt(self, u: Tensor) -> Tensor:
        if not self.time:
            raise ValueError("PointDiff: dt needs time=True (entry 0 of the point is time)")
        return self._partial(u, 0, 1)

    def _check(self, u: Tensor) -> None:
        if u is not self.u:
            raise ValueError("PointDiff: only the network's output u itself can be differentiated; "
                             "a residual that differentiates another expression needs AutogradDiff")

    def _partial(self, u: Tensor, column: int, order: int) -> Tensor:
        self._check(u)
        direction = torch.zeros(self.point.shape[-1], dtype=self.point.dtype, device=self.point.device)
        direction[column] = 1
        function = self.function
        for _ in range(order):
            function = functools.partial(_directional, function, direction)
        return function(self.point)[None]  # (1, C)


def _at(model: nn.Module, params: dict[str, Tensor]) -> Callable[[Tensor], Tensor]:
    """``model`` with ``params`` at one point: ``(D,) -> (C,)``."""
    return lambda x: functional_call(model, params, (x[None],))[0]  # (1, D) -> (1, C) -> (C,)


def _jet_jacobian(model: nn.Module, points: Tensor, residual: Callable[[Jet], Tensor],
                  order: int) -> Callable[[Sequence[Tensor]], Tensor] | None:
    """The fast Jacobian builder of a term (:func:`~sciml.pinn.jet.jet_jacobian`) where the model has jets, else ``None``."""
    if not supports_jets(model):
        return None
    points = points.detach()
    return lambda params: jet_jacobian(model, points, residual, params, order)


def pde_pointwise(problem: AbstractProblem, model: nn.Module, input_field, points: Tensor) -> Pointwise:
    """The residual of ``problem`` at ``points`` ``(P, D)`` as a :class:`~sciml.optim.Pointwise` form."""
    time = problem.domain.time is not None

    def residual(params: dict[str, Tensor], point: Tensor) -> Tensor:
        d = PointDiff(_at(model, params), point, time)
        return problem.residual(d.u, input_field(point[None]), d)[0]  # (C',)

    def from_jet(expansion: Jet) -> Tensor:
        d = JetDiff(expansion, time)
        return problem.residual(d.u, input_field(expansion.points), d)  # (P, C')

    return Pointwise(residual, points.detach(), dict(model.named_parameters()), _jet_jacobian(model, points, from_jet, 2))


def condition_pointwise(condition: AbstractCondition, model: nn.Module, points: Tensor) -> Pointwise | None:
    """A value condition's residual at ``points`` as a :class:`~sciml.optim.Pointwise` form; ``None`` for the others."""
    if not isinstance(condition, VALUE_CONDITIONS):
        return None

    def residual(params: dict[str, Tensor], point: Tensor) -> Tensor:
        return condition.residual(lambda p: functional_call(model, params, (p,)), point[None])[0]  # (C,)

    def from_jet(expansion: Jet) -> Tensor:
        return condition.residual(lambda p: expansion.value, expansion.points)  # (P, C)

    return Pointwise(residual, points.detach(), dict(model.named_parameters()), _jet_jacobian(model, points, from_jet, 0))


def data_pointwise(model: nn.Module, points: Tensor, values: Tensor) -> Pointwise:
    """``model(points) - values`` as a :class:`~sciml.optim.Pointwise` form over rows ``[point, value]``."""
    columns = points.shape[1]

    def residual(params: dict[str, Tensor], row: Tensor) -> Tensor:
        return _at(model, params)(row[:columns]) - row[columns:]  # (C,)

    return Pointwise(residual, torch.cat([points, values], dim=1).detach(), dict(model.named_parameters()),
                     _jet_jacobian(model, points, lambda expansion: expansion.value - values.detach(), 0))
