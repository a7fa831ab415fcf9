"""Every bad input and fault of the ``sciml`` command line, one row each; new commands add their rows to ROWS.

A row gives the arguments, the fault they run under and what must come out: the exit status, the
one line on stderr (never a traceback), and what is left on disk. ``{dir}`` in the arguments and the
line is the row's own folder; ``*`` in the line stands for any text (free memory, a count that
depends on the file system). A row's ``setup`` (from cli_fault_setups.py) prepares files in the
folder first (a finished dataset, a damaged one, a partial file, a run); what is left on disk is
checked as the paths the command created and removed there (``*`` for any text). ``fault`` says how the command runs: in this process (the default), or
under a fault: a full disk, a file-size limit, a signal, an import interrupted, a reader that went away.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fnmatch
import importlib.util
import io
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sciml.data.generate as generate_module
import sciml.train.objective as objective_module
from cli_fault_setups import (
    attribute,
    config_and_damaged_data,
    config_and_data,
    damage,
    damaged_metadata,
    damaged_sample,
    damaged_training_data,
    files,
    finished,
    junk_part,
    part_of_seed_1,
    part_without_attributes,
    trained,
    trained_and,
)
from sciml.cli import main
from sciml.registry import PROBLEMS

INT64_MAX = "9223372036854775807"
Usage = collections.namedtuple("Usage", "total used free")  # what shutil.disk_usage returns
#: a generation of 200 samples, 8 per solver call: 6.8 MB in all, each chunk 270 kB
LONG = ("generate", "poisson", "--n", "200", "--resolution", "65", "--seed", "1", "--chunk", "8")


def new(out: str, *extra: str) -> tuple[str, ...]:
    """``sciml generate poisson`` of 6 tiny samples (2 per chunk) into ``out``, with ``extra`` arguments."""
    return ("generate", "poisson", "--n", "6", "--resolution", "9", "--seed", "1", "--chunk", "2", "--out", out, *extra)


def train_args(*extra: str) -> tuple[str, ...]:
    """``sciml train`` of the folder's ``run.toml`` into ``run/`` (see :func:`cli_fault_setups.run_config`)."""
    return ("train", "{dir}/run.toml", "--out", "{dir}/run", "--quiet", *extra)


def resume_line(*argv: str) -> str:
    return "resume with: sciml " + " ".join(argv)


# --- how a row's command runs --------------------------------------------------------------------


@dataclass
class Context:
    folder: Path
    monkeypatch: pytest.MonkeyPatch


Run = Callable[[list[str]], tuple[int, str, str]]


def _in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def in_process(ctx: Context) -> Iterator[Run]:
    yield _in_process


def file_size_limit(nbytes: int):
    """In this process, with files limited to ``nbytes`` (RLIMIT_FSIZE: a write past it fails with EFBIG, as on a full
    disk, on any file system and without root); the limit is lifted again after the command."""

    @contextlib.contextmanager
    def fault(ctx: Context) -> Iterator[Run]:
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

        def run(argv: list[str]) -> tuple[int, str, str]:
            resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
            try:
                return _in_process(argv)
            finally:
                resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

        yield run

    return fault


def small_filesystem(size: str, *, estimate_fooled: bool = False):
    """A tmpfs of ``size`` mounted at ``{dir}/full`` (root only; skipped elsewhere); ``estimate_fooled``: the
    up-front disk check is told there is room, as when another process fills the disk during the run."""

    @contextlib.contextmanager
    def fault(ctx: Context) -> Iterator[Run]:
        mount = ctx.folder / "full"
        mount.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a {size} tmpfs here (needs root): {done.stderr.decode().strip()}")
        try:
            if estimate_fooled:
                ctx.monkeypatch.setattr(generate_module.shutil, "disk_usage", lambda folder: Usage(2**60, 0, 2**60))
            yield _in_process
        finally:
            subprocess.run(["umount", str(mount)], check=True)

    return fault


def failing(method: str, exception: BaseException | signal.Signals, on_call: int = 1):
    """In this process, with ``DatasetWriter.<method>`` raising ``exception`` on its ``on_call``-th call (a disk's
    I/O error, a solver's overflow); a ``signal.Signals`` is sent to this process instead, as a user would."""

    @contextlib.contextmanager
    def fault(ctx: Context) -> Iterator[Run]:
        original, calls = getattr(generate_module.DatasetWriter, method), []

        def patched(self, *args):
            calls.append(None)
            if len(calls) == on_call:
                if isinstance(exception, signal.Signals):
                    os.kill(os.getpid(), exception)
                else:
                    raise exception
            return original(self, *args)

        ctx.monkeypatch.setattr(generate_module.DatasetWriter, method, patched)
        yield _in_process

    return fault


def signal_in_a_finalizer(sig: signal.Signals):
    """In this process, with ``sig``'s handler running inside a finalizer during the second chunk (of a generation) or
    training step: Python only prints
    the exception a finalizer raises (seen with a weakref callback under load), and the command must stop all the same."""

    class Finalized:
        def __del__(self):
            signal.getsignal(sig)(sig, None)

    @contextlib.contextmanager
    def fault(ctx: Context) -> Iterator[Run]:
        for cls, method in ((generate_module.DatasetWriter, "_chunk"), (objective_module.OperatorObjective, "__call__")):
            ctx.monkeypatch.setattr(cls, method, finalizer_on_second_call(getattr(cls, method)))
        yield _in_process

    def finalizer_on_second_call(original: Callable) -> Callable:
        calls = []

        def patched(self, *args):
            calls.append(None)
            if len(calls) == 2:
                Finalized()  # dropped at once: __del__ runs the handler, whose exception goes to sys.unraisablehook
            return original(self, *args)

        return patched

    return fault


def signal_at_import_of_torch(sig: signal.Signals):
    """A real ``sciml`` process that receives ``sig`` while it imports torch (start-up: the slow part)."""
    hook = f"""
import os, signal, sys
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), {int(sig)})
sys.meta_path.insert(0, Hook())
from sciml.cli import main
sys.exit(main(sys.argv[1:]))
"""

    def run(argv: list[str]) -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, "-c", hook, *argv], capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr

    @contextlib.contextmanager
    def fault(ctx: Context) -> Iterator[Run]:
        yield run

    return fault


@contextlib.contextmanager
def closed_stdout(ctx: Context) -> Iterator[Run]:
    """In this process, with stdout a pipe whose reader has gone (``sciml info FILE | head -1``)."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        read, write = os.pipe()
        os.close(read)
        stdout, err = open(write, "w"), io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
                status = main(argv)
        finally:
            stdout.close()
        return status, "", err.getvalue()

    yield run


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A command, the fault it runs under, and what must come out."""

    id: str
    argv: tuple[str, ...]
    status: int
    line: str | None  # the whole last line of stderr, "*" for any text; None: stderr stays empty
    created: tuple[str, ...] = ()  # paths (relative to the folder, "*" for any text) that exist only after the command
    removed: tuple[str, ...] = ()
    setup: Callable[[Path], object] | None = None
    fault: Callable[[Context], contextlib.AbstractContextManager[Run]] = in_process


GEN = "sciml generate: error: "
INFO = "sciml info: error: "
TRAIN = "sciml train: error: "
#: what a run directory holds from its start where TensorBoard is installed
TENSORBOARD_EVENTS = ("run/events.out.tfevents.*",) if importlib.util.find_spec("tensorboard") else ()
EVAL = "sciml eval: error: "
ROWS = [
    # arguments
    Row("unknown problem", ("generate", "nope", "--n", "2", "--resolution", "9", "--seed", "0", "--out", "{dir}/x.h5"), 2,
        GEN + "argument PROBLEM: unknown problem 'nope' (known: " + ", ".join(PROBLEMS) + ")"),
    Row("n 0", new("{dir}/x.h5", "--n", "0"), 2, GEN + f"argument --n: expected an integer from 1 to {INT64_MAX}, got '0'"),
    Row("n negative", new("{dir}/x.h5", "--n", "-3"), 2, GEN + f"argument --n: expected an integer from 1 to {INT64_MAX}, got '-3'"),
    Row("n beyond int64", new("{dir}/x.h5", "--n", "99999999999999999999"), 2,
        GEN + f"argument --n: expected an integer from 1 to {INT64_MAX}, got '99999999999999999999'"),
    Row("seed negative", new("{dir}/x.h5", "--seed", "-1"), 2, GEN + f"argument --seed: expected an integer from 0 to {INT64_MAX}, got '-1'"),
    Row("seed 2**64", new("{dir}/x.h5", "--seed", str(2**64)), 2,
        GEN + f"argument --seed: expected an integer from 0 to {INT64_MAX}, got '{2**64}'"),
    Row("resolution too small", new("{dir}/x.h5", "--resolution", "2"), 2,
        GEN + "--resolution 2: Poisson.grid: resolution must be >= 3, got 2"),
    Row("resolution not a number", new("{dir}/x.h5", "--resolution", "x"), 2,
        GEN + "argument --resolution: expected an integer >= 1, got 'x'"),
    Row("missing arguments", ("generate", "poisson", "--n", "2", "--resolution", "9"), 2,
        GEN + "the following arguments are required: --seed, --out"),
    Row("unknown command", ("frobnicate",), 2, "sciml: error: argument COMMAND: invalid choice: 'frobnicate' (choose from *)"),
    Row("unknown param", new("{dir}/x.h5", "--param", "zz=1"), 2, GEN + "--param zz: poisson has no parameter 'zz' (parameters: *)"),
    Row("param without =", new("{dir}/x.h5", "--param", "oops"), 2, GEN + "argument --param: expected KEY=VALUE, got 'oops'"),
    Row("out empty", new(""), 2, GEN + "argument --out: expected a file name, got ''"),
    Row("out a directory", new("{dir}"), 2, GEN + "argument --out: expected a file name, got '{dir}' (a directory)"),
    Row("out exists (rerun without --overwrite)", new("{dir}/existing.h5"), 2,
        GEN + "{dir}/existing.h5 already exists; remove it, choose another --out or pass --overwrite", setup=files),
    Row("out under a file", new("{dir}/existing.h5/sub/x.h5"), 1,
        GEN + "cannot write {dir}/existing.h5/sub/x.h5.part: Not a directory", setup=files),
    Row("device meta", new("{dir}/x.h5", "--device", "meta"), 2, GEN + "--device meta: not supported (cpu, cuda or cuda:N)"),
    Row("device cuda:99", new("{dir}/x.h5", "--device", "cuda:99"), 2, GEN + "--device cuda:99: *"),
    # parameters, refused where the problem is constructed
    *[Row(f"param {problem} {param}", ("generate", problem, "--n", "2", "--resolution", "16", "--seed", "0",
                                       "--out", "{dir}/x.h5", "--param", param), 2, GEN + "--param: " + message)
      for problem, param, message in [
          ("darcy", "grf_alpha=NaN", "Darcy: grf_alpha must be a finite number > 1 (dim / 2: a finite pointwise variance), got nan"),
          ("darcy", "rtol=-1", "Darcy: rtol must be a finite number > 0 and < 1 (the solver's relative residual target), got -1.0"),
          ("burgers", "x_min=NaN", "Burgers: x_min must be a finite number, got nan"),
          ("burgers", "grf_tau=-5", "Burgers: grf_tau must be a finite number > 0, got -5.0"),
          ("navier_stokes", "nu=Infinity", "NavierStokes: nu must be a finite number > 0, got inf"),
          ("navier_stokes", "time_step=0", "NavierStokes: time_step must be a finite number > 0, got 0.0"),
          ("navier_stokes", "time_step=-0.005", "NavierStokes: time_step must be a finite number > 0, got -0.005"),
          ("navier_stokes", "final_time=Infinity", "NavierStokes: final_time must be a finite number > 0, got inf"),
      ]],
    # sizes beyond the machine: the estimate, before anything is written
    Row("darcy resolution 100000", ("generate", "darcy", "--n", "64", "--resolution", "100000", "--seed", "1", "--out", "{dir}/x.h5"), 1,
        GEN + "one chunk of 32 darcy samples on nodal 100000x100000 on [0, 1] x [0, 1] needs at least 7.7 TB of memory (cpu), "
              "* is available; lower the chunk or the resolution"),
    Row("poisson resolution 100000", ("generate", "poisson", "--n", "64", "--resolution", "100000", "--seed", "1", "--out", "{dir}/x.h5"), 1,
        GEN + "one chunk of 32 poisson samples on nodal 100000x100000 on [0, 1] x [0, 1] needs at least 7.7 TB of memory (cpu), "
              "* is available; lower the chunk or the resolution"),
    Row("more samples than the disk holds", new("{dir}/x.h5", "--n", "999999999999"), 1,
        GEN + "the 999999999999 poisson samples left need about 904.0 TB of disk, {dir} has * free"),
    Row("full disk, foreseen (3 MB file system)", ("generate", "darcy", "--n", "64", "--resolution", "128", "--seed", "1",
                                                   "--out", "{dir}/full/D.h5"), 1,
        GEN + "the 64 darcy samples left need about 8.4 MB of disk, {dir}/full has 3.1 MB free", fault=small_filesystem("3m")),
    # faults while writing: the .part keeps what was finished, never a final-named file
    Row("full disk during the run (1 MB file system)", (*LONG, "--out", "{dir}/full/x.h5"), 1,
        GEN + "cannot write {dir}/full/x.h5.part: No space left on device; it keeps */200 samples; "
        + resume_line(*LONG, "--out", "{dir}/full/x.h5"),
        created=("full/x.h5.part",), fault=small_filesystem("1m", estimate_fooled=True)),
    Row("file size limit during the run", (*LONG, "--out", "{dir}/x.h5"), 1,
        GEN + "cannot write {dir}/x.h5.part: File too large; it keeps */200 samples; " + resume_line(*LONG, "--out", "{dir}/x.h5"),
        created=("x.h5.part",), fault=file_size_limit(2**20)),
    Row("I/O error during the run", new("{dir}/x.h5"), 1,
        GEN + "cannot write {dir}/x.h5.part: Input/output error; it keeps 2/6 samples; " + resume_line(*new("{dir}/x.h5")),
        created=("x.h5.part",), fault=failing("_write", OSError(errno.EIO, "Input/output error"), on_call=2)),
    Row("solver returns NaN", new("{dir}/x.h5"), 1,
        GEN + "Poisson.solve returned non-finite values for samples 2..3", created=("x.h5.part",),
        fault=failing("_chunk", FloatingPointError("Poisson.solve returned non-finite values for samples 2..3"), on_call=2)),
    Row("solver out of memory", new("{dir}/x.h5"), 1,
        GEN + "Poisson ran out of memory on samples 0..1 (DefaultCPUAllocator: can't allocate memory); lower the chunk or the resolution",
        created=("x.h5.part",),
        fault=failing("_chunk", MemoryError("Poisson ran out of memory on samples 0..1 (DefaultCPUAllocator: can't allocate memory); "
                                            "lower the chunk or the resolution"))),
    # signals: the .part keeps every finished chunk and the line says how to resume
    Row("SIGTERM during the run", new("{dir}/x.h5"), 143,
        "sciml generate: interrupted at 2/6 samples; {dir}/x.h5.part keeps them; " + resume_line(*new("{dir}/x.h5")),
        created=("x.h5.part",), fault=failing("_chunk", signal.SIGTERM, on_call=2)),
    Row("SIGINT during the run", new("{dir}/x.h5"), 130,
        "sciml generate: interrupted at 4/6 samples; {dir}/x.h5.part keeps them; " + resume_line(*new("{dir}/x.h5")),
        created=("x.h5.part",), fault=failing("_chunk", signal.SIGINT, on_call=3)),
    Row("SIGINT swallowed by a finalizer", new("{dir}/x.h5"), 130,
        "sciml generate: interrupted at 4/6 samples; {dir}/x.h5.part keeps them; " + resume_line(*new("{dir}/x.h5")),
        created=("x.h5.part",), fault=signal_in_a_finalizer(signal.SIGINT)),
    Row("SIGTERM swallowed by a finalizer", new("{dir}/x.h5"), 143,
        "sciml generate: interrupted at 4/6 samples; {dir}/x.h5.part keeps them; " + resume_line(*new("{dir}/x.h5")),
        created=("x.h5.part",), fault=signal_in_a_finalizer(signal.SIGTERM)),
    Row("train SIGTERM swallowed by a finalizer", train_args("--set", "train.epochs=3"), 143,
        "sciml train: interrupted; {dir}/run/checkpoint.pt holds the last saved step; resume with: sciml "
        + " ".join(train_args("--set", "train.epochs=3", "--resume")),
        created=("run", "run/checkpoint.pt", "run/config.toml", *TENSORBOARD_EVENTS, "run/metrics.csv", "run/plots",
                 "run/plots/loss.png"), setup=config_and_data, fault=signal_in_a_finalizer(signal.SIGTERM)),
    Row("Ctrl-C during start-up", ("info", "{dir}/d.h5"), 130, "sciml: interrupted", fault=signal_at_import_of_torch(signal.SIGINT)),
    Row("SIGTERM during start-up", new("{dir}/x.h5"), 143, "sciml: interrupted", fault=signal_at_import_of_torch(signal.SIGTERM)),
    # partial files that cannot be resumed
    Row("part without attributes", new("{dir}/x.h5"), 2,
        GEN + "{dir}/x.h5.part is not a sciml dataset (no format='sciml.dataset' attribute); it cannot be resumed: "
              "delete it to start over",
        setup=part_without_attributes),
    Row("part not HDF5", new("{dir}/x.h5"), 2,
        GEN + "{dir}/x.h5.part is not a readable HDF5 file (*): not a sciml dataset, or a damaged one; "
              "it cannot be resumed: delete it to start over", setup=junk_part),
    Row("part of another generation", new("{dir}/x.h5", "--seed", "7"), 2,
        GEN + "cannot resume {dir}/x.h5.part (2/6 samples): seed: file has 1, asked 7; delete it to start over", setup=part_of_seed_1),
    # files that are not (intact) datasets
    Row("info missing", ("info", "{dir}/no.h5"), 2, INFO + "{dir}/no.h5: no such file"),
    Row("info directory", ("info", "{dir}"), 2, INFO + "{dir} is a directory, not a dataset file"),
    Row("info not HDF5", ("info", "{dir}/junk.h5"), 2,
        INFO + "{dir}/junk.h5 is not a readable HDF5 file (*): not a sciml dataset, or a damaged one", setup=files),
    Row("info HDF5 but no dataset", ("info", "{dir}/bare.h5"), 2,
        INFO + "{dir}/bare.h5 is not a sciml dataset (no format='sciml.dataset' attribute)", setup=files),
    Row("info params not JSON", ("info", "{dir}/d.h5"), 2,
        INFO + "{dir}/d.h5: attribute 'params' = '{oops' is malformed (Expecting property name enclosed in double quotes: "
               "line 1 column 2 (char 1))", setup=attribute("params", "{oops")),
    Row("info grid without shape", ("info", "{dir}/d.h5"), 2,
        INFO + "{dir}/d.h5: attribute 'input_grid' = '{}' is malformed (a grid needs the keys shape, lengths and periodic; "
               "missing ['lengths', 'periodic', 'shape'])", setup=attribute("input_grid", "{}")),
    Row("info damaged sample (--verify)", ("info", "--verify", "{dir}/d.h5"), 2,
        INFO + "{dir}/d.h5: solutions of sample 1 fail their checksum or cannot be read (the file is damaged); regenerate it",
        setup=damaged_sample),
    Row("info damaged metadata", ("info", "{dir}/d.h5"), 2,
        INFO + "{dir}/d.h5 is damaged (HDF5 cannot read its metadata: *incorrect metadata checksum*)", setup=damaged_metadata),
    Row("info into a closed pipe", ("info", "{dir}/d.h5"), 141, None, setup=finished, fault=closed_stdout),
    # sciml train: configurations (checked before any data is read or generated)
    Row("train unknown model", train_args("--set", "model.name=unet"), 2,
        TRAIN + "model.name: unknown model 'unet' (known: *)", setup=config_and_data),
    Row("train unknown key", train_args("--set", "model.depth=3"), 2,
        TRAIN + "model.depth: unknown key (keys: *)", setup=config_and_data),
    Row("train unknown section", train_args("--set", "optimiser.lr=1"), 2,
        TRAIN + "optimiser: unknown section (sections: data or pinn, model, train, loss)", setup=config_and_data),
    Row("train wrong type", train_args("--set", "train.lr='fast'"), 2,
        TRAIN + "train.lr: expected float, got 'fast'", setup=config_and_data),
    Row("train value out of range", train_args("--set", "train.epochs=0"), 2,
        TRAIN + "train: epochs: must be >= 1, got 0", setup=config_and_data),
    Row("train unknown optimizer", train_args("--set", "train.optimizer=sgdx"), 2,
        TRAIN + "train.optimizer: unknown optimizer 'sgdx' (known: *)", setup=config_and_data),
    Row("train complex moments for an optimizer without them", train_args("--set", "train.optimizer=sgd", "--set",
        "train.optimizer_options={ complex_moments = true }"), 2, TRAIN + "train.optimizer_options.complex_moments: only "
        "adam and adamw keep a second moment to share per complex weight, not 'sgd'", setup=config_and_data),
    Row("train cosine period without the cosine schedule", train_args("--set", "train.cosine_epochs=30"), 2,
        TRAIN + "train: cosine_epochs: the period of schedule = \"cosine\", but schedule is 'none'", setup=config_and_data),
    Row("train in_memory not a choice", train_args("--set", "data.in_memory=maybe"), 2,
        TRAIN + "data: in_memory: must be true, false or \"auto\", got 'maybe'", setup=config_and_data),
    Row("train normalized loss, outputs not normalized", train_args("--set", "loss.normalized=true", "--set",
        "data.normalize_outputs=false"), 2, TRAIN + "loss.normalized: a data term in normalized units needs data.normalize_outputs = true", setup=config_and_data),
    Row("train malformed TOML", ("train", "{dir}/bad.toml", "--out", "{dir}/run"), 2,
        TRAIN + "{dir}/bad.toml: not valid TOML: *", setup=lambda folder: (folder / "bad.toml").write_text("[data\n")),
    Row("train config missing", ("train", "{dir}/no.toml", "--out", "{dir}/run"), 2, TRAIN + "{dir}/no.toml: no such config file"),
    Row("train config neither a file nor shipped", ("train", "no_such_config", "--out", "{dir}/run"), 2,
        TRAIN + "no_such_config: no such config file, and not a shipped config (*darcy_fno_small*)"),
    # sciml train: data
    Row("train data file missing", train_args("--set", "data.train={dir}/missing.h5"), 2,
        TRAIN + "data.train: {dir}/missing.h5: no such file", setup=config_and_data),
    Row("train data file damaged", train_args(), 2,
        TRAIN + "data.train: {dir}/d.h5: solutions of sample 1 fail their checksum or cannot be read (the file is damaged); "
                "regenerate it", setup=config_and_damaged_data),
    Row("train data file damaged, streamed", train_args("--set", "data.in_memory=false"), 2,
        TRAIN + "data.train: {dir}/d.h5: solutions of sample 1 fail their checksum or cannot be read (the file is damaged); "
                "regenerate it", setup=config_and_damaged_data),
    Row("train data file damaged, found while streaming", train_args(*(f"--set=data.{key}=false" for key in
                                                                       ("in_memory", "normalize_inputs", "normalize_outputs"))), 2,
        TRAIN + "data.train: {dir}/d.h5: solutions of sample 1 fail their checksum or cannot be read (the file is damaged); "
                "regenerate it; resume with --resume once it is regenerated",
        created=("run", "run/config.toml", *TENSORBOARD_EVENTS), setup=damaged_training_data),
    Row("train data file not HDF5", train_args("--set", "data.train={dir}/junk.h5"), 2,
        TRAIN + "data.train: {dir}/junk.h5: *", setup=lambda folder: (config_and_data(folder), files(folder))),
    Row("train resolution not reachable", train_args("--set", "data.resolution=4"), 2,
        TRAIN + "data.train: H5Dataset: resolution 4 is not reachable from {dir}/d.h5 (nodal 9x9 on [0, 1] x [0, 1]) by "
                "subsampling; possible resolutions: 9, 5, 3, 2", setup=config_and_data),
    Row("train input frames of steady data", train_args("--set", "data.input_frames=1"), 2,
        TRAIN + "data.input_frames: {dir}/d.h5 holds 1 target channels; input_frames must split them (1 .. 0) as frames of a "
                "one-channel evolution problem", setup=config_and_data),
    # sciml train: run directories
    Row("train over a run without --overwrite", train_args(), 2,
        TRAIN + "{dir}/run already holds a run; --resume continues a run, --overwrite replaces it", setup=trained),
    Row("train --overwrite with a bad configuration keeps the run", train_args("--overwrite", "--set", "data.train={dir}/no.h5"), 2,
        TRAIN + "data.train: {dir}/no.h5: no such file", setup=trained),
    Row("train --overwrite of a folder that is not a run", train_args("--overwrite"), 2,
        TRAIN + "--overwrite: {dir}/run is not a run directory (no config.toml); not deleting it",
        setup=lambda folder: (config_and_data(folder), (folder / "run").mkdir(), (folder / "run" / "notes.txt").write_text("mine"))),
    Row("train --resume without a run", train_args("--resume"), 2,
        TRAIN + "--resume: {dir}/run holds no run to resume (no config.toml and checkpoint.pt)", setup=config_and_data),
    Row("train --resume of another configuration", train_args("--resume", "--set", "train.lr=0.5"), 2,
        TRAIN + "--resume: {dir}/run was run with another configuration: train.lr (run: 0.001, now: 0.5)", setup=trained),
    Row("train --resume from a damaged checkpoint", train_args("--resume"), 2,
        TRAIN + "{dir}/run/checkpoint.pt: not a readable checkpoint (*); start over with --overwrite",
        setup=trained_and(lambda folder: (folder / "run" / "checkpoint.pt").write_bytes(b"PK\x03\x04 cut short"))),
    # sciml eval
    Row("eval not a run", ("eval", "{dir}"), 2, EVAL + "{dir} is not a run directory (it needs config.toml and checkpoint.pt)"),
    Row("eval data file missing", ("eval", "{dir}/run", "--data", "{dir}/missing.h5"), 2,
        EVAL + "--data: {dir}/missing.h5: no such file", setup=trained),
    Row("eval data file damaged", ("eval", "{dir}/run", "--data", "{dir}/d.h5"), 2,
        EVAL + "--data: {dir}/d.h5: solutions of sample 1 fail their checksum or cannot be read (the file is damaged); "
               "regenerate it", setup=trained_and(lambda folder: damage(folder / "d.h5"))),
    Row("eval resolution not reachable", ("eval", "{dir}/run", "--resolution", "4"), 2,
        EVAL + "data.test: H5Dataset: resolution 4 is not reachable from {dir}/d.h5 (nodal 9x9 on [0, 1] x [0, 1]) by "
               "subsampling; possible resolutions: 9, 5, 3, 2", setup=trained),
    Row("eval resolution not a number", ("eval", "{dir}/run", "--resolution", "x"), 2,
        EVAL + "argument --resolution: expected a resolution >= 2, got 'x'"),
    Row("eval malformed config", ("eval", "{dir}/run"), 2, EVAL + "{dir}/run/config.toml: *",
        setup=trained_and(lambda folder: (folder / "run" / "config.toml").write_text("[model\n"))),
    Row("eval damaged checkpoint", ("eval", "{dir}/run"), 2,
        EVAL + "{dir}/run/checkpoint.pt: not a readable checkpoint (*)",
        setup=trained_and(lambda folder: (folder / "run" / "checkpoint.pt").write_bytes(b"\x80\x02 not a checkpoint"))),
]


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _pattern(line: str, folder: Path) -> re.Pattern:
    """The whole line, literally, with ``{dir}`` the folder and ``*`` any text."""
    return re.compile(".*".join(re.escape(part.replace("{dir}", str(folder))) for part in line.split("*")))


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_or_fault_gives_one_line_and_leaves_no_final_file(tmp_path, monkeypatch, row):
    folder = tmp_path / "work"
    folder.mkdir()
    if row.setup is not None:
        row.setup(folder)
    argv = [a.replace("{dir}", str(folder)) for a in row.argv]
    with row.fault(Context(folder, monkeypatch)) as run:
        before = _listing(folder)
        status, stdout, stderr = run(argv)
        after = _listing(folder)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert status == row.status, stderr
    if row.line is None:
        assert stderr == ""
    else:
        assert stderr.endswith("\n"), stderr
        *progress, last = stderr[:-1].split("\n")
        bars = [part for line in progress for part in line.split("\r") if part]
        assert all("%|" in bar for bar in bars), stderr  # only progress bars come before the line
        assert _pattern(row.line, folder).fullmatch(last), last
    assert stdout == ""
    created = sorted(after - before)
    assert len(created) == len(row.created) and all(map(fnmatch.fnmatchcase, created, sorted(row.created))), created
    assert sorted(before - after) == sorted(row.removed)
