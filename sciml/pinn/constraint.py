r"""Hard constraints: an output transform under which Dirichlet and initial conditions hold exactly.

.. math:: u(p) = G(p) + D(p)\, N(p),

where :math:`N` is the network's raw output, :math:`D` vanishes where the conditions hold and
:math:`G` satisfies them (Lagaris, Likas & Fotiadis, IEEE TNN 9, 1998; Lu et al., SIAM J. Sci.
Comput. 43, 2021):

- Dirichlet :math:`u = g` on both faces of the space axes :math:`A`:
  :math:`D = \prod_{i \in A} (x_i - a_i)(b_i - x_i) / ((b_i - a_i)/2)^2` (1 at the centre), :math:`G = g`;
- initial :math:`u = u_0` at :math:`t = t_0`: :math:`D = (t - t_0)/(t_1 - t_0)`, :math:`G = u_0(x)`;
- both: the product of the two factors and :math:`G(t, x) = g(t, x) + u_0(x) - g(t_0, x)`, which
  is :math:`u_0` at :math:`t_0` and :math:`g` on the faces wherever the data are compatible,
  :math:`u_0 = g(t_0, \cdot)` on the faces (as a continuous solution needs; checked at construction).

:math:`g` and :math:`u_0` are read from the problem's own conditions: :math:`g = -r(0)` and
:math:`u_0 = -r(0)`, the residuals of the zero field. :math:`g` is evaluated inside the box too, so a
Dirichlet value given as a function must extend smoothly into it (a constant always does).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition, Dirichlet, Initial
from sciml.problem import AbstractProblem

__all__ = ["HardConstraint"]


class HardConstraint:
    r"""The output transform ``(points, raw) -> u`` that builds in a Dirichlet and/or an initial condition.

    Parameters
    ----------
    conditions
        Named conditions of one domain: at most one :class:`~sciml.conditions.Dirichlet` and at most
        one :class:`~sciml.conditions.Initial`. Their names are :attr:`names`: the loss terms that
        become identically zero and can be left out of the objective.

    Raises
    ------
    ValueError
        For any other kind of condition (periodic and Neumann conditions are not built in here), for
        two of a kind, and where the initial value disagrees with the Dirichlet value on the faces.
    """

    def __init__(self, conditions: Mapping[str, AbstractCondition]):
        self.dirichlet: Dirichlet | None = None
        self.initial: Initial | None = None
        for name, condition in conditions.items():
            kind = "dirichlet" if isinstance(condition, Dirichlet) else "initial" if isinstance(condition, Initial) else None
            if kind is None:
                raise ValueError(f"HardConstraint: condition {name!r} is {type(condition).__name__}; only Dirichlet "
                                 f"and Initial conditions can be built into the output (leave it to the loss)")
            if getattr(self, kind) is not None:
                raise ValueError(f"HardConstraint: condition {name!r} is a second {type(condition).__name__} condition; "
                                 f"at most one of each kind")
            setattr(self, kind, condition)
        if not conditions:
            raise ValueError("HardConstraint: conditions must hold a Dirichlet and/or an Initial condition, got none")
        domains = {condition.domain for condition in conditions.values()}
        if len(domains) != 1:
            raise ValueError(f"HardConstraint: the conditions must share one domain, got {len(domains)}")
        (self.domain,) = domains
        self.names = tuple(conditions)
        if self.dirichlet is not None and self.initial is not None:
            self._check_compatible()

    @classmethod
    def from_problem(cls, problem: AbstractProblem) -> "HardConstraint":
        """All of ``problem.conditions()``: raises unless they are a Dirichlet and/or an initial condition."""
        return cls(problem.conditions())

    def __call__(self, points: Tensor, raw: Tensor) -> Tensor:
        """``u = G + D raw`` at ``points`` ``(P, D)`` for the raw output ``(P, C)`` -> ``(P, C)``."""
        low, high = self.domain.bounds(points.dtype, points.device)

        def zero(where: Tensor) -> Tensor:  # the zero field: its residuals are -g and -u0
            return torch.zeros_like(raw)

        distance = torch.ones_like(points[:, :1])  # (P, 1)
        lift = torch.zeros_like(raw)  # (P, C)
        if self.dirichlet is not None:
            offset = self.domain.columns - self.domain.dim
            for i in self.dirichlet.axes:
                x, a, b = points[:, offset + i : offset + i + 1], low[offset + i], high[offset + i]
                distance = distance * (x - a) * (b - x) * (2 / (b - a)) ** 2
            lift = lift - self.dirichlet.residual(zero, points)  # + g(t, x)
        if self.initial is not None:
            start = self._at_start(points)
            distance = distance * (points[:, :1] - low[0]) / (high[0] - low[0])
            lift = lift - self.initial.residual(zero, start)  # + u0(x)
            if self.dirichlet is not None:
                lift = lift + self.dirichlet.residual(zero, start)  # - g(t0, x)
        return lift + distance * raw

    def _at_start(self, points: Tensor) -> Tensor:
        """``points`` with the time column set to :math:`t_0`."""
        start = points.clone()
        start[:, 0] = self.domain.time[0]
        return start

    def _check_compatible(self) -> None:
        """Raise unless :math:`u_0 = g(t_0, \\cdot)` on the faces, at 64 points."""
        faces = self._at_start(self.dirichlet.sample(64, torch.Generator().manual_seed(0)))  # (64, D), float64

        def zero(where: Tensor) -> Tensor:  # one channel; the values broadcast to theirs
            return torch.zeros(where.shape[0], 1, dtype=where.dtype)

        g, u0 = -self.dirichlet.residual(zero, faces), -self.initial.residual(zero, faces)
        mismatch = (g - u0).abs().max().item()
        if mismatch > 1e-8 * max(1.0, g.abs().max().item()):
            raise ValueError(f"HardConstraint: the initial value differs from the Dirichlet value by {mismatch:.3g} where "
                             f"they meet (t = t0 on the faces); a continuous solution needs them equal there")
