"""M-ConFIG against the reference ``PseudoMomentumOperator``: the rule and the optimizer."""

import copy

import pytest
import torch

from sciml.optim import MConFIG, pseudo_momentum

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}


def operator_for(reference, m):
    """The reference's M-ConFIG operator, with equal weights in the gradients' dtype.

    Its default EqualWeight returns float32 ones, which its least-squares path (m >= 3) refuses to
    combine with float64 gradients; the weights themselves are the same.
    """

    class EqualWeight(reference.weight_model.EqualWeight):
        def get_weights(self, gradients, losses=None, device=None):
            return torch.ones(gradients.shape[0], dtype=gradients.dtype, device=device)

    inner = reference.grad_operator.ConFIGOperator(weight_model=EqualWeight())
    return reference.momentum_operator.PseudoMomentumOperator(num_vectors=m, gradient_operator=inner)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3])
def test_update_sequence_equals_pseudo_momentum_operator(reference, m, dtype, generator):
    n, steps = 40, 300
    # noisy gradients around m fixed, conflicting directions: the momenta stay apart, as in training
    centers = torch.randn(m, n, generator=generator, dtype=torch.float64)
    centers[1] = -0.8 * centers[0] + 0.6 * centers[1]
    noise = torch.randn(steps, n, generator=generator, dtype=torch.float64)
    sequence = [(centers[s % m] * (1 + s % 5) + 0.3 * noise[s]).to(dtype) for s in range(steps)]
    operator = operator_for(reference, m)
    exp_avgs = torch.zeros(m, n, dtype=dtype)
    pseudo_avg, pseudo_avg_sq = torch.zeros(n, dtype=dtype), torch.zeros(n, dtype=dtype)
    for s, grad in enumerate(sequence):
        taken = s + 1
        ours = pseudo_momentum(
            grad, s % m, exp_avgs, pseudo_avg, pseudo_avg_sq,
            counts=[(taken - i + m - 1) // m for i in range(m)], step=taken - m + 1,
            beta1=0.9, beta2=0.999, eps=1e-8,
        )  # fmt: skip
        theirs = operator.calculate_gradient(s % m, grad)
        if s < m - 1:  # warm-up: a moment is still missing; the reference hands back zeros
            assert ours is None and not theirs.any()
            continue
        assert ours.dtype == dtype
        torch.testing.assert_close(ours, theirs.to(dtype), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_trajectory_equals_reference_loop_with_sgd(reference, dtype, quadratic):
    names = ("pde", "bc", "ic")
    ours = quadratic(names, dtype)
    theirs = copy.deepcopy(ours)
    optimizer = MConFIG(ours.parameters(), names, lr=0.01)
    operator = operator_for(reference, len(names))
    sgd = torch.optim.SGD(theirs.parameters(), lr=0.01)
    utils = reference.utils
    for step in range(200):
        optimizer.step(ours.terms)
        # the reference's documented loop: the loss whose turn it is, its gradient, the operator, SGD
        sgd.zero_grad()
        index = step % len(names)
        theirs.terms()[names[index]].backward()
        utils.apply_gradient_vector(theirs, operator.calculate_gradient(index, utils.get_gradient_vector(theirs)))
        sgd.step()
    torch.testing.assert_close(ours.theta(), theirs.theta(), rtol=TOL[dtype], atol=TOL[dtype])


def test_first_steps_only_fill_the_moments(quadratic):
    names = ("pde", "bc", "ic")
    problem = quadratic(names)
    start = problem.theta().detach().clone()
    optimizer = MConFIG(problem.parameters(), names, lr=0.1)
    backpropagated = []
    for _ in range(2):
        optimizer.step(lambda: {name: _tracked(value, name, backpropagated) for name, value in problem.terms().items()})
    assert torch.equal(problem.theta(), start)
    optimizer.step(lambda: {name: _tracked(value, name, backpropagated) for name, value in problem.terms().items()})
    assert not torch.equal(problem.theta(), start)
    assert backpropagated == ["pde", "bc", "ic"]  # one term per step, in turn


def _tracked(value, name, log):
    """``value`` unchanged, but appending ``name`` to ``log`` when back-propagated through."""
    value = value.clone()
    value.register_hook(lambda grad: log.append(name))
    return value


def test_grad_clip_bounds_the_direction_handed_to_the_inner_optimizer(quadratic):
    names = ("pde", "bc")
    plain = quadratic(names)
    clipped = copy.deepcopy(plain)
    optimizer = MConFIG(plain.parameters(), names, lr=0.01)
    clipping = MConFIG(clipped.parameters(), names, lr=0.01, grad_clip=0.1)
    for _ in range(2):  # a warm-up step, then the first direction, from the same point
        optimizer.step(plain.terms)
        clipping.step(clipped.terms)
    holder = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    holder.grad = torch.cat([plain.p.grad, plain.q.grad])  # the unclipped direction SGD stepped with
    # Adam-normalised, the first direction has entries of size about 1: a norm of about sqrt(5)
    assert torch.nn.utils.clip_grad_norm_([holder], 0.1) > 10 * 0.1  # the bound is active
    assert torch.equal(torch.cat([clipped.p.grad, clipped.q.grad]), holder.grad)
    # the rule's own state does not see the clipping
    ours, theirs = optimizer.state_dict()["m_config"], clipping.state_dict()["m_config"]
    assert ours.pop("terms") == theirs.pop("terms") and ours.pop("steps") == theirs.pop("steps")
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)


def test_load_state_dict_refuses_a_foreign_state(quadratic):
    problem = quadratic(("pde", "bc"))
    optimizer = MConFIG(problem.parameters(), ("pde", "bc"))
    with pytest.raises(KeyError, match="no 'm_config' entry"):
        optimizer.load_state_dict(torch.optim.SGD(problem.parameters(), lr=1e-3).state_dict())
    other = MConFIG(problem.parameters(), ("pde", "bc", "ic"))
    message = r"saved for terms \('pde', 'bc', 'ic'\), this optimizer has terms \('pde', 'bc'\)"
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(other.state_dict())


def test_moments_follow_the_parameters_made_after_construction(quadratic):
    # like torch's optimizer state, the moments are made at the first step: a model converted after
    # the optimizer was built (here to float64) gets moments of its new dtype
    problem = quadratic(("pde", "bc"), torch.float32)
    optimizer = MConFIG(problem.parameters(), ("pde", "bc"))
    problem.double()
    for _ in range(3):
        optimizer.step(problem.terms)
    assert optimizer.state_dict()["m_config"]["exp_avgs"].dtype == torch.float64
