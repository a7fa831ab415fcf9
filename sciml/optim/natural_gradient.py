r"""Gauss-Newton / energy natural gradient descent over named residual terms (Müller and Zeinhofer, ICML 2023).

With the terms' residuals :math:`r_k` (:class:`~sciml.optim.Residual`, :math:`P_k` points each) and
weights :math:`w_k`, the loss is :math:`L(\theta) = \sum_k \frac{w_k}{P_k} \|r_k(\theta)\|^2 = \|R(\theta)\|^2`
with the stacked, scaled residual :math:`R = (\sqrt{w_k / P_k}\, r_k)_k`. With :math:`J = \partial R / \partial\theta`
the Gauss-Newton (for PINNs: energy natural gradient) direction solves

.. math:: (J^\top J + \lambda I)\, d = J^\top R,

the Gram matrix :math:`J^\top J` summing every term's, and the step :math:`\theta \leftarrow \theta - \eta d`
takes the best :math:`\eta` of a logarithmic grid (a line search on the loss). On a problem linear in
:math:`\theta` with :math:`\lambda = 0`, :math:`\eta = 1` lands on the least-squares minimizer in one step.
With ``adaptive_damping`` the step is Levenberg-Marquardt's instead: :math:`\eta = \eta_{\max}` alone, and
:math:`\lambda` adapted from the ratio of the loss's actual to its predicted decrease.

The system is solved matrix-free by conjugate gradients, each iteration one Jacobian-vector and one
vector-Jacobian product; or densely, by building :math:`J`, for small networks. The products come
from PyTorch's autograd on the residual's graph (the vector-Jacobian product directly, the
Jacobian-vector product by the double-backward trick: :math:`Jv = \partial_u (u^\top J v)`), because a
PINN's residual holds derivatives taken with ``torch.autograd.grad``, which ``torch.func``'s transforms
cannot trace. A term that also carries its :class:`~sciml.optim.Pointwise` form (a PINN's, from
:class:`~sciml.pinn.PINNObjective`) has its dense Jacobian built by ``vmap(jacrev)`` over its points:
the same matrix (tested), 15 to 30 times faster on the ENGD paper's 2-D Poisson PINN.

References
----------
J. Müller, M. Zeinhofer, "Achieving high accuracy with PINNs via energy natural gradient descent", ICML 2023.
A. Jnini, F. Vella, M. Zeinhofer, "Gauss-Newton natural gradient descent for physics-informed computational
fluid dynamics", 2024.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import scipy.linalg.blas
import torch
from torch import Tensor

from sciml.optim.terms import (
    Closure,
    Pointwise,
    Residual,
    check_names,
    check_weights,
    flat_params,
)

__all__ = ["NaturalGradient", "gauss_newton_direction", "pointwise_jacobian", "residual_jacobian"]

SOLVERS = ("cg", "dense", "gram")


def _conjugate_gradient(apply: Callable[[Tensor], Tensor], b: Tensor, tol: float, maxiter: int) -> Tensor:
    """Solve ``apply(x) = b`` for a symmetric positive (semi-)definite operator, from ``x = 0``, to ``|r| <= tol |b|``."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr, target = r.dot(r), tol * b.norm()
    for _ in range(maxiter):
        if rr.sqrt() <= target:
            break
        ap = apply(p)
        curvature = p.dot(ap)
        if curvature <= 0:  # the semi-definite case: no descent left along p
            break
        alpha = rr / curvature
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r.dot(r)
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


class _Products:
    """Jacobian-vector and vector-Jacobian products of a residual ``r(theta)`` ``(M,)`` by autograd.

    ``jt(w) = J^T w`` is one backward pass; ``j(v) = J v`` the double-backward trick, a backward pass
    through the (linear in ``u``) graph of ``J^T u``. The residual's graph is kept for repeated use.
    """

    def __init__(self, residual: Tensor, params: Sequence[Tensor]):
        self.r, self.params = residual.reshape(-1), list(params)  # (M,)
        self.n = sum(p.numel() for p in self.params)
        self.u = torch.zeros_like(self.r, requires_grad=True)
        self.jt_u = torch.autograd.grad(self.r, self.params, self.u, create_graph=True, allow_unused=True)

    def _flat(self, grads) -> Tensor:
        return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(self.params, grads)])

    def jt(self, w: Tensor) -> Tensor:
        """``J^T w``: ``(M,) -> (N,)``."""
        return self._flat(torch.autograd.grad(self.r, self.params, w, retain_graph=True, allow_unused=True))

    def j(self, v: Tensor) -> Tensor:
        """``J v``: ``(N,) -> (M,)``."""
        pieces, offset = [], 0
        for p in self.params:
            pieces.append(v[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        used = [(g, piece) for g, piece in zip(self.jt_u, pieces) if g is not None and g.requires_grad]
        if not used:
            return torch.zeros_like(self.r)
        (jv,) = torch.autograd.grad([g for g, _ in used], self.u, [piece for _, piece in used], retain_graph=True)
        return jv

    def jacobian(self, chunk: int = 256) -> Tensor:
        """``J`` ``(M, N)``, from ``min(M, N)`` products batched ``chunk`` at a time (autograd's ``is_grads_batched``):
        row by row (``J^T e_m``) when there are fewer residuals than parameters, column by column (``J e_i``) otherwise."""
        m, dtype, device = self.r.numel(), self.r.dtype, self.r.device
        blocks = []
        for start in range(0, min(m, self.n), chunk):
            stop = min(start + chunk, min(m, self.n))
            basis = torch.eye(min(m, self.n), dtype=dtype, device=device)[start:stop]  # (b, min(M, N))
            if m <= self.n:
                grads = torch.autograd.grad(self.r, self.params, basis, retain_graph=True, allow_unused=True, is_grads_batched=True)
                blocks.append(torch.cat([(torch.zeros(stop - start, p.numel(), dtype=dtype, device=device) if g is None
                                          else g.reshape(stop - start, -1)) for p, g in zip(self.params, grads)], dim=1))  # (b, N)
            else:
                used, outputs, offset = [], [], 0
                for g, p in zip(self.jt_u, self.params):  # the basis vectors cut into each parameter's shape: (b, *p.shape)
                    if g is not None and g.requires_grad:
                        used.append(g)
                        outputs.append(basis[:, offset : offset + p.numel()].reshape(-1, *p.shape))
                    offset += p.numel()
                (columns,) = torch.autograd.grad(used, self.u, outputs, retain_graph=True, is_grads_batched=True)
                blocks.append(columns.T)  # (M, b)
        return torch.cat(blocks, dim=0 if m <= self.n else 1)  # (M, N)


def residual_jacobian(residual: Tensor, params: Sequence[Tensor]) -> Tensor:
    r"""The Jacobian :math:`J = \partial r / \partial\theta` of a residual ``(M,)`` (any shape, flattened) as ``(M, N)``.

    For a model linear in :math:`\theta` the loss :math:`|r|^2` has the constant Hessian :math:`2 J^\top J`.
    """
    return _Products(residual, params).jacobian()


def gauss_newton_direction(residual: Tensor, params: Sequence[Tensor], *, damping: float = 0.0, solver: str = "cg",
                           tol: float = 1e-10, maxiter: int | None = None, rcond: float | None = None) -> Tensor:
    r"""The direction :math:`d` with :math:`(J^\top J + \lambda I) d = J^\top r`, :math:`J = \partial r / \partial\theta`, ``(N,)``.

    Parameters
    ----------
    residual
        :math:`r`, any shape, with its graph to ``params`` (kept: the graph is reused).
    params
        The parameters :math:`\theta`; the direction is flattened in their order.
    damping
        :math:`\lambda \ge 0` (Levenberg-Marquardt); needed where :math:`J` has a null space and ``solver="dense"``;
        ``solver="gram"`` needs it positive.
    solver
        ``"cg"``: matrix-free conjugate gradients to relative residual ``tol`` (at most ``maxiter``
        iterations, default ``N``); ``"dense"``: :math:`J` built row by row (or column by column, whichever
        is fewer products) and :math:`\min_d |Jd - r|^2 + \lambda |d|^2` solved by an SVD-based least-squares
        driver (the minimum-norm solution where :math:`J` has a null space and :math:`\lambda = 0`); ``"gram"``:
        :math:`J` built as for ``"dense"``, the damped Gram system solved by a Cholesky factorization, half the cost
        of the SVD (the same direction to round-off where :math:`\lambda` dominates the ``rcond`` cut-off).
    rcond
        ``"dense"``: singular values of the damped :math:`J` below ``rcond`` times the largest are dropped
        (a truncated SVD); ``None``: machine precision.
    """
    if solver not in SOLVERS:
        raise ValueError(f"gauss_newton_direction: solver must be one of {SOLVERS}, got {solver!r}")
    if not (math.isfinite(damping) and damping >= 0):
        raise ValueError(f"gauss_newton_direction: damping must be >= 0 and finite, got {damping}")
    if solver == "gram" and damping <= 0:
        raise ValueError("gauss_newton_direction: solver='gram' needs damping > 0 (the Gram matrix may be singular)")
    products = _Products(residual, params)
    if solver == "cg":
        return _cg_solver(products, tol, maxiter)(damping)
    return _dense_solver(products.jacobian(), products.r.detach(), solver, rcond)(damping)


def _cg_solver(products: _Products, tol: float, maxiter: int | None) -> Callable[[float], Tensor]:
    """The damped Gauss-Newton direction as a function of the damping, by matrix-free conjugate gradients."""
    rhs = products.jt(products.r.detach())
    iterations = products.n if maxiter is None else maxiter
    return lambda damping: _conjugate_gradient(lambda v: products.jt(products.j(v)) + damping * v, rhs, tol, iterations)


def _dense_solver(jacobian: Tensor, r: Tensor, solver: str, rcond: float | None) -> Callable[[float], Tensor]:
    """The damped Gauss-Newton direction as a function of the damping, from ``J`` ``(M, N)`` and ``r`` ``(M,)`` by
    ``solver`` ``"dense"`` or ``"gram"`` (the Gram matrix and ``J^T r`` built once, for every damping tried)."""
    if solver == "dense":
        return lambda damping: _least_squares(jacobian, r, damping, rcond)
    gram, rhs = _gram(jacobian), (jacobian.T @ r)[:, None]

    def solve(damping: float) -> Tensor:
        damped = gram.clone()
        damped.diagonal().add_(damping)
        factor, info = torch.linalg.cholesky_ex(damped)
        if info.item() != 0:  # not positive definite in floating point: the damping is below its round-off
            return _least_squares(jacobian, r, damping, rcond)
        return torch.cholesky_solve(rhs, factor)[:, 0]

    return solve


def _gram(jacobian: Tensor) -> Tensor:
    """``J^T J`` ``(N, N)`` for ``J`` ``(M, N)``, exactly symmetric. On the CPU in float32/64 by BLAS's ``syrk`` (SciPy's),
    which computes one triangle: half the multiply-adds of ``J.T @ J``, and 2.0 times faster than PyTorch's product
    measured for ``M, N = 6000, 1981`` in float64 on one thread (0.54 s against 1.08 s)."""
    syrk = {torch.float64: scipy.linalg.blas.dsyrk, torch.float32: scipy.linalg.blas.ssyrk}.get(jacobian.dtype)
    if jacobian.device.type != "cpu" or syrk is None:
        return jacobian.T @ jacobian
    lower = torch.from_numpy(syrk(1.0, jacobian.detach().numpy().T, lower=1))  # J^T J's lower triangle; J^T: Fortran order, no copy
    return lower + lower.tril(-1).T


def _least_squares(jacobian: Tensor, r: Tensor, damping: float, rcond: float | None) -> Tensor:
    """``argmin |J d - r|^2 + damping |d|^2`` for ``J`` ``(M, N)``, ``r`` ``(M,)``: the normal equations solved on
    ``J`` itself (not on ``J^T J``, whose condition number is squared); the minimum-norm solution where ``J``
    has a null space."""
    n = jacobian.shape[1]
    system, target = jacobian, r
    if damping > 0:
        system = torch.cat([jacobian, math.sqrt(damping) * torch.eye(n, dtype=r.dtype, device=r.device)])  # (M + N, N)
        target = torch.cat([r, torch.zeros(n, dtype=r.dtype, device=r.device)])  # (M + N,)
    solution = torch.linalg.lstsq(system.cpu(), target.cpu()[:, None], rcond=rcond, driver="gelsd").solution
    return solution[:, 0].to(r.device)


def pointwise_jacobian(pointwise: Pointwise, params: Sequence[Tensor]) -> Tensor:
    r"""The Jacobian ``(P C, N)`` of a :class:`~sciml.optim.Pointwise` residual ``(P, C)`` in ``params``, by the form's own
    ``jacobian`` where it has one (a PINN's jets), else by ``vmap(jacrev)`` over the points: row ``p C + c`` is
    :math:`\partial r_c(x_p) / \partial\theta`, the order of ``values.reshape(-1)``."""
    names = {id(t): name for name, t in pointwise.params.items()}  # the optimizer's parameters, found by identity
    missing = [i for i, p in enumerate(params) if id(p) not in names]
    if missing:
        raise ValueError(f"NaturalGradient: parameter {missing[0]} of the optimizer is not among the parameters of a "
                         f"term's pointwise form ({', '.join(pointwise.params)})")
    if pointwise.jacobian is not None:
        return pointwise.jacobian(params)
    order = [names[id(p)] for p in params]
    fixed = {name: t.detach() for name, t in pointwise.params.items() if name not in set(order)}
    free = {name: p.detach() for name, p in zip(order, params)}
    rows = torch.func.vmap(torch.func.jacrev(lambda free, point: pointwise.function({**fixed, **free}, point)),
                           in_dims=(None, 0))(free, pointwise.points)  # {name: (P, C, *shape)}
    points = pointwise.points.shape[0]
    jacobian = torch.cat([rows[name].reshape(points, -1, p.numel()) for name, p in zip(order, params)], dim=2)  # (P, C, N)
    return jacobian.reshape(-1, jacobian.shape[2])  # (P C, N)


class NaturalGradient(torch.optim.Optimizer):
    r"""Gauss-Newton / energy natural gradient steps with a line search, over named :class:`~sciml.optim.Residual` terms.

    Parameters
    ----------
    params
        Parameters; one real dtype and device (the direction is a flat vector).
    terms
        Names of the terms the closure returns, each a :class:`~sciml.optim.Residual`.
    weights
        Per-term weights :math:`w_k`; names left out weigh 1.
    lr
        The largest step :math:`\eta_{\max}` of the line search (1: the full Gauss-Newton step).
    damping
        :math:`\lambda` added to the Gram matrix.
    solver, cg_tol, cg_maxiter, rcond
        How the system is solved (:func:`gauss_newton_direction`): ``"cg"`` matrix-free, for large
        networks; ``"dense"`` by a truncated SVD of :math:`J` (singular values below ``rcond`` times the
        largest dropped), for small ones; ``"gram"`` by a Cholesky factorization of the damped Gram matrix
        (``damping > 0``), half the cost of ``"dense"``'s SVD. A PINN's Gram matrix is very ill
        conditioned: conjugate gradients truncated at a few hundred iterations act as a regularizer
        (measured on a 1-D Poisson PINN of 49 parameters: 5.7e-7 relative error after 40 steps with 400
        iterations, 5e-5 with 49, and a stall near 0.6 for the exact minimum-norm dense solve without damping);
        the dense solve's truncation plays the same part (on the 2-D Poisson PINN of the ENGD paper, a 2-32-1
        tanh network on a 30 x 30 grid, with ``damping=0``: 1e-8 to 1e-6 within 150 steps for ``rcond=1e-7``
        over four seeds, divergence for ``rcond=1e-9``; the default ``damping=1e-10``, whose rows
        :math:`\sqrt\lambda = 10^{-5}` dominate that cut-off, stalls near 1e-5 to 1e-4). With the dense solver use
        ``damping=0`` for the last digits, or ``1e-6`` to ``1e-4`` where undamped first steps stall or overshoot
        (docs/optim.md: the ENGD paper's 5-D problem, Burgers, some initial draws).
    line_search
        Number of step sizes tried, :math:`\eta = \eta_{\max} 2^{-j}`, ``j = 0..line_search - 1`` (the ENGD
        paper's grid for 31); the one with the smallest loss is taken (none, if no step lowers it).
    adaptive_damping
        Levenberg-Marquardt instead of the line search: the step :math:`\eta_{\max} d` is tried alone, and
        :math:`\lambda` (starting from ``damping``) follows the gain ratio :math:`\rho` of the loss's actual to
        its predicted decrease, :math:`|R|^2 - |R - \eta J d|^2`: divided by 3 where :math:`\rho > 3/4`,
        doubled where :math:`\rho < 1/4`, and doubled with the direction solved again (from the same Jacobian
        and Gram matrix) where the step does not lower the loss, at most 30 times (if none does, the step is
        not taken and :math:`\lambda` kept), no lower than ``damping_min``. One loss evaluation per step
        instead of ``line_search``, and the damping shrinks as the model converges: on the Burgers PINN of
        docs/benchmarks.md, 2.4e-5 after 460 CPU seconds, where the line search with the fixed damping 1e-4
        ended at 1.16e-4 after 865. The current :math:`\lambda` is the param group's ``damping`` (saved with
        ``state_dict``).
    damping_min
        The floor of the adapted :math:`\lambda`.

    Notes
    -----
    A step costs one closure evaluation with its graph, the solve (each CG iteration two backward
    passes through it; dense and gram: the Jacobian, from the jets of a PINN or by ``vmap(jacrev)`` for terms with a
    :class:`~sciml.optim.Pointwise` form, and an SVD or a Cholesky factorization) and ``line_search`` evaluations of the
    loss (with ``adaptive_damping``: one, and one more solve and evaluation per rejected step). ``state_dict`` holds
    no state beyond the param group's (the adapted damping): the method is otherwise memoryless.
    """

    _MARQUARDT_TRIES = 30  # the damping doubled at most this many times in a step: 2^30 ~ 1e9

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        lr: float = 1.0,
        damping: float = 1e-10,
        solver: str = "cg",
        cg_tol: float = 1e-10,
        cg_maxiter: int = 200,
        rcond: float | None = 1e-7,
        line_search: int = 31,
        adaptive_damping: bool = False,
        damping_min: float = 1e-12,
    ):
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"NaturalGradient: lr must be positive and finite, got {lr}")
        if cg_maxiter < 1:
            raise ValueError(f"NaturalGradient: cg_maxiter must be >= 1, got {cg_maxiter}")
        if line_search < 1:
            raise ValueError(f"NaturalGradient: line_search must be >= 1 step size, got {line_search}")
        if solver not in SOLVERS:
            raise ValueError(f"NaturalGradient: solver must be one of {SOLVERS}, got {solver!r}")
        if not (math.isfinite(damping) and damping >= 0):
            raise ValueError(f"NaturalGradient: damping must be >= 0 and finite, got {damping}")
        if solver == "gram" and damping <= 0:
            raise ValueError("NaturalGradient: solver='gram' needs damping > 0 (the Gram matrix may be singular)")
        if not (math.isfinite(damping_min) and damping_min >= 0) or (solver == "gram" and adaptive_damping and damping_min <= 0):
            raise ValueError(f"NaturalGradient: damping_min must be finite and >= 0 (> 0 with solver='gram'), got {damping_min}")
        self.terms = check_names(terms, "NaturalGradient")
        self.weights = check_weights(weights, self.terms, "NaturalGradient")
        self.solver, self.cg_tol, self.cg_maxiter, self.rcond, self.line_search = solver, cg_tol, cg_maxiter, rcond, line_search
        self.adaptive_damping, self.damping_min = adaptive_damping, damping_min
        super().__init__(params, {"lr": lr, "damping": damping})

    def _residuals(self, closure: Closure) -> dict[str, Residual]:
        terms = closure()
        if not isinstance(terms, Mapping) or set(terms) != set(self.terms):
            got = sorted(terms) if isinstance(terms, Mapping) else type(terms).__name__
            raise ValueError(f"NaturalGradient: the closure must return the terms {self.terms}, got {got}")
        for name, value in terms.items():
            if not isinstance(value, Residual):
                raise TypeError(f"NaturalGradient: term {name!r} must be a sciml.optim.Residual (a residual vector), "
                                f"got {type(value).__name__}")
        return dict(terms)

    def _loss(self, residuals: dict[str, Residual]) -> Tensor:
        return sum(self.weights[name] * residuals[name].loss() for name in self.terms)

    def step(self, closure: Closure) -> dict[str, Tensor]:  # type: ignore[override]
        """One Gauss-Newton step with line search (or Levenberg-Marquardt's damping); returns the terms' losses before it."""
        params = flat_params(self.param_groups, "NaturalGradient")
        group = self.param_groups[0]
        with torch.enable_grad():
            residuals = self._residuals(closure)
            scales = {name: math.sqrt(self.weights[name] / residuals[name].values.numel()) for name in self.terms}
            stacked = torch.cat([scales[name] * residuals[name].values.reshape(-1) for name in self.terms])  # (M,): loss |stacked|^2
            if self.solver != "cg":
                jacobian = torch.cat([scales[name] * (residual_jacobian(r.values, params) if r.pointwise is None
                                                      else pointwise_jacobian(r.pointwise, params))
                                      for name, r in ((name, residuals[name]) for name in self.terms)])  # (M, N)
                solve, apply = _dense_solver(jacobian, stacked.detach(), self.solver, self.rcond), jacobian.mv
            else:
                products = _Products(stacked, params)
                solve, apply = _cg_solver(products, self.cg_tol, self.cg_maxiter), products.j
        before = {name: residuals[name].loss().detach() for name in self.terms}
        start = [p.detach().clone() for p in params]
        loss = sum(self.weights[name] * before[name] for name in self.terms)
        if self.adaptive_damping:
            self._marquardt(closure, params, start, solve, apply, stacked.detach(), loss)
        else:
            self._line_search(closure, params, start, solve(group["damping"]), loss)
        return before

    def _line_search(self, closure: Closure, params: list[Tensor], start: list[Tensor], direction: Tensor, loss: Tensor) -> None:
        """The best step size of the grid along ``direction``: the parameters are left there (at ``start`` if none lowers ``loss``)."""
        # every step size of the grid, the best taken: stopping at the first rise after a decrease (the argmin
        # only for a loss unimodal along the direction) left a seed of the ENGD Poisson PINN at 1.3e-4 where the
        # whole grid reaches 7.4e-8 in 100 steps; a batched forward-mode evaluation of the trials over a pointwise
        # form measured 2.5x slower than these closure calls
        best, best_loss, lr = 0.0, loss, self.param_groups[0]["lr"]
        for j in range(self.line_search):
            eta = lr * 2.0**-j
            trial = self._trial_loss(closure, params, start, direction, eta)
            if torch.isfinite(trial) and trial < best_loss:
                best, best_loss = eta, trial
        self._move(params, start, direction, best)

    def _marquardt(self, closure: Closure, params: list[Tensor], start: list[Tensor], solve: Callable[[float], Tensor],
                   apply: Callable[[Tensor], Tensor], r: Tensor, loss: Tensor) -> None:
        """The step ``lr * d`` with ``d`` solved at the adapted damping (Levenberg-Marquardt's gain-ratio rule)."""
        group = self.param_groups[0]
        eta, damping = group["lr"], group["damping"]
        for _ in range(self._MARQUARDT_TRIES):
            direction = solve(damping)
            step = eta * apply(direction)  # (M,): the predicted change of R
            predicted = (2 * r.dot(step) - step.dot(step)).item()  # |R|^2 - |R - eta J d|^2
            trial = self._trial_loss(closure, params, start, direction, eta)
            if torch.isfinite(trial) and trial < loss:
                gain = (loss - trial).item() / predicted if predicted > 0 else 0.0
                damping = damping / 3 if gain > 0.75 else damping * 2 if gain < 0.25 else damping
                break
            damping *= 2
        else:  # no step lowers the loss (converged to round-off): the parameters and the damping stay as they were
            self._move(params, start, direction, 0.0)
            return
        group["damping"] = max(damping, self.damping_min)

    def _trial_loss(self, closure: Closure, params: list[Tensor], start: list[Tensor], direction: Tensor, eta: float) -> Tensor:
        """The loss at ``start - eta * direction``, from the closure (the parameters are left there)."""
        self._move(params, start, direction, eta)
        with torch.enable_grad():  # the residual differentiates the model in its inputs
            return self._loss(self._residuals(closure)).detach()

    @staticmethod
    @torch.no_grad()
    def _move(params: list[Tensor], start: list[Tensor], direction: Tensor, eta: float) -> None:
        """``theta = theta_start - eta * direction`` in place."""
        offset = 0
        for p, p0 in zip(params, start):
            p.copy_(p0 - eta * direction[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
