"""``sciml generate`` writes a dataset file, ``sciml info`` describes one."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from sciml.cli.common import FAILED, CommandError, check_interrupted, device, int_at_least, interrupted_status
from sciml.data import (
    DatasetError,
    DatasetInfo,
    DatasetWriter,
    StorageError,
    part_path,
    read_info,
    subsample_factors,
    verify,
)
from sciml.data.format import size_text
from sciml.data.generate import INT64_END
from sciml.problem import AbstractProblem
from sciml.registry import PROBLEMS
from sciml.solvers import report_steps


def _problem_name(text: str) -> str:
    if text not in PROBLEMS:
        raise argparse.ArgumentTypeError(f"unknown problem {text!r} (known: {', '.join(PROBLEMS)})")
    return text


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def build_problem(name: str, overrides: list[tuple[str, str]]) -> AbstractProblem:
    """``PROBLEMS[name]`` with its defaults (the reference benchmark) and ``--param KEY=VALUE`` overrides.

    Values are JSON (``1e-4``, ``true``, ``[1, 2]``, ``"text"``) and must have the type of the field's
    default (an integer is accepted for a float field); fields that hold objects cannot be set here.
    """
    cls = PROBLEMS[name]
    defaults = cls()
    fields = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(defaults)}
    changes = {}
    for key, text in overrides:
        if key not in fields:
            raise CommandError(f"--param {key}: {name} has no parameter {key!r} (parameters: {', '.join(fields)})")
        default = fields[key]
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise CommandError(f"--param {key}={text}: not a JSON value (strings need quotes)") from None
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        if not isinstance(default, (bool, int, float, str, tuple)):
            raise CommandError(f"--param {key}: holds a {type(default).__name__}, which the command line cannot set")
        if type(value) is not type(default):
            raise CommandError(f"--param {key}: expected a {type(default).__name__} like {default!r}, got {text!r}")
        changes[key] = value
    try:
        return dataclasses.replace(defaults, **changes)
    except (TypeError, ValueError) as err:
        raise CommandError(f"--param: {err}") from None


@contextmanager
def generation_progress(writer: DatasetWriter, desc: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for ``writer.run(progress)``, in samples, that moves while a chunk is being solved.

    The bar appears once the writer has opened its file (from then on only the generation itself can
    fail). Finished chunks count whole; the chunk being solved counts the fraction of its time steps done
    (:func:`sciml.solvers.report_steps`), shown as ``step i/n`` beside the bar, so long samples (Navier-Stokes
    at the FNO defaults: minutes per chunk) move it too. Problems solved without time steps move it per chunk.
    """
    bar = None

    def advance(to: float) -> None:
        if to >= bar.n:  # never back: a solve may integrate more than once
            bar.n = to  # set, not summed: a float sum of fractions would print as 3.8000000000000003
            bar.update(0)

    def chunk_done(k: int) -> None:
        nonlocal bar
        check_interrupted()
        if bar is None:
            bar = tqdm(total=writer.n, initial=writer.samples_done, unit="sample", desc=desc, file=sys.stderr)
        advance(writer.samples_done)

    def step(done: int, total: int) -> None:
        check_interrupted()
        if bar is not None:
            chunk = min(writer.chunk, writer.n - writer.samples_done)
            bar.set_postfix_str(f"step {done}/{total}", refresh=False)
            advance(round(writer.samples_done + chunk * done / total, 1))

    try:
        with report_steps(step):
            yield chunk_done
    finally:  # end the bar's line before any message
        if bar is not None:
            bar.close()


def _output_file(text: str) -> Path:
    if not text or Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}{' (a directory)' if text else ''}")
    return Path(text)


def generate(args: argparse.Namespace) -> int:
    problem = build_problem(args.problem, args.param)
    try:
        problem.grid(args.resolution)
    except ValueError as err:
        raise CommandError(f"--resolution {args.resolution}: {err}") from None
    try:
        writer = DatasetWriter(problem, args.out, n=args.n, resolution=args.resolution, seed=args.seed, chunk=args.chunk,
                               dtype=args.dtype, device=device("--device", args.device), overwrite=args.overwrite)
    except FileExistsError:
        raise CommandError(f"{args.out} already exists; remove it, choose another --out or pass --overwrite") from None
    except ValueError as err:  # DatasetError: a partial file that cannot be resumed
        raise CommandError(str(err)) from None
    except (MemoryError, StorageError) as err:  # the estimate does not fit this machine
        raise CommandError(str(err), FAILED) from None
    if writer.samples_done:
        print(f"resuming {writer.part} at {writer.samples_done}/{args.n} samples", file=sys.stderr)
    start = time.perf_counter()
    command = shlex.join(["sciml", *args.argv])
    try:
        with generation_progress(writer, args.problem) as progress:
            path = writer.run(progress)
    except KeyboardInterrupt as err:
        kept = f"; {writer.part} keeps them; resume with: {command}" if writer.part.exists() else ""
        print(f"{args.prog}: interrupted at {writer.samples_done}/{args.n} samples{kept}", file=sys.stderr)
        return interrupted_status(err)
    except StorageError as err:  # a full disk, an I/O error, an unwritable location
        raise CommandError(f"{err}; resume with: {command}" if writer.part.exists() else str(err), FAILED) from None
    except (FloatingPointError, MemoryError, DatasetError) as err:  # a blow-up, an estimate too low, a bad read-back
        raise CommandError(str(err), FAILED) from None
    info = read_info(path)
    print(f"wrote {path}: {info.n} {info.problem} samples, inputs {info.input_shape} on {info.input_grid.describe()}, "
          f"solutions {info.solution_shape}, {info.dtype}, seed {info.seed}, {size_text(path.stat().st_size)}, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists() and part_path(path).exists():
        print(f"{path} does not exist yet; its generation left {part_path(path)}:")
        path = part_path(path)
    try:
        meta = verify(path) if args.verify else read_info(path)
    except (FileNotFoundError, DatasetError) as err:
        raise CommandError(str(err)) from None
    state = "complete" if meta.complete else "PARTIAL, rerun its `sciml generate` command to resume"
    if args.verify:
        state += f"; the {meta.samples_done} samples written match their checksums"
    checksums = ("Fletcher-32 and CRC-32 per sample and array, checked on every read" if meta.format_version >= 2
                 else "none (format version 1)")
    coarse = _subsample_listing(meta)
    rows = [
        ("problem", meta.problem),
        ("params", json.dumps(meta.params, sort_keys=True)),
        ("inputs", f"{meta.input_shape or '(not written yet)'} {meta.dtype} on {meta.input_grid.describe()}"),
        ("solutions", f"{meta.solution_shape or '(not written yet)'} {meta.dtype} on {meta.output_grid.describe()}"),
        ("seed", f"{meta.seed} (sample i drawn from SeedSequence([seed, i]))"),
        ("chunk", f"{meta.chunk} samples per solver call"),
        ("checksums", checksums),
        ("sciml", meta.sciml_version),
        ("subsample", coarse),
    ]
    print(f"{path}: sciml dataset, {meta.samples_done}/{meta.n} samples, {state}")
    for key, value in rows:
        print(f"  {key:<10} {value}")
    return 0


def _subsample_listing(meta: DatasetInfo) -> str:
    """The coarser grids a file can be read at: every subsampling factor of its grids whose resolution its problem accepts."""
    factors = subsample_factors(meta.input_grid, meta.output_grid)
    if len(set(meta.input_grid.shape)) > 1:
        return f"factors {factors}"
    resolutions = [meta.input_grid.subsample(r).shape[0] for r in factors]
    cls = PROBLEMS.get(meta.problem)
    if cls is None:
        return "resolutions " + ", ".join(map(str, resolutions)) + f" (problem {meta.problem!r} is not registered here: not checked)"
    try:
        problem = cls.from_params(meta.params)
    except (TypeError, ValueError) as err:
        raise CommandError(f"{meta.path}: its params do not describe a {meta.problem} problem: {err}") from None
    return "resolutions " + ", ".join(str(n) for n in resolutions if _accepts(problem, n))


def _accepts(problem: AbstractProblem, resolution: int) -> bool:
    try:
        problem.grid(resolution)
    except ValueError:
        return False
    return True


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``generate`` and ``info`` on the top-level parser's subcommands."""
    gen = commands.add_parser("generate", help="generate a dataset file (atomic; rerun to resume)",
                              description="Sample inputs, solve them and write one HDF5 file; an interrupted "
                                          "run leaves FILE.part, which the same command resumes.")
    gen.add_argument("problem", type=_problem_name, metavar="PROBLEM", help=f"one of: {', '.join(PROBLEMS)}")
    gen.add_argument("--n", type=int_at_least(1, INT64_END - 1), required=True, help="number of samples")
    gen.add_argument("--resolution", type=int_at_least(1), required=True, help="grid points per space axis")
    gen.add_argument("--seed", type=int_at_least(0, INT64_END - 1), required=True, help="base seed; sample i uses (seed, i)")
    gen.add_argument("--out", type=_output_file, required=True, metavar="FILE",
                     help="output file; must not exist unless --overwrite")
    gen.add_argument("--overwrite", action="store_true",
                     help="replace FILE if it exists, once the new file is complete")
    gen.add_argument("--chunk", type=int_at_least(1, INT64_END - 1), default=None,
                     help="samples per solver call (default: 32, or the one recorded in FILE.part)")
    gen.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                     help="override a problem parameter (JSON value); repeatable")
    gen.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="storage dtype")
    gen.add_argument("--device", default="cpu", help="device of the solver, e.g. cuda (default: cpu)")
    gen.set_defaults(run=generate)

    inf = commands.add_parser("info", help="describe a dataset file", description="Print what a dataset holds.")
    inf.add_argument("file", metavar="FILE", help="a dataset file (or the FILE whose FILE.part is in progress)")
    inf.add_argument("--verify", action="store_true", help="read every sample and check it against its checksum")
    inf.set_defaults(run=info)
