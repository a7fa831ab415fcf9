import pytest
import torch

from sciml.optim import conflict_free
from sciml.optim.conflict_free import _gram_solve

DTYPES = [torch.float32, torch.float64]
# relative error allowed against the reference for well-conditioned inputs
TOL = {torch.float32: 2e-5, torch.float64: 1e-12}


def rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def cosines(grads, update):
    """cos(g_i, update) for every row, computed in float64."""
    grads, update = grads.double(), update.double()
    return grads @ update / (grads.norm(dim=1) * update.norm())


def random_grads(m, n, dtype, generator, spread=None):
    """``(m, n)`` gradients of lengths spanning two decades; ``spread``: nearly parallel, that far apart."""
    if spread is None:
        directions = torch.randn(m, n, generator=generator, dtype=torch.float64)
    else:
        base = torch.randn(n, generator=generator, dtype=torch.float64)
        directions = base + spread * base.norm() / n**0.5 * torch.randn(m, n, generator=generator, dtype=torch.float64)
    lengths = 10 ** (2 * torch.rand(m, 1, generator=generator, dtype=torch.float64) - 1)
    return (directions / directions.norm(dim=1, keepdim=True) * lengths).to(dtype)


def equal_weights(reference):
    """The reference's equal direction weights, in the gradients' dtype.

    Its EqualWeight returns float32 ones whatever the gradients, and its least-squares path then
    refuses float64 gradients; the weights are the same ones either way.
    """

    class EqualWeight(reference.weight_model.EqualWeight):
        def get_weights(self, gradients, losses=None, device=None):
            return torch.ones(gradients.shape[0], dtype=gradients.dtype, device=device)

    return EqualWeight()


def reference_lstsq(reference, grads):
    """The reference's general rule (least squares on the unit gradients), in float64: the truth."""
    grads = grads.double()
    return reference.grad_operator.ConFIG_update(grads, weight_model=equal_weights(reference))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 5])
def test_equals_reference_on_random_gradients(reference, m, dtype, generator):
    grads = random_grads(m, 200, dtype, generator)
    ours = conflict_free(grads)
    # the reference's default operator in the same dtype (two-gradient form for m = 2, least squares otherwise)
    operator = reference.grad_operator.ConFIGOperator(weight_model=equal_weights(reference))
    theirs = operator.calculate_gradient(grads)
    assert ours.dtype == dtype and ours.shape == (200,)
    assert rel(ours, theirs) < TOL[dtype]
    assert rel(ours, reference_lstsq(reference, grads)) < TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spread", [1e-2, 1e-4])
def test_equals_reference_on_nearly_parallel_pairs(reference, spread, dtype, generator):
    grads = random_grads(2, 200, dtype, generator, spread=spread)
    # Compared with the reference's least-squares rule in float64. Its two-gradient form builds the
    # direction from the components orthogonal to each gradient, which cancel as the angle closes: at
    # a spread of 1e-4 in float32 it is wrong in the first digit. The closed form here is not.
    assert rel(conflict_free(grads), reference_lstsq(reference, grads)) < TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [3, 5])
def test_equals_reference_on_nearly_parallel_sets(reference, m, dtype, generator):
    grads = random_grads(m, 200, dtype, generator, spread=1e-2)
    # conditioning ~ 1/spread^2 on the unit vectors' rounding: the reference in float32 is as far off
    tol = {torch.float32: 1e-4, torch.float64: 1e-10}[dtype]
    assert rel(conflict_free(grads), reference_lstsq(reference, grads)) < tol


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.5, 3.0, 1e-3])
def test_exactly_opposed_pair_gives_zero_update(reference, ratio, dtype, generator):
    g = random_grads(1, 200, dtype, generator)[0]
    grads = torch.stack([g, -ratio * g])
    scale = (1 + ratio) * g.norm().item()
    eps = torch.finfo(dtype).eps
    ours = conflict_free(grads)
    theirs = reference.grad_operator.ConFIGOperator().calculate_gradient(grads)
    # no direction has a positive cosine with both: the update is zero, as the reference's
    assert ours.norm().item() <= 10 * eps * scale
    assert theirs.norm().item() <= 1e3 * eps * scale
    if ratio == 1.0:  # u_2 = -u_1 bit for bit: exactly zero
        assert torch.equal(ours, torch.zeros_like(ours))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("case", ["random", "low_dim", "nearly_parallel", "duplicates"])
def test_every_gradient_has_the_same_positive_cosine(m, case, dtype, generator):
    if case == "random":
        grads = random_grads(m, 300, dtype, generator)
    elif case == "low_dim":  # N = m: strong conflicts, obtuse pairs
        grads = random_grads(m, m, dtype, generator)
    elif case == "nearly_parallel":  # the Gram matrix is nearly singular: the ridge keeps it solvable
        grads = random_grads(m, 300, dtype, generator, spread=1e-4)
    else:  # the Gram matrix is exactly singular; the same direction at different lengths
        g = random_grads(1, 300, dtype, generator)[0]
        grads = torch.stack([2.0**k * g for k in range(m)])
    update = conflict_free(grads)
    cos = cosines(grads, update)
    tol = {torch.float32: 2e-5, torch.float64: 1e-11}[dtype]
    assert cos.min() > 0
    assert (cos.max() - cos.min()).item() < tol * cos.max().item()
    # the projection-length rule: |g_c| = sum_i |g_i| cos(g_i, g_c)
    length = (grads.double().norm(dim=1) * cos).sum()
    assert abs(update.double().norm() - length) / length < tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_gradients_bisect_at_half_the_angle(dtype):
    # g_1 = 3 e_1, g_2 = (cos t, sin t, 0): update along the bisector, of length (3 + 1) cos(t / 2)
    t = torch.tensor(2.5, dtype=torch.float64)
    grads = torch.stack([torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64), torch.stack([t.cos(), t.sin(), 0 * t])])
    bisector = torch.stack([(t / 2).cos(), (t / 2).sin(), 0 * t])
    expected = 4 * (t / 2).cos() * bisector
    torch.testing.assert_close(conflict_free(grads.to(dtype)), expected.to(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spread", [None, 1e-3])
def test_two_gradient_closed_form_equals_the_general_solve(spread, dtype, generator):
    grads = random_grads(2, 300, dtype, generator, spread=spread)
    assert rel(conflict_free(grads), _gram_solve(grads, None)) < TOL[dtype] * (1 if spread is None else 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_gradient_drops_out(dtype, generator):
    grads = random_grads(3, 100, dtype, generator)
    zero = torch.zeros_like(grads[0])
    torch.testing.assert_close(conflict_free(torch.stack([grads[0], zero])), grads[0])
    with_zero = conflict_free(torch.stack([grads[0], zero, grads[1]]))
    assert rel(with_zero, conflict_free(grads[:2])) < TOL[dtype]
    assert torch.equal(conflict_free(torch.zeros(3, 100, dtype=dtype)), torch.zeros(100, dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 2, 4])
def test_scales_with_the_gradients_and_ignores_their_order(m, dtype, generator):
    grads = random_grads(m, 50, dtype, generator)
    update = conflict_free(grads)
    assert rel(conflict_free(7.0 * grads), 7.0 * update) < TOL[dtype]
    assert rel(conflict_free(grads.flip(0)), update) < TOL[dtype]
    if m == 1:  # one term: its own gradient
        assert rel(update, grads[0]) < TOL[dtype]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="grads must be a tensor of shape"):
        conflict_free(torch.ones(5))
    with pytest.raises(TypeError, match="float32 or float64"):
        conflict_free(torch.ones(2, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        conflict_free(torch.ones(3, 5), ridge=-1.0)
