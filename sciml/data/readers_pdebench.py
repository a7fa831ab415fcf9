r"""PDEBench's HDF5 files of scalar equations: 1-D time series (Burgers, advection) and 2-D Darcy flow.

Layouts as PDEBench writes them (``Data_Merge.py``) and reads them (``FNODatasetSingle``), with the
grids their generators use (Takamoto et al., "PDEBench", NeurIPS 2022 Datasets and Benchmarks):

=================  ===================================================  ==========================================
file               datasets                                             pairs
=================  ===================================================  ==========================================
1-D time series    ``tensor (N, nt, nx)``, ``x-coordinate (nx,)``,      ``tensor[:, 0]`` -> ``tensor[:, 1:]``:
                   ``t-coordinate (nt + 1,)``                           inputs ``(N, 1, nx)``, solutions
                                                                        ``(N, nt - 1, nx)``, time on the channels
2-D Darcy          ``nu (N, nx, ny)``, ``tensor (N, 1, nx, ny)``,       ``nu`` -> ``tensor``:
                   ``x-coordinate (nx,)``, ``y-coordinate (ny,)``       ``(N, 1, nx, ny)`` each
=================  ===================================================  ==========================================

Both live on cell centres :math:`x_j = (j + 1/2)/n` of the unit interval or square; the
coordinates in the file are checked to be those. A :class:`~sciml.spectral.Grid` starts at 0, so
the grids are the cell centres shifted by half a cell:

- 1-D: the periodic grid of ``nx`` points on :math:`[0, 1)` (spacing ``1/nx``). On a periodic grid
  a shift changes nothing; subsampling by ``r`` keeps the centres ``j = 0, r, 2r, ...``, a periodic
  grid of ``nx / r`` points.
- Darcy: not periodic, and the centres do not reach the boundary (PDEBench stores no boundary
  values), so the grid is the nodal grid of the centres themselves: ``n`` points on the square of
  side ``(n - 1)/n`` spanned by the outermost centres. Subsampling keeps both outermost centres,
  so it needs ``(n - 1) % r == 0``; PDEBench's 128 (127 gaps, a prime) has no coarser grid of the
  same square.

Other PDEBench layouts (compressible flow's ``density``/``Vx``/..., one group per seed) are refused.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from sciml.data.readers_base import Field, Layout, ReaderError, check_numeric, make_grid

#: a coordinate may differ from its cell centre by this fraction of a cell (float32 files)
COORDINATE_TOLERANCE = 1e-3


def pdebench_layout(path: Path, f: h5py.File) -> Layout:
    """The pairs of an open PDEBench file (see the module docstring)."""
    if "nu" in f and "tensor" in f:
        nu, tensor = _dataset(path, f, "nu"), _dataset(path, f, "tensor")
        if len(nu.shape) != 3 or len(tensor.shape) != 4:
            raise ReaderError(path, f"nu {nu.shape} and tensor {tensor.shape}: expected Darcy's nu (N, nx, ny) and "
                                    "tensor (N, 1, nx, ny)")
        space = nu.shape[1:]
        for axis, n in zip("xy", space):
            _check_cell_centres(path, f, f"{axis}-coordinate", n)
        inputs = Field("nu", (nu.shape[0], 1, *space), lambda i, j: nu[i:j][:, None])
        solutions = Field("tensor", tensor.shape, lambda i, j: tensor[i:j])
        grid = make_grid(path, space, tuple((n - 1) / n for n in space), periodic=False)
        return Layout(inputs, solutions, grid, "pdebench-darcy",
                      f"PDEBench Darcy (nu {nu.shape}, tensor {tensor.shape}) on cell centres of the unit square")
    if "tensor" in f:
        tensor = _dataset(path, f, "tensor")
        if len(tensor.shape) != 3 or tensor.shape[1] < 2:
            raise ReaderError(path, f"tensor {tensor.shape}: expected a 1-D time series (N, nt, nx) with nt >= 2, "
                                    "or nu with it (Darcy)")
        n_samples, steps, nx = tensor.shape
        _check_cell_centres(path, f, "x-coordinate", nx)
        inputs = Field("tensor[:, :1]", (n_samples, 1, nx), lambda i, j: tensor[i:j, :1])
        solutions = Field("tensor[:, 1:]", (n_samples, steps - 1, nx), lambda i, j: tensor[i:j, 1:])
        grid = make_grid(path, (nx,), (1.0,), periodic=True)
        return Layout(inputs, solutions, grid, "pdebench-1d",
                      f"PDEBench 1-D time series (tensor {tensor.shape}) on cell centres of [0, 1), periodic: "
                      "first time step -> the others as channels")
    raise ReaderError(path, f"expected PDEBench dataset 'tensor' (1-D (N, nt, nx)) or 'nu' and 'tensor' (2-D Darcy); "
                            f"found {sorted(f)}")


def _dataset(path: Path, f: h5py.File, name: str) -> h5py.Dataset:
    dset = f[name]
    if not isinstance(dset, h5py.Dataset):
        raise ReaderError(path, f"{name!r} is an HDF5 group; expected a dataset")
    check_numeric(path, repr(name), dset.dtype)
    return dset


def _check_cell_centres(path: Path, f: h5py.File, name: str, n: int) -> None:
    """Refuse a file whose coordinates along an axis of ``n`` points are not the cell centres of ``[0, 1]``."""
    if name not in f:
        raise ReaderError(path, f"no {name!r}; expected the {n} cell centres (j + 1/2)/{n} of [0, 1]")
    coords = np.asarray(_dataset(path, f, name)[()], dtype=np.float64)
    if coords.shape != (n,):
        raise ReaderError(path, f"{name} has shape {coords.shape}; expected the {n} cell centres (j + 1/2)/{n} "
                                "of [0, 1]")
    if np.abs(coords - (np.arange(n) + 0.5) / n).max() > COORDINATE_TOLERANCE / n:
        raise ReaderError(path, f"{name} from {coords[0]:g} to {coords[-1]:g} is not the {n} cell centres "
                                f"(j + 1/2)/{n} of [0, 1] that the reader supports")
