"""The training loop: it fits, it resumes bit for bit from any checkpoint, and it stops on a non-finite loss before updating."""

import dataclasses

import pytest
import torch
from torch import nn

from sciml.optim import Adam
from sciml.train import Batches, NonFiniteLoss, Progress, RunDirectory, fit, load_checkpoint, set_rng_state

TRUE = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64)


def data(n=40):
    x = torch.randn(n, 3, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # (n, C_in=3, S=1)
    return x, torch.einsum("oi,nis->nos", TRUE, x)  # (n, 1, 1): a linear map to learn


def objective(model, batch):
    a, u = batch
    return {"data": (model(a.transpose(1, 2)).transpose(1, 2) - u).square().flatten(1).sum(1)}


def setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(3, 1, bias=False).double()
    optimizer = Adam(model.parameters(), ("data",), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.7)
    return model, optimizer, scheduler


def test_fit_learns_a_linear_map_and_logs_every_evaluation(tmp_path):
    model, optimizer, _ = setup()
    x, u = data()
    run = RunDirectory(tmp_path)
    progress = fit(model, optimizer, objective, Batches(x, u, 8, seed=1), 60, run=run, eval_every=20,
                   evaluate=lambda: {"error": (model.weight - TRUE).norm().item()}, show_progress=False)
    assert progress.step == 60 * 5 and progress.epoch == 60
    assert (model.weight - TRUE).abs().max() < 1e-4
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,time,train_data,lr,error" and len(rows) == 4
    assert (tmp_path / "plots" / "loss.png").stat().st_size > 0


def test_resuming_from_a_mid_epoch_checkpoint_is_bit_identical(tmp_path):
    x, u = data()
    model, optimizer, scheduler = setup()
    fit(model, optimizer, objective, Batches(x, u, 8, seed=1), 6, scheduler=scheduler, show_progress=False)
    reference = model.weight.detach().clone()

    # an interrupted run: checkpoints every 3 steps; stop after 13 steps (mid-epoch 3), keep the checkpoint of step 12
    model, optimizer, scheduler = setup()
    run = RunDirectory(tmp_path)

    class Stop(Exception):
        pass

    def stopping(m, batch):
        if optimizer.state and optimizer.state[model.weight]["step"] == 13:
            raise Stop
        return objective(m, batch)

    with pytest.raises(Stop):
        fit(model, optimizer, stopping, Batches(x, u, 8, seed=1), 6, scheduler=scheduler, run=run, checkpoint_every=3,
            show_progress=False)
    state = load_checkpoint(run.checkpoint_path)
    assert state["progress"]["step"] == 12 and state["progress"]["batch"] == 2  # epoch 2, mid-epoch

    model, optimizer, scheduler = setup(seed=99)  # another initialization: the checkpoint must overwrite it
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    fit(model, optimizer, objective, Batches(x, u, 8, seed=1), 6, scheduler=scheduler, progress=Progress(**state["progress"]),
        show_progress=False)
    assert torch.equal(model.weight, reference)


def test_a_non_finite_loss_stops_the_run_before_the_update():
    model, optimizer, _ = setup()
    x, u = data()
    u[7] = float("nan")
    before = model.weight.detach().clone()
    with pytest.raises(NonFiniteLoss, match=r"step 1: loss term 'data' is nan"):
        fit(model, optimizer, objective, Batches(x, u, 40, seed=1), 1, show_progress=False)
    assert torch.equal(model.weight, before)


def test_progress_round_trips_through_a_checkpoint(tmp_path):
    progress = Progress(epoch=2, batch=1, step=9, elapsed=1.5, sums={"data": 0.25}, samples=8)
    RunDirectory(tmp_path).save_checkpoint({"progress": dataclasses.asdict(progress)})
    assert Progress(**load_checkpoint(tmp_path / "checkpoint.pt")["progress"]) == progress


def test_a_bf16_forward_trains_an_fno():
    from sciml.models import FNO
    from sciml.train import OperatorObjective

    generator = torch.Generator().manual_seed(0)
    a = torch.randn(8, 1, 12, 12, generator=generator)
    u = 2 * a + 1
    model = FNO(1, 1, (3, 3), 8, n_layers=2, generator=generator)
    objective = OperatorObjective({"data": 1.0})
    optimizer = Adam(model.parameters(), objective.terms, lr=1e-2)
    start = objective(model, (a, u))["data"].mean().item()
    fit(model, optimizer, objective, Batches(a, u, 4, seed=0), 20, precision="bf16", show_progress=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        end = objective(model, (a, u))["data"].mean().item()
    assert end < 0.5 * start  # bfloat16 forward, float32 weights and optimizer: it still learns


def test_tensorboard_events_are_written_when_tensorboard_is_installed(tmp_path):
    pytest.importorskip("tensorboard")
    run = RunDirectory(tmp_path)
    run.log({"epoch": 1, "step": 3, "time": 0.1, "train_data": 0.5, "lr": 1e-3})
    assert list(tmp_path.glob("events.out.tfevents.*"))
