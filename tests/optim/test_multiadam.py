import copy

import pytest
import torch

from sciml.optim import MultiAdam, default_groups

DTYPES = [torch.float32, torch.float64]
NAMES = ("pde", "bc", "ic")


@pytest.mark.parametrize("grad_clip", [None, 0.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_group_is_torch_adam_bit_for_bit(dtype, grad_clip, quadratic):
    ours = quadratic(NAMES, dtype)
    theirs = copy.deepcopy(ours)
    hyper = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01}
    groups = {"all": NAMES}
    optimizer = MultiAdam(
        [{"params": [ours.p]}, {"params": [ours.q], "lr": 0.003}], NAMES, groups, lr=0.02, grad_clip=grad_clip, **hyper
    )
    adam = torch.optim.Adam([{"params": [theirs.p]}, {"params": [theirs.q], "lr": 0.003}], lr=0.02, **hyper)

    def closure():  # single-objective training, clipped as usual
        adam.zero_grad()
        loss = sum(theirs.terms().values())
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(theirs.parameters(), grad_clip)
        return loss

    for _ in range(300):
        optimizer.step(ours.terms)
        adam.step(closure)
        assert torch.equal(ours.theta(), theirs.theta())


@pytest.mark.parametrize("dtype", DTYPES)
def test_each_group_is_scale_invariant(dtype, quadratic):
    # scaling a group's loss by 2^10 scales its moments m, v by 2^10, 2^20 exactly, so with eps = 0
    # the normalised update m / sqrt(v) and the whole trajectory are unchanged bit for bit
    plain = quadratic(("pde", "bc"), dtype)
    scaled = copy.deepcopy(plain)
    a = MultiAdam(plain.parameters(), ("pde", "bc"), lr=0.05, eps=0.0)
    b = MultiAdam(scaled.parameters(), ("pde", "bc"), lr=0.05, eps=0.0)
    for _ in range(100):
        a.step(plain.terms)
        b.step(lambda: {**scaled.terms(), "bc": 1024.0 * scaled.terms()["bc"]})
    assert torch.equal(plain.theta(), scaled.theta())


@pytest.mark.parametrize("dtype", DTYPES)
def test_first_step_averages_the_groups_adam_steps(dtype, quadratic):
    # at t = 1, m_hat = g and v_hat = g^2: each group moves every coordinate by lr * g / (|g| + eps)
    problem = quadratic(NAMES, dtype)
    params = [problem.p, problem.q]
    terms = problem.terms()
    g_pde = torch.cat(torch.autograd.grad(terms["pde"], params, retain_graph=True))
    g_rest = torch.cat(torch.autograd.grad(terms["bc"] + terms["ic"], params))
    eps = 1e-8
    expected = problem.theta().detach() - 0.1 / 2 * (g_pde / (g_pde.abs() + eps) + g_rest / (g_rest.abs() + eps))
    MultiAdam(problem.parameters(), NAMES, lr=0.1, eps=eps).step(problem.terms)
    torch.testing.assert_close(problem.theta().detach(), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_clip_bounds_each_group_gradient_before_its_moments(dtype, quadratic):
    # the group gradients differ in norm by orders of magnitude; each is clipped on its own, so
    # after one step each first moment is (1 - beta1) times its own group's clipped gradient
    problem = quadratic(NAMES, dtype)
    params = [problem.p, problem.q]
    terms = problem.terms()
    expected = []
    for loss in (terms["pde"], terms["bc"] + terms["ic"]):
        holders = [torch.zeros_like(p, requires_grad=True) for p in params]
        for holder, grad in zip(holders, torch.autograd.grad(loss, params, retain_graph=True)):
            holder.grad = grad
        assert torch.nn.utils.clip_grad_norm_(holders, 0.5) > 10 * 0.5  # the bound is active
        expected.append([torch.zeros_like(h).lerp_(h.grad, 1 - 0.9) for h in holders])
    optimizer = MultiAdam(params, NAMES, betas=(0.9, 0.999), grad_clip=0.5)
    optimizer.step(problem.terms)
    for i, p in enumerate(params):
        for j in range(2):
            assert torch.equal(optimizer.state[p]["exp_avg"][j], expected[j][i])


def test_default_groups_split_pde_terms_from_the_rest():
    assert default_groups(("pde", "bc", "ic")) == {"pde": ("pde",), "boundary": ("bc", "ic")}
    assert default_groups(("residual_mass", "pde_x", "data", "bc")) == {
        "pde": ("residual_mass", "pde_x"),
        "boundary": ("data", "bc"),
    }
    assert default_groups(("pde", "pde_momentum")) == {"pde": ("pde", "pde_momentum")}
    assert default_groups(("bc", "ic")) == {"boundary": ("bc", "ic")}


def test_groups_must_partition_the_terms(quadratic):
    params = list(quadratic(NAMES).parameters())
    with pytest.raises(ValueError, match="names term 'data', which is not one of terms"):
        MultiAdam(params, NAMES, groups={"a": ("pde", "data"), "b": ("bc", "ic")})
    with pytest.raises(ValueError, match="term 'bc' is in both group 'a' and group 'b'"):
        MultiAdam(params, NAMES, groups={"a": ("pde", "bc"), "b": ("bc", "ic")})
    with pytest.raises(ValueError, match=r"term\(s\) \['ic'\] belong to no group"):
        MultiAdam(params, NAMES, groups={"a": ("pde",), "b": ("bc",)})
    with pytest.raises(ValueError, match="at least one loss term"):
        MultiAdam(params, NAMES, groups={"a": (), "b": NAMES})


def test_loading_a_state_with_other_groups_is_an_error(quadratic):
    problem = quadratic(NAMES)
    one = MultiAdam(problem.parameters(), NAMES, groups={"all": NAMES})
    one.step(problem.terms)
    two = MultiAdam(problem.parameters(), NAMES)
    two.load_state_dict(one.state_dict())
    with pytest.raises(ValueError, match="moments for 1 groups, but this optimizer has 2 groups"):
        two.step(problem.terms)
