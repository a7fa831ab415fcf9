"""Generating a dataset: atomic, resumable, checked writes whose samples do not depend on the chunking."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor

import sciml
from sciml.data.dataset import read_blocks
from sciml.data.format import (
    ARRAYS,
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    HDF5_ERRORS,
    LIBVER,
    SEEDING,
    DatasetError,
    DatasetInfo,
    StorageError,
    grid_to_json,
    one_line,
    part_path,
    read_info,
    sample_checksum,
    sample_generator,
    size_text,
    stored_attributes,
    to_attribute,
)
from sciml.problem import AbstractEvolutionProblem, AbstractProblem
from sciml.validate import check_number

#: samples per solver call when none is given and no partial file records one
DEFAULT_CHUNK = 32
#: seeds, counts and chunks are stored as HDF5 int64 attributes
INT64_END = 2**63
#: HDF5 refuses chunks (here: one sample of one array) of 4 GiB or more
MAX_CHUNK_BYTES = 2**32 - 1
#: disk per sample beyond its values (chunk-index entries, Fletcher-32 and CRC-32 checksums) and per
#: file (superblock, object headers, attributes), rounded up from measured files
SAMPLE_OVERHEAD_BYTES, FILE_OVERHEAD_BYTES = 256, 2**14
#: disk reserved for a chunk's metadata (chunk-index nodes, headers) beyond its values, see :func:`_reserve`
RESERVE_MARGIN_BYTES = 2**16


class DatasetWriter:
    """Generate ``n`` samples of ``problem`` at ``resolution`` into the HDF5 file ``path``.

    The constructor checks everything that can be checked before any work is done (arguments, the
    resolution, an existing ``path``, a partial file left by an earlier run, and the memory and disk
    the generation needs against what the machine has); :meth:`run` does the work. Samples are
    written into ``path.part`` one chunk at a time (one :meth:`~AbstractProblem.solve` call per
    chunk); every write is checked, its disk space reserved first (:func:`_reserve`), and the count of
    finished samples is stored and the file flushed after each chunk. A finished file is read back
    (every sample against its checksums) and fsynced before it is marked complete, then closed,
    renamed to ``path`` (``os.replace``, atomic on one file system) and its directory fsynced. A run
    that finds ``path.part`` resumes after its last finished chunk, provided the file was made by the
    same problem, parameters, resolution, seed, ``n``, chunk, dtype and sciml version.

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
        Number of samples, points per space axis (``problem.grid(resolution)``), base seed; ``n`` and
        ``seed`` are int64 (``1 <= n``, ``0 <= seed < 2**63``).
    chunk
        Samples per solver call (memory versus overhead); defaults to the chunk recorded in a partial
        file, else :data:`DEFAULT_CHUNK`.
    dtype
        Storage dtype, ``"float32"`` or ``"float64"``; problems sample and solve in float64.
    device
        Where :meth:`~AbstractProblem.solve` runs; inputs are always drawn on the CPU.
    overwrite
        Allow ``path`` to exist; it is replaced only once the new file is complete.

    Raises
    ------
    ValueError, TypeError
        A bad argument (:class:`DatasetError` for a partial file that cannot be resumed).
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    MemoryError, StorageError
        One chunk needs more memory than is available, or the samples left need more disk than is
        free; the message has the estimate.

    Attributes
    ----------
    memory_bytes, disk_bytes
        The estimates checked: the arrays of one chunk (a lower bound of what the solver holds), and
        the file's growth until it is complete.
    samples_done
        Samples already in ``path.part``; :meth:`run` continues from there.
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
        overwrite: bool = False,
    ):
        check_number("DatasetWriter", "n", n, at_least=1, below=INT64_END, integer=True)
        check_number("DatasetWriter", "seed", seed, at_least=0, below=INT64_END, integer=True)
        if chunk is not None:
            check_number("DatasetWriter", "chunk", chunk, at_least=1, below=INT64_END, integer=True)
        if dtype not in DTYPES:
            raise ValueError(f"DatasetWriter: dtype must be one of {DTYPES}, got {dtype!r}")
        if not problem.name:
            raise ValueError(f"DatasetWriter: {type(problem).__name__} needs a class attribute `name` for the file's metadata")
        self.path = Path(path)
        if not self.path.name or self.path.is_dir():
            raise ValueError(f"DatasetWriter: path must name a file, not a directory, got {str(path)!r}")
        self.part = part_path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path} already exists; remove it, choose another path or overwrite it")
        self.problem, self.n, self.seed, self.dtype = problem, n, seed, dtype
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.grid = problem.grid(resolution)
        self.output_grid = problem.output_grid(self.grid)
        info = self._partial_file()
        default_chunk = DEFAULT_CHUNK if info is None else info.chunk
        self.chunk = default_chunk if chunk is None else chunk
        self.attributes = self._attributes()
        self.samples_done = 0
        if info is not None:
            self._check_resumable(info)
            self.samples_done = info.samples_done
        self._check_resources()

    def _partial_file(self) -> DatasetInfo | None:
        """The metadata of ``path.part`` if a run left one; a partial file that cannot be read is refused."""
        if not self.part.exists():
            return None
        try:
            return read_info(self.part)
        except DatasetError as err:
            raise DatasetError(f"{err}; it cannot be resumed: delete it to start over") from None

    def _attributes(self) -> dict:
        try:
            params = json.dumps(self.problem.params(), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{type(self.problem).__name__}.params() must return finite JSON-able values: {err}") from None
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
            plain = stored_attributes(f)
        diff = [f"{key}: file has {plain.get(key)!r}, asked {value!r}" for key, value in self.attributes.items()
                if plain.get(key) != value]
        if diff:
            raise DatasetError(
                f"cannot resume {self.part} ({info.samples_done}/{info.n} samples): {'; '.join(diff)}; "
                "delete it to start over"
            )

    def _check_resources(self) -> None:
        """Refuse a generation whose one chunk does not fit in memory or whose samples left do not fit on disk."""
        problem = self.problem
        frames = problem.n_frames if isinstance(problem, AbstractEvolutionProblem) else 1
        values = (problem.input_channels * math.prod(self.grid.shape),
                  problem.solution_channels * frames * math.prod(self.output_grid.shape))  # per sample
        itemsize = np.dtype(self.dtype).itemsize
        k, left = min(self.chunk, self.n), self.n - self.samples_done
        self.memory_bytes = k * sum(values) * (8 + itemsize)  # float64 inputs and solutions, and their stored copies
        self.disk_bytes = left * (sum(values) * itemsize + SAMPLE_OVERHEAD_BYTES) + FILE_OVERHEAD_BYTES
        available = available_memory(self.device)
        if available is not None and self.memory_bytes > available:
            raise MemoryError(f"one chunk of {k} {problem.name} samples on {self.grid.describe()} needs at least "
                              f"{size_text(self.memory_bytes)} of memory ({self.device}), {size_text(available)} is "
                              "available; lower the chunk or the resolution")
        folder = next(p for p in self.path.absolute().parents if p.exists())
        free = shutil.disk_usage(folder).free
        if self.disk_bytes > free:
            raise StorageError(errno.ENOSPC, f"the {left} {problem.name} samples left need about {size_text(self.disk_bytes)} "
                                             f"of disk, {folder} has {size_text(free)} free")
        if max(values) * itemsize > MAX_CHUNK_BYTES:
            raise ValueError(f"DatasetWriter: one sample of {problem.name} on {self.grid.describe()} holds "
                             f"{size_text(max(values) * itemsize)} in one array; HDF5 stores at most 4.3 GB per sample")

    def run(self, progress: Callable[[int], object] | None = None) -> Path:
        """Generate the missing samples and publish the file.

        ``progress(0)`` is called once the partial file is open, then ``progress(k)`` after each chunk of
        ``k`` samples is written.

        An exception (``KeyboardInterrupt`` included) leaves ``path.part`` closed and consistent up to
        the last finished chunk; running again resumes there. A failed write (a full disk, an I/O
        error) raises :class:`StorageError`. Returns the final path.
        """
        with self._storage():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self._open()
        try:
            if progress is not None:
                progress(0)
            for start in range(self.samples_done, self.n, self.chunk):
                stop = min(start + self.chunk, self.n)
                a, u = self._chunk(start, stop)
                with self._storage():
                    self._write(f, start, a, u)
                self.samples_done = stop
                if progress is not None:
                    progress(stop - start)
            with self._storage():
                self._seal(f)
        except BaseException:
            with contextlib.suppress(*HDF5_ERRORS):  # the first error is the one to report
                f.close()
            raise
        with self._storage():
            f.close()
            os.replace(self.part, self.path)
            _fsync(self.path.parent)
        return self.path

    def _open(self) -> h5py.File:
        """``path.part``, opened for writing without a chunk cache, so that every write reaches the file system at once
        and its error is raised there (a cache's writes fail later, where HDF5 can only ignore the error)."""
        if self.part.exists():
            return h5py.File(self.part, "r+", libver=LIBVER, rdcc_nbytes=0)
        f = h5py.File(self.part, "w-", libver=LIBVER, rdcc_nbytes=0)
        try:
            for key, value in {**self.attributes, "samples_done": 0, "complete": False}.items():
                f.attrs[key] = to_attribute(value)
            f.flush()
        except BaseException:  # a file without its attributes could not be resumed: it goes
            with contextlib.suppress(*HDF5_ERRORS):
                f.close()
            self.part.unlink()
            raise
        return f

    def _write(self, f: h5py.File, start: int, a: Tensor, u: Tensor) -> None:
        """Store samples ``start..`` (one chunk), their checksums and their count, and flush."""
        arrays = (a.numpy(), u.numpy())
        _reserve(f, sum(x.nbytes for x in arrays) + RESERVE_MARGIN_BYTES)
        if "inputs" not in f:
            for key, x in zip(ARRAYS, arrays):
                sample = x.shape[1:]
                f.create_dataset(key, shape=(self.n, *sample), dtype=self.dtype, chunks=(1, *sample), fletcher32=True)
            f.create_dataset("checksums", shape=(self.n, len(ARRAYS)), dtype="uint32")
        stop = start + len(a)
        for key, x in zip(ARRAYS, arrays):
            f[key][start:stop] = x
        f["checksums"][start:stop] = [[sample_checksum(i, x[i - start]) for x in arrays] for i in range(start, stop)]
        # in place: h5py's attrs[key] = value deletes the attribute and creates it anew, and a signal between the
        # two would leave a file without its count (unreadable, not resumable)
        f.attrs.modify("samples_done", stop)
        f.flush()

    def _seal(self, f: h5py.File) -> None:
        """Prove the file complete: every sample reads back against its checksums and is on disk; then mark it so."""
        for key in ARRAYS:
            for _ in read_blocks(f, key, self.n, self.part):
                pass
        os.fsync(f.id.get_vfd_handle())
        f.attrs.modify("complete", True)  # in place, as samples_done
        f.flush()
        os.ftruncate(f.id.get_vfd_handle(), f.id.get_filesize())  # the reserved space HDF5 did not use
        os.fsync(f.id.get_vfd_handle())

    @contextlib.contextmanager
    def _storage(self) -> Iterator[None]:
        """Turn an error of the file system or of HDF5 into a :class:`StorageError` that says what ``path.part`` keeps."""
        try:
            yield
        except (OSError, RuntimeError) as err:  # HDF5 reports some write errors (ENOSPC) as RuntimeError
            kept = f"; it keeps {self.samples_done}/{self.n} samples" if self.part.exists() else ""
            raise StorageError.of(err, f"cannot write {self.part}", kept) from err

    def _chunk(self, start: int, stop: int) -> tuple[Tensor, Tensor]:
        """Inputs ``(k, C_in, *S)`` and solutions ``(k, C_out, *S_out)`` of samples ``start..stop-1``, as stored."""
        problem, name = self.problem, type(self.problem).__name__
        try:
            a = torch.cat([problem.sample_inputs(1, self.grid, sample_generator(self.seed, i)) for i in range(start, stop)])
            u = problem.solve(a.to(self.device), self.grid)
        except RuntimeError as err:  # torch's CPU allocator says so in a RuntimeError; CUDA's has its class
            if not (isinstance(err, torch.OutOfMemoryError) or "DefaultCPUAllocator" in str(err)):
                raise
            raise MemoryError(f"{name} ran out of memory on samples {start}..{stop - 1} ({one_line(err)}); "
                              "lower the chunk or the resolution") from err
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


def available_memory(device: torch.device) -> int | None:
    """Free memory in bytes where the solver runs: the GPU's, else ``MemAvailable`` (Linux); ``None`` if unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _reserve(f: h5py.File, nbytes: int) -> None:
    """Allocate ``nbytes`` of disk after the end of HDF5's data before HDF5 writes there.

    A full disk or a file-size limit then fails here, while the file is consistent. HDF5 cannot undo
    a write that fails halfway: its superblock then records an end of file past the file's actual
    end, and HDF5 refuses to open the file again ("truncated file"), so the samples it holds could
    not be resumed. Where ``posix_fallocate`` is missing (macOS) nothing is reserved.
    """
    if not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(f.id.get_vfd_handle(), f.id.get_filesize(), nbytes)
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # a file system that cannot reserve
            raise


def _fsync(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    overwrite: bool = False,
) -> Path:
    """Generate (or resume) a dataset file; see :class:`DatasetWriter` for the rules. Returns the path."""
    return DatasetWriter(problem, path, n=n, resolution=resolution, seed=seed, chunk=chunk, dtype=dtype, device=device,
                         overwrite=overwrite).run()
