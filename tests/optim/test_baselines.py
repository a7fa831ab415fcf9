"""The single-objective baselines against torch's optimizers on the weighted sum, step for step."""

import copy

import pytest
import torch

from sciml.optim import LBFGS, SGD, Adam, AdamW

DTYPES = [torch.float32, torch.float64]
NAMES = ("pde", "bc", "ic")
WEIGHTS = {"pde": 2.0, "ic": 0.5}

# name -> (ours, torch's, keyword arguments both take)
CASES = {
    "adam": (Adam, torch.optim.Adam, {"weight_decay": 0.01}),
    "adam_amsgrad": (Adam, torch.optim.Adam, {"betas": (0.8, 0.99), "amsgrad": True}),
    "adamw": (AdamW, torch.optim.AdamW, {}),
    "adamw_amsgrad": (AdamW, torch.optim.AdamW, {"weight_decay": 0.1, "amsgrad": True, "eps": 1e-6}),
    "sgd": (SGD, torch.optim.SGD, {}),
    "sgd_momentum": (SGD, torch.optim.SGD, {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    "sgd_nesterov": (SGD, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}
LR = {Adam: 0.02, AdamW: 0.02, SGD: 1e-3}  # SGD: the quadratic's Hessian is 2 (2 + 300 + 0.01) I


def torch_closure(problem, optimizer, grad_clip):
    """What single-objective training does: the weighted sum, backward, ``clip_grad_norm_``."""

    def closure():
        optimizer.zero_grad()
        terms = problem.terms()
        loss = sum(WEIGHTS.get(name, 1.0) * terms[name] for name in NAMES)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(problem.parameters(), grad_clip)
        return loss

    return closure


@pytest.mark.parametrize("grad_clip", [None, 0.5])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_equals_torch_optimizer_step_for_step_and_across_a_state_dict(case, dtype, grad_clip, quadratic):
    ours = quadratic(NAMES, dtype)
    theirs = copy.deepcopy(ours)
    cls, torch_cls, hyper = CASES[case]

    def groups(problem):  # two parameter groups, the second with its own learning rate
        return [{"params": [problem.p]}, {"params": [problem.q], "lr": LR[cls] / 3}]

    optimizer = cls(groups(ours), NAMES, weights=WEIGHTS, grad_clip=grad_clip, lr=LR[cls], **hyper)
    reference = torch_cls(groups(theirs), lr=LR[cls], **hyper)
    for _ in range(100):
        optimizer.step(ours.terms)
        reference.step(torch_closure(theirs, reference, grad_clip))
        assert torch.equal(ours.theta(), theirs.theta())
    # each resumes from the other's state dict: the two formats are one
    resumed = cls(groups(ours), NAMES, weights=WEIGHTS, grad_clip=grad_clip, lr=LR[cls], **hyper)
    resumed.load_state_dict(reference.state_dict())
    resumed_reference = torch_cls(groups(theirs), lr=LR[cls], **hyper)
    resumed_reference.load_state_dict(optimizer.state_dict())
    for _ in range(50):
        resumed.step(ours.terms)
        resumed_reference.step(torch_closure(theirs, resumed_reference, grad_clip))
        assert torch.equal(ours.theta(), theirs.theta())
    if grad_clip is not None:  # one more step: the gradient it applied, left in .grad, has the clipped norm
        terms = ours.terms()
        loss = sum(WEIGHTS.get(name, 1.0) * terms[name] for name in NAMES)
        unclipped = torch.cat(torch.autograd.grad(loss, [ours.p, ours.q])).double().norm().item()
        resumed.step(ours.terms)
        applied = torch.cat([ours.p.grad, ours.q.grad]).double().norm().item()
        assert unclipped > 10 * grad_clip  # the bound is active
        tol = {torch.float32: 1e-6, torch.float64: 1e-14}[dtype]
        assert abs(applied - grad_clip * unclipped / (unclipped + 1e-6)) < tol * grad_clip


@pytest.mark.parametrize("dtype", DTYPES)
def test_lbfgs_equals_torch_lbfgs(dtype, quadratic):
    ours = quadratic(NAMES, dtype)
    theirs = copy.deepcopy(ours)
    hyper = {"max_iter": 4, "history_size": 3, "line_search_fn": "strong_wolfe"}
    optimizer = LBFGS(ours.parameters(), NAMES, weights=WEIGHTS, **hyper)
    reference = torch.optim.LBFGS(theirs.parameters(), **hyper)
    for _ in range(5):
        optimizer.step(ours.terms)
        reference.step(torch_closure(theirs, reference, None))
        assert torch.equal(ours.theta(), theirs.theta())


def test_lbfgs_refuses_grad_clip(quadratic):
    with pytest.raises(ValueError, match="LBFGS: grad_clip must be None, got 1.0: a clipped gradient breaks"):
        LBFGS(quadratic().parameters(), ("pde", "bc"), grad_clip=1.0)


def test_sgd_without_momentum_is_gradient_descent(quadratic):
    # theta_1 = theta_0 - lr * grad, with the gradient of the weighted sum
    problem = quadratic(NAMES)
    terms = problem.terms()
    grad = torch.autograd.grad(2.0 * terms["pde"] + terms["bc"] + 0.5 * terms["ic"], [problem.p, problem.q])
    expected = problem.theta().detach() - 1e-3 * torch.cat(grad)
    SGD(problem.parameters(), NAMES, weights=WEIGHTS, lr=1e-3).step(problem.terms)
    torch.testing.assert_close(problem.theta().detach(), expected, rtol=1e-15, atol=1e-15)


def test_adamw_decay_is_decoupled_from_the_gradient(quadratic):
    # zero loss gradients: Adam's step m / (sqrt(v) + eps) is 0, so AdamW only shrinks theta by the
    # factor 1 - lr * lambda; Adam's L2 penalty instead makes lambda * theta the gradient, and its
    # first step, normalised, moves every entry by lr * lambda |theta| / (lambda |theta| + eps) ~ lr
    adamw = quadratic(NAMES)
    adam = copy.deepcopy(adamw)
    start = adamw.theta().detach().clone()

    def zero_gradients(problem):
        return lambda: {name: 0.0 * value for name, value in problem.terms().items()}

    AdamW(adamw.parameters(), NAMES, lr=0.1, weight_decay=0.5).step(zero_gradients(adamw))
    Adam(adam.parameters(), NAMES, lr=0.1, weight_decay=0.5).step(zero_gradients(adam))
    assert torch.equal(adamw.theta().detach(), start * (1 - 0.1 * 0.5))
    torch.testing.assert_close(adam.theta().detach(), start - 0.1 * start.sign(), rtol=1e-7, atol=0)
