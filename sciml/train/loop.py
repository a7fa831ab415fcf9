"""The training loop: plain PyTorch, read top to bottom.

One epoch walks the batches of :class:`~sciml.train.batches.Batches`; each step hands the optimizer
a closure that returns the named loss terms (the contract of :mod:`sciml.optim`), so single- and
multi-objective optimizers run through the same line. Every ``checkpoint_every`` steps, at each
evaluation and at the end the whole state goes to disk atomically; :func:`fit` called again with
the saved :class:`Progress` continues exactly where the run stopped, mid-epoch included.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from tqdm import tqdm

from sciml.optim import Residual
from sciml.train.checkpoint import rng_state
from sciml.train.run import RunDirectory

__all__ = ["NonFiniteLoss", "Objective", "Progress", "fit"]

#: ``objective(model, batch) -> {term: per-sample values (B,) or a Residual}``, ``batch`` as the batches yield it
Objective = Callable[[nn.Module, Any], dict[str, "Tensor | Residual"]]


class NonFiniteLoss(FloatingPointError):
    """A loss term became NaN or infinite; raised before the update, so the weights stay as they were."""


@dataclasses.dataclass
class Progress:
    """Where a run stands: the epoch, the batches done in it, the optimizer steps, the seconds spent,
    and, for the epoch's metrics row, this process's sums of the loss terms and the global sample count so far."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    elapsed: float = 0.0
    sums: dict = dataclasses.field(default_factory=dict)
    samples: int = 0


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    objective: Objective,
    batches: Any,
    epochs: int,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    evaluate: Callable[[], dict[str, float]] | None = None,
    eval_every: int = 1,
    run: RunDirectory | None = None,
    checkpoint_every: int = 100,
    extra_state: dict[str, Any] | None = None,
    precision: str = "float32",
    progress: Progress | None = None,
    show_progress: bool = True,
) -> Progress:
    """Train ``model`` for ``epochs`` epochs (from ``progress``, to resume) and return where it ended.

    Parameters
    ----------
    model
        The module the objective calls (wrapped in ``DistributedDataParallel`` under ``torchrun``).
    optimizer
        A :mod:`sciml.optim` optimizer over the objective's term names: ``step(closure)`` returns the terms.
    objective
        Per-sample loss terms of a batch; the step minimises their means over the global batch. A term
        may instead be a :class:`~sciml.optim.Residual` (its loss is the residual's mean square), handed
        to the optimizer whole: the form Gauss-Newton methods need (one process only).
    batches
        The training batches: ``len(batches)`` per epoch, and ``batches.epoch(epoch, start)`` yielding
        ``(batch, global_size)`` from batch ``start`` on: this process's share of a global batch of
        ``global_size`` samples (e.g. :class:`~sciml.train.batches.Batches`).
    scheduler
        Stepped after every optimizer step.
    evaluate
        Test metrics, called every ``eval_every`` epochs and after the last (on rank 0 only).
    run
        Where the metrics rows, plots and checkpoints go (rank 0 only); ``None``: nowhere.
    checkpoint_every
        Steps between checkpoints (besides one at each evaluation and one at the end).
    extra_state
        Saved with every checkpoint, e.g. the normalizers' state dicts.
    precision
        ``"float32"``, or ``"bf16"`` for a bfloat16-autocast forward.

    Raises
    ------
    NonFiniteLoss
        At the first step whose loss term is NaN or infinite, naming the step and the term.
    """
    progress = Progress() if progress is None else progress
    distributed = dist.is_available() and dist.is_initialized()
    leader = not distributed or dist.get_rank() == 0
    device = next(model.parameters()).device
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    raw_model = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model

    def save() -> None:
        if run is not None and leader:
            state = {"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                     "progress": dataclasses.asdict(progress), "rng": rng_state(), **(extra_state or {})}
            if scheduler is not None:
                state["scheduler"] = scheduler.state_dict()
            run.save_checkpoint(state)

    while progress.epoch < epochs:
        bar = tqdm(total=len(batches), initial=progress.batch, desc=f"epoch {progress.epoch + 1}/{epochs}", unit="batch",
                   leave=False, file=sys.stderr, disable=not (show_progress and leader))
        for batch, global_size in batches.epoch(progress.epoch, progress.batch):
            started = time.perf_counter()
            # the step minimises the global-batch mean: each process sums its share and scales by
            # world / global, and DDP averages the gradients over the world
            scale = (dist.get_world_size() if distributed else 1) / global_size

            def closure() -> dict[str, Tensor]:
                with autocast:
                    per_sample = objective(model, batch)
                terms = {name: values if isinstance(values, Residual) else values.float().sum() * scale
                         for name, values in per_sample.items()}
                _check_finite(terms, progress.step + 1, distributed)
                return terms

            model.train()
            terms = optimizer.step(closure)
            if scheduler is not None:
                scheduler.step()
            progress.step += 1
            progress.batch += 1
            progress.samples += global_size
            for name, value in terms.items():  # sums over this process's samples
                progress.sums[name] = progress.sums.get(name, 0.0) + value.item() / scale
            progress.elapsed += time.perf_counter() - started
            bar.update(1)
            bar.set_postfix({name: f"{value.item():.4g}" for name, value in terms.items()}, refresh=False)
            if progress.step % checkpoint_every == 0:
                save()
        bar.close()
        row = _epoch_row(progress, optimizer, distributed)
        progress.epoch, progress.batch, progress.sums, progress.samples = progress.epoch + 1, 0, {}, 0
        last = progress.epoch == epochs
        if evaluate is not None and leader and (progress.epoch % eval_every == 0 or last):
            row.update(evaluate())
            if run is not None:
                run.log(row)
            if show_progress:
                print(" ".join(f"{k} {_fmt(v)}" for k, v in row.items()), file=sys.stderr)
        save()
    return progress


def _check_finite(terms: dict[str, Tensor | Residual], step: int, distributed: bool) -> None:
    """Raise :class:`NonFiniteLoss` naming the step and the term; every process raises together under DDP."""
    losses = {name: value.loss() if isinstance(value, Residual) else value for name, value in terms.items()}
    bad = [name for name, value in losses.items() if not torch.isfinite(value.detach())]
    if distributed:
        flag = torch.tensor([float(bool(bad))], device=next(iter(losses.values())).device)
        dist.all_reduce(flag)
        if flag.item() and not bad:
            raise NonFiniteLoss(f"step {step}: a loss term is not finite on another process")
    if bad:
        raise NonFiniteLoss(f"step {step}: loss term {bad[0]!r} is {losses[bad[0]].item()}")


def _epoch_row(progress: Progress, optimizer: torch.optim.Optimizer, distributed: bool) -> dict[str, float]:
    """The metrics row of the epoch just finished: its index, the step, the time, the mean of each term, the learning rate."""
    sums, samples = dict(progress.sums), progress.samples  # samples: the global count
    if distributed:  # every process's sums
        values = torch.tensor(list(sums.values()), dtype=torch.float64)
        dist.all_reduce(values)
        sums = dict(zip(sums, values.tolist()))
    row = {"epoch": progress.epoch + 1, "step": progress.step, "time": round(progress.elapsed, 3)}
    row.update({f"train_{name}": total / max(samples, 1) for name, total in sums.items()})
    row["lr"] = optimizer.param_groups[0]["lr"]
    return row


def _fmt(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}" if math.isfinite(value) else str(value)
