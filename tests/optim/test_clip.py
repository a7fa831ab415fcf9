"""The one clipping rule of sciml.optim against ``torch.nn.utils.clip_grad_norm_``."""

import math

import pytest
import torch

from sciml.optim.clip import clip_norm_

SHAPES = [(3, 4), (7,), (2, 1, 5), ()]


def random_grads(dtypes, generator, scale=1.0):
    """Gradients of mixed shapes (and dtypes, when ``dtypes`` mixes them), about ``scale`` in norm each."""
    return [scale * torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype)
            for shape, dtype in zip(SHAPES, dtypes)]  # fmt: skip


def torch_clipped(grads, max_norm):
    """``grads`` after ``clip_grad_norm_`` on parameters holding copies of them; and the norm it measured."""
    holders = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(holders, max_norm)
    return [holder.grad for holder in holders], total


DTYPES = {
    "float32": [torch.float32] * 4,
    "float64": [torch.float64] * 4,
    "mixed": [torch.float32, torch.float64, torch.float32, torch.float64],
}


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 1e30])
@pytest.mark.parametrize("dtypes", list(DTYPES))
def test_equals_clip_grad_norm_bit_for_bit(dtypes, max_norm, generator):
    grads = random_grads(DTYPES[dtypes], generator)
    expected, total = torch_clipped(grads, max_norm)
    original = [g.clone() for g in grads]
    clip_norm_(grads, max_norm, "Test")
    for g, e in zip(grads, expected):
        assert g.dtype == e.dtype and torch.equal(g, e)
    norm = math.sqrt(sum(g.double().square().sum().item() for g in grads))
    if max_norm < total:  # clipped to max_norm up to clip_grad_norm_'s 1e-6 and rounding
        eps = torch.finfo(torch.float32 if dtypes != "float64" else torch.float64).eps
        assert abs(norm - max_norm * total.item() / (total.item() + 1e-6)) < 10 * eps * max_norm
    else:  # left exactly as it was
        assert all(torch.equal(g, o) for g, o in zip(grads, original))


def test_none_and_nothing_are_left_alone(generator):
    grads = random_grads(DTYPES["float64"], generator)
    grads[0][0, 0] = math.nan
    original = [g.clone() for g in grads]
    clip_norm_(grads, None, "Test")  # no clipping asked for: no check either, as torch's optimizers
    torch.testing.assert_close(grads, original, rtol=0, atol=0, equal_nan=True)
    clip_norm_([], 1.0, "Test")


@pytest.mark.parametrize(
    "poison",
    [
        lambda g: g[0].fill_(math.inf),  # would be scaled to zeros
        lambda g: g[1].fill_(math.nan),
        lambda g: g[2].fill_(3e38),  # finite entries whose float32 norm overflows: scaled to zeros
    ],
)
def test_a_non_finite_norm_is_an_error_and_leaves_the_gradients(poison, generator):
    grads = random_grads(DTYPES["float32"], generator)
    poison(grads)
    original = [g.clone() for g in grads]
    with pytest.raises(FloatingPointError, match=r"Test: the gradient has norm (inf|nan), which grad_clip cannot"):
        clip_norm_(grads, 1.0, "Test")
    torch.testing.assert_close(grads, original, rtol=0, atol=0, equal_nan=True)
