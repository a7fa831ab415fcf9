"""What a dataset file promises: checked writes, proven completion, checksums, estimates up front, readable errors."""

import collections
import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import sciml.data.generate as generate_module
from sciml.data import (
    DatasetError,
    DatasetWriter,
    H5Dataset,
    H5Stream,
    StorageError,
    generate_dataset,
    part_path,
    read_info,
    verify,
)

ARGS = {"n": 6, "resolution": 16, "seed": 3, "chunk": 2}
Usage = collections.namedtuple("Usage", "total used free")  # what shutil.disk_usage returns


def arrays(path):
    with h5py.File(path, "r") as f:
        return f["inputs"][()], f["solutions"][()]


def flip(path, offset, bit=0x04):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ bit]))


def chunk_offset(path, key, sample):
    """Where sample ``sample`` of ``key`` starts in the file (each sample is one HDF5 chunk)."""
    with h5py.File(path, "r") as f:
        return f[key].id.get_chunk_info(sample).byte_offset


def test_written_files_carry_checksums(tmp_path, toy_problem):
    path = generate_dataset(toy_problem(ndim=2), tmp_path / "d.h5", **ARGS)
    with h5py.File(path, "r") as f:
        assert f["inputs"].fletcher32 and f["solutions"].fletcher32
        assert f["inputs"].chunks == (1, 1, 16, 16)
        # strings are fixed-length: inside the (checksummed) object header, not in the unchecked global heap
        assert h5py.check_string_dtype(f.attrs.get_id("params").dtype).length is not None
    assert read_info(path).format_version == 2


@pytest.mark.parametrize(("key", "sample"), [("inputs", 0), ("solutions", 4)])
def test_a_damaged_sample_is_refused_on_reading_with_its_index(tmp_path, toy_problem, key, sample):
    path = generate_dataset(toy_problem(ndim=2), tmp_path / "d.h5", **ARGS)
    with open(path, "r+b") as f:  # 64 bytes of garbage inside the sample's chunk
        f.seek(chunk_offset(path, key, sample) + 100)
        f.write(b"\xff" * 64)
    message = f"{path}: {key} of sample {sample} fail their checksum or cannot be read (the file is damaged); regenerate it"
    with pytest.raises(DatasetError) as info:
        H5Dataset(path)
    assert str(info.value) == message
    with pytest.raises(DatasetError) as info:
        verify(path)
    assert str(info.value) == message
    assert read_info(path).complete  # the metadata is intact: only reading the samples finds the damage
    with pytest.raises(DatasetError) as info:  # streamed: when a batch holds it
        H5Stream(path).read(torch.tensor([sample, 5]))
    assert str(info.value) == message
    if sample:
        assert len(H5Dataset(path, n=sample)) == sample  # the samples before it still load
        H5Stream(path).read(torch.tensor([sample - 1, 5]))


def test_two_damaged_samples_are_named_as_a_range(tmp_path, toy_problem):
    path = generate_dataset(toy_problem(ndim=2), tmp_path / "d.h5", **ARGS)
    for sample in (1, 2, 4):
        flip(path, chunk_offset(path, "inputs", sample) + 8)
    with pytest.raises(DatasetError, match=r"inputs of samples 1-2, 4 fail their checksum"):
        H5Dataset(path)


def _read_in_child(path, reference):
    """Read ``path`` in a forked child (a damaged file must neither hang nor crash the reader): 'same', 'refused' or 'other: ...'."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: h5py and NumPy only
        os.close(read)
        try:
            info = verify(path)
            same = (info.params, info.seed, info.n, info.input_grid) == reference[0] and all(
                np.array_equal(x, y) for x, y in zip(arrays(path), reference[1]))
            result = "same" if same else "SILENTLY DIFFERENT"
        except DatasetError:
            result = "refused"
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            result = f"other: {type(err).__name__}: {err}"
        os.write(write, result.encode()[:500])
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 20
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.005)
    status = done[1]
    with os.fdopen(read) as pipe:
        return pipe.read() or f"crashed ({status})"


def _bit_flips(path, offsets):
    info = read_info(path)
    reference = ((info.params, info.seed, info.n, info.input_grid), arrays(path))
    pristine = path.read_bytes()
    results = {}
    for offset in offsets:
        damaged = path.with_name("damaged.h5")
        damaged.write_bytes(pristine)
        flip(damaged, offset, bit=1 << (offset % 8))
        results[offset] = _read_in_child(damaged, reference)
    return results


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the reader runs in a forked child, so that a hang cannot stop the test run")
def test_a_flipped_bit_anywhere_is_refused_or_harmless(tmp_path, toy_problem):
    """Every byte is covered by a checksum (Fletcher-32 on samples, HDF5's on metadata) or unused."""
    path = generate_dataset(toy_problem(ndim=1), tmp_path / "d.h5", n=3, resolution=8, seed=0)
    offsets = random.Random(0).sample(range(path.stat().st_size), 40)
    results = _bit_flips(path, offsets)
    assert {offset: r for offset, r in results.items() if r not in ("same", "refused")} == {}
    assert "refused" in results.values()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the reader runs in a forked child")
def test_every_flipped_byte_is_refused_or_harmless(tmp_path, toy_problem):
    path = generate_dataset(toy_problem(ndim=1), tmp_path / "d.h5", n=3, resolution=8, seed=0)
    results = _bit_flips(path, range(path.stat().st_size))
    assert {offset: r for offset, r in results.items() if r not in ("same", "refused")} == {}


def test_a_failed_write_keeps_the_part_file_and_resumes_bit_identically(tmp_path, toy_problem, monkeypatch):
    problem, path = toy_problem(ndim=2), tmp_path / "d.h5"
    write, calls = generate_module.DatasetWriter._write, []

    def full_disk_on_the_third_chunk(self, f, start, a, u):
        calls.append(start)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(self, f, start, a, u)

    monkeypatch.setattr(generate_module.DatasetWriter, "_write", full_disk_on_the_third_chunk)
    with pytest.raises(StorageError) as info:
        generate_dataset(problem, path, **ARGS)
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == f"cannot write {part_path(path)}: No space left on device; it keeps 4/6 samples"
    assert not path.exists() and read_info(part_path(path)).samples_done == 4
    monkeypatch.undo()

    generate_dataset(problem, path, **ARGS)
    generate_dataset(problem, tmp_path / "straight.h5", **ARGS)
    for x, y in zip(arrays(path), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)


def test_hdf5_runtime_errors_with_an_errno_become_storage_errors(tmp_path, toy_problem, monkeypatch):
    """HDF5 reports a failed flush as RuntimeError('... errno = 28, error message = ...'): same StorageError."""
    path = tmp_path / "d.h5"

    def failing_seal(self, f):
        raise RuntimeError("Unable to synchronously flush file (file write failed: time = Mon, errno = 5, error message = 'x')")

    monkeypatch.setattr(generate_module.DatasetWriter, "_seal", failing_seal)
    with pytest.raises(StorageError) as info:
        generate_dataset(toy_problem(), path, **ARGS)
    assert info.value.errno == errno.EIO
    assert str(info.value) == f"cannot write {part_path(path)}: Input/output error; it keeps 6/6 samples"
    assert not path.exists() and not read_info(part_path(path)).complete


def test_a_part_file_is_never_left_without_its_attributes(tmp_path, toy_problem, monkeypatch):
    path = tmp_path / "d.h5"

    def interrupted(value):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate_module, "to_attribute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(toy_problem(), path, **ARGS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("content", "reason"), [
    (b"", " is not a readable HDF5 file ("),
    (None, "sciml dataset lacks attributes ["),
])
def test_a_part_file_that_cannot_be_resumed_says_how_to_start_over(tmp_path, toy_problem, content, reason):
    path = tmp_path / "d.h5"
    if content is None:
        with h5py.File(part_path(path), "w") as f:
            f.attrs.update({"format": "sciml.dataset", "format_version": 2})
    else:
        part_path(path).write_bytes(content)
    with pytest.raises(DatasetError) as info:
        DatasetWriter(toy_problem(), path, **ARGS)
    message = str(info.value)
    assert message.startswith(f"{part_path(path)}") and reason in message
    assert message.endswith("; it cannot be resumed: delete it to start over")
    part_path(path).unlink()
    generate_dataset(toy_problem(), path, **ARGS)


def test_overwrite_replaces_a_file_only_once_the_new_one_is_complete(tmp_path, toy_problem):
    path = generate_dataset(toy_problem(), tmp_path / "d.h5", **ARGS)
    old = arrays(path)
    with pytest.raises(FileExistsError, match="d.h5 already exists"):
        DatasetWriter(toy_problem(), path, **ARGS)

    class Stop(KeyboardInterrupt):
        pass

    def stop_after_a_chunk(k):
        if k:
            raise Stop

    args = {**ARGS, "seed": 4}
    with pytest.raises(Stop):
        DatasetWriter(toy_problem(), path, overwrite=True, **args).run(stop_after_a_chunk)
    assert all(np.array_equal(x, y) for x, y in zip(arrays(path), old)) and part_path(path).exists()
    generate_dataset(toy_problem(), path, overwrite=True, **args)
    assert read_info(path).seed == 4 and not part_path(path).exists()
    assert not np.array_equal(arrays(path)[0], old[0])


def test_memory_and_disk_are_estimated_up_front(tmp_path, toy_problem, monkeypatch):
    problem, path = toy_problem(ndim=2), tmp_path / "d.h5"
    writer = DatasetWriter(problem, path, **ARGS)
    # one chunk: 2 samples of 16 x 16 inputs and solutions, in float64 and as stored (float32)
    assert writer.memory_bytes == 2 * 2 * 256 * (8 + 4)
    writer.run()
    assert path.stat().st_size <= writer.disk_bytes <= path.stat().st_size + 2**15

    monkeypatch.setattr(generate_module, "available_memory", lambda device: 6000)
    with pytest.raises(MemoryError) as info:
        DatasetWriter(problem, tmp_path / "e.h5", **ARGS)
    assert str(info.value) == ("one chunk of 2 screened_poisson samples on periodic 16x16 on [0, 1] x [0, 1] needs at least "
                               "12.3 kB of memory (cpu), 6.0 kB is available; lower the chunk or the resolution")
    monkeypatch.undo()

    monkeypatch.setattr(generate_module.shutil, "disk_usage", lambda folder: Usage(10**6, 10**6 - 10_000, 10_000))
    with pytest.raises(StorageError) as info:
        DatasetWriter(problem, tmp_path / "sub" / "e.h5", **ARGS)
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == f"the 6 screened_poisson samples left need about 30.2 kB of disk, {tmp_path} has 10.0 kB free"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # nothing written, no folder made


def test_a_sample_beyond_hdf5s_chunk_limit_is_refused(tmp_path, toy_problem, monkeypatch):
    monkeypatch.setattr(generate_module, "available_memory", lambda device: None)  # unknown: not checked
    monkeypatch.setattr(generate_module.shutil, "disk_usage", lambda folder: Usage(2**60, 0, 2**60))
    with pytest.raises(ValueError, match=r"one sample of screened_poisson on periodic 65536x65536 .* holds 17.2 GB in one "
                                         r"array; HDF5 stores at most 4.3 GB per sample"):
        DatasetWriter(toy_problem(ndim=2), tmp_path / "d.h5", n=1, resolution=65536, seed=0)


def _edit_attribute(path, key, value):
    with h5py.File(path, "r+") as f:
        f.attrs[key] = value


@pytest.mark.parametrize(("key", "value", "message"), [
    ("params", "{not json", "attribute 'params' = '{not json' is malformed (Expecting property name enclosed in double "
                            "quotes: line 1 column 2 (char 1))"),
    ("params", "[1, 2]", "attribute 'params' = '[1, 2]' is malformed (expected a JSON object, got list)"),
    ("input_grid", '{"shape": [16]}', "attribute 'input_grid' = '{\"shape\": [16]}' is malformed (a grid needs the keys "
                                      "shape, lengths and periodic; missing ['lengths', 'periodic'])"),
    ("seed", "3", "attribute 'seed' = '3' is malformed (expected int, got str)"),
    ("complete", "False", "attribute 'complete' = 'False' is malformed (expected bool, got str)"),
    ("samples_done", 99, "inconsistent attributes: samples_done=99, n=6, complete=True, arrays of [6] samples"),
    ("dtype", "int8", "attribute 'dtype' = 'int8' is not one of ('float32', 'float64')"),
    ("format_version", 3, "dataset format version 3 is not supported (this sciml reads 1, 2)"),
])
def test_malformed_attributes_are_named(tmp_path, toy_problem, key, value, message):
    path = generate_dataset(toy_problem(), tmp_path / "d.h5", **ARGS)
    _edit_attribute(path, key, value)
    with pytest.raises(DatasetError) as info:
        read_info(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_directory_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError) as info:
        read_info(tmp_path)
    assert str(info.value) == f"{tmp_path} is a directory, not a dataset file"


def test_format_version_1_files_are_still_read(tmp_path, toy_problem):
    """Version 1: variable-length string attributes, no checksums."""
    path = generate_dataset(toy_problem(), tmp_path / "d.h5", **ARGS)
    inputs, solutions = arrays(path)
    old = tmp_path / "v1.h5"
    with h5py.File(path, "r") as src, h5py.File(old, "w") as f:
        for key, value in src.attrs.items():
            f.attrs[key] = value.decode() if isinstance(value, bytes) else value
        f.attrs["format_version"] = 1
        f.create_dataset("inputs", data=inputs, chunks=(1, *inputs.shape[1:]))
        f.create_dataset("solutions", data=solutions, chunks=(1, *solutions.shape[1:]))
    info = read_info(old)
    assert info.format_version == 1 and info.params == read_info(path).params
    assert torch.equal(H5Dataset(old).solutions, torch.from_numpy(solutions))


def test_a_generation_killed_hard_resumes_bit_identically(tmp_path, toy_problem):
    """SIGKILL after two chunks: nothing is cleaned up, and HDF5 must still reopen the .part to resume it."""
    path = tmp_path / "d.h5"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from conftest import ScreenedPoisson
from sciml.data import DatasetWriter
writer = DatasetWriter(ScreenedPoisson(ndim=2), {str(path)!r}, n=6, resolution=16, seed=3, chunk=2)
writer.run(lambda k: writer.samples_done == 4 and os.kill(os.getpid(), signal.SIGKILL))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    info = read_info(part_path(path))
    assert info.samples_done == 4 and not info.complete and not path.exists()
    generate_dataset(toy_problem(ndim=2), path, **ARGS)
    generate_dataset(toy_problem(ndim=2), tmp_path / "straight.h5", **ARGS)
    for x, y in zip(arrays(path), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)


def test_the_count_and_the_completion_mark_survive_a_signal_between_hdf5_calls(tmp_path, toy_problem, monkeypatch):
    """h5py's ``attrs[key] = value`` deletes an attribute and creates it anew; a SIGTERM in between (its handler runs
    between the two calls) left a .part without ``samples_done``, which could not be read nor resumed. The writer
    updates both attributes in place, so a signal finds the old value or the new one."""
    real_delete = h5py.h5a.delete

    def delete_then_signal(*args, **kwargs):
        real_delete(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.h5a, "delete", delete_then_signal)
    info = read_info(generate_dataset(toy_problem(), tmp_path / "d.h5", n=3, resolution=16, seed=0, chunk=1))
    assert info.complete and info.samples_done == 3
