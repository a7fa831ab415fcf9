"""The `sciml` command line: generate -> info -> load round trips, resumption after signals and a full disk.

Bad inputs and faults, with their one-line errors, are the table of tests/test_cli_faults.py.
"""

import random
import re
import resource
import shlex
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.cli.data import build_problem
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


def arrays(path):
    with h5py.File(path, "r") as f:
        return f["inputs"][()], f["solutions"][()]


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
    assert PROBLEMS[name].from_params(read_info(out).params) == problem
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


def _interrupt_console_script(argv, out, sig, samples_done=1):
    """Run the installed `sciml` on ``argv`` and send it ``sig`` once ``out``'s partial file holds ``samples_done`` samples."""
    proc = subprocess.Popen(["sciml", *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if read_info(part_path(out)).samples_done >= samples_done:
                break
        except Exception:  # the file may not exist yet: poll again
            pass
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_console_script_is_installed_and_reports_ctrl_c_and_sigterm(tmp_path, capsys, sig, status):
    """A real signal to a real `sciml generate`: the .part file is kept, and the line it prints resumes it bit for bit."""
    out = tmp_path / "x.h5"
    argv = generate_args(NAME, out, n=60, chunk=2)
    code, err = _interrupt_console_script(argv, out, sig)
    assert code == status, err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"sciml generate: interrupted at \d+/60 samples; {re.escape(str(part_path(out)))} keeps them; "
                        rf"resume with: {re.escape(shlex.join(['sciml', *map(str, argv)]))}", line), line
    info = read_info(part_path(out))
    assert not info.complete and 1 <= info.samples_done < 60 and not out.exists()
    assert run(capsys, *shlex.split(line.split("resume with: ")[1])[1:])[0] == 0
    assert run(capsys, *generate_args(NAME, tmp_path / "straight.h5", n=60, chunk=2))[0] == 0
    for x, y in zip(arrays(out), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)


@pytest.mark.slow
def test_signals_at_random_moments_resume_bit_identically(tmp_path, capsys):
    """SIGKILL, SIGINT and SIGTERM, three of each at random moments of one generation: the file is the uninterrupted one."""
    out, moments = tmp_path / "x.h5", random.Random(0)
    argv = generate_args("burgers", out, n=40, chunk=3)
    stopped = []
    for sig in [signal.SIGKILL, signal.SIGINT, signal.SIGTERM] * 3:
        done = read_info(part_path(out)).samples_done if part_path(out).exists() else 0
        if done >= 36:
            break
        code, err = _interrupt_console_script(argv, out, sig, samples_done=done + moments.randrange(1, 6))
        assert code in ({signal.SIGKILL: -9, signal.SIGINT: 130, signal.SIGTERM: 143}[sig], 0) and "Traceback" not in err, err
        stopped += [sig] if code else []
    assert set(stopped) == {signal.SIGKILL, signal.SIGINT, signal.SIGTERM}
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, *generate_args("burgers", tmp_path / "straight.h5", n=40, chunk=3))[0] == 0
    for x, y in zip(arrays(out), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)


def test_a_full_disk_keeps_the_part_file_and_resumes_bit_identically(tmp_path, capsys):
    """Files limited to 200 kB (RLIMIT_FSIZE: EFBIG, as ENOSPC on a full disk): one line, then a resume once there is room."""
    def args(out):  # 40 samples at 65 x 65: 1.4 MB
        argv = generate_args(NAME, out, n=40, chunk=4)
        argv[argv.index("--resolution") + 1] = "65"
        return argv

    out = tmp_path / "x.h5"
    argv = args(out)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))
    try:
        code, _, err = run(capsys, *argv)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert code == 1 and f"{part_path(out)}: File too large; it keeps " in err and not out.exists()
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, *args(tmp_path / "straight.h5"))[0] == 0
    for x, y in zip(arrays(out), arrays(tmp_path / "straight.h5")):
        assert np.array_equal(x, y)


def test_overwrite_makes_the_first_command_repeatable(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert run(capsys, *generate_args(NAME, out, n=2))[0] == 0
    assert run(capsys, *generate_args(NAME, out, n=2))[0] == 2
    code, stdout, _ = run(capsys, *generate_args(NAME, out, n=3), "--overwrite")
    assert code == 0 and stdout.startswith(f"wrote {out}: 3 {NAME} samples") and read_info(out).n == 3


def test_info_verify_reads_every_sample(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert run(capsys, *generate_args(NAME, out, n=3))[0] == 0
    code, stdout, _ = run(capsys, "info", "--verify", out)
    assert code == 0 and stdout.splitlines()[0] == f"{out}: sciml dataset, 3/3 samples, complete; the 3 samples written match their checksums"
    assert "  checksums  Fletcher-32 and CRC-32 per sample and array, checked on every read\n" in stdout


def test_version_and_bare_command(capsys):
    code, stdout, _ = run(capsys, "--version")
    assert code == 0 and re.fullmatch(r"sciml 0\.1\.0 \(torch \S+, h5py \S+, Python \S+\)\n", stdout)
    code, stdout, err = run(capsys)
    assert code == 2 and stdout == "" and err.startswith("usage: sciml [-h] [--version] COMMAND ...\n")
    assert "    generate  generate a dataset file" in err and "    info      describe a dataset file" in err
