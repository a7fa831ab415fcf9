"""A generation reports its solver's time steps while a chunk is solved (so `sciml generate`'s bar moves during long
samples), and watching it changes nothing in the file."""

import functools
import re

import h5py
import numpy as np
import pytest
from tqdm import tqdm

import sciml.cli.data as cli_data
from sciml.cli import main
from sciml.data import generate_dataset
from sciml.problems import Burgers
from sciml.solvers import report_steps

#: 50 ETDRK4 steps per solve (final time 0.05, steps of at most 1e-3); 5 samples in chunks of 2 + 2 + 1
PROBLEM, STEPS = Burgers(final_time=0.05), 50
ARGS = {"n": 5, "resolution": 64, "seed": 0, "chunk": 2}


def test_a_generation_reports_every_step_of_every_chunk_and_writes_the_same_file(tmp_path):
    calls = []
    with report_steps(lambda done, total: calls.append((done, total))):
        watched = generate_dataset(PROBLEM, tmp_path / "watched.h5", **ARGS)
    assert calls == [(i, STEPS) for i in range(1, STEPS + 1)] * 3  # one batched solve per chunk
    plain = generate_dataset(PROBLEM, tmp_path / "plain.h5", **ARGS)
    with h5py.File(watched, "r") as f, h5py.File(plain, "r") as g:
        assert all(np.array_equal(f[key][()], g[key][()]) for key in ("inputs", "solutions", "checksums"))


def test_the_bar_of_sciml_generate_moves_with_the_time_steps(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_data, "tqdm", functools.partial(tqdm, mininterval=0, miniters=0))  # print every update
    argv = ["generate", "burgers", "--n", "5", "--resolution", "64", "--seed", "0", "--chunk", "2",
            "--param", "final_time=0.05", "--out", str(tmp_path / "b.h5")]
    assert main(argv) == 0
    bars = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if "%|" in line]
    done = [float(re.search(r"\| ([\d.]+)/5 \[", bar).group(1)) for bar in bars]
    assert done == sorted(done) and done[-1] == 5 and "/5 [" in bars[-1]
    # within the first chunk (2 samples) the bar passed every tenth of a sample, step by step
    assert sorted({d for d in done if d < 2}) == pytest.approx([k / 10 for k in range(20)])
    steps = [int(m.group(1)) for bar in bars if (m := re.search(rf"step (\d+)/{STEPS}\]", bar))]
    assert steps[-1] == STEPS and len(set(steps)) == STEPS
