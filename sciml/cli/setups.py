"""What ``sciml train`` trains: an operator on data (``[data]``) or a PINN on a problem (``[pinn]``).

Each setup builds, from a run configuration, the model, the objective over named terms, the batches
of :func:`sciml.train.fit`, the test evaluation and the figures of the finished run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sciml.cli.build import (
    build_model,
    load_split,
    optimizer_arguments,
    problem_from,
    training_data,
)
from sciml.cli.config import ConfigError, RunConfig, build_from_signature
from sciml.domain import unit_samples
from sciml.losses import relative_lp
from sciml.metrics import evaluate_operator, predict
from sciml.nn import FourierExpansion
from sciml.optim import Residual, operator_preconditioner
from sciml.pinn import Collocation, HardConstraint, PINNObjective
from sciml.pinn import predict as predict_points
from sciml.plot import fields
from sciml.problem import AbstractProblem
from sciml.registry import MODELS, PROBLEMS
from sciml.train import OperatorObjective

__all__ = ["Setup", "operator_setup", "pinn_problem", "pinn_setup"]


@dataclasses.dataclass
class Setup:
    """A run's parts: ``evaluate`` gives the metrics rows' test errors, ``report`` the fuller metrics of
    ``sciml eval`` (PINNs; operators are evaluated on data there), ``extra_state`` is saved with every
    checkpoint, ``figures(run_dir)`` draws the finished run."""

    model: nn.Module
    objective: Callable[[nn.Module, Any], dict[str, Any]]
    terms: tuple[str, ...]
    batches: Any
    evaluate: Callable[[], dict[str, float]]
    extra_state: dict[str, Any]
    description: str
    figures: Callable[[Path], None]
    report: Callable[[], dict[str, float]] | None = None
    optimizer_args: dict[str, Any] = dataclasses.field(default_factory=dict)


def operator_setup(config: RunConfig, device: torch.device, dtype: torch.dtype, rank: int, world: int) -> Setup:
    """An operator trained on the ``[data]`` splits with the ``[loss]`` terms."""
    data = config.data
    train = training_data(data, config.train.batch_size, config.train.seed, device, dtype, rank, world)
    test = load_split(data.test, data, data.n_test, "data.test", device)
    if (test.inputs.shape[1], test.targets.shape[1]) != train.channels:
        raise ConfigError(f"data.test: its channels {test.inputs.shape[1]} -> {test.targets.shape[1]} differ "
                          f"from data.train's {train.channels[0]} -> {train.channels[1]}")
    norms = train.normalizers
    model = build_model(config.model, *train.channels, config.train.seed).to(device, dtype)
    weights = config.loss.weights
    problem = train.problem if weights.get("pde", 0) > 0 else None
    if weights.get("pde", 0) > 0 and (problem is None or not problem.has_solution_residual):
        raise ConfigError("loss.weights.pde: the training data's problem offers no residual of its solutions "
                          "(unknown problem, frames split off as inputs, or a single frame)")
    moved = {name: None if n is None else n.to(device) for name, n in norms.items()}
    if config.loss.normalized and moved["output_normalizer"] is None:
        raise ConfigError("loss.normalized: a data term in normalized units needs data.normalize_outputs = true")
    objective = OperatorObjective(weights, config.loss.data, train.grid, problem, *moved.values(),
                                  normalized=config.loss.normalized)

    def evaluate() -> dict[str, float]:
        metrics = evaluate_operator(model, test.inputs.to(dtype), test.targets.to(dtype), test.grid,
                                    batch_size=config.train.batch_size, **norms)
        return {f"test_{key}": value for key, value in metrics.items()}

    def figures(out: Path) -> None:
        prediction = predict(model, test.inputs[:3].to(dtype), **norms)
        fields(test.inputs[:3], test.targets[:3], prediction, out / "plots" / "test_samples.png", title=str(out))

    extra = {name: n.state_dict() for name, n in norms.items() if n is not None}
    extra["train_grid"] = list(train.grid.shape)
    description = f"{train.description}; testing on {test.description}"
    return Setup(model, objective, objective.terms, train.batches, evaluate, extra, description, figures,
                 optimizer_args=optimizer_arguments(config.train, model))


def pinn_problem(config: RunConfig) -> AbstractProblem:
    """The ``[pinn]`` problem: the registry problem, or its classic PINN setup, with ``params`` overrides."""
    pinn = config.pinn
    if not pinn.classic:
        return problem_from(pinn.problem, pinn.params, "pinn")
    cls = PROBLEMS.get(pinn.problem)
    classic = getattr(cls, "pinn_classic", None)
    if classic is None:
        raise ConfigError(f"pinn.classic: {pinn.problem!r} has no classic PINN setup (problems with one: "
                          f"{', '.join(name for name, c in PROBLEMS.items() if hasattr(c, 'pinn_classic'))})")
    try:
        return classic(**{k: tuple(v) if isinstance(v, list) else v for k, v in pinn.params.items()})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"pinn.params: {err}") from None


def _weighted(objective: PINNObjective, weights: dict[str, float]) -> Callable[[nn.Module, Any], dict[str, Residual]]:
    """The objective with each term's loss scaled by its weight (its residual by the square root)."""

    def terms(model: nn.Module, batch: Any) -> dict[str, Residual]:
        return {name: value.scaled(math.sqrt(weights.get(name, 1.0))) for name, value in objective(model, batch).items()}

    return terms


def pinn_setup(config: RunConfig, device: torch.device, dtype: torch.dtype) -> Setup:
    """A PINN on the ``[pinn]`` problem: collocation batches, the residual and condition terms, the error
    against the exact solution at a fixed Sobol set of the domain."""
    pinn, problem = config.pinn, pinn_problem(config)
    if not problem.has_exact_solution:
        raise ConfigError(f"pinn: {problem.name} with these parameters has no exact solution to measure a PINN against")
    conditions = problem.conditions()
    constraint = HardConstraint(conditions) if pinn.hard_constraint else None
    kept = tuple(name for name in conditions if constraint is None or name not in constraint.names)
    objective = PINNObjective(problem, conditions=kept)
    unknown = sorted(set(config.loss.weights) - set(objective.terms))
    if unknown:
        raise ConfigError(f"loss.weights.{unknown[0]}: not a term of this PINN (terms: {', '.join(objective.terms)})")
    name = config.model["name"]
    if name not in MODELS:
        raise ConfigError(f"model.name: unknown model {name!r} (known: {', '.join(MODELS)})")
    generator = torch.Generator().manual_seed(config.train.seed)
    if name == "fourier_expansion":
        fixed = {"dim": problem.domain.dim, "out_channels": problem.point_channels, "length": _box_side(problem, pinn),
                 "generator": generator}
    else:
        fixed = {"domain": problem.domain, "out_features": problem.point_channels, "constraint": constraint,
                 "generator": generator, "dtype": dtype}  # drawn in the run's precision
    model = build_from_signature(MODELS[name], {k: v for k, v in config.model.items() if k != "name"},
                                 "model", fixed).to(device, dtype)
    optimizer_args = optimizer_arguments(config.train, model)
    if config.train.optimizer == "opgd":
        optimizer_args["preconditioner"] = _laplacian_preconditioner(problem, model, config.loss.weights.get("bc", 1.0))
    batches = Collocation(problem, pinn.n_interior, pinn.n_condition, conditions=kept, method=pinn.method,
                          steps_per_epoch=pinn.steps_per_epoch, resample=pinn.resample, seed=config.train.seed,
                          dtype=dtype, device=device)
    low, high = problem.domain.bounds(torch.float64)
    points = low + (high - low) * unit_samples(pinn.eval_points, problem.domain.columns, torch.Generator().manual_seed(0), "sobol")
    exact = problem.exact_solution(points)[:, : problem.solution_channels]  # (P, C)

    def evaluate() -> dict[str, float]:
        prediction = predict_points(model, points)[:, : problem.solution_channels]  # (P, C): the solution's channels
        return {"test_rel_l2": relative_lp(prediction[None], exact[None]).item()}

    def report() -> dict[str, float]:
        interior = points[problem.domain.contains(points)]  # the eval points, as a fixed interior set
        residual = objective.residual(model, interior.to(next(model.parameters()).dtype)).double()
        reference = objective.residual(problem.exact_solution, interior)
        return {"rel_l2": evaluate()["test_rel_l2"], "residual_pred": residual.square().mean().sqrt().item(),
                "residual_ref": reference.square().mean().sqrt().item()}

    def figures(out: Path) -> None:
        if problem.domain.columns != 2:
            return
        side = torch.linspace(0, 1, 129, dtype=torch.float64)
        grid = torch.stack(torch.meshgrid(side, side, indexing="ij"), dim=-1).reshape(-1, 2)  # (129^2, 2) in the unit square
        grid = low + (high - low) * grid
        truth = problem.exact_solution(grid)[:, :1].reshape(1, 1, 129, 129)
        prediction = predict_points(model, grid)[:, :1].reshape(1, 1, 129, 129)
        fields(truth, truth, prediction, out / "plots" / "solution.png", title=f"{problem.name} PINN (input: the exact solution)")

    description = f"{problem.name} ({pinn.n_interior} interior points, {pinn.n_condition} per condition {', '.join(kept) or '(none)'})"
    return Setup(model, _weighted(objective, config.loss.weights), objective.terms, batches, evaluate, {}, description,
                 figures, report, optimizer_args)


def _box_side(problem: AbstractProblem, pinn: Any) -> float:
    """``L`` of a steady problem on the box ``[0, L]^d``: the only domain a :class:`FourierExpansion` spans."""
    low, high = problem.domain.bounds(torch.float64)
    if problem.domain.columns != problem.domain.dim or low.abs().max() > 0 or (high - high[0]).abs().max() > 0:
        raise ConfigError(f"model.name: fourier_expansion needs a steady problem on a box [0, L]^d, and {problem.name} "
                          f"has the domain {problem.domain}")
    if pinn.hard_constraint:
        raise ConfigError("pinn.hard_constraint: a fourier_expansion has no output transform; its boundary term is a loss term")
    return high[0].item()


def _laplacian_preconditioner(problem: AbstractProblem, model: nn.Module, boundary_weight: float) -> torch.Tensor:
    """opgd's diagonal ``P`` for Poisson's ``-Laplacian`` on the Fourier modes of ``model``, in its parameters' order."""
    if not isinstance(model, FourierExpansion) or problem.name != "poisson":
        raise ConfigError("train.optimizer: opgd (operator-preconditioned descent) preconditions the Laplacian on a model "
                          "linear in its parameters: a [pinn] Poisson problem with model.name = 'fourier_expansion' "
                          f"(got {problem.name} with {type(model).__name__}); natgrad serves every PINN")
    diagonal = operator_preconditioner(model.laplacian_symbol(), boundary_weight)  # (F,)
    return diagonal.repeat_interleave(model.weight.shape[1])  # weight (F, C), flattened feature-major
