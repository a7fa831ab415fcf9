"""From a run configuration to objects: data splits, the model, the optimizer, the schedule.

The only place where names become classes (through :mod:`sciml.registry`); everything it builds is
handed to the library as plain objects.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import torch
from torch import Tensor, nn

from sciml.cli.config import (
    ConfigError,
    DataConfig,
    Source,
    TrainConfig,
    build_from_signature,
)
from sciml.cli.data import generation_progress
from sciml.data import DatasetError, DatasetInfo, DatasetWriter, H5Dataset, H5Stream, UnitGaussianNormalizer
from sciml.data.format import FORMAT, stored_attributes
from sciml.data.generate import available_memory
from sciml.data.readers import ReaderError, read_pairs
from sciml.models.autoregressive import Autoregressive
from sciml.nn import complex_pair_parameters
from sciml.problem import AbstractEvolutionProblem, AbstractProblem
from sciml.registry import MODELS, OPTIMIZERS, POINT_MODELS, PROBLEMS
from sciml.spectral import Grid
from sciml.train import AbstractBatches, Batches, StreamedBatches
from sciml.train.distributed import rank_and_world

__all__ = ["Split", "TrainingData", "build_model", "build_optimizer", "build_scheduler", "load_split",
           "optimizer_arguments", "problem_from", "training_data"]

#: the optimizers that keep Adam's second moment, per complex weight under optimizer_options.complex_moments
COMPLEX_MOMENTS = ("adam", "adamw")


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
        with generation_progress(writer, f"generating {where}") as progress:
            writer.run(progress)
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


def _path(source: Source, config: DataConfig, where: str, device: torch.device) -> Path:
    """The file of a split: its path, or the cached generated file (generated first when missing)."""
    path = Path(source.path) if source.path is not None else _generated(source, config, where, device)
    if not path.is_file():
        raise ConfigError(f"{where}: {path}: no such file")
    return path


def _frames(config: DataConfig, problem: AbstractProblem | None, channels: int, path: Path) -> None:
    """Check that ``data.input_frames`` splits the ``channels`` solution channels of ``path`` into input and target frames."""
    one_channel = problem is None or (isinstance(problem, AbstractEvolutionProblem) and problem.solution_channels == 1)
    if not one_channel or not 0 < config.input_frames < channels:
        raise ConfigError(f"data.input_frames: {path} holds {channels} target channels; input_frames must split "
                          f"them (1 .. {channels - 1}) as frames of a one-channel evolution problem")


def _problem(info: DatasetInfo) -> AbstractProblem | None:
    """The registered problem a sciml dataset was generated from; ``None`` for a problem not registered here."""
    return PROBLEMS[info.problem].from_params(info.params) if info.problem in PROBLEMS else None


def load_split(source: Source, config: DataConfig, n: int | None, where: str, device: torch.device | str = "cpu") -> Split:
    """Read (or generate on ``device``, then read) one split at ``config.resolution``, in float32, frames split as configured.

    A sciml dataset carries its problem (for residuals); the formats users already have (FNO ``.mat``,
    PDEBench, neuraloperator ``.pt``, :func:`sciml.data.read_pairs`) do not.
    """
    path = _path(source, config, where, torch.device(device))
    try:
        if _is_sciml_dataset(path):
            dataset = H5Dataset(path, resolution=config.resolution, n=n, dtype=torch.float32)
            problem = _problem(dataset.info)
            inputs, targets, grid = dataset.inputs, dataset.solutions, dataset.input_grid
            description = f"{path} ({len(dataset)} samples of {dataset.info.problem} on {grid.describe()})"
        else:
            pairs = read_pairs(path, resolution=config.resolution, n=n)
            inputs, targets, grid, problem = pairs.inputs, pairs.solutions, pairs.input_grid, None
            description = pairs.description
    except (DatasetError, ReaderError, ValueError, OSError) as err:
        raise ConfigError(f"{where}: {err}") from None
    if config.input_frames is not None:
        _frames(config, problem, targets.shape[1], path)
        inputs, targets = targets[:, : config.input_frames], targets[:, config.input_frames :]  # (n, k, *S), (n, T - k, *S)
        problem = None  # the residual's layout starts at w0, which these inputs are not
    return Split(inputs, targets, grid, problem, description)


@dataclasses.dataclass
class TrainingData:
    """The training split as the loop sees it: ``batches`` of normalized inputs and physical targets, the
    ``normalizers`` fitted on it (``input_normalizer``, ``output_normalizer``: ``None`` where off), the
    ``channels`` in and out, the ``grid``, the ``problem`` where known and a one-line ``description``."""

    batches: AbstractBatches
    normalizers: dict[str, UnitGaussianNormalizer | None]
    channels: tuple[int, int]
    grid: Grid
    problem: AbstractProblem | None
    description: str


def training_data(config: DataConfig, batch_size: int, seed: int, device: torch.device, dtype: torch.dtype,
                  rank: int = 0, world: int = 1) -> TrainingData:
    """The ``[data]`` training split in memory or streamed from its HDF5 file (``data.in_memory``), normalizers fitted.

    Both give the same batches, bit for bit: the samples read and converted as :func:`load_split` does,
    the normalizers fitted on the same values (by blocks when streamed: equal up to float64 round-off).
    """
    path = _path(config.train, config, "data.train", device)
    stream = _stream(path, config, device, dtype)
    if stream is None:
        split = load_split(Source(path=str(path)), config, config.n_train, "data.train")
        if config.input_frames is not None:
            def frames() -> UnitGaussianNormalizer:  # the (n, T, *S) frames put together only where a normalizer is fitted
                return UnitGaussianNormalizer.fit(torch.cat([split.inputs, split.targets], dim=1))

            norms = _frame_normalizers(frames, config)
        else:
            norms = {"input_normalizer": UnitGaussianNormalizer.fit(split.inputs) if config.normalize_inputs else None,
                     "output_normalizer": UnitGaussianNormalizer.fit(split.targets) if config.normalize_outputs else None}
        inputs = split.inputs if norms["input_normalizer"] is None else norms["input_normalizer"].encode(split.inputs)
        batches = Batches(inputs.to(device, dtype), split.targets.to(device, dtype), batch_size, seed, rank=rank, world_size=world)
        return TrainingData(batches, norms, (split.inputs.shape[1], split.targets.shape[1]), split.grid, split.problem,
                            split.description)
    try:
        problem = _problem(stream.info)
    except ValueError as err:
        raise ConfigError(f"data.train: {err}") from None
    k, channels = config.input_frames, (stream.input_shape[0], stream.solution_shape[0])
    if k is not None:
        _frames(config, problem, channels[1], path)
        problem, channels = None, (k, channels[1] - k)
    try:
        norms = _streamed_normalizers(stream, config)
    except DatasetError as err:
        raise ConfigError(f"data.train: {err}") from None
    encode = norms["input_normalizer"]

    def read(index: Tensor) -> tuple[Tensor, Tensor]:
        a, u = stream.read(index)  # (b, C_in, *S), (b, C_out, *S)
        if k is not None:
            a, u = u[:, :k], u[:, k:]  # (b, k, *S), (b, T - k, *S)
        a = a if encode is None else encode.encode(a)
        return a.contiguous().to(device, dtype), u.contiguous().to(device, dtype)

    batches = StreamedBatches(read, len(stream), batch_size, seed, rank=rank, world_size=world)
    description = (f"{path} ({len(stream)} samples of {stream.info.problem} on {stream.input_grid.describe()}, "
                   "streamed)")
    return TrainingData(batches, norms, channels, stream.input_grid, problem, description)


def _stream(path: Path, config: DataConfig, device: torch.device, dtype: torch.dtype) -> H5Stream | None:
    """The training split's stream if it is streamed: ``data.in_memory = false``, or ``"auto"`` and a sciml dataset
    that would take more than half the free memory (of the host, and of the training device); else ``None``."""
    if config.in_memory is True:
        return None
    if not _is_sciml_dataset(path):
        if config.in_memory is False:
            raise ConfigError(f"data.in_memory: false streams sciml datasets only; {path} is read whole (set it true or "
                              '"auto")')
        return None
    try:
        stream = H5Stream(path, config.resolution, n=config.n_train, dtype=torch.float32)
    except (DatasetError, ValueError) as err:
        raise ConfigError(f"data.train: {err}") from None
    if config.in_memory is False:
        return stream
    values = len(stream) * (math.prod(stream.input_shape) + math.prod(stream.solution_shape))
    needed = values * (4 + dtype.itemsize)  # float32 as read, and the copy normalized or converted for training
    free = [m for m in (available_memory(torch.device("cpu")), available_memory(device)) if m is not None]
    return stream if free and needed > min(free) / 2 else None


def _streamed_normalizers(stream: H5Stream, config: DataConfig) -> dict[str, UnitGaussianNormalizer | None]:
    """The normalizers of :func:`training_data`, each array of the file read once, block by block.

    With ``input_frames = k`` both come from the solutions (:func:`_frame_normalizers`).
    """
    def fit(key: str) -> UnitGaussianNormalizer:
        return UnitGaussianNormalizer.fit_blocks(stream.blocks(key))

    if config.input_frames is not None:
        return _frame_normalizers(lambda: fit("solutions"), config)
    return {"input_normalizer": fit("inputs") if config.normalize_inputs else None,
            "output_normalizer": fit("solutions") if config.normalize_outputs else None}


def _frame_normalizers(fit_frames: Callable[[], UnitGaussianNormalizer],
                       config: DataConfig) -> dict[str, UnitGaussianNormalizer | None]:
    """The normalizers of a time series split at ``input_frames = k``: one mean and one standard deviation for
    every frame, in and out, pooled over all frames of the training split (``fit_frames()``: per-frame statistics).

    An autoregressive model feeds its predicted frames back as inputs, so one affine map must serve every
    frame: with per-frame statistics (over the 50 frames of the Navier-Stokes CPU set the field's spread
    grows from 0.26 to 0.99 and ends at 0.92) a frame would enter the window scaled otherwise than the
    frames it stands for.
    """
    if not (config.normalize_inputs or config.normalize_outputs):
        return {"input_normalizer": None, "output_normalizer": None}
    frames = fit_frames()  # (T,) statistics
    k, total = config.input_frames, frames.mean.shape[0]
    return {"input_normalizer": frames.pooled(k) if config.normalize_inputs else None,
            "output_normalizer": frames.pooled(total - k) if config.normalize_outputs else None}


def build_model(table: dict, in_channels: int, out_channels: int, seed: int) -> nn.Module:
    """The registry model ``table["name"]`` with the table's other keys as its constructor arguments.

    ``rollout_step = s`` wraps it in :class:`~sciml.models.Autoregressive`: the model maps the
    ``in_channels`` input frames to ``s`` frames and is rolled out to the ``out_channels`` target frames.
    """
    name = table["name"]
    if name not in MODELS:
        raise ConfigError(f"model.name: unknown model {name!r} (known: {', '.join(MODELS)})")
    if name in POINT_MODELS:
        raise ConfigError(f"model.name: {name} is a model of points, trained in a [pinn] section, not on [data]")
    arguments = {k: v for k, v in table.items() if k not in ("name", "rollout_step")}
    step = table.get("rollout_step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1 or out_channels % step):
        raise ConfigError(f"model.rollout_step: must be a positive integer dividing the {out_channels} target frames, got {step!r}")
    fixed = {"in_channels": in_channels, "out_channels": out_channels if step is None else step,
             "generator": torch.Generator().manual_seed(seed)}
    model = build_from_signature(MODELS[name], arguments, "model", fixed)
    return model if step is None else Autoregressive(model, in_channels, step, out_channels)


def optimizer_arguments(config: TrainConfig, model: nn.Module) -> dict[str, Any]:
    """The arguments :func:`build_optimizer` takes from the model: with ``optimizer_options.complex_moments = true``,
    its complex weights stored as real pairs (:func:`~sciml.nn.complex_pair_parameters`) as ``complex_pairs``."""
    if config.optimizer_options.get("complex_moments") is not True:
        return {}
    return {"complex_pairs": complex_pair_parameters(model)}


def build_optimizer(config: TrainConfig, parameters: list[nn.Parameter], terms: tuple[str, ...],
                    fixed: dict[str, Any] | None = None) -> torch.optim.Optimizer:
    """``OPTIMIZERS[config.optimizer]`` over ``terms`` with the configured learning rate, weight decay and clipping,
    and the arguments the setup derives from its model (``fixed``: opgd's preconditioner, and the ``complex_pairs``
    of :func:`optimizer_arguments` that ``optimizer_options.complex_moments = true`` asks for)."""
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(f"train.optimizer: unknown optimizer {config.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
    fixed = {"params": parameters, "terms": terms, **(fixed or {})}
    if config.optimizer == "opgd" and "preconditioner" not in fixed:
        raise ConfigError("train.optimizer: opgd preconditions a PDE operator on a model linear in its parameters: "
                          "a [pinn] Poisson problem with model.name = 'fourier_expansion'")
    table = {"lr": config.lr}
    if config.weight_decay:
        table["weight_decay"] = config.weight_decay
    if config.grad_clip is not None:
        table["grad_clip"] = config.grad_clip
    options = dict(config.optimizer_options)
    _complex_moments(config.optimizer, options.pop("complex_moments", False), fixed)
    for key in options:
        if key == "complex_pairs":
            raise ConfigError("train.optimizer_options.complex_pairs: not an option here (set complex_moments = true: "
                              "the run supplies the model's complex weights)")
        if key in fixed or key in ("lr", "weight_decay", "grad_clip", "weights"):  # the table's keys among them
            where = "[loss] weights" if key == "weights" else f"train.{key}"
            raise ConfigError(f"train.optimizer_options.{key}: not an option here (set {where}, or the run supplies it)")
    try:
        return build_from_signature(OPTIMIZERS[config.optimizer], {**table, **options}, "train", fixed)
    except ConfigError as err:
        message = str(err)
        for key in options:  # name the option where it was written
            message = message.replace(f"train.{key}:", f"train.optimizer_options.{key}:", 1)
        raise ConfigError(f"{message} (optimizer {config.optimizer!r})") from None


def _complex_moments(optimizer: str, value: Any, fixed: dict[str, Any]) -> None:
    """Check ``optimizer_options.complex_moments``: a bool, true only for Adam(W) on a model with complex weights."""
    where = "train.optimizer_options.complex_moments"
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if not value:
        return
    if optimizer not in COMPLEX_MOMENTS:
        raise ConfigError(f"{where}: only {' and '.join(COMPLEX_MOMENTS)} keep a second moment to share per complex "
                          f"weight, not {optimizer!r}")
    if not fixed.get("complex_pairs"):
        raise ConfigError(f"{where}: the model has no complex weights stored as (re, im) pairs (the weights of "
                          "spectral convolutions: fno, tfno)")


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The configured schedule, stepped once per optimizer step; ``None`` for ``"none"``.

    ``"cosine"`` anneals over ``cosine_epochs`` (default: the run's epochs), so that after ``k`` epochs
    the learning rate is ``lr (1 + cos(pi k / cosine_epochs)) / 2``, between epochs too at fractional ``k``.
    """
    total = config.epochs * steps_per_epoch
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size * steps_per_epoch, gamma=config.gamma)
    if config.schedule == "cosine":
        period = config.epochs if config.cosine_epochs is None else config.cosine_epochs
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=period * steps_per_epoch)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=config.warmup)
    return None
