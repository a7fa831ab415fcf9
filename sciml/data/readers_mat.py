r"""The FNO paper's ``.mat`` files: MATLAB v5/v7 through SciPy, MATLAB v7.3 (HDF5) through h5py.

Four layouts, told apart by their variable names and ranks (Li et al., "Fourier Neural Operator for
Parametric Partial Differential Equations", ICLR 2021; ``MatReader`` in their code):

========================  ===============================  ======================================  =================
variables                 e.g.                             pairs                                   grid
========================  ===============================  ======================================  =================
``coeff``, ``sol``        ``piececonst_r421_N1024``        ``coeff (N, *S)`` -> ``sol (N, *S)``    nodal, unit box
``a``, ``u`` equal rank   ``burgers_data_R10``             ``a (N, *S)`` -> ``u (N, *S)``          periodic, unit box
``a``, ``u`` time last    ``ns_V1e-3_N5000_T50``           ``a (N, *S)`` -> ``u (N, *S, T)``       periodic, unit box
``u`` time last, no ``a``                                  ``u[..., 0]`` -> ``u[..., 1:]``         periodic, unit box
========================  ===============================  ======================================  =================

Fields become channels-first ``(N, C, *S)``: one channel for ``coeff``, ``sol``, ``a`` and a
steady ``u``; the time steps of a time-last ``u`` become its channels. So FNO Burgers is periodic
8192 on :math:`[0, 1)`, Darcy nodal 421x421 on :math:`[0, 1]^2` (both ends stored, the boundary
included) and Navier-Stokes periodic 64x64 on the unit torus. Other variables (``t``,
``Kcoeff``, ``visc``, ...) are not read.

MATLAB v7.3 stores each variable as an HDF5 dataset with a ``MATLAB_class`` attribute and its axes
reversed (MATLAB is column-major): a MATLAB ``(N, 64, 64, T)`` array is an HDF5 ``(T, 64, 64, N)``
dataset, so samples are its last axis.

A damaged file is a :class:`ReaderError`, with one exception beyond sciml's reach: SciPy 1.17's v5
parser crashes the process (a segmentation fault) on some damaged data-type tags of uncompressed
v5 files, found by flipping single bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from sciml.data.readers_base import Field, Layout, ReaderError, check_numeric, make_grid

#: the variables any FNO layout uses; no other is loaded
VARIABLES = ("coeff", "sol", "a", "u")
#: MATLAB classes of real numeric arrays, as v7.3 files name them
NUMERIC_CLASSES = frozenset(
    {"double", "single", "logical", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
)
#: what a FNO file must hold, for error messages
EXPECTED = (
    "FNO variables 'coeff' and 'sol' (Darcy), 'a' and 'u' (Burgers; Navier-Stokes with u time last) "
    "or 'u' with time last"
)


@dataclass(frozen=True)
class MatVariable:
    """A numeric MATLAB variable: its MATLAB shape ``(N, ...)`` and ``read(start, stop)`` of its first axis."""

    name: str
    shape: tuple[int, ...]
    read: Callable[[int, int], np.ndarray]


def v5_variables(path: Path) -> tuple[dict[str, MatVariable], list[str]]:
    """The FNO variables of a MATLAB v5/v7 file, loaded with :func:`scipy.io.loadmat`, and all its variable names."""
    try:
        names = [name for name, _, _ in scipy.io.whosmat(path)]
        loaded = scipy.io.loadmat(path, variable_names=list(VARIABLES))
    # SciPy reports a damaged file as any of MatReadError, OSError, ValueError, IndexError, TypeError,
    # zlib.error, ZeroDivisionError, ..., depending on which bytes are hit; all of them mean the same here
    except Exception as err:
        raise ReaderError(
            path, f"not a readable MATLAB v5 file, truncated or corrupt ({type(err).__name__}: {err})"
        ) from err
    variables = {}
    for name in VARIABLES:
        if name not in loaded:
            continue
        array = loaded[name]
        if not isinstance(array, np.ndarray):
            raise ReaderError(path, f"variable {name!r} is a {type(array).__name__}; expected a dense numeric array")
        check_numeric(path, f"variable {name!r}", array.dtype)
        variables[name] = MatVariable(name, array.shape, lambda i, j, array=array: array[i:j])
    return variables, names


def v73_variables(path: Path, f: h5py.File) -> tuple[dict[str, MatVariable], list[str]]:
    """The FNO variables of an open MATLAB v7.3 file, read as MATLAB wrote them (axes reversed), and all its names."""
    variables = {}
    for name in VARIABLES:
        if name not in f:
            continue
        dset = f[name]
        cls = dset.attrs.get("MATLAB_class") if isinstance(dset, h5py.Dataset) else None
        if cls is None:
            raise ReaderError(
                path, f"{name!r} is not a MATLAB v7.3 variable (expected an HDF5 dataset with a MATLAB_class attribute)"
            )
        cls = cls.decode() if isinstance(cls, bytes) else str(cls)
        if dset.attrs.get("MATLAB_empty", 0):  # an empty array's dataset holds its dimensions, not values
            raise ReaderError(path, f"variable {name!r} is an empty MATLAB array")
        if cls not in NUMERIC_CLASSES:
            raise ReaderError(path, f"variable {name!r} has MATLAB class {cls!r}; expected a real numeric array")
        check_numeric(path, f"variable {name!r}", dset.dtype)
        # MATLAB's column-major (N, ..., T) is HDF5's (T, ..., N): samples are the last HDF5 axis
        variables[name] = MatVariable(name, dset.shape[::-1], lambda i, j, dset=dset: dset[..., i:j].T)
    return variables, list(f)


def fno_layout(path: Path, variables: dict[str, MatVariable], names: list[str], version: str) -> Layout:
    """The pairs of a FNO ``.mat`` file from its ``variables`` (see the module docstring); ``names`` lists all."""
    v = variables
    if "coeff" in v and "sol" in v:
        used, periodic, kind = ("coeff", "sol"), False, "fno-coeff-sol"
        inputs, solutions = _steady(v["coeff"]), _steady(v["sol"])
    elif "a" in v and "u" in v and len(v["u"].shape) == len(v["a"].shape):
        used, periodic, kind = ("a", "u"), True, "fno-a-u"
        inputs, solutions = _steady(v["a"]), _steady(v["u"])
    elif "a" in v and "u" in v and len(v["u"].shape) == len(v["a"].shape) + 1:
        used, periodic, kind = ("a", "u"), True, "fno-u-time"
        inputs, solutions = _steady(v["a"]), _time_last(v["u"], 0, None)
    elif "a" in v and "u" in v:
        raise ReaderError(
            path, f"a {v['a'].shape} and u {v['u'].shape}: expected u of a's rank (a -> u) or one more (time last)"
        )
    elif "u" in v:
        if len(v["u"].shape) < 3 or v["u"].shape[-1] < 2:
            raise ReaderError(path, f"u {v['u'].shape} without a: expected u (N, *S, T) with time last and T >= 2")
        used, periodic, kind = ("u",), True, "fno-u-time"
        inputs, solutions = _time_last(v["u"], 0, 1), _time_last(v["u"], 1, None)
    else:
        raise ReaderError(path, f"expected {EXPECTED}; found variables {sorted(names)}")
    space = inputs.shape[2:]
    grid = make_grid(path, space, (1.0,) * len(space), periodic)
    shapes = ", ".join(f"{name} {v[name].shape}" for name in used)
    return Layout(inputs, solutions, grid, kind, f"FNO MATLAB {version} ({shapes}): {inputs.name} -> {solutions.name}")


def _steady(var: MatVariable) -> Field:
    """``(N, *S)`` as one channel: ``(N, 1, *S)``."""
    return Field(var.name, (var.shape[0], 1, *var.shape[1:]), lambda i, j: var.read(i, j)[:, None])


def _time_last(var: MatVariable, first: int, stop: int | None) -> Field:
    """Time steps ``first:stop`` of ``(N, *S, T)`` as channels: ``(N, T', *S)``."""
    steps = len(range(var.shape[-1])[first:stop])
    sliced = f"[..., {first or ''}:{'' if stop is None else stop}]" if (first, stop) != (0, None) else ""
    name = f"{var.name}{sliced} (time last -> channels)"
    return Field(
        name,
        (var.shape[0], steps, *var.shape[1:-1]),
        lambda i, j: np.moveaxis(var.read(i, j)[..., first:stop], -1, 1),  # (k, *S, T') -> (k, T', *S)
    )
