"""The named-terms contract, convergence towards the Pareto set, resume, for every optimizer."""

import copy
import functools
import io
import math

import pytest
import torch

from sciml.optim import LBFGS, SGD, Adam, AdamW, ConFIG, MConFIG, MultiAdam, conflict_free

DTYPES = [torch.float32, torch.float64]

# name -> (factory(params, terms, **kwargs), steps that bring the quadratic within 10% of its Pareto set)
OPTIMIZERS = {
    "adam": (lambda params, terms, **kwargs: Adam(params, terms, lr=0.05, **kwargs), 300),
    "adamw": (lambda params, terms, **kwargs: AdamW(params, terms, lr=0.05, **kwargs), 300),
    "sgd": (lambda params, terms, **kwargs: SGD(params, terms, lr=1e-3, momentum=0.9, nesterov=True, **kwargs), 100),
    "lbfgs": (lambda params, terms, **kwargs: LBFGS(params, terms, line_search_fn="strong_wolfe", **kwargs), 3),
    "config": (lambda params, terms, **kwargs: ConFIG(params, terms, lr=0.05, **kwargs), 300),
    "mconfig": (lambda params, terms, **kwargs: MConFIG(params, terms, lr=0.05, **kwargs), 300),
    "multiadam": (lambda params, terms, **kwargs: MultiAdam(params, terms, lr=0.1, **kwargs), 500),
}
CLIPPED = [name for name in OPTIMIZERS if name != "lbfgs"]  # L-BFGS refuses grad_clip
# every optimizer unclipped, and those that clip with a bound that is active on the quadratic
WITH_CLIP = [(name, None) for name in OPTIMIZERS] + [(name, 0.5) for name in CLIPPED]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_decreases_conflicting_quadratic_towards_pareto_set(name, dtype, quadratic):
    problem = quadratic(("pde", "bc"), dtype)
    make, steps = OPTIMIZERS[name]
    optimizer = make(problem.parameters(), ("pde", "bc"))
    start = problem.distance_to_pareto_segment()
    for _ in range(steps):
        optimizer.step(problem.terms)
    assert problem.distance_to_pareto_segment() < 0.1 * start
    assert problem.p.dtype == dtype


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_returns_the_first_evaluation_detached(name, quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = OPTIMIZERS[name][0](problem.parameters(), ("pde", "bc"))
    before = {k: v.detach().clone() for k, v in problem.terms().items()}
    calls = []

    def closure():
        calls.append(1)
        return problem.terms()

    returned = optimizer.step(closure)
    assert list(returned) == ["pde", "bc"]
    for key, value in returned.items():
        assert not value.requires_grad and torch.equal(value, before[key])
    assert len(calls) == 1 or name == "lbfgs"  # L-BFGS re-evaluates in its iterations and line search
    if name == "lbfgs":
        assert len(calls) > 1


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_closure_errors_name_the_offending_term(name, quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = OPTIMIZERS[name][0](problem.parameters(), ("pde", "bc"))
    theta = problem.theta()
    cases = {
        "'ic', which this optimizer was not configured for": lambda: {**problem.terms(), "ic": theta.sum()},
        r"did not return the configured term\(s\) \['bc'\]": lambda: {"pde": theta.square().sum()},
        "returned no loss terms": dict,
        "term 'bc' must be a 0-dim floating tensor, got \\(5,\\)": lambda: {"pde": theta.sum(), "bc": theta},
        "term 'bc' does not require grad": lambda: {"pde": theta.sum(), "bc": torch.tensor(1.0)},
        "must return a dict": lambda: theta.sum(),
    }
    for message, closure in cases.items():
        with pytest.raises((ValueError, TypeError), match=message):
            optimizer.step(closure)


@pytest.mark.parametrize("cls", [Adam, AdamW, SGD, LBFGS, ConFIG, MConFIG, MultiAdam])
def test_configuration_errors_are_loud(cls, quadratic):
    params = list(quadratic(("pde", "bc")).parameters())
    with pytest.raises(ValueError, match="distinct"):
        cls(params, ("pde", "pde"))
    with pytest.raises(TypeError, match="sequence of term names"):
        cls(params, "pde")
    if cls in (Adam, AdamW, SGD, LBFGS):
        with pytest.raises(ValueError, match="weights names term 'ic'"):
            cls(params, ("pde", "bc"), weights={"ic": 2.0})
    if cls is not LBFGS:  # which refuses every grad_clip (tests/optim/test_baselines.py)
        for bad in (0.0, -1.0, math.inf, math.nan):
            with pytest.raises(ValueError, match=f"{cls.__name__}: grad_clip must be positive and finite, got"):
                cls(params, ("pde", "bc"), grad_clip=bad)
        for bad in ("1.0", True, torch.tensor(1.0)):
            with pytest.raises(TypeError, match=f"{cls.__name__}: grad_clip must be a positive number or None"):
                cls(params, ("pde", "bc"), grad_clip=bad)
        assert cls(params, ("pde", "bc"), grad_clip=2).grad_clip == 2.0  # TOML may give an integer


def test_weights_scale_the_single_objective(quadratic):
    problem = quadratic(("pde", "bc"))
    terms = problem.terms()
    expected = torch.autograd.grad(2.0 * terms["pde"] + terms["bc"], [problem.p, problem.q])
    Adam(problem.parameters(), ("pde", "bc"), weights={"pde": 2.0}).step(problem.terms)
    # Adam leaves the gradient it stepped with in .grad; missing names ("bc") weigh 1
    assert torch.equal(problem.p.grad, expected[0]) and torch.equal(problem.q.grad, expected[1])


@pytest.mark.parametrize(("name", "grad_clip"), WITH_CLIP)
def test_state_dict_round_trip_continues_bit_identically(name, grad_clip, quadratic):
    make = functools.partial(OPTIMIZERS[name][0], grad_clip=grad_clip)
    problem = quadratic(("pde", "bc"))
    optimizer = make(problem.parameters(), ("pde", "bc"))
    for _ in range(5):
        optimizer.step(problem.terms)
    buffer = io.BytesIO()  # what a checkpoint does: torch.save, then load without unpickling code
    torch.save({"model": problem.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    resumed = copy.deepcopy(problem)
    for _ in range(5):
        optimizer.step(problem.terms)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed.load_state_dict(saved["model"])
    resumed_optimizer = make(resumed.parameters(), ("pde", "bc"))
    resumed_optimizer.load_state_dict(saved["optimizer"])
    for _ in range(5):
        resumed_optimizer.step(resumed.terms)
    assert torch.equal(resumed.theta(), problem.theta())


@pytest.mark.parametrize(("name", "grad_clip"), WITH_CLIP)
def test_deepcopy_of_model_and_optimizer_continues_identically(name, grad_clip, quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = OPTIMIZERS[name][0](problem.parameters(), ("pde", "bc"), grad_clip=grad_clip)
    for _ in range(3):
        optimizer.step(problem.terms)
    twin, twin_optimizer = copy.deepcopy((problem, optimizer))  # one memo: the copy steps the copied model
    assert twin_optimizer.grad_clip == grad_clip
    for _ in range(3):
        optimizer.step(problem.terms)
        twin_optimizer.step(twin.terms)
    assert torch.equal(twin.theta(), problem.theta())


def test_config_applies_the_conflict_free_direction_with_the_inner_optimizer(quadratic):
    problem = quadratic(("pde", "bc", "ic"))
    terms = problem.terms()
    params = [problem.p, problem.q]
    grads = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(t, params)]) for t in terms.values()])
    expected = problem.theta().detach() - 0.01 * conflict_free(grads)
    ConFIG(problem.parameters(), ("pde", "bc", "ic"), lr=0.01, inner=torch.optim.SGD).step(problem.terms)
    torch.testing.assert_close(problem.theta().detach(), expected, rtol=1e-14, atol=1e-14)


def test_config_clips_the_conflict_free_direction(quadratic):
    problem = quadratic(("pde", "bc", "ic"))
    terms = problem.terms()
    params = [problem.p, problem.q]
    grads = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(t, params)]) for t in terms.values()])
    holder = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    holder.grad = conflict_free(grads)
    total = torch.nn.utils.clip_grad_norm_([holder], 0.5)
    assert total > 10 * 0.5  # the bound is active
    optimizer = ConFIG(problem.parameters(), ("pde", "bc", "ic"), lr=0.01, inner=torch.optim.SGD, grad_clip=0.5)
    optimizer.step(problem.terms)
    applied = torch.cat([problem.p.grad, problem.q.grad])  # what SGD stepped with
    assert torch.equal(applied, holder.grad)
    torch.testing.assert_close(applied.norm(), 0.5 * total / (total + 1e-6), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", CLIPPED)
def test_a_grad_clip_that_is_never_reached_changes_nothing(name, quadratic):
    names = ("pde", "bc", "ic")
    plain = quadratic(names)
    clipped = copy.deepcopy(plain)
    start = plain.theta().detach().clone()
    make = OPTIMIZERS[name][0]
    optimizer, clipping = make(plain.parameters(), names), make(clipped.parameters(), names, grad_clip=1e30)
    for _ in range(20):
        optimizer.step(plain.terms)
        clipping.step(clipped.terms)
    assert torch.equal(plain.theta(), clipped.theta()) and not torch.equal(plain.theta(), start)


@pytest.mark.parametrize("name", CLIPPED)
def test_a_non_finite_gradient_is_an_error_not_clipped(name, quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = OPTIMIZERS[name][0](problem.parameters(), ("pde", "bc"), grad_clip=0.5)
    optimizer.step(problem.terms)  # M-ConFIG's first step only fills a moment
    twin, twin_optimizer = copy.deepcopy((problem, optimizer))
    before = problem.theta().detach().clone()

    def kinked():  # finite terms, each with an infinite gradient: d sqrt(x) / dx at x = 0
        kink = (problem.p[0] - problem.p[0].detach()).sqrt()
        return {name: value + kink for name, value in problem.terms().items()}

    assert all(torch.isfinite(value) for value in kinked().values())
    who = type(optimizer).__name__
    with pytest.raises(FloatingPointError, match=f"{who}: the gradient has norm (inf|nan), which grad_clip cannot"):
        optimizer.step(kinked)
    assert torch.equal(problem.theta(), before)  # no update
    if name != "mconfig":  # nor any state: the run goes on as if the step had not been tried
        for _ in range(3):
            optimizer.step(problem.terms)
            twin_optimizer.step(twin.terms)
        assert torch.equal(problem.theta(), twin.theta())


def test_lr_scheduler_and_param_groups_reach_the_inner_optimizer(quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = ConFIG(
        [{"params": [problem.p]}, {"params": [problem.q], "lr": 0.5}], ("pde", "bc"), lr=0.1, inner=torch.optim.SGD
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    optimizer.step(problem.terms)
    scheduler.step()
    assert [g["lr"] for g in optimizer.inner.param_groups] == [0.05, 0.25]
    optimizer.load_state_dict(optimizer.state_dict())
    scheduler.step()
    assert [g["lr"] for g in optimizer.inner.param_groups] == [0.025, 0.125]


def test_config_rejects_a_non_optimizer_inner(quadratic):
    with pytest.raises(TypeError, match="inner must be a torch.optim.Optimizer subclass"):
        ConFIG(quadratic().parameters(), ("pde", "bc"), inner=conflict_free)
    with pytest.raises(ValueError, match="learning rate as lr"):
        ConFIG(quadratic().parameters(), ("pde", "bc"), inner_kwargs={"lr": 1.0})


@pytest.mark.parametrize("dtype", DTYPES)
def test_config_trajectory_equals_the_reference_loop(reference, dtype, quadratic):
    names = ("pde", "bc", "ic")
    ours, theirs = quadratic(names, dtype), None
    theirs = copy.deepcopy(ours)
    optimizer = ConFIG(ours.parameters(), names, lr=0.02)
    # the reference's documented loop: one backward per loss, then its operator, then Adam
    utils, operators = reference.utils, reference.grad_operator
    operator = operators.ConFIGOperator(weight_model=_equal_weights(reference))
    adam = torch.optim.Adam(theirs.parameters(), lr=0.02)
    for _ in range(50):
        optimizer.step(ours.terms)
        grads = []
        for loss in theirs.terms().values():
            adam.zero_grad()
            loss.backward()
            grads.append(utils.get_gradient_vector(theirs))
        utils.apply_gradient_vector(theirs, operator.calculate_gradient(grads))
        adam.step()
    tol = {torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(ours.theta(), theirs.theta(), rtol=tol, atol=tol)


def _equal_weights(reference):
    """The reference's equal weights in the gradients' dtype (its own are always float32)."""

    class EqualWeight(reference.weight_model.EqualWeight):
        def get_weights(self, gradients, losses=None, device=None):
            return torch.ones(gradients.shape[0], dtype=gradients.dtype, device=device)

    return EqualWeight()
