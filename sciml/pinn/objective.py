r"""The PINN loss as named terms: the problem's own residual and conditions at collocation points.

.. math::
    L_\text{pde} = \frac{1}{N_r} \sum_{p} |\mathcal R[u_\theta](p)|^2, \qquad
    L_c = \frac{1}{N_c} \sum_{p} |r_c[u_\theta](p)|^2 \ \text{for each condition } c, \qquad
    L_\text{data} = \frac{1}{N_d} \sum_{p} |u_\theta(p) - u_p|^2,

with :math:`\mathcal R` the problem's ``residual(u, a, d)`` evaluated by :class:`sciml.diff.AutogradDiff`
at the interior points and :math:`r_c` the condition's ``residual`` (Raissi, Perdikaris & Karniadakis,
JCP 378, 2019). The terms keep their names (``"pde"``, the condition names such as ``"bc"`` and
``"ic"``, ``"data"``), so that :mod:`sciml.optim` can treat them apart: MultiAdam's default groups put
``"pde"`` against the rest. Each term is a :class:`~sciml.optim.Residual` carrying its pointwise residual
vector, whose mean square is the term's loss: first-order optimizers read the loss, Gauss-Newton methods
(:class:`~sciml.optim.NaturalGradient`) the vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from sciml.diff import AutogradDiff
from sciml.optim import Residual
from sciml.pinn.collocation import select_conditions
from sciml.pinn.pointwise import condition_pointwise, data_pointwise, pde_pointwise
from sciml.problem import AbstractProblem

__all__ = ["PINNObjective"]


class PINNObjective:
    r"""``objective(model, batch) -> {term: Residual}``, each term's loss the mean square of its residual.

    Parameters
    ----------
    problem
        Supplies ``residual``, the conditions and the domain's layout (time or not).
    conditions
        Names of the conditions with a loss term; ``None``: all of ``problem.conditions()``. Leave
        out those a :class:`~sciml.pinn.HardConstraint` enforces.
    input_field
        The input :math:`a` of ``residual`` as a function of points ``(P, D) -> (P, C_in)`` (a forcing,
        a coefficient); ``None``: ``problem.exact_input``, which is ``None`` for problems whose residual
        takes no input.
    data
        Optional observations ``(points (N, D), values (N, C))`` for a ``"data"`` term, in the dtype and
        on the device of the model.

    The batch is ``{"pde": (N_r, D), name: (N_c, D)}``, as :class:`~sciml.pinn.Collocation` yields it.
    Each term is returned as a :class:`~sciml.optim.Residual` of values ``(N, C')``: the residual at
    its points, unreduced, so that :func:`sciml.train.fit` hands it to the optimizer as it is. For an
    ``nn.Module`` (not wrapped for DDP) each term also carries its :class:`~sciml.optim.Pointwise` form
    (:mod:`sciml.pinn.pointwise`), except the conditions that differentiate ``u`` (Neumann, periodic).
    """

    def __init__(
        self,
        problem: AbstractProblem,
        *,
        conditions: Sequence[str] | None = None,
        input_field: Callable[[Tensor], Tensor | None] | None = None,
        data: tuple[Tensor, Tensor] | None = None,
    ):
        self.conditions = select_conditions(problem, conditions, "PINNObjective")
        if data is not None:
            points, values = data
            if points.ndim != 2 or points.shape[1] != problem.domain.columns or values.ndim != 2 or values.shape[0] != points.shape[0]:
                raise ValueError(f"PINNObjective: data must be points (N, {problem.domain.columns}) and values (N, C), "
                                 f"got {tuple(points.shape)} and {tuple(values.shape)}")
        self.problem, self.data = problem, data
        self.input_field = problem.exact_input if input_field is None else input_field
        self.time = problem.domain.time is not None

    @property
    def terms(self) -> tuple[str, ...]:
        """The term names, in the order of the returned dict: ``"pde"``, the conditions, ``"data"``."""
        return ("pde", *self.conditions, *(("data",) if self.data is not None else ()))

    def residual(self, model: nn.Module | Callable[[Tensor], Tensor], points: Tensor) -> Tensor:
        """The PDE residual ``(P, C')`` of ``model`` at ``points`` ``(P, D)``, with autograd derivatives."""
        coords = points.detach().requires_grad_(True)
        u = model(coords)  # (P, C)
        return self.problem.residual(u, self.input_field(points.detach()), AutogradDiff(coords, time=self.time))

    def __call__(self, model: nn.Module | Callable[[Tensor], Tensor], batch: dict[str, Tensor]) -> dict[str, Residual]:
        """``{"pde": Residual, name: Residual per condition, "data": Residual}`` for the points of ``batch``."""
        missing = [name for name in ("pde", *self.conditions) if name not in batch]
        if missing:
            raise ValueError(f"PINNObjective: the batch has no points for {missing}; it has {sorted(batch)}")
        functional = isinstance(model, nn.Module) and not isinstance(model, nn.parallel.DistributedDataParallel)
        points = batch["pde"]
        terms = {"pde": Residual(self.residual(model, points),
                                 pde_pointwise(self.problem, model, self.input_field, points) if functional else None)}
        for name, condition in self.conditions.items():
            points = batch[name]
            terms[name] = Residual(condition.residual(model, points),
                                   condition_pointwise(condition, model, points) if functional else None)
        if self.data is not None:
            points, values = self.data
            terms["data"] = Residual(model(points) - values, data_pointwise(model, points, values) if functional else None)
        return terms
