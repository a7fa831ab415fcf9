"""Generating a dataset: atomic, resumable, chunked writes whose samples do not depend on the chunking."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor

import sciml
from sciml.data.format import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    SEEDING,
    DatasetError,
    DatasetInfo,
    grid_to_json,
    part_path,
    read_info,
)
from sciml.problem import AbstractProblem

#: samples per solver call when none is given and no partial file records one
DEFAULT_CHUNK = 32


def sample_generator(seed: int, index: int) -> torch.Generator:
    """The generator that draws the input of sample ``index`` of a dataset generated with ``seed``.

    Its seed is the first 64-bit word of ``numpy.random.SeedSequence([seed, index])``: well mixed,
    stable across Python, NumPy and torch versions, and a function of ``(seed, index)`` alone, so
    sample ``i`` is the same whatever the chunk size and wherever a generation was interrupted.
    """
    if seed < 0 or index < 0:
        raise ValueError(f"sample_generator: seed and index must be >= 0, got seed={seed}, index={index}")
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


class DatasetWriter:
    """Generate ``n`` samples of ``problem`` at ``resolution`` into the HDF5 file ``path``.

    The constructor checks everything that can be checked before any work is done (arguments, the
    resolution, an existing ``path``, a partial file left by an earlier run); :meth:`run` does the
    work. Samples are written into ``path.part`` one chunk at a time (one :meth:`~AbstractProblem.solve`
    call per chunk), the count of finished samples is stored and the file flushed after each chunk,
    and only a finished file is renamed to ``path`` (``os.replace``, atomic on one file system). A
    run that finds ``path.part`` resumes after its last finished chunk, provided the file was made by
    the same problem, parameters, resolution, seed, ``n``, chunk, dtype and sciml version.

    Determinism: the input of sample ``i`` is drawn alone from :func:`sample_generator` ``(seed, i)``.
    Chunks start at multiples of ``chunk`` whether or not a run was interrupted, so a resumed file is
    bit-identical to an uninterrupted one. Inputs never depend on ``chunk``; solutions depend on it
    only through the floating-point behaviour of batched solves (rounding level, if at all).

    Parameters
    ----------
    problem
        The problem to sample and solve.
    path
        The final file, e.g. ``data/burgers_train.h5``; missing parent directories are created.
    n, resolution, seed
        Number of samples, points per space axis (``problem.grid(resolution)``), base seed ``>= 0``.
    chunk
        Samples per solver call (memory versus overhead); defaults to the chunk recorded in a partial
        file, else :data:`DEFAULT_CHUNK`.
    dtype
        Storage dtype, ``"float32"`` or ``"float64"``; problems sample and solve in float64.
    device
        Where :meth:`~AbstractProblem.solve` runs; inputs are always drawn on the CPU.
    """

    def __init__(
        self,
        problem: AbstractProblem,
        path: str | Path,
        *,
        n: int,
        resolution: int,
        seed: int,
        chunk: int | None = None,
        dtype: str = "float32",
        device: torch.device | str | None = None,
    ):
        if n < 1:
            raise ValueError(f"DatasetWriter: n must be >= 1, got {n}")
        if seed < 0:
            raise ValueError(f"DatasetWriter: seed must be >= 0, got {seed}")
        if chunk is not None and chunk < 1:
            raise ValueError(f"DatasetWriter: chunk must be >= 1, got {chunk}")
        if dtype not in DTYPES:
            raise ValueError(f"DatasetWriter: dtype must be one of {DTYPES}, got {dtype!r}")
        if not problem.name:
            raise ValueError(f"DatasetWriter: {type(problem).__name__} needs a class attribute `name` for the file's metadata")
        self.path, self.part = Path(path), part_path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} already exists; remove it or choose another path")
        self.problem, self.n, self.seed, self.dtype = problem, n, seed, dtype
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.grid = problem.grid(resolution)
        self.output_grid = problem.output_grid(self.grid)
        info = read_info(self.part) if self.part.exists() else None
        default_chunk = DEFAULT_CHUNK if info is None else info.chunk
        self.chunk = default_chunk if chunk is None else chunk
        self.attributes = self._attributes()
        self.samples_done = 0
        if info is not None:
            self._check_resumable(info)
            self.samples_done = info.samples_done

    def _attributes(self) -> dict:
        try:
            params = json.dumps(self.problem.params(), sort_keys=True)
        except TypeError as err:
            raise TypeError(f"{type(self.problem).__name__}.params() must return JSON-able values: {err}") from None
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "problem": self.problem.name,
            "params": params,
            "input_grid": grid_to_json(self.grid),
            "output_grid": grid_to_json(self.output_grid),
            "seed": self.seed,
            "n": self.n,
            "chunk": self.chunk,
            "dtype": self.dtype,
            "seeding": SEEDING,
            "sciml_version": sciml.__version__,
        }

    def _check_resumable(self, info: DatasetInfo) -> None:
        with h5py.File(self.part, "r", locking=False) as f:
            stored = dict(f.attrs)
        # h5py returns NumPy scalars; .item() shows them as the plain values that were written
        plain = {key: value.item() if isinstance(value, np.generic) else value for key, value in stored.items()}
        diff = [f"{key}: file has {plain.get(key)!r}, asked {value!r}" for key, value in self.attributes.items()
                if plain.get(key) != value]
        if diff:
            raise DatasetError(
                f"cannot resume {self.part} ({info.samples_done}/{info.n} samples): {'; '.join(diff)}; "
                "delete it to start over"
            )

    def run(self, progress: Callable[[int], object] | None = None) -> Path:
        """Generate the missing samples and publish the file.

        ``progress(0)`` is called once the partial file is open, then ``progress(k)`` after each chunk of
        ``k`` samples is written.

        An exception (``KeyboardInterrupt`` included) leaves ``path.part`` closed and consistent up to
        the last finished chunk; running again resumes there. Returns the final path.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(self.part, "r+" if self.part.exists() else "w-") as f:
            if "format" not in f.attrs:
                f.attrs.update(self.attributes)
                f.attrs.update({"samples_done": 0, "complete": False})
                f.flush()
            if progress is not None:
                progress(0)
            for start in range(self.samples_done, self.n, self.chunk):
                stop = min(start + self.chunk, self.n)
                a, u = self._chunk(start, stop)
                if "inputs" not in f:
                    for key, x in (("inputs", a), ("solutions", u)):
                        sample = tuple(x.shape[1:])
                        f.create_dataset(key, shape=(self.n, *sample), dtype=self.dtype, chunks=(1, *sample))
                f["inputs"][start:stop] = a.numpy()
                f["solutions"][start:stop] = u.numpy()
                f.attrs["samples_done"] = stop
                f.flush()
                self.samples_done = stop
                if progress is not None:
                    progress(stop - start)
            f.attrs["complete"] = True
        os.replace(self.part, self.path)
        return self.path

    def _chunk(self, start: int, stop: int) -> tuple[Tensor, Tensor]:
        """Inputs ``(k, C_in, *S)`` and solutions ``(k, C_out, *S_out)`` of samples ``start..stop-1``, as stored."""
        problem, name = self.problem, type(self.problem).__name__
        a = torch.cat([problem.sample_inputs(1, self.grid, sample_generator(self.seed, i)) for i in range(start, stop)])
        u = problem.solve(a.to(self.device), self.grid)
        k = stop - start
        if a.ndim != 2 + self.grid.dim or a.shape[0] != k or tuple(a.shape[2:]) != self.grid.shape:
            raise RuntimeError(f"{name}.sample_inputs returned {tuple(a.shape)}, expected ({k}, C_in, *{self.grid.shape})")
        out_shape = self.output_grid.shape
        if u.ndim != 2 + self.output_grid.dim or u.shape[0] != k or tuple(u.shape[2:]) != out_shape:
            raise RuntimeError(f"{name}.solve returned {tuple(u.shape)}, expected ({k}, C_out, *{out_shape})")
        if not torch.isfinite(u).all():
            raise FloatingPointError(f"{name}.solve returned non-finite values for samples {start}..{stop - 1}")
        dtype = getattr(torch, self.dtype)
        return a.detach().to("cpu", dtype), u.detach().to("cpu", dtype)


def generate_dataset(
    problem: AbstractProblem,
    path: str | Path,
    *,
    n: int,
    resolution: int,
    seed: int,
    chunk: int | None = None,
    dtype: str = "float32",
    device: torch.device | str | None = None,
) -> Path:
    """Generate (or resume) a dataset file; see :class:`DatasetWriter` for the rules. Returns the path."""
    return DatasetWriter(problem, path, n=n, resolution=resolution, seed=seed, chunk=chunk, dtype=dtype, device=device).run()
