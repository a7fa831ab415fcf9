"""Plain pointwise layers: the channels-first and token-major forms are the same maps."""

import pytest
import torch
import torch.nn.functional as F

from sciml.nn import MLP, ChannelMLP, PointwiseLinear


@pytest.mark.parametrize("in_channels", [5, 1])
@pytest.mark.parametrize("space", [(11,), (6, 7)])
def test_pointwise_linear_matches_conv1d_in_values_and_gradients(in_channels, space, generator):
    layer = PointwiseLinear(in_channels, 7, generator=generator).double()
    u = torch.randn(3, in_channels, *space, generator=generator, dtype=torch.float64, requires_grad=True)
    fast = layer(u)
    slow = F.conv1d(u.flatten(2), layer.weight[:, :, None], layer.bias).view(3, 7, *space)  # (B, C_out, *S)
    assert torch.allclose(fast, slow, atol=1e-13)
    cotangent = torch.randn(fast.shape, generator=generator, dtype=torch.float64)
    inputs = (u, layer.weight, layer.bias)
    for g_fast, g_slow in zip(torch.autograd.grad(fast, inputs, cotangent), torch.autograd.grad(slow, inputs, cotangent)):
        assert torch.allclose(g_fast, g_slow, atol=1e-12)


def test_channel_mlp_is_the_token_major_mlp_applied_channels_first(generator):
    channels_first = ChannelMLP(3, 10, 4, activation=torch.tanh, generator=generator).double()
    token_major = MLP(3, 10, 4, n_layers=2, activation=torch.tanh).double()
    with torch.no_grad():
        for linear, pointwise in zip(token_major.layers, (channels_first.fc1, channels_first.fc2)):
            linear.weight.copy_(pointwise.weight)
            linear.bias.copy_(pointwise.bias)
    u = torch.randn(2, 3, 5, 6, generator=generator, dtype=torch.float64)
    tokens = u.flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, N, C)
    expected = token_major(tokens).transpose(1, 2).view(2, 4, 5, 6)  # (B, N, C_out) -> (B, C_out, H, W)
    torch.testing.assert_close(channels_first(u), expected, rtol=0, atol=1e-13)


def test_mlp_applies_sigma_between_its_layers_only(generator):
    # with sigma(t) = 2t the stack is y = W_3 (2 (W_2 (2 (W_1 u + b_1)) + b_2)) + b_3: an activation
    # missing, or one after the last layer, changes it by a factor 2; on any leading axes
    mlp = MLP(2, 8, 3, n_layers=3, activation=lambda t: 2 * t, generator=generator).double()
    (w1, b1), (w2, b2), (w3, b3) = ((layer.weight, layer.bias) for layer in mlp.layers)
    u = torch.randn(4, 5, 2, generator=generator, dtype=torch.float64)
    expected = u @ (4 * w3 @ w2 @ w1).T + (w3 @ (4 * w2 @ b1 + 2 * b2) + b3)
    torch.testing.assert_close(mlp(u), expected, rtol=0, atol=1e-13)


def test_initialization_is_pytorchs_default_drawn_from_the_generator():
    a = MLP(50, 40, 3, n_layers=3, generator=torch.Generator().manual_seed(7))
    b = MLP(50, 40, 3, n_layers=3, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    for layer in a.layers:
        bound = layer.in_features**-0.5
        for p in (layer.weight, layer.bias):
            assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound  # U(-bound, bound), filled
    layer = PointwiseLinear(50, 40, generator=torch.Generator().manual_seed(7))
    assert layer.weight.abs().max() <= 50**-0.5 and layer.bias.abs().max() > 0.9 * 50**-0.5


def test_bad_arguments_are_refused_naming_them():
    with pytest.raises(ValueError, match="n_layers"):
        MLP(2, 8, 1, n_layers=1)
    with pytest.raises(ValueError, match="hidden_features"):
        MLP(2, 0, 1)
    with pytest.raises(ValueError, match="channels"):
        PointwiseLinear(0, 3)
    with pytest.raises(ValueError, match=r"expected u of shape \(\.\.\., 2\)"):
        MLP(2, 8, 1)(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"expected u of shape \(B, 2, \*S\)"):
        PointwiseLinear(2, 3)(torch.zeros(4, 3, 5))
