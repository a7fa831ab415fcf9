"""From a run configuration to objects: data splits, the model, the optimizer, the schedule.

The only place where names become classes (through :mod:`sciml.registry`); everything it builds is
handed to the library as plain objects.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import h5py
import torch
from torch import Tensor, nn
from tqdm import tqdm

from sciml.cli.config import (
    ConfigError,
    DataConfig,
    Source,
    TrainConfig,
    build_from_signature,
)
from sciml.data import DatasetError, DatasetWriter, H5Dataset, read_info
from sciml.data.format import FORMAT, stored_attributes
from sciml.data.readers import ReaderError, read_pairs
from sciml.models.autoregressive import Autoregressive
from sciml.problem import AbstractEvolutionProblem, AbstractProblem
from sciml.registry import MODELS, OPTIMIZERS, PROBLEMS
from sciml.spectral import Grid
from sciml.train.distributed import rank_and_world

__all__ = ["Split", "build_model", "build_optimizer", "build_scheduler", "load_split", "problem_from"]


@dataclasses.dataclass
class Split:
    """One split in memory: ``inputs`` ``(n, C_in, *S)`` and ``targets`` ``(n, C_out, *S)`` on ``grid``,
    the ``problem`` they solve where known (for residuals), and a one-line description."""

    inputs: Tensor
    targets: Tensor
    grid: Grid
    problem: AbstractProblem | None
    description: str


def problem_from(name: str, params: dict, where: str) -> AbstractProblem:
    """``PROBLEMS[name]`` with its defaults overridden by ``params``; errors name ``where``."""
    if name not in PROBLEMS:
        raise ConfigError(f"{where}: unknown problem {name!r} (known: {', '.join(PROBLEMS)})")
    cls = PROBLEMS[name]
    try:
        return cls.from_params({**cls().params(), **params})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}.params: {err}") from None


def _cache_dir(config: DataConfig) -> Path:
    if config.cache is not None:
        return Path(config.cache).expanduser()
    return Path(os.environ.get("SCIML_CACHE", "~/.cache/sciml")).expanduser()


def _generated(source: Source, config: DataConfig, where: str, device: torch.device) -> Path:
    """The cached file of a generated split, generating it (on rank 0, solving on ``device``, with a progress bar) if missing."""
    problem = problem_from(source.problem, source.params, where)
    key = json.dumps([problem.name, problem.params(), source.n, source.resolution, source.seed], sort_keys=True)
    path = _cache_dir(config) / f"{problem.name}-n{source.n}-r{source.resolution}-s{source.seed}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.h5"
    rank, world = rank_and_world()
    if rank == 0 and not path.exists():
        try:
            writer = DatasetWriter(problem, path, n=source.n, resolution=source.resolution, seed=source.seed, device=device)
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None
        with tqdm(total=source.n, initial=writer.samples_done, unit="sample", desc=f"generating {where}", file=sys.stderr) as bar:
            writer.run(bar.update)
    if world > 1:
        torch.distributed.barrier()
    return path


def _is_sciml_dataset(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file marked as a sciml dataset (else: a format of :func:`sciml.data.read_pairs`)."""
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r", locking=False) as f:
            return stored_attributes(f).get("format") == FORMAT
    except (OSError, KeyError, RuntimeError) as err:  # h5py's errors on a damaged file
        raise ConfigError(f"{path}: not a readable HDF5 file ({err})") from None


def load_split(source: Source, config: DataConfig, n: int | None, where: str, device: torch.device | str = "cpu") -> Split:
    """Read (or generate on ``device``, then read) one split at ``config.resolution``, in float32, frames split as configured.

    A sciml dataset carries its problem (for residuals); the formats users already have (FNO ``.mat``,
    PDEBench, neuraloperator ``.pt``, :func:`sciml.data.read_pairs`) do not.
    """
    path = Path(source.path) if source.path is not None else _generated(source, config, where, torch.device(device))
    if not path.is_file():
        raise ConfigError(f"{where}: {path}: no such file")
    try:
        if _is_sciml_dataset(path):
            info = read_info(path)
            dataset = H5Dataset(path, resolution=config.resolution, n=n, dtype=torch.float32)
            problem = PROBLEMS[info.problem].from_params(info.params) if info.problem in PROBLEMS else None
            inputs, targets, grid = dataset.inputs, dataset.solutions, dataset.input_grid
            description = f"{path} ({len(dataset)} samples of {info.problem} on {grid.describe()})"
        else:
            pairs = read_pairs(path, resolution=config.resolution, n=n)
            inputs, targets, grid, problem = pairs.inputs, pairs.solutions, pairs.input_grid, None
            description = pairs.description
    except (DatasetError, ReaderError, ValueError, OSError) as err:
        raise ConfigError(f"{where}: {err}") from None
    if config.input_frames is not None:
        one_channel = problem is None or (isinstance(problem, AbstractEvolutionProblem) and problem.solution_channels == 1)
        if not one_channel or not 0 < config.input_frames < targets.shape[1]:
            raise ConfigError(f"data.input_frames: {path} holds {targets.shape[1]} target channels; input_frames must split "
                              f"them (1 .. {targets.shape[1] - 1}) as frames of a one-channel evolution problem")
        inputs, targets = targets[:, : config.input_frames], targets[:, config.input_frames :]  # (n, k, *S), (n, T - k, *S)
        problem = None  # the residual's layout starts at w0, which these inputs are not
    return Split(inputs, targets, grid, problem, description)


def build_model(table: dict, in_channels: int, out_channels: int, seed: int) -> nn.Module:
    """The registry model ``table["name"]`` with the table's other keys as its constructor arguments.

    ``rollout_step = s`` wraps it in :class:`~sciml.models.Autoregressive`: the model maps the
    ``in_channels`` input frames to ``s`` frames and is rolled out to the ``out_channels`` target frames.
    """
    name = table["name"]
    if name not in MODELS:
        raise ConfigError(f"model.name: unknown model {name!r} (known: {', '.join(MODELS)})")
    arguments = {k: v for k, v in table.items() if k not in ("name", "rollout_step")}
    step = table.get("rollout_step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1 or out_channels % step):
        raise ConfigError(f"model.rollout_step: must be a positive integer dividing the {out_channels} target frames, got {step!r}")
    fixed = {"in_channels": in_channels, "out_channels": out_channels if step is None else step,
             "generator": torch.Generator().manual_seed(seed)}
    model = build_from_signature(MODELS[name], arguments, "model", fixed)
    return model if step is None else Autoregressive(model, in_channels, step, out_channels)


def build_optimizer(config: TrainConfig, parameters: list[nn.Parameter], terms: tuple[str, ...]) -> torch.optim.Optimizer:
    """``OPTIMIZERS[config.optimizer]`` over ``terms`` with the configured learning rate, weight decay and clipping."""
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(f"train.optimizer: unknown optimizer {config.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
    table = {"lr": config.lr}
    if config.weight_decay:
        table["weight_decay"] = config.weight_decay
    if config.grad_clip is not None:
        table["grad_clip"] = config.grad_clip
    try:
        return build_from_signature(OPTIMIZERS[config.optimizer], table, "train", {"params": parameters, "terms": terms})
    except ConfigError as err:
        raise ConfigError(f"{err} (optimizer {config.optimizer!r})") from None


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The configured schedule, stepped once per optimizer step; ``None`` for ``"none"``."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size * steps_per_epoch, gamma=config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=config.warmup)
    return None
