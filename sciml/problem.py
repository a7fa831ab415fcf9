r"""The Problem contract: a PDE written once, read by solvers, losses, datasets, metrics and PINNs.

A problem is an equation, not a trainer: a frozen dataclass whose fields are its parameters, with

- ``residual(u, a, d)``: the PDE as a pure function of the solution ``u``, the input field ``a`` and a
  differentiator ``d`` (:class:`sciml.diff.AbstractDiff`), so that one function serves the PINN loss
  (autograd at points), the physics-informed operator loss and the residual metric (grid backends);
- ``domain`` (:class:`sciml.domain.Domain`) and named ``conditions()`` (``{"bc": ..., "ic": ...}``,
  :mod:`sciml.conditions`), so that a PINN loss is a set of named terms;
- ``sample_inputs``/``solve`` on grids, the data of operator learning, and
  ``solution_residual(u, a, grid)``: the residual of a field in ``solve``'s layout, which is what a
  trained operator's output is checked with;
- optionally an exact solution (``has_exact_solution``, ``exact_solution``, ``exact_input``).

Two kinds: :class:`AbstractSteadyProblem` (``u = solve(a)`` on the space grid) and
:class:`AbstractEvolutionProblem`, whose one time layout is documented there.
:class:`AbstractPseudoSpectralProblem` adds the shared solver of periodic evolution problems split
into a linear and a nonlinear part (as in Exponax): the problem supplies its right-hand side.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from sciml.conditions import AbstractCondition
from sciml.diff import AbstractDiff, AbstractGridDiff, FiniteDiff, SpectralDiff
from sciml.domain import Domain
from sciml.solvers import PseudoSpectralSolver, SemilinearEquation, Stepper, interior
from sciml.spectral.grid import Grid

__all__ = ["AbstractEvolutionProblem", "AbstractProblem", "AbstractPseudoSpectralProblem", "AbstractSteadyProblem"]


class AbstractProblem(abc.ABC):
    """A PDE problem: an equation with its coefficients.

    Subclasses are final frozen dataclasses whose fields are the problem's parameters; everything
    else reads them from there. Concrete problems derive from :class:`AbstractSteadyProblem` or
    :class:`AbstractEvolutionProblem`.

    Shapes: inputs ``a`` are ``(B, input_channels, *S)`` and solutions ``(B, C_out, *S)`` on the
    problem's :meth:`grid`; points are ``(P, D)`` rows of :attr:`domain`'s column order.
    """

    #: registry / dataset name, e.g. ``"burgers"``
    name: ClassVar[str] = ""
    #: channels of the input ``a``
    input_channels: ClassVar[int] = 1
    #: channels of the solution at one time (at points, :meth:`exact_solution` may append auxiliary fields)
    solution_channels: ClassVar[int] = 1
    #: channels of a solution at points, as :meth:`residual` takes it there: the solution's, and any auxiliary
    #: fields a local form of the PDE needs (Navier-Stokes: the stream function); a PINN's outputs
    point_channels: ClassVar[int] = 1

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of space dimensions."""

    @property
    @abc.abstractmethod
    def domain(self) -> Domain:
        """The physical domain: its space box (and time interval); PINN points are sampled from it."""

    @abc.abstractmethod
    def grid(self, resolution: int) -> Grid:
        """The problem's grid with ``resolution`` points per space axis; raises ``ValueError`` when unsupported."""

    def output_grid(self, grid: Grid) -> Grid:
        """The grid on which :meth:`solve` returns its solution; the input grid unless the problem stores coarser."""
        return grid

    @abc.abstractmethod
    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        """Draw ``n`` inputs (initial conditions, coefficients, forcings), shape ``(n, C_in, *grid.shape)``, float64."""

    @abc.abstractmethod
    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        """The batched reference solution for inputs ``a`` ``(B, C_in, *grid.shape)`` -> ``(B, C_out, *S_out)``."""

    @abc.abstractmethod
    def residual(self, u: Tensor, a: Tensor | None, d: AbstractDiff) -> Tensor:
        """The pointwise PDE residual of ``u`` given input ``a``, derivatives from ``d``.

        Layouts are those of ``d``: grid fields ``(B, C, *S)`` (``(B, C, T, *S)`` with time), or point
        values ``(P, C)`` with :class:`~sciml.diff.AutogradDiff`. Zero where ``u`` solves the PDE.
        """

    @abc.abstractmethod
    def conditions(self) -> dict[str, AbstractCondition]:
        """The named boundary (``"bc"``) and initial (``"ic"``) conditions every solution satisfies.

        A condition that depends on the random input (the initial state of an operator-learning
        problem) is not among them; an initial condition appears where the initial state is fixed.
        """

    @abc.abstractmethod
    def solution_residual(self, u: Tensor, a: Tensor, grid: Grid, d: AbstractGridDiff | None = None) -> Tensor:
        """The residual of ``u`` in :meth:`solve`'s layout on ``grid``: what a trained operator's output is checked with."""

    @property
    def has_solution_residual(self) -> bool:
        """Whether :meth:`solution_residual` exists for :meth:`solve`'s layout (not for one frame of an evolution)."""
        return True

    def differentiator(self, grid: Grid, time: Grid | None = None) -> AbstractGridDiff:
        """The grid differentiator that fits ``grid`` (and a time grid): spectral on periodic grids, else second-order differences.

        Time derivatives are fourth-order differences where the time grid has 5 nodes or more, second
        order otherwise (3 nodes at least).
        """
        if time is not None and time.shape[0] < 3:
            raise ValueError(f"{type(self).__name__}.differentiator: a time derivative needs >= 3 time nodes, got {time.shape[0]}")
        if grid.periodic:
            return SpectralDiff(grid, time=time, time_order=4 if time is None or time.shape[0] >= 5 else 2)
        return FiniteDiff(grid, order=2, time=time)

    # --- exact solutions (optional) ----------------------------------------------------------------

    @property
    def has_exact_solution(self) -> bool:
        """Whether :meth:`exact_solution` is available for this instance."""
        return False

    def exact_solution(self, points: Tensor) -> Tensor:
        """A solution in closed form at points ``(P, D)`` -> ``(P, C)`` (first ``solution_channels`` channels: the solution)."""
        raise NotImplementedError(f"{type(self).__name__} has no exact solution (see has_exact_solution)")

    def exact_input(self, points: Tensor) -> Tensor | None:
        """The input field that :meth:`exact_solution` solves for, at ``points``; ``None`` where the residual takes no input."""
        return None

    # --- metadata ----------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """The problem's parameters as plain JSON-able values, for dataset and checkpoint metadata."""
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass or override params()")
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "AbstractProblem":
        """The problem that :meth:`params` describes (e.g. read back from a dataset file)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"{cls.__name__}.from_params: unknown parameters {unknown} (parameters: {', '.join(sorted(names))})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})

    # --- checks ------------------------------------------------------------------------------------

    def check_grid(self, grid: Grid) -> None:
        """Raise unless ``grid`` is ``self.grid(n)`` for its resolution ``n``."""
        if not isinstance(grid, Grid):
            raise TypeError(f"{type(self).__name__}: grid must be a sciml.spectral.Grid, got {type(grid).__name__}")
        expected = self.grid(grid.shape[0])
        if grid != expected:
            raise ValueError(f"{type(self).__name__}: grid must be {expected.describe()} (the grid of .grid({grid.shape[0]}): "
                             f"its shape, lengths and periodicity), got {grid.describe()}")

    def check_input(self, a: Tensor, grid: Grid) -> None:
        """Raise unless ``a`` is a real ``(B, input_channels, *grid.shape)`` tensor on the problem's grid."""
        self.check_grid(grid)
        expected = (self.input_channels, *grid.shape)
        if a.ndim != 1 + len(expected) or tuple(a.shape[1:]) != expected or not a.is_floating_point():
            raise ValueError(f"{type(self).__name__}: a must be a real (B, {', '.join(map(str, expected))}) tensor, "
                             f"got {tuple(a.shape)} {a.dtype}")


class AbstractSteadyProblem(AbstractProblem):
    """A steady problem: ``u = solve(a)`` on the space grid, ``(B, solution_channels, *S)``; points are ``(x_1..x_d)``."""

    def solution_residual(self, u: Tensor, a: Tensor, grid: Grid, d: AbstractGridDiff | None = None) -> Tensor:
        """``residual(u, a, d)`` with :meth:`differentiator` by default.

        On nodal grids the boundary nodes, where the boundary condition holds instead of the PDE, are
        left out: ``(B, C, *(S - 2))``; periodic grids keep every node.
        """
        self.check_grid(grid)
        r = self.residual(u, a, self.differentiator(grid) if d is None else d)
        return r if grid.periodic else interior(r, grid.dim)


class AbstractEvolutionProblem(AbstractProblem):
    r"""An evolution problem :math:`u_t = F(u)` on :math:`t \in [0, T]` from the initial state ``a``.

    **The time layout.** A space-time field is ``(B, C, n_t, *S)``, time the leading axis after the
    channels, at the nodes :math:`t_j = j T / (n_t - 1)` of :meth:`time_grid`: the layout of
    :meth:`trajectory` and of :meth:`residual` on grids (and of :mod:`sciml.diff` with a time grid).
    Points are ``(t, x_1, .., x_d)``. The operator-learning target :meth:`solve` is the trajectory
    at the ``n_frames`` frames :math:`t_j = j T / n_\text{frames}`, ``j = 1..n_frames``, stacked on
    the channels: ``(B, C * n_frames, *S)`` (channel-major: channel ``c``'s frames together).
    :meth:`space_time` puts the initial state back in front, and :meth:`solution_residual` checks a
    prediction in that layout; it needs ``n_frames >= 2`` (``u0 -> u(T)`` alone has no time derivative).
    """

    #: :math:`T`
    final_time: float

    @property
    @abc.abstractmethod
    def n_frames(self) -> int:
        """Frames in :meth:`solve`'s output."""

    def time_grid(self, n_times: int) -> Grid:
        """The nodes ``t_j = j T / (n_times - 1)``, ``j = 0..n_times - 1``, as a nodal 1-D grid."""
        if n_times < 2:
            raise ValueError(f"{type(self).__name__}.time_grid: n_times must be >= 2, got {n_times}")
        return Grid((n_times,), (self.final_time,), periodic=False)

    @abc.abstractmethod
    def trajectory(self, a: Tensor, grid: Grid, n_times: int) -> Tensor:
        """The solution from ``a`` ``(B, C, *S)`` at the ``n_times`` nodes of :meth:`time_grid`, ``(B, C, n_times, *S)``."""

    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        """The frames at ``t_j = j T / n_frames``, ``j = 1..n_frames``, on the channels: ``(B, C * n_frames, *S)``."""
        u = self.trajectory(a, grid, self.n_frames + 1)  # (B, C, n_frames + 1, *S)
        return u[:, :, 1:].flatten(1, 2)  # (B, C * n_frames, *S)

    def space_time(self, u: Tensor, a: Tensor) -> Tensor:
        """Frames ``u`` ``(B, C * n_frames, *S)`` (the layout of :meth:`solve`) after the initial state ``a`` ``(B, C, *S)``: ``(B, C, n_frames + 1, *S)``."""
        c = self.solution_channels
        if a.ndim < 3 or a.shape[1] != c or u.shape != (a.shape[0], c * self.n_frames, *a.shape[2:]):
            raise ValueError(f"{type(self).__name__}.space_time: need u (B, {c * self.n_frames}, *S) and a (B, {c}, *S), "
                             f"got {tuple(u.shape)} and {tuple(a.shape)}")
        return torch.cat([a.unsqueeze(2), u.unflatten(1, (c, self.n_frames))], dim=2)  # (B, C, n_frames + 1, *S)

    @property
    def has_solution_residual(self) -> bool:
        return self.n_frames >= 2

    def solution_residual(self, u: Tensor, a: Tensor, grid: Grid, d: AbstractGridDiff | None = None) -> Tensor:
        """The residual of the trajectory ``(a, u)``: ``(B, C', n_frames + 1, *S)``, time by differences over the frames.

        ``d`` defaults to :meth:`differentiator` on ``grid`` and ``time_grid(n_frames + 1)``; the time
        derivative's error then scales with the frame interval to the power of its order.
        """
        self.check_grid(grid)
        if not self.has_solution_residual:
            raise ValueError(f"{type(self).__name__}: a residual of solve's output needs n_frames >= 2 frames "
                             f"(u0 -> u(T) alone has no time derivative), got n_frames={self.n_frames}")
        d = self.differentiator(grid, self.time_grid(self.n_frames + 1)) if d is None else d
        return self.residual(self.space_time(u, a), a, d)


class AbstractPseudoSpectralProblem(AbstractEvolutionProblem):
    r"""An evolution problem on a periodic box, :math:`\hat v_t = L \hat v + N(\hat v)`, solved pseudo-spectrally.

    The problem supplies its right-hand side (:meth:`equation`), the solver grid and the step; the
    trajectory is shared: the input is lifted to the solver grid by trigonometric interpolation,
    stepped by ``stepper`` (:class:`~sciml.solvers.PseudoSpectralSolver`) and sampled back pointwise.
    """

    #: the time stepper class, e.g. :class:`sciml.solvers.ETDRK4`
    stepper: type[Stepper]
    #: the dtype the solver computes in; ``None``: the input's
    solver_dtype: ClassVar[torch.dtype | None] = None

    @abc.abstractmethod
    def equation(self, grid: Grid, dtype: torch.dtype, device: torch.device) -> SemilinearEquation:
        """The right-hand side on the solver grid ``grid`` (rfftn layout, ``norm="forward"``)."""

    @abc.abstractmethod
    def solver_grid(self, grid: Grid) -> Grid:
        """The periodic grid the solver runs on for data on ``grid``; its sides are a common multiple of ``grid``'s."""

    @abc.abstractmethod
    def step_size(self, n_frames: int) -> float:
        """The time step for a trajectory of ``n_frames`` frames after ``t = 0``; it must divide ``T / n_frames``."""

    def trajectory(self, a: Tensor, grid: Grid, n_times: int) -> Tensor:
        """``(B, C, n_times, *S)`` in :attr:`solver_dtype` (``a``'s dtype if ``None``); see the class docstring."""
        self.check_input(a, grid)
        if n_times < 2:
            raise ValueError(f"{type(self).__name__}.trajectory: n_times must be >= 2, got {n_times}")
        u0 = a.to(self.solver_dtype or a.dtype)
        fine = self.solver_grid(grid)
        solver = PseudoSpectralSolver(self.equation(fine, u0.dtype, u0.device), self.stepper, self.step_size(n_times - 1))
        frames = solver(u0, n_times - 1, self.final_time / (n_times - 1), stride=fine.shape[0] // grid.shape[0])  # (B, C, n_t - 1, *S)
        return torch.cat([u0.unsqueeze(2), frames], dim=2)  # (B, C, n_times, *S)
