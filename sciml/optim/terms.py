"""The closure contract every optimizer in :mod:`sciml.optim` shares: named scalar loss terms.

A loss closure takes no argument and returns ``dict[str, Tensor | Residual]``, e.g.
``{"pde": ..., "bc": ..., "ic": ...}``: each term a 0-dim floating tensor that still carries its
autograd graph and has not been back-propagated, or a :class:`Residual`, a term that carries its
unreduced residual vector (its loss is the vector's mean square): every optimizer reads its loss,
and the second-order ones (:class:`~sciml.optim.NaturalGradient`) read the vector. The optimizer calls
the closure, back-propagates what its rule needs and returns the terms' losses as first evaluated,
detached. An optimizer is configured with the names of its terms; a closure that returns another
name, misses one, returns an empty dict or a term that is not a differentiable scalar is an error
that names the offender.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor

__all__ = [
    "Closure",
    "Pointwise",
    "Residual",
    "check_names",
    "check_weights",
    "detached",
    "evaluate",
    "flat_grad",
    "flat_params",
    "set_flat_grad",
    "weighted_sum",
]

@dataclasses.dataclass(frozen=True)
class Pointwise:
    r"""A residual as a pure function of the parameters, one point at a time, for ``torch.func`` transforms.

    ``function(params, point) -> r(point)``: ``params`` a dict of named parameter tensors (as
    ``torch.func.functional_call`` takes them), ``point`` ``(D,)``, the residual there ``(C,)``. ``points``
    ``(P, D)`` are where the term is evaluated and ``params`` the named parameters it was evaluated with
    (the tensors themselves, so an optimizer finds its own among them). With it the Jacobian of the
    residual is ``vmap(jacrev(function))`` over the points. ``jacobian``, where given, builds that same
    Jacobian ``(P C, N)`` faster for a list of parameters among ``params`` (a PINN's, from
    :func:`sciml.pinn.jet.jet_jacobian`).
    """

    function: Callable[[dict[str, Tensor], Tensor], Tensor]
    points: Tensor
    params: dict[str, Tensor]
    jacobian: Callable[[Sequence[Tensor]], Tensor] | None = None

    def scaled(self, factor: float | Tensor) -> Pointwise:
        """The residual times ``factor``: one number, or one per point ``(P,)`` (carried as a last column of the points)."""
        function, jacobian = self.function, self.jacobian
        if not isinstance(factor, Tensor):
            return Pointwise(lambda params, point: factor * function(params, point), self.points, self.params,
                             None if jacobian is None else lambda params: factor * jacobian(params))
        factor = factor.detach().to(self.points)

        def rows(params: Sequence[Tensor]) -> Tensor:
            jac = jacobian(params)  # (P C, N), row p C + c
            return factor.repeat_interleave(jac.shape[0] // factor.numel())[:, None] * jac

        return Pointwise(lambda params, row: row[-1] * function(params, row[:-1]), torch.cat([self.points, factor[:, None]], dim=1),
                         self.params, None if jacobian is None else rows)


@dataclasses.dataclass(frozen=True)
class Residual:
    r"""A loss term that carries its pointwise residual :math:`r`: the term is :math:`\frac{1}{P}\sum_p |r_p|^2`.

    ``values`` ``(P, ...)``, with its autograd graph. Gauss-Newton methods need :math:`r` itself (its
    Jacobian), not only the mean square that first-order methods differentiate. ``pointwise``, where
    given, computes the same values one point at a time (``values[p] == pointwise.function(params,
    points[p])``), which lets :class:`~sciml.optim.NaturalGradient` build the Jacobian with ``torch.func``.
    """

    values: Tensor
    pointwise: Pointwise | None = None

    def loss(self) -> Tensor:
        """The mean square of the residual, 0-dim."""
        return self.values.square().mean()

    def scaled(self, factor: float | Tensor) -> Residual:
        """The residual times ``factor``: the term weighted by ``factor**2``; a tensor ``(P,)`` weighs each point apart
        (e.g. the square roots of :func:`sciml.pinn.residual_importance`'s weights)."""
        if isinstance(factor, Tensor) and factor.shape != self.values.shape[:1]:
            raise ValueError(f"Residual.scaled: a factor per point must have shape ({self.values.shape[0]},), got {tuple(factor.shape)}")
        scale = factor.detach().to(self.values).reshape(-1, *[1] * (self.values.ndim - 1)) if isinstance(factor, Tensor) else factor
        return Residual(scale * self.values, None if self.pointwise is None else self.pointwise.scaled(factor))


Closure = Callable[[], dict[str, "Tensor | Residual"]]


def check_names(terms: Sequence[str], who: str) -> tuple[str, ...]:
    """The configured term names as a tuple, after checking they are distinct non-empty strings."""
    if isinstance(terms, str) or not isinstance(terms, Iterable):
        raise TypeError(f"{who}: terms must be a sequence of term names such as ('pde', 'bc'), got {terms!r}")
    names = tuple(terms)
    if not names:
        raise ValueError(f"{who}: terms must name at least one loss term, got {terms!r}")
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{who}: every term name must be a non-empty string, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{who}: term names must be distinct, got {names}")
    return names


def check_weights(weights: Mapping[str, float] | None, names: tuple[str, ...], who: str) -> dict[str, float]:
    """One weight per configured term: the given ones, 1 for the names ``weights`` leaves out."""
    weights = dict(weights or {})
    for name, weight in weights.items():
        if name not in names:
            raise ValueError(f"{who}: weights names term {name!r}, which is not one of terms {names}")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise TypeError(f"{who}: weights[{name!r}] must be a number, got {weight!r}")
    return {name: float(weights.get(name, 1.0)) for name in names}


def evaluate(closure: Closure, names: tuple[str, ...], who: str) -> dict[str, Tensor]:
    """Call ``closure`` once and check its terms against the configured ``names``."""
    if not callable(closure):
        raise TypeError(f"{who}.step needs a closure returning the named loss terms, got {closure!r}")
    terms = closure()
    if not isinstance(terms, Mapping):
        raise TypeError(f"{who}: the closure must return a dict of named loss terms, got {type(terms).__name__}")
    terms = {name: value.loss() if isinstance(value, Residual) else value for name, value in terms.items()}
    if not terms:
        raise ValueError(f"{who}: the closure returned no loss terms (an empty dict); expected {names}")
    for name, value in terms.items():
        if name not in names:
            raise ValueError(
                f"{who}: the closure returned term {name!r}, which this optimizer was not configured for; "
                f"terms are {names}"
            )
        if not isinstance(value, Tensor) or value.ndim != 0 or not value.is_floating_point():
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"{who}: term {name!r} must be a 0-dim floating tensor, got {shape}")
        if not value.requires_grad:
            raise ValueError(f"{who}: term {name!r} does not require grad, so it cannot be back-propagated")
    missing = [name for name in names if name not in terms]
    if missing:
        raise ValueError(f"{who}: the closure did not return the configured term(s) {missing}")
    return dict(terms)


def weighted_sum(terms: Mapping[str, Tensor], weights: Mapping[str, float]) -> Tensor:
    r"""The single objective of the baselines, :math:`\sum_k w_k L_k`, summed in ``weights`` order."""
    return sum(weights[name] * terms[name] for name in weights)


def detached(terms: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The terms without their graphs: what every ``step`` returns."""
    return {name: value.detach() for name, value in terms.items()}


def flat_params(param_groups: list[dict], who: str) -> list[Tensor]:
    """The parameters that require grad, checked to share one real dtype and device.

    Rules that work on the flattened gradient (ConFIG, M-ConFIG) need that: the gradient of a term is
    one vector of length ``N = sum(p.numel())``.
    """
    params = [p for group in param_groups for p in group["params"] if p.requires_grad]
    if not params:
        raise ValueError(f"{who}: params holds no tensor that requires grad")
    first = params[0]
    if first.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{who}: params must be float32 or float64 (store complex weights as real views), got {first.dtype}"
        )
    for p in params:
        if p.dtype != first.dtype or p.device != first.device:
            raise TypeError(
                f"{who}: params must share one dtype and device, got {first.dtype} on {first.device} "
                f"and {p.dtype} on {p.device}"
            )
    return params


def flat_grad(term: Tensor, params: list[Tensor], retain_graph: bool) -> Tensor:
    """The gradient of one scalar term with respect to all ``params`` as one vector ``(N,)``.

    Parameters the term does not reach get zeros there.
    """
    grads = torch.autograd.grad(term, params, retain_graph=retain_graph, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])


def set_flat_grad(params: list[Tensor], vector: Tensor) -> None:
    """Hand ``vector`` ``(N,)`` to the parameters as their ``.grad`` (views into it, no copy)."""
    offset = 0
    for p in params:
        p.grad = vector[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
