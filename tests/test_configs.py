"""Every shipped configuration parses, names a registered problem with valid parameters, and builds its model
and optimizer for the channels its data will have (no data are generated here)."""

import pytest

from sciml.cli.build import build_model, build_optimizer, problem_from
from sciml.cli.config import load_config, shipped_configs
from sciml.models.autoregressive import Autoregressive
from sciml.problem import AbstractEvolutionProblem


def test_the_issue_s_benchmarks_are_shipped():
    names = set(shipped_configs())
    for stem in ("darcy_fno_small", "fno_darcy", "fno_burgers", "fno_navier_stokes", "fno_navier_stokes_1e-5"):
        assert stem in names and (stem == "darcy_fno_small" or f"{stem}_cpu" in names)


@pytest.mark.parametrize("name", shipped_configs())
def test_shipped_config_builds(name):
    config = load_config(name)
    for where, source in (("data.train", config.data.train), ("data.test", config.data.test)):
        problem = problem_from(source.problem, source.params, where)
        problem.grid(source.resolution)
        if config.data.resolution is not None:
            problem.grid(config.data.resolution)
    frames = problem.n_frames if isinstance(problem, AbstractEvolutionProblem) else 1
    in_channels, out_channels = problem.input_channels, problem.solution_channels * frames
    if config.data.input_frames is not None:
        in_channels, out_channels = config.data.input_frames, frames - config.data.input_frames
    model = build_model(config.model, in_channels, out_channels, config.train.seed)
    assert isinstance(model, Autoregressive) == ("rollout_step" in config.model)
    build_optimizer(config.train, list(model.parameters()), config.loss.terms)
