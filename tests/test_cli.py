"""The `sciml` command line: generate -> info -> load round trips, resumption, one-line errors."""

import shlex
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest
import torch

from sciml.cli import build_problem, main
from sciml.data import H5Dataset, part_path, read_info, sample_generator
from sciml.registry import PROBLEMS

#: per problem: a resolution and parameter overrides that make one sample take well under a second
TINY = {
    "burgers": ["--resolution", "32", "--param", "final_time=0.05", "--param", "min_solve_points=64"],
    "darcy": ["--resolution", "9"],
    "navier_stokes": ["--resolution", "8", "--param", "final_time=1", "--param", "solver_resolution=8",
                      "--param", "time_step=0.1"],
    "poisson": ["--resolution", "9"],
}
#: the cheapest problem, for the tests that need only one
NAME = "poisson"


def run(capsys, *argv):
    """``main(argv)`` as the console script runs it: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def overrides(name):
    args = TINY[name]
    return [tuple(args[i + 1].split("=", 1)) for i in range(len(args)) if args[i] == "--param"]


def generate_args(name, out, n, seed=1, chunk=2):
    return ["generate", name, "--n", n, "--seed", seed, "--out", out, "--chunk", chunk, *TINY[name]]


def test_every_registered_problem_has_a_tiny_configuration():
    assert set(TINY) == set(PROBLEMS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_generate_info_load_round_trip(tmp_path, capsys, name):
    out = tmp_path / "data" / f"{name}.h5"
    code, stdout, _ = run(capsys, *generate_args(name, out, n=3, chunk=3))
    assert code == 0 and stdout.startswith(f"wrote {out}: 3 {name} samples")

    code, stdout, _ = run(capsys, "info", out)
    assert code == 0 and f"{out}: sciml dataset, 3/3 samples, complete" in stdout
    assert f"problem    {name}" in stdout

    # the file holds exactly what the problem draws and solves, per sample seed (seed, i)
    problem = build_problem(name, overrides(name))
    resolution = int(TINY[name][TINY[name].index("--resolution") + 1])
    grid = problem.grid(resolution)
    a = torch.cat([problem.sample_inputs(1, grid, sample_generator(1, i)) for i in range(3)])
    data = H5Dataset(out, dtype=torch.float64)
    assert read_info(out).params == problem.params()
    assert torch.equal(data.inputs, a.float().double())
    u = problem.solve(a, grid)
    assert torch.allclose(data.solutions, u.float().double(), rtol=1e-6, atol=1e-6 * u.abs().max().item())
    coarse = H5Dataset(out, factor=2)
    index = (...,) + (slice(None, None, 2),) * grid.dim
    assert torch.equal(coarse.solutions, data.solutions[index].float())


def test_info_lists_only_resolutions_the_problem_accepts(tmp_path, capsys):
    # burgers at 32 subsamples by 1, 2, 4, 8 and 16; its grid needs 4 points at least, so 2 is left out
    out = tmp_path / "b.h5"
    assert run(capsys, *generate_args("burgers", out, n=1))[0] == 0
    code, stdout, _ = run(capsys, "info", out)
    assert code == 0 and "subsample  resolutions 32, 16, 8, 4\n" in stdout


def test_interrupted_generation_resumes_bit_identically(tmp_path, capsys, monkeypatch):
    name = NAME
    out = tmp_path / "resumed.h5"
    solve, calls = PROBLEMS[name].solve, []

    def interrupted_solve(self, a, grid):
        calls.append(len(a))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return solve(self, a, grid)

    monkeypatch.setattr(PROBLEMS[name], "solve", interrupted_solve)
    code, _, err = run(capsys, *generate_args(name, out, n=5))
    assert code == 130 and not out.exists() and part_path(out).exists()
    message = err.strip().splitlines()[-1]
    assert f"interrupted at 2/5 samples; {part_path(out)} keeps them; resume with: sciml generate" in message
    code, stdout, _ = run(capsys, "info", out)
    assert code == 0 and "2/5 samples, PARTIAL" in stdout
    monkeypatch.undo()

    resume = shlex.split(message.split("resume with: ")[1])
    assert resume[0] == "sciml"
    code, _, err = run(capsys, *resume[1:])
    assert code == 0 and f"resuming {part_path(out)} at 2/5 samples" in err and not part_path(out).exists()
    code, _, _ = run(capsys, *generate_args(name, tmp_path / "straight.h5", n=5))
    with h5py.File(out, "r") as f, h5py.File(tmp_path / "straight.h5", "r") as g:
        for key in ("inputs", "solutions"):
            assert np.array_equal(f[key][()], g[key][()])
    code, _, _ = run(capsys, *generate_args(name, tmp_path / "other_seed.h5", n=2, seed=2))
    with h5py.File(out, "r") as f, h5py.File(tmp_path / "other_seed.h5", "r") as g:
        assert not any(np.array_equal(x, y) for x, y in zip(f["inputs"][:2], g["inputs"][()]))


@pytest.fixture
def files(tmp_path):
    junk, bare, existing = tmp_path / "junk.h5", tmp_path / "bare.h5", tmp_path / "existing.h5"
    junk.write_text("not a dataset")
    with h5py.File(bare, "w") as f:
        f["inputs"] = np.zeros(3)
    existing.write_text("")
    return {"junk": junk, "bare": bare, "existing": existing, "new": tmp_path / "new.h5", "missing": tmp_path / "no.h5"}

BAD = [
    (["generate", "nope", "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{new}"],
     "unknown problem 'nope' (known: " + ", ".join(PROBLEMS) + ")"),
    (["generate", NAME, "--n", "0", "--resolution", "16", "--seed", "0", "--out", "{new}"], "--n: expected an integer >= 1"),
    (["generate", NAME, "--n", "-3", "--resolution", "16", "--seed", "0", "--out", "{new}"], "--n: expected an integer >= 1"),
    (["generate", NAME, "--n", "2", "--resolution", "2", "--seed", "0", "--out", "{new}"], "--resolution 2: "),
    (["generate", NAME, "--n", "2", "--resolution", "x", "--seed", "0", "--out", "{new}"], "--resolution: expected an integer"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "-1", "--out", "{new}"], "--seed: expected an integer >= 0"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{existing}"], "existing.h5 already exists"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{new}", "--param", "zz=1"],
     "--param zz: " + NAME + " has no parameter 'zz'"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{new}", "--param", "oops"],
     "--param: expected KEY=VALUE"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{new}", "--device", "cuda:99"],
     "--device cuda:99: "),
    (["generate", NAME, "--n", "2", "--resolution", "16"], "required: --seed, --out"),
    (["generate", NAME, "--n", "2", "--resolution", "16", "--seed", "0", "--out", "{existing}/sub/x.h5"],
     "cannot write "),
    (["info", "{junk}"], "junk.h5 is not a sciml dataset"),
    (["info", "{bare}"], "bare.h5 is not a sciml dataset"),
    (["info", "{missing}"], "no.h5: no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_arguments_give_one_line_errors(capsys, files, argv, message):
    code, stdout, err = run(capsys, *[a.format(**files) for a in argv])
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("sciml") and "Traceback" not in err
    assert message in err
    assert not files["new"].exists() and not part_path(files["new"]).exists()


def test_resume_with_other_arguments_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "x.h5"
    monkeypatch.setattr(PROBLEMS[NAME], "solve", lambda self, a, grid: (_ for _ in ()).throw(KeyboardInterrupt))
    assert run(capsys, *generate_args(NAME, out, n=4))[0] == 130
    code, _, err = run(capsys, *generate_args(NAME, out, n=4, seed=7))
    assert code == 2 and err.count("\n") == 1
    assert f"cannot resume {part_path(out)} (0/4 samples): seed: file has 1, asked 7; delete it to start over" in err


def test_console_script_is_installed_and_reports_ctrl_c(tmp_path):
    """A real SIGINT to a real `sciml generate`: exit 130, the .part file is kept and resumable."""
    out = tmp_path / "sigint.h5"
    proc = subprocess.Popen(["sciml", *map(str, generate_args(NAME, out, n=200, chunk=1))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if read_info(part_path(out)).samples_done >= 1:
                break
        except Exception:  # the file may not exist yet, or be mid-flush: poll again
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume with: sciml generate" in err and "Traceback" not in err
    info = read_info(part_path(out))
    assert not info.complete and 1 <= info.samples_done < 200 and not out.exists()
