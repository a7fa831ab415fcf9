"""Readers of FNO .mat, PDEBench HDF5 and neuraloperator .pt files, on small files written in each exact layout."""

import pickle

import h5py
import numpy as np
import pytest
import scipy.io
import torch

import sciml.data.readers as readers
from sciml.data.readers import ReaderError, read_pairs
from sciml.spectral import Grid

# ---------------------------------------------------------------- writers of each layout, as the originals write them

MATLAB_CLASSES = {"float64": "double", "float32": "single", "bool": "logical", "uint16": "char"}


def save_mat73(path, variables):
    """Write ``variables`` as MATLAB's ``save -v7.3`` does.

    A 512-byte user block holding the MAT-file text header, then one HDF5 dataset per variable with
    the axes reversed (column-major), a ``MATLAB_class`` attribute, and logicals/chars stored as
    integers with ``MATLAB_int_decode``. 1-D arrays become MATLAB row vectors ``(1, k)``.
    """
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            value = np.asarray(value)
            if value.dtype.kind == "U":  # char: UTF-16 code units, one row per string
                value = np.array([[ord(c) for c in text] for text in value], dtype=np.uint16)
            value = value.reshape(1, -1) if value.ndim == 1 else value
            cls = MATLAB_CLASSES[value.dtype.name]
            dset = f.create_dataset(name, data=(value.astype(np.uint8) if cls == "logical" else value).T)
            dset.attrs["MATLAB_class"] = np.bytes_(cls)
            if cls in ("logical", "char"):
                dset.attrs["MATLAB_int_decode"] = np.int32(1 if cls == "logical" else 2)
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  6 12:00:00 2025 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:  # the user block: text header, subsystem offset, version 0x0200, endianness
        fh.write(text.ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM")


def save_mat(path, variables, version):
    if version == "v5":
        scipy.io.savemat(path, variables)
    else:
        save_mat73(path, variables)


def pdebench_centres(n):
    """Cell centres as PDEBench's generators compute them (float32: edges, then half a cell)."""
    edges = np.linspace(0.0, 1.0, n + 1, dtype=np.float32)
    return edges[:-1] + np.float32(0.5 / n)


def save_pdebench_1d(path, tensor, coords=True):
    """``Data_Merge.transform``: ``tensor (N, nt, nx)`` float32, coordinates, the viscosity as an attribute."""
    nt, nx = tensor.shape[1:]
    with h5py.File(path, "w") as f:
        f.create_dataset("tensor", data=tensor.astype(np.float32))
        if coords:
            f.create_dataset("x-coordinate", data=pdebench_centres(nx))
        f.create_dataset("t-coordinate", data=np.arange(nt + 1, dtype=np.float32) * np.float32(0.01))
        f.attrs["Nu"] = 0.001


def save_pdebench_darcy(path, nu, tensor):
    """``Data_Merge.merge`` for ReacDiff: ``tensor (N, 1, nx, ny)``, ``nu (N, nx, ny)``, coordinates, ``beta``."""
    with h5py.File(path, "w") as f:
        f.create_dataset("tensor", data=tensor.astype(np.float32))
        f.create_dataset("nu", data=nu.astype(np.float32))
        f.create_dataset("x-coordinate", data=pdebench_centres(nu.shape[1]))
        f.create_dataset("y-coordinate", data=pdebench_centres(nu.shape[2]))
        f.attrs["beta"] = 1.0


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def expect_error(path, match, error=ReaderError, **kwargs):
    """``read_pairs(path)`` fails with ``error`` matching ``match``, in one line that names the file."""
    with pytest.raises(error, match=match) as info:
        read_pairs(path, **kwargs)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message


def rand(generator, *shape):
    return torch.rand(*shape, generator=generator, dtype=torch.float64).numpy()


def same(tensor, array):
    """Exactly the array's values, converted the way the reader converts them."""
    expected = torch.from_numpy(np.ascontiguousarray(array)).to(tensor.dtype)
    return tensor.shape == expected.shape and torch.equal(tensor, expected)


# ---------------------------------------------------------------- FNO .mat


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_darcy_coeff_sol_is_nodal_and_subsamples_keeping_both_ends(tmp_path, generator, version):
    coeff, sol = rand(generator, 3, 9, 9), rand(generator, 3, 9, 9)
    path = tmp_path / "piececonst_r9_N3.mat"
    save_mat(path, {"coeff": coeff, "sol": sol, "Kcoeff": rand(generator, 3, 9, 9)}, version)

    data = read_pairs(path, dtype=torch.float64)
    assert data.format == "fno-coeff-sol"
    assert same(data.inputs, coeff[:, None]) and same(data.solutions, sol[:, None])
    assert data.input_grid == data.output_grid == Grid((9, 9), (1.0, 1.0), periodic=False)

    coarse = read_pairs(path, resolution=5, n=2)
    assert coarse.inputs.dtype == torch.float32
    assert same(coarse.inputs, coeff[:2, None, ::2, ::2]) and same(coarse.solutions, sol[:2, None, ::2, ::2])
    assert coarse.input_grid == Grid((5, 5), (1.0, 1.0), periodic=False)
    assert same(read_pairs(path, resolution=3).inputs, coeff[:, None, ::4, ::4])
    expect_error(path, r"resolution 4 is not reachable .* reachable resolutions: 9, 5, 3, 2$", ValueError,
                 resolution=4)


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_burgers_a_u_is_periodic(tmp_path, generator, version):
    a, u = rand(generator, 4, 16), rand(generator, 4, 16)
    path = tmp_path / "burgers_data_R16.mat"
    save_mat(path, {"a": a, "u": u}, version)

    data = read_pairs(path, dtype=torch.float64)
    assert data.format == "fno-a-u"
    assert same(data.inputs, a[:, None]) and same(data.solutions, u[:, None])
    assert data.input_grid == data.output_grid == Grid((16,), (1.0,), periodic=True)
    coarse = read_pairs(path, resolution=4, n=3, dtype=torch.float64)
    assert same(coarse.inputs, a[:3, None, ::4]) and same(coarse.solutions, u[:3, None, ::4])
    assert coarse.input_grid == Grid((4,), (1.0,))
    assert str(path) in data.description and "\n" not in data.description


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_navier_stokes_puts_time_on_the_channels(tmp_path, generator, version):
    a, u = rand(generator, 3, 8, 8), rand(generator, 3, 8, 8, 5)
    path = tmp_path / "ns_V1e-3_N3_T5.mat"
    save_mat(path, {"a": a, "u": u, "t": np.arange(1.0, 6.0)}, version)

    data = read_pairs(path, dtype=torch.float64)
    assert data.format == "fno-u-time"
    assert same(data.inputs, a[:, None]) and same(data.solutions, u.transpose(0, 3, 1, 2))
    assert data.input_grid == Grid((8, 8), (1.0, 1.0), periodic=True)
    coarse = read_pairs(path, resolution=4, dtype=torch.float64)
    assert same(coarse.solutions, u.transpose(0, 3, 1, 2)[:, :, ::2, ::2])


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_u_alone_maps_its_first_time_step_to_the_rest(tmp_path, generator, version):
    u = rand(generator, 3, 8, 8, 5)
    path = tmp_path / "ns_u.mat"
    save_mat(path, {"u": u}, version)
    data = read_pairs(path, dtype=torch.float64)
    assert same(data.inputs, u[..., 0][:, None]) and same(data.solutions, u[..., 1:].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_logical_and_single_fields_become_floats(tmp_path, generator, version):
    coeff = rand(generator, 2, 5, 5) > 0.5
    sol = rand(generator, 2, 5, 5).astype(np.float32)
    path = tmp_path / "logical.mat"
    save_mat(path, {"coeff": coeff, "sol": sol}, version)
    data = read_pairs(path, dtype=torch.float64)
    assert same(data.inputs, coeff[:, None].astype(np.float64)) and same(data.solutions, sol[:, None])


def test_mat73_is_read_with_matlab_axis_order(tmp_path, generator):
    """The HDF5 dataset of MATLAB's (N, 8, 8, T) u is (T, 8, 8, N); samples are its last axis."""
    u = rand(generator, 3, 8, 8, 5)
    path = tmp_path / "ns.mat"
    save_mat73(path, {"a": u[..., 0], "u": u})
    with h5py.File(path, "r") as f:
        assert f["u"].shape == (5, 8, 8, 3) and f.userblock_size == 512
    assert same(read_pairs(path, n=2, dtype=torch.float64).solutions, u[:2].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_wrong_layouts_are_refused(tmp_path, generator, version):
    cases = {
        "keys": ({"x": rand(generator, 2, 8), "y": rand(generator, 2, 8)},
                 r"expected FNO variables .*found variables \['x', 'y'\]"),
        "counts": ({"a": rand(generator, 4, 8), "u": rand(generator, 5, 8)}, "different sample counts"),
        "grids": ({"coeff": rand(generator, 3, 9, 9), "sol": rand(generator, 3, 9, 8)}, "different grids"),
        "ranks": ({"a": rand(generator, 3, 8), "u": rand(generator, 3, 8, 8, 8)}, "expected u of a's rank"),
        "u alone": ({"u": rand(generator, 3, 8)}, r"expected u \(N, \*S, T\) with time last"),
        "text": ({"a": rand(generator, 2, 8), "u": np.array(["solution"])}, "expected a real numeric array"),
    }
    for name, (variables, match) in cases.items():
        path = tmp_path / f"{name}.mat"
        save_mat(path, variables, version)
        expect_error(path, match)


def test_fno_v73_without_matlab_conventions_is_refused(tmp_path, generator):
    """An HDF5 .mat written in C order without MATLAB_class is not what MATLAB writes; reading it would transpose."""
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["a"], f["u"] = rand(generator, 2, 8), rand(generator, 2, 8)
    expect_error(path, "'a' is not a MATLAB v7.3 variable")


def test_fno_v73_empty_variable_is_refused(tmp_path, generator):
    """MATLAB stores an empty array as its dimensions with MATLAB_empty; those are not values."""
    path = tmp_path / "empty.mat"
    save_mat73(path, {"a": rand(generator, 2, 8), "u": rand(generator, 2, 8)})
    with h5py.File(path, "r+") as f:
        del f["u"]
        f["u"] = np.array([0, 0], dtype=np.uint64)
        f["u"].attrs["MATLAB_class"] = np.bytes_("double")
        f["u"].attrs["MATLAB_empty"] = np.uint8(1)
    expect_error(path, "variable 'u' is an empty MATLAB array")


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_truncated_or_foreign_files_are_refused(tmp_path, generator, version):
    path = tmp_path / "burgers.mat"
    save_mat(path, {"a": rand(generator, 4, 64), "u": rand(generator, 4, 64)}, version)
    truncate(path)
    expect_error(path, "truncated or corrupt")
    text = tmp_path / "notes.mat"
    text.write_text("not a mat file\n")
    expect_error(text, "not a MATLAB file")


# ---------------------------------------------------------------- PDEBench HDF5


def test_pdebench_1d_first_step_to_the_rest_on_periodic_cell_centres(tmp_path, generator):
    tensor = rand(generator, 3, 5, 16).astype(np.float32)
    path = tmp_path / "1D_Burgers_Sols_Nu0.001.hdf5"
    save_pdebench_1d(path, tensor)

    data = read_pairs(path)
    assert data.format == "pdebench-1d"
    assert same(data.inputs, tensor[:, :1]) and same(data.solutions, tensor[:, 1:])
    assert data.input_grid == data.output_grid == Grid((16,), (1.0,), periodic=True)
    coarse = read_pairs(path, resolution=4, n=2)
    assert same(coarse.inputs, tensor[:2, :1, ::4]) and same(coarse.solutions, tensor[:2, 1:, ::4])
    assert coarse.input_grid == Grid((4,), (1.0,), periodic=True)


def test_pdebench_darcy_is_the_nodal_grid_of_its_cell_centres(tmp_path, generator):
    nu = np.where(rand(generator, 3, 10, 10) > 0.5, 1.0, 0.1).astype(np.float32)
    tensor = rand(generator, 3, 1, 10, 10).astype(np.float32)
    path = tmp_path / "2D_DarcyFlow_beta1.0_Train.hdf5"
    save_pdebench_darcy(path, nu, tensor)

    data = read_pairs(path)
    assert data.format == "pdebench-darcy"
    assert same(data.inputs, nu[:, None]) and same(data.solutions, tensor)
    # centres 0.05 .. 0.95: ten points on a square of side 0.9, spacing 1/10
    assert data.input_grid == data.output_grid == Grid((10, 10), (0.9, 0.9), periodic=False)
    assert data.input_grid.spacing == (0.1, 0.1)
    coarse = read_pairs(path, resolution=4)  # centres 0.05, 0.35, 0.65, 0.95: the same square
    assert same(coarse.inputs, nu[:, None, ::3, ::3]) and same(coarse.solutions, tensor[:, :, ::3, ::3])
    assert coarse.input_grid == Grid((4, 4), (0.9, 0.9), periodic=False)
    expect_error(path, r"resolution 5 is not reachable .*reachable resolutions: 10, 4, 2$", ValueError, resolution=5)


def test_pdebench_wrong_layouts_are_refused(tmp_path, generator):
    path = tmp_path / "nodal.hdf5"
    save_pdebench_1d(path, rand(generator, 2, 3, 16))
    with h5py.File(path, "r+") as f:  # a nodal grid with both ends, not PDEBench's cell centres
        f["x-coordinate"][...] = np.linspace(0, 1, 16)
    expect_error(path, r"x-coordinate from 0 to 1 is not the 16 cell centres")

    path = tmp_path / "no_coordinates.hdf5"
    save_pdebench_1d(path, rand(generator, 2, 3, 16), coords=False)
    expect_error(path, "no 'x-coordinate'")

    path = tmp_path / "one_step.hdf5"
    save_pdebench_1d(path, rand(generator, 2, 1, 16))
    expect_error(path, r"expected a 1-D time series \(N, nt, nx\) with nt >= 2")

    path = tmp_path / "channels_last.hdf5"  # Darcy's solution with its channel axis last
    save_pdebench_darcy(path, rand(generator, 2, 8, 8), rand(generator, 2, 8, 8, 1))
    expect_error(path, "different grids")

    path = tmp_path / "counts.hdf5"
    save_pdebench_darcy(path, rand(generator, 3, 8, 8), rand(generator, 2, 1, 8, 8))
    expect_error(path, "different sample counts")

    path = tmp_path / "cfd.hdf5"
    with h5py.File(path, "w") as f:
        f["density"], f["Vx"] = rand(generator, 2, 3, 8), rand(generator, 2, 3, 8)
    expect_error(path, r"expected PDEBench dataset 'tensor' .*found \['Vx', 'density'\]")


def test_pdebench_truncated_file_is_refused(tmp_path, generator):
    path = tmp_path / "burgers.hdf5"
    save_pdebench_1d(path, rand(generator, 4, 5, 64))
    truncate(path)
    expect_error(path, "not a readable HDF5 file, truncated or corrupt")


def test_damaged_array_is_refused_when_read(tmp_path, generator):
    """A file that opens but whose compressed array bytes are damaged fails on the read, naming the array."""
    path = tmp_path / "damaged.hdf5"
    save_pdebench_1d(path, rand(generator, 4, 5, 64))
    with h5py.File(path, "r+") as f:
        tensor = f["tensor"][()]
        del f["tensor"]
        f.create_dataset("tensor", data=tensor, chunks=tensor.shape, compression="gzip")
        chunk = f["tensor"].id.get_chunk_info(0)
    with open(path, "r+b") as fh:
        fh.seek(chunk.byte_offset)
        fh.write(b"\xff" * chunk.size)
    expect_error(path, r"cannot read tensor\[:, :1\], truncated or corrupt")


@pytest.mark.parametrize("kind", ["v7.3", "pdebench", "pt"])
def test_files_with_flipped_bytes_read_or_fail_with_a_reader_error(tmp_path, generator, kind):
    """Wherever bytes are damaged, the reader returns pairs or raises its one-line error, never h5py's or torch's.

    Before the readers caught them, h5py raised KeyError, RuntimeError and TypeError from damaged object
    headers and attributes, and torch KeyError from damaged pickles. MATLAB v5 is left out: SciPy 1.17
    segfaults on some damaged v5 type tags.
    """
    path = tmp_path / {"v7.3": "ns.mat", "pdebench": "burgers.hdf5", "pt": "darcy.pt"}[kind]
    if kind == "v7.3":
        save_mat73(path, {"a": rand(generator, 3, 8, 8), "u": rand(generator, 3, 8, 8, 5)})
    elif kind == "pdebench":
        save_pdebench_1d(path, rand(generator, 3, 5, 16))
    else:
        torch.save({"x": torch.rand(3, 8, 8, generator=generator), "y": torch.rand(3, 8, 8, generator=generator)}, path)
    original = path.read_bytes()
    failures = 0
    for _ in range(100):
        damaged = bytearray(original)
        for i in torch.randint(len(damaged), (4,), generator=generator).tolist():
            damaged[i] = torch.randint(256, (), generator=generator).item()
        path.write_bytes(bytes(damaged))
        try:
            read_pairs(path)
        except ReaderError as err:
            assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
            failures += 1
    assert failures > 0  # some damage must have been caught, or the test exercised nothing


# ---------------------------------------------------------------- neuraloperator .pt


def test_neuraloperator_darcy_bool_coefficient_without_channel_axis(tmp_path, generator):
    """darcy_train_16.pt: x (N, 16, 16) bool, y (N, 16, 16) float32."""
    x = torch.rand(4, 16, 16, generator=generator) > 0.5
    y = torch.rand(4, 16, 16, generator=generator)
    path = tmp_path / "darcy_train_16.pt"
    torch.save({"x": x, "y": y}, path)

    data = read_pairs(path)
    assert data.format == "neuraloperator-pt"
    assert torch.equal(data.inputs, x[:, None].float()) and torch.equal(data.solutions, y[:, None])
    assert data.input_grid == data.output_grid == Grid((16, 16), (1.0, 1.0), periodic=True)
    coarse = read_pairs(path, resolution=4, n=3)
    assert torch.equal(coarse.inputs, x[:3, None, ::4, ::4].float())
    assert torch.equal(coarse.solutions, y[:3, None, ::4, ::4])
    assert coarse.input_grid == Grid((4, 4), (1.0, 1.0), periodic=True)

    with_channels = tmp_path / "darcy_channels.pt"
    torch.save({"x": x[:, None], "y": y[:, None]}, with_channels)
    again = read_pairs(with_channels)
    assert torch.equal(again.inputs, data.inputs) and torch.equal(again.solutions, data.solutions)


def test_neuraloperator_burgers_time_steps_become_channels(tmp_path, generator):
    """burgers_train_16.pt: x (N, 16), y (N, 17, 16) float64, visc (1, 1)."""
    x = torch.rand(5, 16, generator=generator, dtype=torch.float64)
    y = torch.rand(5, 17, 16, generator=generator, dtype=torch.float64)
    path = tmp_path / "burgers_train_16.pt"
    torch.save({"x": x, "y": y, "visc": torch.tensor([[0.01]], dtype=torch.float64)}, path)
    data = read_pairs(path, dtype=torch.float64)
    assert torch.equal(data.inputs, x[:, None]) and torch.equal(data.solutions, y)
    assert data.input_grid == Grid((16,), (1.0,), periodic=True)


class Unpicklable:
    """A class that weights_only loading must refuse to rebuild."""


def test_neuraloperator_wrong_layouts_are_refused(tmp_path, generator):
    x, y = torch.rand(4, 16, 16, generator=generator), torch.rand(4, 16, 16, generator=generator)
    cases = {
        "keys": ({"x": x, "u": y}, r"expected a dict with tensors 'x' .* found \['u', 'x'\]"),
        "tensor": (x, "expected a dict with tensors 'x' .* found Tensor"),
        "grids": ({"x": x, "y": y[:, ::2, ::2]}, "different grids"),
        "counts": ({"x": x, "y": y[:3]}, "different sample counts"),
        "ranks": ({"x": x[:, 0], "y": y[:, None, None]}, "expected ranks that are equal or differ by one"),
        "list": ({"x": x.tolist(), "y": y}, "'x' is a list; expected a tensor"),
        "complex": ({"x": x.to(torch.complex64), "y": y}, "expected a real"),
        "objects": ({"x": x, "y": y, "meta": Unpicklable()}, r"refused by torch.load\(weights_only=True\)"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save(content, path)
        expect_error(path, match)


def test_neuraloperator_truncated_file_is_refused(tmp_path, generator):
    path = tmp_path / "darcy_test_16.pt"
    torch.save({"x": torch.rand(4, 16, 16, generator=generator), "y": torch.rand(4, 16, 16, generator=generator)}, path)
    truncate(path)
    expect_error(path, "not a readable torch file, truncated or corrupt")


# ---------------------------------------------------------------- what every format shares


def test_sciml_datasets_unknown_extensions_and_bad_arguments_are_refused(tmp_path, generator):
    sciml_file = tmp_path / "train.h5"
    with h5py.File(sciml_file, "w") as f:
        f.attrs["format"] = "sciml.dataset"
    expect_error(sciml_file, r"is a sciml dataset .*; read it with sciml.data.H5Dataset")
    error = ReaderError(sciml_file, "expected\nsomething")
    assert str(pickle.loads(pickle.dumps(error))) == str(error) == f"{sciml_file}: expected something"

    other = tmp_path / "data.npz"
    other.write_bytes(b"PK")
    expect_error(other, r"unknown extension '.npz'; expected one of .mat")
    with pytest.raises(FileNotFoundError, match="missing.mat"):
        read_pairs(tmp_path / "missing.mat")

    path = tmp_path / "burgers.mat"
    scipy.io.savemat(path, {"a": rand(generator, 4, 16), "u": rand(generator, 4, 16)})
    for n in (0, 5):
        expect_error(path, rf"n must be in \[1, 4\] .* got {n}", ValueError, n=n)
    with pytest.raises(ValueError, match="dtype must be a floating-point"):
        read_pairs(path, dtype=torch.int64)


def test_reading_in_blocks_gives_the_same_values(tmp_path, generator, monkeypatch):
    """With blocks of one sample, every sample is read, strided and joined as when read at once."""
    u = rand(generator, 5, 8, 8, 4)
    path = tmp_path / "ns.mat"
    save_mat73(path, {"a": u[..., 0], "u": u})
    whole = read_pairs(path, resolution=4, n=4, dtype=torch.float64)
    monkeypatch.setattr(readers, "READ_BLOCK_BYTES", 1)
    blocks = read_pairs(path, resolution=4, n=4, dtype=torch.float64)
    assert torch.equal(blocks.inputs, whole.inputs) and torch.equal(blocks.solutions, whole.solutions)
    assert same(blocks.solutions, u[:4, ::2, ::2].transpose(0, 3, 1, 2))
