"""Time per epoch of ``sciml train`` against a bare PyTorch loop and neuraloperator 2.0's ``Trainer``.

Every side trains its own copy of one initialization of the same model, with the same optimizer,
on the same data, in this process, one epoch after the other (interleaved, so that a slow phase of
a shared machine hits all sides alike); the figures are medians over epochs, the first epoch left
out (warm-up). The setting is neuraloperator's small-Darcy example (:data:`RECIPE`): 1000 Darcy
samples at 16 x 16 (solved at 31 x 31 and subsampled; generated once by ``sciml train`` into the
cache), batch 32, an FNO with width 32 and sciml's ``modes=(4, 4)`` (neuraloperator's
``n_modes=(8, 8)`` plus the frequency +4 on the first axis), AdamW (lr 8e-3, weight decay 1e-4),
a cosine schedule, the relative H1 loss on decoded outputs, an output normalizer. (``sciml train``'s
configuration asks for ``complex_moments = true``, one AdamW second moment per complex weight, where
the other sides' ``torch.optim.AdamW`` keeps one per real number: about 0.8 ms more per step on one
thread, 1% of an epoch.)

Sides (all four in ``--quick`` too):

``sciml train``
    ``sciml.cli.main(["train", CONFIG, "--out", RUN, "--quiet"])`` runs for real. Three names are
    wrapped, none changing what it computes: in :mod:`sciml.cli.train`, ``operator_setup``, to keep
    the objective it builds for the other sides; ``fit``, which copies the freshly built model for
    the other sides and hands the real ``fit`` its arguments, the batches behind a proxy that, at the
    first batch of each epoch, runs the other sides' epoch and marks sciml's epoch boundaries;
    ``RunDirectory.save_checkpoint``, to time the checkpoints. An epoch
    of sciml's is everything from its first batch to its next epoch's first batch: the steps, the
    metrics row, the checkpoint ``fit`` writes at every epoch's end, the progress bar (``--quiet``:
    built, not drawn). Evaluation falls on the last epoch only (``eval_every`` = epochs), which is
    not timed; ``checkpoint_every`` is set past the run, so that the every-N-steps checkpoints do not
    land in some timed epochs and not others (each costs what the end-of-epoch one costs, printed).
``bare``
    A plain loop over the same tensors: ``randperm``, index, forward, decode, relative H1, backward,
    ``torch.optim.AdamW`` step, per-step cosine schedule. Nothing else.
``trainer``
    ``neuralop.Trainer`` with the same model (behind a one-line adapter for its ``model(x=, y=)``
    call), ``torch.optim.AdamW`` and the data as the example serves them: neuraloperator's
    ``TensorDataset`` in a ``DataLoader(batch_size=32, num_workers=1, pin_memory=True,
    persistent_workers=False)`` (``load_darcy_flow_small``'s), its ``DefaultDataProcessor`` with an
    output normalizer, its ``H1Loss``; no test loaders (no evaluation).
``fit, no run directory``
    :func:`sciml.train.fit` itself on the same objective, one call per epoch, ``run=None``: the loop
    without checkpoints or metrics files.

Attribution sides (full run), one change each, to find where the Trainer's time goes:
``trainer, num_workers=0`` (the loader in this process), ``trainer, neuralop AdamW``
(``neuralop.training.AdamW``, the example's optimizer), ``bare, neuralop FNO + AdamW`` (the plain
loop with neuraloperator's ``FNO(n_modes=(8, 8))`` and AdamW), ``neuralop example`` (the Trainer
with neuraloperator's FNO and AdamW: the example itself, less its evaluation), ``bare, 2 threads``
and ``trainer, 2 threads`` (``torch.set_num_threads(2)`` during their epochs: the loader's worker
process then competes with two OpenMP threads for the machine's cores). One more epoch of every
side then runs under ``cProfile``, split into data loading, forward, loss, backward, optimizer,
checkpoint and the rest.

Threads: one by default (``--threads``), the clock for the keys both wall and CPU seconds (this
process's and its finished children's, the loader's workers): on a machine whose cores other jobs
share, CPU seconds count the work and not the waiting for a core.

    python benchmarks/train_speed.py --quick --json runs/train_speed.json
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import math
import os
import pstats
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from _timing import ensure_allocator_env, torch_threads

ensure_allocator_env()

import torch
from _darcy_recipe import (
    RECIPE,
    KeywordCall,
    Recipe,
    RecipeTrainer,
    example_loader,
    header,
    neuralop_fno,
    run_sciml_train,
    write_config,
    write_json,
)
from torch import Tensor, nn

import sciml.cli.train as cli_train
from sciml.losses import relative_h1
from sciml.train import Batches, RunDirectory


def bare_epochs(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, decode: Callable, diff,
                batch_size: int, total_steps: int) -> Callable[[int], None]:
    """``epoch(e)``: a plain loop, the same math as ``sciml train``'s step and nothing else."""
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    generator = torch.Generator().manual_seed(0)

    def epoch(e: int) -> None:
        for index in torch.randperm(x.shape[0], generator=generator).split(batch_size):
            loss = relative_h1(decode(model(x[index])), y[index], diff).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()

    return epoch


def build_sides(model: nn.Module, hyper: dict, objective, batches: Batches, epochs: int, recipe: Recipe,
                attribution: bool) -> dict[str, Callable[[int], None]]:
    """Every side but sciml train's, each on its own copy of ``model`` (as ``sciml train`` built it, untrained)."""
    from neuralop.training import AdamW as NeuralopAdamW

    x, y = batches.inputs, batches.targets  # raw inputs (normalize_inputs = false) and targets
    decode = objective.output_normalizer.decode

    def bare(net: nn.Module, adamw=torch.optim.AdamW):
        return bare_epochs(net, adamw(net.parameters(), **hyper), x, y, decode, objective.diff, recipe.batch_size,
                           epochs * len(batches))

    def trainer(net: nn.Module, adamw=torch.optim.AdamW, workers: int = 1):
        run = RecipeTrainer(net, adamw(net.parameters(), **hyper), example_loader(x, y, recipe.batch_size, workers), y,
                            recipe).run
        return lambda e: run(e, e + 1)

    def threads(epoch: Callable[[int], None], n: int):
        def run(e: int) -> None:
            with torch_threads(n):
                epoch(e)

        return run

    sides = {
        "bare": bare(copy.deepcopy(model)),
        "trainer": trainer(KeywordCall(copy.deepcopy(model))),
        "fit, no run directory": fit_epochs(copy.deepcopy(model), objective, x, y, hyper, recipe.batch_size, epochs),
    }
    if attribution:
        sides["trainer, num_workers=0"] = trainer(KeywordCall(copy.deepcopy(model)), workers=0)
        sides["trainer, neuralop AdamW"] = trainer(KeywordCall(copy.deepcopy(model)), NeuralopAdamW)
        sides["bare, neuralop FNO + AdamW"] = bare(neuralop_fno(recipe, 0), NeuralopAdamW)
        sides["neuralop example"] = trainer(neuralop_fno(recipe, 0), NeuralopAdamW)
        sides["bare, 2 threads"] = threads(bare(copy.deepcopy(model)), 2)
        sides["trainer, 2 threads"] = threads(trainer(KeywordCall(copy.deepcopy(model))), 2)
    return sides


def fit_epochs(model: nn.Module, objective, x: Tensor, y: Tensor, hyper: dict, batch_size: int,
               epochs: int) -> Callable[[int], None]:
    """``epoch(e)``: :func:`sciml.train.fit` itself, one epoch per call, with no run directory (so no checkpoints)."""
    from sciml.optim import AdamW
    from sciml.train import Progress, fit

    optimizer = AdamW(model.parameters(), objective.terms, **hyper)
    batches = Batches(x, y, batch_size, seed=0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(batches))
    progress = Progress()

    def epoch(e: int) -> None:
        fit(model, optimizer, objective, batches, e + 1, scheduler=scheduler, progress=progress, show_progress=False)

    return epoch


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the DataLoader workers, joined every epoch)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


#: cProfile entries (file suffix, function) whose cumulative time makes each category of an epoch
PROFILE_CATEGORIES = {
    "data loading": [("torch/utils/data/dataloader.py", "__iter__"), ("torch/utils/data/dataloader.py", "__next__"),
                     ("sciml/train/batches.py", "epoch")],
    "pre/post-processing": [("data_processors.py", "preprocess"), ("data_processors.py", "postprocess")],
    "forward": [("sciml/models/fno.py", "forward"), ("neuralop/models/fno.py", "forward")],
    "loss": [("sciml/losses/data.py", "relative_h1"), ("neuralop/losses/data_losses.py", "__call__")],
    "backward": [("torch/_tensor.py", "backward")],
    "optimizer + schedule": [("torch/optim/adam.py", "adam"), ("neuralop/training/adamw.py", "step"),
                             ("torch/optim/optimizer.py", "zero_grad"), ("torch/optim/lr_scheduler.py", "step")],
    "checkpoint": [("sciml/train/run.py", "save_checkpoint")],
}


def categories(profiler: cProfile.Profile, total: float) -> dict[str, float]:
    """Seconds per :data:`PROFILE_CATEGORIES` entry (outermost calls only), the rest as ``other``, and ``total``."""
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}

    def listed(entry, keys) -> bool:
        return any(entry[0].endswith(suffix) and entry[2] == name for suffix, name in keys)

    out = {category: sum(ct for entry, (_, _, _, ct, callers) in stats.items()
                         if listed(entry, keys) and not any(listed(c, keys) for c in callers))
           for category, keys in PROFILE_CATEGORIES.items()}
    out["other"] = total - sum(out.values())
    out["total"] = total
    return out


class EpochClock:
    """Runs the other sides' epochs at the start of each of sciml's and keeps every side's (wall, cpu) seconds.

    sciml's epoch ``e`` is measured from the moment its first batch is about to be made (after the
    other sides' epoch ``e``) to the start of its epoch ``e + 1``. Epochs ``0 .. timed`` are timed
    (0 is warm-up); epoch ``timed + 1`` of every side runs under ``cProfile`` when ``profile``.
    """

    def __init__(self, timed: int, profile: bool):
        self.timed, self.profile_epoch = timed, timed + 1 if profile else None
        self.sides: dict[str, Callable[[int], None]] = {}
        self.times: dict[str, list[tuple[float, float]]] = {"sciml train": []}
        self.profiles: dict[str, dict[str, float]] = {}
        self.checkpoint_s: dict[int, float] = {}  # wall seconds of sciml's checkpoints, per epoch
        self.epoch = 0
        self._resumed: tuple[float, float] | None = None
        self._profiler: cProfile.Profile | None = None

    def at_epoch_start(self, epoch: int) -> None:
        now = (time.perf_counter(), cpu_seconds())
        if self._profiler is not None:
            self._profiler.disable()
            self.profiles["sciml train"] = categories(self._profiler, now[0] - self._resumed[0])
            self._profiler = None
        elif self._resumed is not None:
            self.times["sciml train"].append((now[0] - self._resumed[0], now[1] - self._resumed[1]))
        self.epoch = epoch
        names = list(self.sides)
        names = names[epoch % len(names):] + names[: epoch % len(names)]  # rotate who runs first
        for name in names:
            if epoch <= self.timed:
                start = (time.perf_counter(), cpu_seconds())
                self.sides[name](epoch)
                self.times.setdefault(name, []).append((time.perf_counter() - start[0], cpu_seconds() - start[1]))
            elif epoch == self.profile_epoch:
                profiler, start = cProfile.Profile(), time.perf_counter()
                profiler.runcall(self.sides[name], epoch)
                self.profiles[name] = categories(profiler, time.perf_counter() - start)
        self._resumed = (time.perf_counter(), cpu_seconds())
        if epoch == self.profile_epoch:
            self._profiler = cProfile.Profile()
            self._profiler.enable()


def timed_sciml_train(config: Path, out: Path, recipe: Recipe, timed: int, attribution: bool) -> EpochClock:
    """Run ``sciml train`` with the other sides' epochs interleaved (see :class:`EpochClock`); return the clock."""
    clock = EpochClock(timed, profile=attribution)
    real_setup, real_fit, real_save = cli_train.operator_setup, cli_train.fit, RunDirectory.save_checkpoint
    built = {}

    class ClockedBatches:
        """sciml train's batches, with the clock's hook at the first batch of each epoch."""

        def __init__(self, batches):
            self.batches = batches

        def __len__(self) -> int:
            return len(self.batches)

        def epoch(self, epoch: int, start: int = 0):
            clock.at_epoch_start(epoch)
            yield from self.batches.epoch(epoch, start)

    def operator_setup(*args, **kwargs):
        built["setup"] = real_setup(*args, **kwargs)  # its objective: the OperatorObjective fit's closure calls
        return built["setup"]

    def fit(model, optimizer, objective, batches, epochs, **kwargs):
        hyper = {"lr": optimizer.defaults["lr"], "weight_decay": optimizer.defaults["weight_decay"]}
        sides = build_sides(model, hyper, built["setup"].objective, batches, epochs, recipe, attribution)
        clock.sides.update(sides)
        return real_fit(model, optimizer, objective, ClockedBatches(batches), epochs, **kwargs)

    def save_checkpoint(self, state):
        start = time.perf_counter()
        real_save(self, state)
        clock.checkpoint_s[clock.epoch] = clock.checkpoint_s.get(clock.epoch, 0.0) + time.perf_counter() - start

    with (mock.patch.object(cli_train, "operator_setup", operator_setup), mock.patch.object(cli_train, "fit", fit),
          mock.patch.object(RunDirectory, "save_checkpoint", save_checkpoint)):
        run_sciml_train(config, out)
    return clock


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else math.nan


#: JSON key prefix of each side
KEYS = {"sciml train": "sciml_train", "bare": "bare", "trainer": "neuralop_trainer",
        "fit, no run directory": "fit_no_run_dir", "trainer, num_workers=0": "trainer_workers0",
        "trainer, neuralop AdamW": "trainer_neuralop_adamw", "bare, neuralop FNO + AdamW": "bare_neuralop_fno",
        "neuralop example": "neuralop_example", "bare, 2 threads": "bare_2_threads",
        "trainer, 2 threads": "trainer_2_threads"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="four sides, three timed epochs, no profile")
    parser.add_argument("--json", metavar="PATH", help="write one flat JSON object of all numbers")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per side (default 3 quick, 5 full)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, see the module docstring)")
    parser.add_argument("--cache", default=None, help="where sciml train caches the generated data (default: sciml's)")
    args = parser.parse_args()
    if (args.epochs is not None and args.epochs < 1) or args.threads < 1:
        parser.error(f"--epochs and --threads must be >= 1, got {args.epochs} and {args.threads}")
    torch.set_num_threads(args.threads)
    timed = args.epochs or (3 if args.quick else 5)
    profile = not args.quick
    epochs = timed + 2 + profile  # warm-up, timed, profiled, and the last (sciml evaluates after it): untimed
    flat = header(timed_epochs=timed, n_train=RECIPE.n_train, resolution=RECIPE.resolution,
                  batch_size=RECIPE.batch_size)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="train_speed_") as work:
        config = write_config(Path(work) / "darcy_small.toml", RECIPE, args.cache, epochs,
                              "benchmarks/train_speed.py: neuraloperator's small-Darcy recipe")
        clock = timed_sciml_train(config, Path(work) / "run", RECIPE, timed, attribution=profile)
    rows = {name: samples[1 : timed + 1] for name, samples in clock.times.items()}  # epochs 1 .. timed
    medians = {name: (median([w for w, _ in s]), median([c for _, c in s])) for name, s in rows.items()}
    reference = medians["sciml train"]
    print(f"{'side':<28}{'wall s/epoch':>13}{'cpu s/epoch':>12}{'wall / sciml':>13}{'cpu / sciml':>12}"
          f"{'cpu ratio range':>17}")
    for name, (w, c) in medians.items():
        ratios = [a[1] / b[1] for a, b in zip(rows[name], rows["sciml train"])]
        print(f"{name:<28}{w:>13.3f}{c:>12.3f}{w / reference[0]:>13.3f}{c / reference[1]:>12.3f}"
              f"{f'{min(ratios):.2f} .. {max(ratios):.2f}':>17}")
        flat[f"{KEYS[name]}_epoch_s"], flat[f"{KEYS[name]}_epoch_cpu_s"] = w, c
    flat["sciml_train_checkpoint_s"] = median([clock.checkpoint_s.get(e, 0.0) for e in range(1, timed + 1)])
    flat["loop_overhead_vs_bare"] = reference[0] / medians["bare"][0]
    flat["loop_overhead_vs_bare_cpu"] = medians["sciml train"][1] / medians["bare"][1]
    flat["fit_no_run_dir_vs_bare"] = medians["fit, no run directory"][0] / medians["bare"][0]
    flat["epoch_speedup_vs_neuralop_trainer"] = medians["trainer"][0] / reference[0]
    flat["epoch_speedup_vs_neuralop_trainer_cpu"] = medians["trainer"][1] / medians["sciml train"][1]
    if "neuralop example" in medians:
        flat["epoch_speedup_vs_neuralop_example"] = medians["neuralop example"][0] / reference[0]
        flat["epoch_speedup_vs_neuralop_example_cpu"] = medians["neuralop example"][1] / reference[1]
    print(f"sciml train's checkpoint (fsynced, every epoch): {flat['sciml_train_checkpoint_s']:.3f} s/epoch (median)")
    print(f"loop_overhead_vs_bare {flat['loop_overhead_vs_bare']:.3f} (target <= 1.05; cpu clock "
          f"{flat['loop_overhead_vs_bare_cpu']:.3f}; fit without a run directory {flat['fit_no_run_dir_vs_bare']:.3f}); "
          f"epoch_speedup_vs_neuralop_trainer {flat['epoch_speedup_vs_neuralop_trainer']:.3f} (target >= 2; cpu clock "
          f"{flat['epoch_speedup_vs_neuralop_trainer_cpu']:.3f})")
    if clock.profiles:
        print("epoch", clock.profile_epoch, "under cProfile, wall seconds (outermost calls of each category):")
        names = [n for n in ("sciml train", "bare", "trainer", "trainer, num_workers=0", "neuralop example")
                 if n in clock.profiles]
        print(f"{'':<22}" + "".join(f"{name:>23}" for name in names))
        for category in clock.profiles[names[0]]:
            print(f"{category:<22}" + "".join(f"{clock.profiles[n][category]:>23.3f}" for n in names))
            slug = re.sub(r"\W+", "_", category)
            for name in clock.profiles:
                flat[f"profile_{KEYS[name]}_{slug}_s"] = clock.profiles[name][category]
    flat["wall_s"], flat["load_average_1min_end"] = time.perf_counter() - started, os.getloadavg()[0]
    print(f"wall time: {flat['wall_s']:.0f} s")
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
