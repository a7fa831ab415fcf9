"""Fourier- and Galerkin-type attention (Cao 2021) against their formulas written the slow way."""

import math

import pytest
import torch
import torch.nn.functional as F

from sciml.nn import FourierAttention, GalerkinAttention, SimpleEncoderLayer
from sciml.nn.attention import AbstractSimpleAttention

KINDS = {"fourier": FourierAttention, "galerkin": GalerkinAttention}


def slow_attention(layer, x, pos):
    """The layer point by point: explicit sums over points and features, one LayerNorm per head."""
    batch, n, width = x.shape
    heads, d = layer.n_heads, width // layer.n_heads
    outputs = []
    for b in range(batch):
        head_outputs = []
        for h in range(heads):
            rows = slice(h * d, (h + 1) * d)
            qkv = {}
            for name in ("query", "key", "value"):
                linear = getattr(layer, name)
                t = x[b] @ linear.weight[rows].T + linear.bias[rows]  # (n, d)
                if name in layer.norms:
                    norm = layer.norms[name]
                    mean = t.mean(-1, keepdim=True)
                    var = ((t - mean) ** 2).mean(-1, keepdim=True)
                    t = (t - mean) / torch.sqrt(var + norm.eps) * norm.weight[h, 0] + norm.bias[h, 0]
                qkv[name] = t if pos is None else torch.cat([pos, t], dim=-1)  # (n, d_x + d)
            q, k, v = qkv["query"], qkv["key"], qkv["value"]
            rows_out = []
            for i in range(n):
                if isinstance(layer, FourierAttention):  # z_i = 1/n sum_j (q_i . k_j) v_j
                    z = sum((q[i] * k[j]).sum() * v[j] for j in range(n)) / n
                else:  # z_i = sum_c q_ic (1/n sum_j k_jc v_j)
                    z = sum(q[i, c] * sum(k[j, c] * v[j] for j in range(n)) / n for c in range(q.shape[1]))
                rows_out.append(z)
            head_outputs.append(torch.stack(rows_out))  # (n, d_x + d)
        concatenated = torch.cat(head_outputs, dim=-1)  # (n, H (d_x + d))
        outputs.append(concatenated @ layer.output.weight.T + layer.output.bias)
    return torch.stack(outputs)  # (B, n, C)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("pos_dim", [0, 2])
def test_attention_equals_the_formula_written_point_by_point_in_values_and_gradients(kind, pos_dim, generator):
    layer = KINDS[kind](6, n_heads=2, pos_dim=pos_dim, xavier_gain=0.7, diagonal_weight=0.3, generator=generator).double()
    with torch.no_grad():  # move the norms off their (1, 0) start so that every parameter matters
        for parameter in layer.norms.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    x = torch.randn(2, 5, 6, generator=generator, dtype=torch.float64, requires_grad=True)
    pos = torch.rand(5, pos_dim, generator=generator, dtype=torch.float64) if pos_dim else None
    fast, slow = layer(x, pos), slow_attention(layer, x, pos)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-10)
    cotangent = torch.randn(fast.shape, generator=generator, dtype=torch.float64)
    inputs = (x, *layer.parameters())
    for g_fast, g_slow in zip(torch.autograd.grad(fast, inputs, cotangent), torch.autograd.grad(slow, inputs, cotangent)):
        torch.testing.assert_close(g_fast, g_slow, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_permuting_the_points_permutes_the_output(kind, generator):
    layer = KINDS[kind](8, n_heads=2, generator=generator).double()
    x = torch.randn(3, 11, 8, generator=generator, dtype=torch.float64)
    perm = torch.randperm(11, generator=generator)
    torch.testing.assert_close(layer(x[:, perm]), layer(x)[:, perm], rtol=0, atol=1e-13)
    # with coordinates the points are told apart: moving the tokens without their positions changes the result
    placed = KINDS[kind](8, n_heads=2, pos_dim=1, generator=generator).double()
    pos = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None]
    torch.testing.assert_close(placed(x[:, perm], pos[perm]), placed(x, pos)[:, perm], rtol=0, atol=1e-13)
    assert not torch.allclose(placed(x[:, perm], pos), placed(x, pos)[:, perm], atol=1e-6)


def counterfeits(cls):
    """Attentions the placement test must reject: ``cls``'s normalization with a softmax, and
    ``cls``'s product with the normalization on the other two factors."""
    softmax = staticmethod(lambda q, k, v: F.scaled_dot_product_attention(q, k, v))
    other = FourierAttention if cls is GalerkinAttention else GalerkinAttention
    return [
        type("Softmax", (AbstractSimpleAttention,), {"normalized": cls.normalized, "attend": softmax}),
        type("WrongFactors", (AbstractSimpleAttention,), {"normalized": other.normalized, "attend": staticmethod(cls.attend)}),
    ]


@torch.no_grad()
def scaling_degrees(layer, generator) -> dict[str, float]:
    """The degree ``p`` in ``attn(alpha f) = alpha^p attn(f)`` for each factor ``f`` of the product.

    ``query``, ``key``, ``value``: the projections ``W^f`` (weight and bias) before any normalization;
    ``norm.<f>``: the gain and bias of ``f``'s layer normalization, i.e. ``f`` as it enters the product.
    """
    x = torch.randn(2, 9, layer.width, generator=generator, dtype=torch.float64)
    base = (layer(x) - layer.output.bias).norm().item()
    scaled_parts = {f: getattr(layer, f) for f in ("query", "key", "value")}
    scaled_parts.update({f"norm.{f}": norm for f, norm in layer.norms.items()})
    degrees = {}
    for name, module in scaled_parts.items():
        for parameter in module.parameters():
            parameter.mul_(3.0)
        degrees[name] = math.log((layer(x) - layer.output.bias).norm().item() / base) / math.log(3.0)
        for parameter in module.parameters():
            parameter.div_(3.0)
    return degrees


@pytest.mark.parametrize("cls, expected", [
    # LN(K), LN(V): only Q's scale passes through the normalization; the product is trilinear
    (GalerkinAttention, {"query": 1, "key": 0, "value": 0, "norm.key": 1, "norm.value": 1}),
    # LN(Q), LN(K): only V's scale passes through the normalization; the product is trilinear
    (FourierAttention, {"query": 0, "key": 0, "value": 1, "norm.query": 1, "norm.key": 1}),
])
def test_layer_normalization_sits_on_the_factors_that_meet_in_the_quadrature(cls, expected, generator):
    # Cao's placement, read off exact homogeneities: degree 0 in the raw projection of a normalized
    # factor, degree 1 in every factor as it enters the product (no softmax to bend it)
    make = lambda c: c(6, n_heads=2, xavier_gain=1.0, eps=1e-14, generator=torch.Generator().manual_seed(7)).double()
    degrees = scaling_degrees(make(cls), generator)
    assert degrees == pytest.approx(expected, abs=1e-9), degrees
    # the check has teeth: a softmax, or the normalization on the wrong factors, fails it
    for counterfeit in counterfeits(cls):
        wrong = scaling_degrees(make(counterfeit), generator)
        assert any(abs(wrong.get(name, math.inf) - degree) > 1e-3 for name, degree in expected.items()), wrong


def test_initialization_is_a_small_xavier_draw_plus_a_small_diagonal():
    layer = GalerkinAttention(64, n_heads=4, xavier_gain=1e-2, diagonal_weight=0.05, generator=torch.Generator().manual_seed(0))
    bound = 1e-2 * math.sqrt(6 / 128)
    for linear in (layer.query, layer.key, layer.value):
        random_part = linear.weight - 0.05 * torch.eye(64)
        assert random_part.abs().max() <= bound + 1e-7
        assert random_part.abs().max() > 0.9 * bound  # the full Xavier range is used
        assert abs(random_part.std().item() - bound / math.sqrt(3)) < 0.05 * bound  # uniform: std = a / sqrt(3)
        assert torch.all(linear.bias == 0)
    again = GalerkinAttention(64, n_heads=4, xavier_gain=1e-2, diagonal_weight=0.05, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(layer.parameters(), again.parameters()))


def test_galerkin_attention_saves_no_n_by_n_tensor_for_backward(generator):
    # the cost is linear in the points: no tensor with n^2 entries is kept for the backward pass
    n = 2048
    layer = GalerkinAttention(16, n_heads=2, pos_dim=2, generator=generator)
    x = torch.randn(1, n, 16, generator=generator, requires_grad=True)
    largest = 0

    def pack(t):
        nonlocal largest
        largest = max(largest, t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x, torch.rand(n, 2, generator=generator)).sum().backward()
    assert largest <= 4 * n * 16
    fourier = FourierAttention(16, n_heads=2, generator=generator)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fourier(x).sum().backward()
    assert largest >= n * n  # the Fourier type keeps its n x n scores: the hook sees them


def test_attention_is_a_quadrature_that_converges_under_refinement(generator):
    # the 1/n makes the sums over points Riemann sums of integrals over [0, 1): on a smooth periodic
    # input (and periodic positional features) the output at the shared points converges
    # exponentially as the grid is refined, here more than 3x per step of 8 to 16 points
    layer = GalerkinAttention(8, n_heads=2, pos_dim=1, xavier_gain=1.0, generator=generator).double()
    mix = torch.randn(4, 8, generator=generator, dtype=torch.float64)

    def sample(n):
        t = 2 * math.pi * torch.arange(n, dtype=torch.float64)[:, None] / n
        harmonics = torch.cat([torch.sin(t), torch.cos(t), torch.sin(2 * t), torch.cos(2 * t)], 1)  # (n, 4)
        return (harmonics @ mix)[None], torch.sin(t)  # (1, n, 8), (n, 1)

    reference = layer(*sample(192))[0]
    gaps = [(layer(*sample(n))[0] - reference[:: 192 // n]).abs().max().item() for n in (16, 24, 32, 48)]
    assert all(later < 0.3 * earlier for earlier, later in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 1e-4, gaps


def test_encoder_layer_adds_attention_then_feed_forward(generator):
    attention = GalerkinAttention(8, n_heads=2, pos_dim=1, generator=generator).double()
    layer = SimpleEncoderLayer(attention, 16, generator=generator).double()
    y = torch.randn(2, 10, 8, generator=generator, dtype=torch.float64)
    pos = torch.rand(10, 1, generator=generator, dtype=torch.float64)
    h = y + attention(y, pos)
    torch.testing.assert_close(layer(y, pos), h + layer.ffn(h), rtol=0, atol=1e-14)
    # ReLU in the feed-forward network, as Cao's layer
    first, second = layer.ffn.layers
    torch.testing.assert_close(layer.ffn(h), second(torch.relu(first(h))), rtol=0, atol=0)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        GalerkinAttention(10, n_heads=4)
    layer = GalerkinAttention(8, n_heads=2, pos_dim=2)
    with pytest.raises(ValueError, match="pos must be given"):
        layer(torch.zeros(1, 5, 8))
    with pytest.raises(ValueError, match=r"expected pos of shape \(n, 2\)"):
        layer(torch.zeros(1, 5, 8), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"or \(B, n, 2\) with n=5"):
        layer(torch.zeros(2, 5, 8), torch.zeros(3, 5, 2))
    per_sample = torch.rand(2, 5, 2)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(layer(x, per_sample)[1:], layer(x[1:], per_sample[1]))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, n, 8\)"):
        layer(torch.zeros(5, 8), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="dropout"):
        SimpleEncoderLayer(layer, 16, dropout=1.0)
