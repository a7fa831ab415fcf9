"""The named-terms contract, convergence towards the Pareto set, resume, for every optimizer."""

import copy
import io

import pytest
import torch

from sciml.optim import LBFGS, Adam, ConFIG, MConFIG, MultiAdam, conflict_free

DTYPES = [torch.float32, torch.float64]

# name -> (factory(params, terms), steps that bring the quadratic within 10% of its Pareto set)
OPTIMIZERS = {
    "adam": (lambda params, terms: Adam(params, terms, lr=0.05), 300),
    "lbfgs": (lambda params, terms: LBFGS(params, terms, line_search_fn="strong_wolfe"), 3),
    "config": (lambda params, terms: ConFIG(params, terms, lr=0.05), 300),
    "mconfig": (lambda params, terms: MConFIG(params, terms, lr=0.05), 300),
    "multiadam": (lambda params, terms: MultiAdam(params, terms, lr=0.1), 500),
}


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


@pytest.mark.parametrize("cls", [Adam, LBFGS, ConFIG, MConFIG, MultiAdam])
def test_configuration_errors_are_loud(cls, quadratic):
    params = list(quadratic(("pde", "bc")).parameters())
    with pytest.raises(ValueError, match="distinct"):
        cls(params, ("pde", "pde"))
    with pytest.raises(TypeError, match="sequence of term names"):
        cls(params, "pde")
    if cls in (Adam, LBFGS):
        with pytest.raises(ValueError, match="weights names term 'ic'"):
            cls(params, ("pde", "bc"), weights={"ic": 2.0})


def test_weights_scale_the_single_objective(quadratic):
    problem = quadratic(("pde", "bc"))
    terms = problem.terms()
    expected = torch.autograd.grad(2.0 * terms["pde"] + terms["bc"], [problem.p, problem.q])
    Adam(problem.parameters(), ("pde", "bc"), weights={"pde": 2.0}).step(problem.terms)
    # Adam leaves the gradient it stepped with in .grad; missing names ("bc") weigh 1
    assert torch.equal(problem.p.grad, expected[0]) and torch.equal(problem.q.grad, expected[1])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip_continues_bit_identically(name, quadratic):
    make = OPTIMIZERS[name][0]
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


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_deepcopy_of_model_and_optimizer_continues_identically(name, quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = OPTIMIZERS[name][0](problem.parameters(), ("pde", "bc"))
    for _ in range(3):
        optimizer.step(problem.terms)
    twin, twin_optimizer = copy.deepcopy((problem, optimizer))  # one memo: the copy steps the copied model
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
