"""Dataset files: contents, metadata, atomic and resumable writes, determinism, subsampling."""

import h5py
import numpy as np
import pytest
import torch

import sciml
import sciml.data.dataset as dataset_module
from sciml.data import (
    DatasetError,
    DatasetWriter,
    H5Dataset,
    H5Stream,
    generate_dataset,
    part_path,
    read_info,
    sample_generator,
    subsample_factors,
)
from sciml.diff import SpectralDiff
from sciml.spectral import Grid


def arrays(path):
    with h5py.File(path, "r") as f:
        return f["inputs"][()], f["solutions"][()]


class Stop(KeyboardInterrupt):
    """Raised from the progress callback to simulate Ctrl-C after some chunks."""


def interrupt_after(chunks):
    calls = []

    def progress(k):
        calls.append(k)
        if len(calls) == chunks + 1:  # the first call, progress(0), says the file is open
            raise Stop

    return progress


def test_sample_generator_is_a_function_of_seed_and_index():
    draw = lambda seed, i: torch.randn(5, generator=sample_generator(seed, i))  # noqa: E731
    assert torch.equal(draw(3, 7), draw(3, 7))
    assert not torch.equal(draw(3, 7), draw(3, 8))
    assert not torch.equal(draw(3, 7), draw(4, 7))
    # (seed, index) is not collapsed to one number: (1, 0) and (0, 1) are different streams
    assert not torch.equal(draw(1, 0), draw(0, 1))


def test_toy_problem_solves_its_equation(toy_problem, generator):
    problem = toy_problem(ndim=2)
    grid = problem.grid(32)
    f = problem.sample_inputs(3, grid, generator)
    u = problem.solve(f, grid)
    residual = problem.residual(u, f, SpectralDiff(grid))
    assert residual.abs().max() < 1e-10 * f.abs().max()


def test_generate_writes_the_samples_and_metadata(tmp_path, toy_problem):
    problem = toy_problem(ndim=1, tau=4.0)
    path = generate_dataset(problem, tmp_path / "sub" / "train.h5", n=7, resolution=64, seed=11, chunk=3,
                            dtype="float64")
    assert path == tmp_path / "sub" / "train.h5" and not part_path(path).exists()
    grid = problem.grid(64)
    data = H5Dataset(path)
    assert len(data) == 7 and data.inputs.dtype == torch.float64
    for i in range(7):  # sample i is the draw of its own generator, solved
        a = problem.sample_inputs(1, grid, sample_generator(11, i))
        assert torch.equal(data[i][0], a[0])
    residual = problem.residual(data.solutions, data.inputs, SpectralDiff(grid))
    assert residual.abs().max() < 1e-10 * data.inputs.abs().max()
    info = read_info(path)
    assert (info.problem, info.params, info.seed, info.n, info.chunk) == ("screened_poisson", problem.params(), 11, 7, 3)
    assert info.params["tau"] == 4.0 and info.input_grid == grid and info.output_grid == grid
    assert info.complete and info.samples_done == 7 and info.sciml_version == sciml.__version__
    assert info.input_shape == (7, 1, 64) and info.solution_shape == (7, 1, 64)


def test_same_seed_is_bit_identical_and_seeds_differ(tmp_path, toy_problem):
    problem = toy_problem(ndim=2)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_dataset(problem, tmp_path / f"{name}.h5", n=4, resolution=16, seed=seed, chunk=2)
    a, b, c = (arrays(tmp_path / f"{name}.h5") for name in "abc")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.isclose(a[0], c[0]).any()


def test_samples_do_not_depend_on_the_chunk_size(tmp_path, toy_problem):
    problem = toy_problem(ndim=1)
    for chunk in (1, 3, 8):
        generate_dataset(problem, tmp_path / f"{chunk}.h5", n=8, resolution=32, seed=0, chunk=chunk, dtype="float64")
    (a1, u1), (a3, u3), (a8, u8) = (arrays(tmp_path / f"{c}.h5") for c in (1, 3, 8))
    assert np.array_equal(a1, a3) and np.array_equal(a1, a8)
    np.testing.assert_allclose(u3, u1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(u8, u1, rtol=0, atol=1e-15)


def test_interrupted_generation_resumes_bit_identically(tmp_path, toy_problem):
    problem = toy_problem(ndim=2, periodic=False)
    path = tmp_path / "resumed.h5"
    with pytest.raises(Stop):
        DatasetWriter(problem, path, n=10, resolution=17, seed=2, chunk=3).run(interrupt_after(2))
    assert not path.exists()
    info = read_info(part_path(path))
    assert not info.complete and info.samples_done == 6
    with pytest.raises(DatasetError, match="incomplete"):
        H5Dataset(part_path(path))
    writer = DatasetWriter(problem, path, n=10, resolution=17, seed=2)  # the chunk comes from the file
    assert writer.samples_done == 6 and writer.chunk == 3
    done = []
    writer.run(done.append)
    assert done == [0, 3, 1] and not part_path(path).exists()

    generate_dataset(problem, tmp_path / "straight.h5", n=10, resolution=17, seed=2, chunk=3)
    for x, y in zip(arrays(path), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)
    with h5py.File(path, "r") as f, h5py.File(tmp_path / "straight.h5", "r") as g:
        assert dict(f.attrs) == dict(g.attrs)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"seed": 3}, "seed"), ({"chunk": 4}, "chunk"), ({"n": 9}, "n: file has 10, asked 9"), ({"resolution": 33}, "input_grid"),
     ({"dtype": "float64"}, "dtype")],
)
def test_resume_refuses_a_different_generation(tmp_path, toy_problem, change, field):
    problem, path = toy_problem(), tmp_path / "x.h5"
    args = {"n": 10, "resolution": 32, "seed": 2, "chunk": 3}
    with pytest.raises(Stop):
        DatasetWriter(problem, path, **args).run(interrupt_after(1))
    with pytest.raises(DatasetError, match=f"cannot resume .*{field}"):
        DatasetWriter(problem, path, **{**args, **change})
    with pytest.raises(DatasetError, match="params"):
        DatasetWriter(toy_problem(tau=6.0), path, **args)


def test_resume_refuses_another_sciml_version(tmp_path, toy_problem, monkeypatch):
    path, args = tmp_path / "x.h5", {"n": 4, "resolution": 16, "seed": 0, "chunk": 2}
    with pytest.raises(Stop):
        DatasetWriter(toy_problem(), path, **args).run(interrupt_after(1))
    monkeypatch.setattr(sciml, "__version__", "0.0.dev0")
    with pytest.raises(DatasetError, match=r"sciml_version: file has '.*', asked '0.0.dev0'"):
        DatasetWriter(toy_problem(), path, **args)


def test_writer_refuses_bad_arguments(tmp_path, toy_problem):
    problem = toy_problem()
    existing = tmp_path / "exists.h5"
    existing.write_bytes(b"")
    with pytest.raises(FileExistsError, match="exists.h5 already exists"):
        DatasetWriter(problem, existing, n=2, resolution=16, seed=0)
    int64 = "and < 9223372036854775808"
    for kwargs, error, message in (
        ({"n": 0}, ValueError, f"DatasetWriter: n must be an integer >= 1 {int64}, got 0"),
        ({"n": 2**63}, ValueError, f"DatasetWriter: n must be an integer >= 1 {int64}, got {2**63}"),
        ({"seed": -1}, ValueError, f"DatasetWriter: seed must be an integer >= 0 {int64}, got -1"),
        ({"seed": 2**64}, ValueError, f"DatasetWriter: seed must be an integer >= 0 {int64}, got {2**64}"),
        ({"seed": 1.0}, TypeError, f"DatasetWriter: seed must be an integer >= 0 {int64}, got 1.0"),
        ({"chunk": 0}, ValueError, f"DatasetWriter: chunk must be an integer >= 1 {int64}, got 0"),
        ({"dtype": "int8"}, ValueError, "DatasetWriter: dtype must be one of ('float32', 'float64'), got 'int8'"),
        ({"resolution": 4}, ValueError, "ScreenedPoisson: resolution must be >= 8, got 4"),
        ({"path": ""}, ValueError, "DatasetWriter: path must name a file, not a directory, got ''"),
        ({"path": tmp_path}, ValueError, f"DatasetWriter: path must name a file, not a directory, got {str(tmp_path)!r}"),
    ):
        args = {"path": tmp_path / "new.h5", "n": 2, "resolution": 16, "seed": 0, **kwargs}
        with pytest.raises(error) as info:
            DatasetWriter(problem, **args)
        assert str(info.value) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.h5"]  # nothing written


def test_contract_violations_are_loud(tmp_path, toy_problem):
    nameless = type("Nameless", (toy_problem,), {"name": ""})()
    with pytest.raises(ValueError, match="needs a class attribute `name`"):
        DatasetWriter(nameless, tmp_path / "x.h5", n=2, resolution=16, seed=0)
    short = type("Short", (toy_problem,), {"solve": lambda self, a, grid: a[..., :-1]})()
    with pytest.raises(RuntimeError, match=r"Short.solve returned \(2, 1, 15\), expected \(2, C_out, \*\(16,\)\)"):
        generate_dataset(short, tmp_path / "short.h5", n=2, resolution=16, seed=0)
    calls = []

    def blows_up_third(self, a, grid):
        calls.append(len(a))
        return a * (float("nan") if len(calls) == 3 else 1.0)

    path = tmp_path / "blowup.h5"
    with pytest.raises(FloatingPointError, match="non-finite values for samples 4..5"):
        generate_dataset(type("Blowup", (toy_problem,), {"solve": blows_up_third})(), path, n=8, resolution=16,
                         seed=0, chunk=2)
    info = read_info(part_path(path))  # the chunks before the failure are kept
    assert not path.exists() and info.samples_done == 4


def test_non_datasets_are_refused(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(DatasetError, match="not a sciml dataset"):
        read_info(junk)
    bare = tmp_path / "bare.h5"
    with h5py.File(bare, "w") as f:
        f["inputs"] = np.zeros((2, 1, 4))
    with pytest.raises(DatasetError, match="not a sciml dataset"):
        H5Dataset(bare)
    with pytest.raises(FileNotFoundError):
        read_info(tmp_path / "missing.h5")


def test_subsample_factors_follow_the_grid_rules():
    nodal = Grid((421,), (1.0,), periodic=False)
    factors = subsample_factors(nodal)
    assert factors[:6] == [1, 2, 3, 4, 5, 6] and 7 in factors and 8 not in factors and factors[-1] == 420
    assert [nodal.subsample(r).shape[0] for r in (2, 3, 5)] == [211, 141, 85]
    assert subsample_factors(Grid((48, 48), (1.0, 1.0))) == [1, 2, 3, 4, 6, 8, 12, 16, 24]
    # both grids must allow the factor
    assert subsample_factors(Grid((48,), (1.0,)), Grid((21,), (1.0,), periodic=False)) == [1, 2, 4]


@pytest.mark.parametrize(("ndim", "periodic", "n_fine", "resolutions"),
                         [(1, False, 421, (211, 141, 85)), (2, True, 48, (24, 16))])
def test_subsampled_data_is_the_coarse_problem(tmp_path, toy_problem, ndim, periodic, n_fine, resolutions):
    """Points kept by subsampling sit where the coarse grid's points are: the subsampled fine solution
    matches the coarse solve of the subsampled input to spectral accuracy (a shifted or mis-scaled
    grid would not)."""
    problem = toy_problem(ndim=ndim, periodic=periodic, alpha=6.0)
    path = generate_dataset(problem, tmp_path / "fine.h5", n=3, resolution=n_fine, seed=0, dtype="float64")
    fine = H5Dataset(path)
    for resolution in resolutions:
        coarse = H5Dataset(path, resolution)
        r = (n_fine - (0 if periodic else 1)) // (resolution - (0 if periodic else 1))
        assert coarse.factor == r and coarse.input_grid == problem.grid(resolution)
        assert coarse.inputs.shape == (3, 1) + (resolution,) * ndim
        index = (...,) + (slice(None, None, r),) * ndim
        assert torch.equal(coarse.inputs, fine.inputs[index])
        resolved = problem.solve(coarse.inputs, coarse.input_grid)
        error = (resolved - coarse.solutions).abs().max() / coarse.solutions.abs().max()
        assert error < 1e-6
        assert torch.equal(H5Dataset(path, factor=r).solutions, coarse.solutions)


def test_reader_options_and_errors(tmp_path, toy_problem):
    path = generate_dataset(toy_problem(periodic=False), tmp_path / "d.h5", n=5, resolution=21, seed=0)
    with pytest.raises(ValueError, match=r"resolution 12 is not reachable .*possible resolutions: 21, 11, 6, 5, 3, 2"):
        H5Dataset(path, 12)
    with pytest.raises(ValueError, match=r"by factor 3; possible factors: \[1, 2, 4, 5, 10, 20\]"):
        H5Dataset(path, factor=3)
    with pytest.raises(ValueError, match="not both"):
        H5Dataset(path, 11, factor=2)
    with pytest.raises(ValueError, match=r"n must be in \[1, 5\]"):
        H5Dataset(path, n=6)
    head = H5Dataset(path, 11, n=2, dtype=torch.float64)
    full = H5Dataset(path)
    assert len(head) == 2 and head.inputs.dtype == torch.float64 and full.inputs.dtype == torch.float32
    assert torch.equal(head.solutions, full.solutions[:2, :, ::2].double())


def test_reading_in_blocks_gives_the_same_arrays(tmp_path, toy_problem, monkeypatch):
    path = generate_dataset(toy_problem(ndim=2), tmp_path / "d.h5", n=7, resolution=16, seed=0)
    whole = H5Dataset(path, 8)
    monkeypatch.setattr(dataset_module, "READ_BLOCK_BYTES", 3 * 16 * 16 * 4)  # blocks of 3 samples: 3 + 3 + 1
    blocks = H5Dataset(path, 8)
    assert torch.equal(blocks.inputs, whole.inputs) and torch.equal(blocks.solutions, whole.solutions)
    with h5py.File(path, "r") as f:
        assert np.array_equal(blocks.inputs.numpy(), f["inputs"][:, :, ::2, ::2])


def test_a_stream_reads_the_values_the_dataset_holds(tmp_path, toy_problem, monkeypatch):
    path = generate_dataset(toy_problem(ndim=2), tmp_path / "d.h5", n=7, resolution=16, seed=0)
    whole = H5Dataset(path, 8, n=6, dtype=torch.float64)
    monkeypatch.setattr(dataset_module, "READ_BLOCK_BYTES", 3 * 16 * 16 * 4)  # blocks of 3 samples: 3 + 3
    stream = H5Stream(path, 8, n=6, dtype=torch.float64)
    assert len(stream) == 6 and stream.input_shape == (1, 8, 8) and stream.input_grid == whole.input_grid
    assert [b.shape[0] for b in stream.blocks("inputs")] == [3, 3]
    assert torch.equal(torch.cat(list(stream.blocks("solutions"))), whole.solutions)
    index = torch.tensor([5, 0, 3, 0, 2])  # any order, repeats allowed: read sorted, returned as asked
    a, u = stream.read(index)
    assert torch.equal(a, whole.inputs[index]) and torch.equal(u, whole.solutions[index])
    for bad in (torch.tensor([6]), torch.tensor([-1, 2]), torch.tensor([], dtype=torch.int64), torch.tensor([1.0])):
        with pytest.raises(ValueError, match=r"index must be a non-empty \(k,\) int64 tensor of samples in \[0, 6\)"):
            stream.read(bad)
