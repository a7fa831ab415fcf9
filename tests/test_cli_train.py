"""`sciml train` and `sciml eval` end to end on a tiny generated Darcy problem: the run's files, exact resume after
SIGKILL, two processes under torchrun matching one, and the evaluation's table, JSON and plots."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from sciml.cli import main
from sciml.train import load_checkpoint

CONFIG = """
[data]
train = {{ problem = "darcy", n = 12, resolution = 9, seed = 0 }}
test = {{ problem = "darcy", n = 4, resolution = 17, seed = 1 }}
resolution = 9
cache = "{cache}"

[model]
name = "fno"
modes = [3, 3]
width = 6
n_layers = 2

[train]
epochs = {epochs}
batch_size = 4
lr = 1e-2
schedule = "cosine"
eval_every = 1
checkpoint_every = 1
"""


@pytest.fixture
def config(tmp_path):
    def write(epochs=3, name="run.toml"):
        path = tmp_path / name
        path.write_text(CONFIG.format(cache=tmp_path / "cache", epochs=epochs))
        return path

    return write


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def weights(run_dir):
    return load_checkpoint(run_dir / "checkpoint.pt")["model"]


def test_train_writes_a_run_and_eval_reports_zero_shot_errors(tmp_path, config, capsys):
    out = tmp_path / "run"
    code, stdout, stderr = run(capsys, "train", config(), "--out", out, "--quiet")
    assert code == 0, stderr
    assert stdout.startswith(f"trained {out}: 3 epochs, 9 steps")
    for name in ("config.toml", "metrics.csv", "checkpoint.pt", "plots/loss.png", "plots/test_samples.png"):
        assert (out / name).is_file(), name
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,time,train_data,lr,test_rel_l2,test_rel_h1" and len(rows) == 4
    state = load_checkpoint(out / "checkpoint.pt")
    assert {"model", "optimizer", "scheduler", "rng", "progress", "input_normalizer", "output_normalizer"} <= set(state)

    test_file = next((tmp_path / "cache").glob("darcy-n4-r17-*.h5"))
    code, stdout, stderr = run(capsys, "eval", out, "--data", test_file, "--resolution", 9, "--json", tmp_path / "m.json")
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert set(metrics) == {"rel_l2", "rel_h1", "residual_pred", "residual_ref", "rel_l2_at_9"}
    assert all(0 < v < 10 for v in metrics.values())
    # at the training resolution the evaluation agrees with the run's last test row
    assert metrics["rel_l2_at_9"] == pytest.approx(float(rows[-1].split(",")[5]), rel=1e-6)
    assert "rel_l2_at_9" in stdout and (out / "plots" / "eval_resolution.png").is_file()
    # without --data: the run's own test split (here the cached generated one)
    code, stdout, _ = run(capsys, "eval", out)
    assert code == 0 and f"on {test_file} (4 samples of darcy on nodal 17x17" in stdout


def test_overwrite_replaces_a_run(tmp_path, config, capsys):
    # refusing to overwrite without --overwrite, and resuming another configuration: rows of tests/test_cli_faults.py
    out = tmp_path / "run"
    assert run(capsys, "train", config(epochs=2), "--out", out, "--quiet")[0] == 0
    (out / "notes.txt").write_text("from the first run")
    assert run(capsys, "train", config(), "--out", out, "--overwrite", "--quiet")[0] == 0
    assert not (out / "notes.txt").exists() and len((out / "metrics.csv").read_text().splitlines()) == 4


def test_complex_moments_and_a_cosine_period_reach_the_optimizer_and_the_schedule(tmp_path, config, capsys):
    out = tmp_path / "run"
    code, _, stderr = run(capsys, "train", config(), "--out", out, "--quiet", "--set", "train.optimizer=adamw",
                          "--set", "train.optimizer_options={ complex_moments = true }", "--set", "train.cosine_epochs=6")
    assert code == 0, stderr
    state = load_checkpoint(out / "checkpoint.pt")
    moments = [(s["exp_avg"].shape, s["exp_avg_sq"].shape) for s in state["optimizer"]["state"].values()]
    paired = [m for m in moments if m[1] != m[0]]
    assert len(paired) == 2 and all(m[0][-1] == 2 and m[1] == (*m[0][:-1], 1) for m in paired)  # one per layer's weight
    # 3 of 6 cosine epochs: lr (1 + cos(pi / 2)) / 2, not the zero the default period (the run's 3 epochs) reaches
    assert state["scheduler"]["_last_lr"][0] == pytest.approx(1e-2 / 2, rel=1e-9)


KILLER = """
import os, signal, sys
from sciml.train import objective
calls = [0]
original = objective.OperatorObjective.__call__
def counting(self, model, batch):
    calls[0] += 1
    if calls[0] == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, model, batch)
objective.OperatorObjective.__call__ = counting
from sciml.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_physics_informed_fno_under_config_lowers_both_terms_every_epoch(tmp_path, config, capsys):
    """PINO with ConFIG: the data term (its weight 1 by default) and Darcy's residual on the prediction as two
    named terms; ConFIG's update has a positive cosine with each term's gradient, so neither term's epoch mean
    rises."""
    out = tmp_path / "pino"
    code, _, stderr = run(capsys, "train", config(epochs=6), "--out", out, "--quiet",
                          "--set", "loss.weights.pde=1.0", "--set", 'train.optimizer="config"')
    assert code == 0, stderr
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,time,train_data,train_pde,")
    data, pde = ([float(row.split(",")[column]) for row in rows[1:]] for column in (3, 4))
    assert all(b < a for a, b in zip(data, data[1:])) and all(b < a for a, b in zip(pde, pde[1:])), (data, pde)


def test_a_run_killed_mid_epoch_resumes_to_bit_identical_weights(tmp_path, config, capsys):
    cfg = config(epochs=4)
    assert run(capsys, "train", cfg, "--out", tmp_path / "whole", "--quiet")[0] == 0
    # SIGKILL during step 6 (epoch 2 of 4, batch 3 of 3): the checkpoint of step 5 survives
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(kill_at=6))
    killed = subprocess.run([sys.executable, str(script), "train", str(cfg), "--out", str(tmp_path / "cut"), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["progress"]["step"] == 5
    code, _, stderr = run(capsys, "train", cfg, "--out", tmp_path / "cut", "--resume", "--quiet")
    assert code == 0, stderr
    whole, cut = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(whole[key], cut[key]) for key in whole)
    assert (tmp_path / "whole" / "metrics.csv").read_text().count("\n") == (tmp_path / "cut" / "metrics.csv").read_text().count("\n")


def test_two_processes_under_torchrun_match_one(tmp_path, config, capsys):
    cfg = config(epochs=2)
    assert run(capsys, "train", cfg, "--out", tmp_path / "one", "--quiet")[0] == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
                             "-m", "sciml", "train", str(cfg), "--out", str(tmp_path / "two"), "--quiet"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6)
    # really two reductions: the summation order differs, so some weights differ in their last bits (a few
    # small tensors may still round alike: after 6 steps of Adam, projection.fc1.bias did once)
    assert sum(not torch.equal(two[key], one[key]) for key in one) > len(one) // 2


# bad configurations, data files and run directories: rows of tests/test_cli_faults.py


def test_navier_stokes_frames_in_and_an_autoregressive_rollout_out(tmp_path, capsys):
    # 6 frames: 2 in, 4 rolled out one at a time; the run's model is the FNO wrapped in the rollout
    cfg = tmp_path / "ns.toml"
    params = "params = { solver_resolution = 8, final_time = 3.0, frame_interval = 0.5, time_step = 0.1 }"
    cfg.write_text(textwrap.dedent(f"""
        [data]
        train = {{ problem = "navier_stokes", n = 6, resolution = 8, seed = 0, {params} }}
        test = {{ problem = "navier_stokes", n = 2, resolution = 8, seed = 1, {params} }}
        input_frames = 2
        cache = "{tmp_path / 'cache'}"
        [model]
        name = "fno"
        modes = [2, 2]
        width = 4
        n_layers = 1
        rollout_step = 1
        [train]
        epochs = 2
        batch_size = 3
        """))
    out = tmp_path / "run"
    code, _, stderr = run(capsys, "train", cfg, "--out", out, "--quiet")
    assert code == 0, stderr
    state = weights(out)
    assert state["model.lifting.fc1.weight"].shape[1] == 2 + 2  # two frames and two coordinates in
    assert state["model.projection.fc2.weight"].shape[0] == 1  # one frame out per call
    # one affine map for every frame, in and out, so that predicted frames re-enter the window as the inputs did;
    # the same from the file streamed
    streamed = tmp_path / "streamed"
    code, _, stderr = run(capsys, "train", cfg, "--out", streamed, "--quiet", "--set", "data.in_memory=false")
    assert code == 0, stderr
    for run_dir in (out, streamed):
        saved = load_checkpoint(run_dir / "checkpoint.pt")
        first = saved["input_normalizer"]["std"][0]
        for name, frames in (("input_normalizer", 2), ("output_normalizer", 4)):
            for key in ("mean", "std"):
                values = saved[name][key]
                assert values.shape == (frames,) and torch.all(values == values[0])
            torch.testing.assert_close(saved[name]["std"][0], first, rtol=0, atol=0)
        assert first > 0
    code, stdout, _ = run(capsys, "eval", out)
    assert code == 0 and "rel_l2" in stdout and "residual_pred" not in stdout  # frames split off: no residual layout


def test_training_and_evaluating_on_a_neuraloperator_pt_file(tmp_path, capsys):
    # neuraloperator's small-Darcy layout: x (n, 16, 16) 0/1 coefficients, y (n, 16, 16) solutions
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(10, 16, 16, generator=generator) > 0.5).float()
    data = tmp_path / "darcy_train_16.pt"
    torch.save({"x": x, "y": 0.1 * x + 0.01}, data)
    cfg = tmp_path / "pt.toml"
    cfg.write_text(textwrap.dedent(f"""
        [data]
        train = "{data}"
        test = "{data}"
        [model]
        name = "fno"
        modes = [4, 4]
        width = 4
        n_layers = 1
        [train]
        epochs = 1
        batch_size = 5
        """))
    code, _, stderr = run(capsys, "train", cfg, "--out", tmp_path / "run", "--quiet")
    assert code == 0, stderr
    code, stdout, stderr = run(capsys, "eval", tmp_path / "run", "--data", data, "--resolution", 8)
    assert code == 0 and "rel_l2_at_8" in stdout and "residual" not in stdout  # no problem: no residual
    # 8 points resolve |k| <= 3 of the model's 4 modes: said once, as one line
    assert stderr.splitlines() == ["sciml eval: warning: FNO: a grid of (8, 8) points resolves fewer than modes=(4, 4); "
                                   "keeping min(K, (n - 1) // 2) per axis"]


PINN = """
[pinn]
problem = "poisson"
classic = true
n_interior = 64
n_condition = 16
steps_per_epoch = {steps}
resample = {resample}
eval_points = 256

[model]
name = "pinn"
hidden_features = 8
n_layers = 2

[train]
epochs = 2
batch_size = 1
optimizer = "{optimizer}"
lr = {lr}
precision = "{precision}"

[loss]
weights = {{ pde = 1.0, bc = 10.0 }}
"""


@pytest.mark.parametrize("optimizer, lr, precision, steps", [("adam", 1e-2, "float32", 4), ("natgrad", 1.0, "float64", 2)])
def test_a_pinn_trains_from_a_pinn_section_and_eval_reports_its_residual(tmp_path, capsys, optimizer, lr, precision, steps):
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(PINN.format(steps=steps, resample="false", optimizer=optimizer, lr=lr, precision=precision))
    out = tmp_path / "run"
    code, _, stderr = run(capsys, "train", cfg, "--out", out, "--quiet")
    assert code == 0, stderr
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,time,train_pde,train_bc,lr,test_rel_l2" and len(rows) == 3
    first, last = (float(rows[i].split(",")[3]) for i in (1, 2))
    assert last < first  # the residual term decreases
    code, stdout, _ = run(capsys, "eval", out, "--json", tmp_path / "m.json")
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert code == 0 and set(metrics) == {"rel_l2", "residual_pred", "residual_ref"}
    assert metrics["residual_ref"] < 1e-4 < metrics["residual_pred"]  # the exact solution's residual: round-off (float32 points)
    assert (out / "plots" / "solution.png").is_file()


def test_pinn_configuration_errors_name_the_key(tmp_path, capsys):
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(PINN.format(steps=1, resample="true", optimizer="adam", lr=1e-3, precision="float32"))
    for override, message in (("loss.weights.ic=1", "loss.weights.ic: not a term of this PINN (terms: pde, bc)"),
                              ("pinn.problem='darcy'", "pinn.classic: 'darcy' has no classic PINN setup"),
                              ("pinn.method='grid'", "pinn: method: must be uniform, lhs or sobol")):
        code, _, stderr = run(capsys, "train", cfg, "--out", tmp_path / "r", "--set", override)
        assert code == 2 and message in stderr, (override, stderr)
