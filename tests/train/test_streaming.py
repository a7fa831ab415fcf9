"""`sciml train` with the training split streamed from HDF5 (`data.in_memory = false`) runs exactly as in memory:
the same batches, the same losses and the same final weights, also when a streamed run is interrupted and resumed."""

import csv
import dataclasses
import math
import textwrap

import pytest
import torch

import sciml.data.dataset as dataset_module
from sciml.cli import build, main
from sciml.cli.build import training_data
from sciml.cli.config import ConfigError, Source, load_config
from sciml.data import read_info
from sciml.train import StreamedBatches, load_checkpoint, objective

DATA = {
    # a steady problem: input normalizer from the inputs, output normalizer from the solutions
    "darcy": """
        train = { problem = "darcy", n = 11, resolution = 17, seed = 0 }
        test = { problem = "darcy", n = 3, resolution = 17, seed = 1 }
        resolution = 9
        """,
    # frames in, frames out: both normalizers from the solutions' channels
    "navier_stokes": """
        train = { problem = "navier_stokes", n = 7, resolution = 8, seed = 0, params = { solver_resolution = 8, final_time = 2.0, frame_interval = 0.5, time_step = 0.1 } }
        test = { problem = "navier_stokes", n = 2, resolution = 8, seed = 1, params = { solver_resolution = 8, final_time = 2.0, frame_interval = 0.5, time_step = 0.1 } }
        input_frames = 2
        """,
}


def write_config(tmp_path, data):
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(DATA[data]).join(["[data]\n", textwrap.dedent(f"""
        cache = "{tmp_path / 'cache'}"
        [model]
        name = "fno"
        modes = [3, 3]
        width = 6
        n_layers = 2
        [train]
        epochs = 3
        batch_size = 4
        lr = 1e-2
        schedule = "cosine"
        checkpoint_every = 1
        """)]))
    return path


def train(capsys, config, out, *extra):
    code = main(["train", str(config), "--out", str(out), *extra])
    assert code in (0, 130), capsys.readouterr().err
    return code, capsys.readouterr()


def rows(run):
    """metrics.csv without the wall times."""
    with open(run / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "time"} for row in csv.DictReader(f)]


@pytest.mark.parametrize("data", DATA)
def test_a_streamed_run_is_the_in_memory_run(tmp_path, capsys, monkeypatch, data):
    config = write_config(tmp_path, data)
    train(capsys, config, tmp_path / "memory", "--set", "data.in_memory=true")  # also generates the cached splits
    # blocks of 3 full-resolution samples: the streamed normalizers merge 3 or 4 blocks (Chan's update)
    info = read_info(next((tmp_path / "cache").glob(f"{data}-n*-s0-*.h5")))
    float32_bytes = 4 * max(math.prod(info.input_shape[1:]), math.prod(info.solution_shape[1:]))
    monkeypatch.setattr(dataset_module, "READ_BLOCK_BYTES", 3 * float32_bytes)
    code, output = train(capsys, config, tmp_path / "streamed", "--set", "data.in_memory=false")
    assert code == 0 and f"samples of {data} on " in output.err and ", streamed)" in output.err
    memory, streamed = load_checkpoint(tmp_path / "memory" / "checkpoint.pt"), load_checkpoint(tmp_path / "streamed" / "checkpoint.pt")
    # the statistics agree to float64 round-off, and so do their float32 roundings, which the run uses
    for name in ("input_normalizer", "output_normalizer"):
        for key in ("mean", "std"):
            torch.testing.assert_close(streamed[name][key], memory[name][key], rtol=1e-14, atol=1e-14)
            assert torch.equal(streamed[name][key].float(), memory[name][key].float())
    # hence the same batches, losses, test errors and weights, bit for bit
    assert rows(tmp_path / "streamed") == rows(tmp_path / "memory") and len(rows(tmp_path / "memory")) == 3
    assert all(torch.equal(streamed["model"][k], memory["model"][k]) for k in memory["model"])


def test_an_interrupted_streamed_run_resumes_to_the_same_weights(tmp_path, capsys, monkeypatch):
    config = write_config(tmp_path, "darcy")
    streamed = ("--set", "data.in_memory=false")
    train(capsys, config, tmp_path / "whole", *streamed)
    # Ctrl-C during step 5 (epoch 2, batch 2 of 3): the checkpoint of step 4 survives
    calls, original = [0], objective.OperatorObjective.__call__

    def interrupted(self, model, batch):
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return original(self, model, batch)

    monkeypatch.setattr(objective.OperatorObjective, "__call__", interrupted)
    code, output = train(capsys, config, tmp_path / "cut", *streamed)
    assert code == 130 and "resume with:" in output.err
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["progress"]["step"] == 4
    monkeypatch.setattr(objective.OperatorObjective, "__call__", original)
    assert train(capsys, config, tmp_path / "cut", *streamed, "--resume")[0] == 0
    whole, cut = load_checkpoint(tmp_path / "whole" / "checkpoint.pt"), load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert all(torch.equal(whole["model"][k], cut["model"][k]) for k in whole["model"])
    assert rows(tmp_path / "cut") == rows(tmp_path / "whole")


def test_auto_streams_what_takes_more_than_half_the_free_memory(tmp_path, monkeypatch):
    config = load_config(write_config(tmp_path, "darcy")).data
    # 11 samples of 9 x 9 inputs and solutions: 1782 values, 8 bytes each (as read, and normalized)
    for free, streamed in ((2 * 1782 * 8, False), (2 * 1782 * 8 - 1, True)):
        monkeypatch.setattr(build, "available_memory", lambda device, free=free: free)
        data = training_data(config, 4, 0, torch.device("cpu"), torch.float32)
        assert isinstance(data.batches, StreamedBatches) == streamed and data.channels == (1, 1)
    pt = tmp_path / "pairs.pt"
    torch.save({"x": torch.zeros(4, 8, 8), "y": torch.zeros(4, 8, 8)}, pt)
    with pytest.raises(ConfigError, match=r"^data.in_memory: false streams sciml datasets only; .*pairs.pt is read whole"):
        training_data(dataclasses.replace(config, train=Source(path=str(pt)), in_memory=False), 4, 0, torch.device("cpu"), torch.float32)
