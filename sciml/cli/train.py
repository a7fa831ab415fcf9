"""``sciml train`` trains a model from a configuration into a run directory; ``sciml eval`` evaluates a run."""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import shlex
import shutil
import sys
from pathlib import Path

import tomllib
import torch
from torch import nn

from sciml.cli.build import (
    Split,
    build_model,
    build_optimizer,
    build_scheduler,
    load_split,
    optimizer_arguments,
)
from sciml.cli.common import FAILED, CommandError, check_interrupted, interrupted_status
from sciml.cli.common import device as parse_device
from sciml.cli.config import (
    ConfigError,
    RunConfig,
    Source,
    load_config,
    parse_config,
    shipped_configs,
)
from sciml.cli.setups import operator_setup, pinn_setup
from sciml.data import DatasetError, UnitGaussianNormalizer
from sciml.metrics import evaluate_operator, predict
from sciml.plot import error_vs_resolution, fields
from sciml.train import NonFiniteLoss, Progress, RunDirectory, fit, load_checkpoint, set_rng_state
from sciml.train.distributed import rank_and_world, setup, teardown

__all__ = ["add_commands"]


def _first_difference(a: dict, b: dict, prefix: str = "") -> str | None:
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            found = _first_difference(x, y, f"{prefix}{key}.")
            if found:
                return found
        elif x != y:
            return f"{prefix}{key} (run: {x!r}, now: {y!r})"
    return None


def _prepare_directory(out: Path, config: RunConfig, resume: bool, overwrite: bool) -> bool:
    """Refuse to clobber a run unless asked; on resume, insist on the same configuration. Returns whether ``out``
    holds a run to replace (once the new run is set up: a configuration or data error leaves the old one)."""
    holds_run = (out / "config.toml").exists()
    if resume:
        if not (holds_run and (out / "checkpoint.pt").exists()):
            raise CommandError(f"--resume: {out} holds no run to resume (no config.toml and checkpoint.pt)")
        stored = tomllib.loads((out / "config.toml").read_text())
        difference = _first_difference(stored, config.to_dict())
        if difference:
            raise CommandError(f"--resume: {out} was run with another configuration: {difference}")
    elif out.exists() and any(out.iterdir()):
        if not overwrite:
            raise CommandError(f"{out} already holds {'a run' if holds_run else 'files'}; --resume continues a run, "
                               "--overwrite replaces it")
        if not holds_run:
            raise CommandError(f"--overwrite: {out} is not a run directory (no config.toml); not deleting it")
        return True
    return False


def train(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, args.set)
    except ConfigError as err:
        raise CommandError(str(err)) from None
    out = Path(args.out)
    replace = _prepare_directory(out, config, args.resume, args.overwrite)
    device = setup(parse_device("train.device", config.train.device))
    rank, world = rank_and_world()
    try:
        return _train(args, config, out, replace, device, rank, world)
    finally:
        teardown()


def _train(args, config: RunConfig, out: Path, replace: bool, device: torch.device, rank: int, world: int) -> int:
    torch.manual_seed(config.train.seed)
    dtype = torch.float64 if config.train.precision == "float64" else torch.float32
    try:
        if config.pinn is None:
            # the model's and the optimizer's keys are checked before any data is generated
            probe = build_model(config.model, 1, 1, config.train.seed)
            build_optimizer(config.train, list(probe.parameters()), config.loss.terms,
                            optimizer_arguments(config.train, probe))
            setup = operator_setup(config, device, dtype, rank, world)
        else:
            setup = pinn_setup(config, device, dtype)
        optimizer = build_optimizer(config.train, list(setup.model.parameters()), setup.terms, setup.optimizer_args)
    except (ConfigError, ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    model = setup.model
    scheduler = build_scheduler(config.train, optimizer, len(setup.batches))
    progress, resume_step = None, None
    if args.resume:
        state = _checkpoint(out, device, "; start over with --overwrite")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"])
            progress = Progress(**state["progress"])
        except (KeyError, RuntimeError, TypeError, ValueError) as err:
            raise CommandError(f"{out / 'checkpoint.pt'} does not fit this run ({_first_sentence(err)}); "
                               "start over with --overwrite") from None
        resume_step = progress.step
    if replace and rank == 0:
        shutil.rmtree(out)
    run = RunDirectory(out, resume_step) if rank == 0 else None
    if run is not None and not args.resume:
        run.write_config(config.to_dict())
    ddp = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    if rank == 0 and not args.quiet:
        print(f"training {config.model['name']} ({sum(p.numel() for p in model.parameters())} parameters) on "
              f"{setup.description}", file=sys.stderr)

    def objective(model: nn.Module, batch) -> dict:
        check_interrupted()  # each step: an interrupt a finalizer swallowed stops the run too
        return setup.objective(model, batch)

    try:
        progress = fit(ddp, optimizer, objective, setup.batches, config.train.epochs, scheduler=scheduler,
                       evaluate=setup.evaluate, eval_every=config.train.eval_every, run=run,
                       checkpoint_every=config.train.checkpoint_every, extra_state=setup.extra_state,
                       precision=config.train.precision, progress=progress, show_progress=not args.quiet)
    except NonFiniteLoss as err:
        raise CommandError(f"{err}; stopped before the update ({out / 'checkpoint.pt'} holds the last saved step)", FAILED) from None
    except OSError as err:  # a full disk, an I/O error while writing the run
        raise CommandError(f"cannot write the run {out}: {err}; resume with --resume once it is fixed", FAILED) from None
    except DatasetError as err:  # a damaged sample of a streamed training split
        raise CommandError(f"data.train: {err}; resume with --resume once it is regenerated") from None
    except KeyboardInterrupt as err:
        command = shlex.join(["sciml", *[a for a in args.argv if a != "--overwrite"], *([] if args.resume else ["--resume"])])
        print(f"{args.prog}: interrupted; {out / 'checkpoint.pt'} holds the last saved step; resume with: {command}", file=sys.stderr)
        return interrupted_status(err)
    if run is not None:
        setup.figures(out)
        print(f"trained {out}: {progress.epoch} epochs, {progress.step} steps, {progress.elapsed:.1f} s; "
              f"test relative L2 {run.rows[-1]['test_rel_l2']:.4g}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    run = Path(args.run_dir)
    if not ((run / "config.toml").is_file() and (run / "checkpoint.pt").is_file()):
        raise CommandError(f"{run} is not a run directory (it needs config.toml and checkpoint.pt)")
    try:
        config = parse_config(tomllib.loads((run / "config.toml").read_text()))
    except (ConfigError, tomllib.TOMLDecodeError) as err:
        raise CommandError(f"{run / 'config.toml'}: {err}") from None
    state = _checkpoint(run, torch.device("cpu"))
    if config.pinn is not None:
        return _evaluate_pinn(args, run, config, state)
    norms = {name: UnitGaussianNormalizer.from_state_dict(state[name]) if name in state else None
             for name in ("input_normalizer", "output_normalizer")}

    source, where = (config.data.test, "data.test") if args.data is None else (Source(path=args.data), "--data")

    def split_at(resolution: int | None) -> Split:
        data = dataclasses.replace(config.data, resolution=resolution)
        try:
            return load_split(source, data, None, where)
        except ConfigError as err:
            raise CommandError(str(err)) from None

    split = split_at(None)
    try:
        model = build_model(config.model, split.inputs.shape[1], split.targets.shape[1], 0)
        model.load_state_dict(state["model"])
    except (ConfigError, RuntimeError) as err:
        raise CommandError(f"the run's model does not fit {split.description}: {str(err).splitlines()[0]}") from None
    metrics = evaluate_operator(model, split.inputs, split.targets, split.grid, problem=split.problem, **norms)
    resolutions, errors = [split.grid.shape[0]], [metrics["rel_l2"]]
    for resolution in args.resolution:
        coarse = split_at(resolution)
        error = evaluate_operator(model, coarse.inputs, coarse.targets, coarse.grid, **norms)["rel_l2"]
        metrics[f"rel_l2_at_{resolution}"] = error
        resolutions.append(resolution)
        errors.append(error)
    print(f"{run} on {split.description}")
    for key, value in metrics.items():
        print(f"  {key:<16} {value:.4g}")
    plots = run / "plots"
    fields(split.inputs[:4], split.targets[:4], predict(model, split.inputs[:4], **norms), plots / "eval_samples.png",
           title=split.description)
    if args.resolution:
        order = sorted(range(len(resolutions)), key=resolutions.__getitem__)
        error_vs_resolution([resolutions[i] for i in order], [errors[i] for i in order], plots / "eval_resolution.png",
                            trained_at=state.get("train_grid", [None])[0])
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=1) + "\n")
    return 0


def _evaluate_pinn(args: argparse.Namespace, run: Path, config: RunConfig, state: dict) -> int:
    """A PINN run's error against the exact solution and its residual beside the exact solution's (round-off)."""
    if args.data is not None or args.resolution:
        raise CommandError("--data and --resolution evaluate operators; a PINN run is evaluated on its problem's exact solution")
    try:
        setup = pinn_setup(config, torch.device("cpu"), torch.float64 if config.train.precision == "float64" else torch.float32)
    except (ConfigError, ValueError) as err:
        raise CommandError(f"{run / 'config.toml'}: {err}") from None
    setup.model.load_state_dict(state["model"])
    metrics = setup.report()
    print(f"{run} on {setup.description}")
    for key, value in metrics.items():
        print(f"  {key:<16} {value:.4g}")
    setup.figures(run)
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=1) + "\n")
    return 0


def _checkpoint(run: Path, device: torch.device, advice: str = "") -> dict:
    """The state dicts of ``run/checkpoint.pt`` (``weights_only``); a damaged file is a one-line error."""
    path = run / "checkpoint.pt"
    try:
        return load_checkpoint(path, device)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError) as err:  # torch's reports of a torn or foreign file
        raise CommandError(f"{path}: not a readable checkpoint ({_first_sentence(err)}){advice}") from None


def _first_sentence(err: BaseException) -> str:
    """The start of an error's message: torch's go on for lines of advice that do not apply here."""
    return str(err).splitlines()[0].split(". ")[0] if str(err) else type(err).__name__


def _resolution(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected a resolution >= 2, got {text!r}")
    return value


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``train`` and ``eval`` on the top-level parser's subcommands."""
    tr = commands.add_parser("train", help="train a model from a configuration into a run directory",
                             description="Train from a TOML configuration (a path or a shipped name: "
                                         f"{', '.join(shipped_configs())}); writes config.toml, metrics.csv, checkpoint.pt "
                                         "and plots/ into RUN_DIR.")
    tr.add_argument("config", metavar="CONFIG", help="a TOML file or the name of a shipped config")
    tr.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a configuration key (the value is TOML); repeatable")
    tr.add_argument("--out", required=True, metavar="RUN_DIR", help="the run directory")
    tr.add_argument("--resume", action="store_true", help="continue the interrupted run in RUN_DIR")
    tr.add_argument("--overwrite", action="store_true", help="replace the run in RUN_DIR")
    tr.add_argument("--quiet", action="store_true", help="nothing on stderr but errors (no progress bar, no per-epoch lines)")
    tr.set_defaults(run=train)

    ev = commands.add_parser("eval", help="evaluate a run on a dataset, at its resolution and finer ones",
                             description="Relative L2 and H1 errors, the PDE residual of the predictions next to the "
                                         "reference's, and zero-shot errors at other resolutions; plots into RUN_DIR/plots.")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by sciml train")
    ev.add_argument("--data", metavar="FILE", help="a dataset file (default: the run's test split)")
    ev.add_argument("--resolution", type=_resolution, action="append", default=[], metavar="R",
                    help="also evaluate at R points per axis (subsampled from the file); repeatable")
    ev.add_argument("--json", metavar="PATH", help="write the metrics as one flat JSON object")
    ev.set_defaults(run=evaluate)
