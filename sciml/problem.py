"""The Problem contract: a PDE written once, read by solvers, losses, datasets and PINNs."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import torch
from torch import Tensor

from sciml.spectral.grid import Grid


class AbstractProblem(abc.ABC):
    """A PDE problem: an equation with its coefficients, not a trainer.

    Subclasses are final frozen dataclasses whose fields are the problem's parameters (viscosity,
    domain length, final time, ...). Everything else (the reference solver, the residual, the PINN
    conditions, the dataset metadata) reads them from there.

    Shapes: inputs ``a`` are ``(B, C_in, *S)`` and solutions ``u`` are ``(B, C_out, *S)`` on the
    problem's grid at resolution ``S`` (time, where the problem has it, is documented by the problem:
    a leading space axis or channels).
    """

    #: registry / dataset name, e.g. ``"burgers"``
    name: str = ""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of space dimensions."""

    @abc.abstractmethod
    def grid(self, resolution: int) -> Grid:
        """The problem's grid with ``resolution`` points per space axis; raises ``ValueError`` when unsupported."""

    @abc.abstractmethod
    def sample_inputs(self, n: int, grid: Grid, generator: torch.Generator) -> Tensor:
        """Draw ``n`` inputs (initial conditions, coefficients, forcings), shape ``(n, C_in, *grid.shape)``, float64."""

    @abc.abstractmethod
    def solve(self, a: Tensor, grid: Grid) -> Tensor:
        """The batched reference solution for inputs ``a`` ``(B, C_in, *grid.shape)`` -> ``(B, C_out, *S_out)``."""

    @abc.abstractmethod
    def residual(self, u: Tensor, a: Tensor, d: Any) -> Tensor:
        """The pointwise PDE residual of ``u`` given input ``a``, with derivatives from differentiator ``d``."""

    def output_grid(self, grid: Grid) -> Grid:
        """The grid on which :meth:`solve` returns its solution; the input grid unless the problem stores coarser."""
        return grid

    def params(self) -> dict[str, Any]:
        """The problem's parameters as plain JSON-able values, for dataset and checkpoint metadata."""
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass or override params()")
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
