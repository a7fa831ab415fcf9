"""The fused FNO forward equals the plain reference forward, in values and gradients (float64)."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from sciml.models import FNO, FNOOptions, FourierBlock
from sciml.models.fno_block import pointwise
from sciml.nn import ByDevice, PointwiseLinear


def _assert_same_function(fused, plain, inputs, generator, atol=1e-10):
    """``fused`` and ``plain`` (tensors built from ``inputs``) agree, and so do their vector-Jacobian products."""
    torch.testing.assert_close(fused, plain, rtol=0, atol=atol)
    cotangent = torch.randn(fused.shape, generator=generator, dtype=fused.dtype)
    for g_fused, g_plain in zip(torch.autograd.grad(fused, inputs, cotangent), torch.autograd.grad(plain, inputs, cotangent)):
        torch.testing.assert_close(g_fused, g_plain, rtol=0, atol=atol)


@pytest.mark.parametrize("in_channels", [5, 1])  # 1: the outer-product branch
def test_pointwise_gemm_with_gated_addend_matches_conv1d_in_values_and_gradients(in_channels, generator):
    # the fused form of the MLP's last layer: W u + (b + g * addend), the addend formed by one addcmul
    # and accumulated into in place by the GEMM
    layer = PointwiseLinear(in_channels, 7, generator=generator).double()
    u = torch.randn(3, in_channels, 11, generator=generator, dtype=torch.float64, requires_grad=True)
    addend = torch.randn(3, 7, 11, generator=generator, dtype=torch.float64, requires_grad=True)
    gate = torch.randn(7, generator=generator, dtype=torch.float64, requires_grad=True)
    fast = pointwise(layer.weight, u, torch.addcmul(layer.bias[:, None], gate[:, None], addend), overwrite=True)
    slow = F.conv1d(u, layer.weight[:, :, None], layer.bias) + gate[:, None] * addend
    assert torch.allclose(fast, slow, atol=1e-13)
    cotangent = torch.randn(fast.shape, generator=generator, dtype=torch.float64)
    inputs = (u, addend, gate, layer.weight, layer.bias)
    for g_fast, g_slow in zip(torch.autograd.grad(fast, inputs, cotangent), torch.autograd.grad(slow, inputs, cotangent)):
        assert torch.allclose(g_fast, g_slow, atol=1e-12)


@pytest.mark.parametrize("path", ["fft", "dft"])
@pytest.mark.parametrize("expansion", [0.5, 0.0])  # 0: no channel MLP, no gate
@pytest.mark.parametrize("shape, modes", [((19,), (5,)), ((12, 11), (3, 4))])
def test_fourier_block_forward_equals_its_reference_forward(path, expansion, shape, modes, generator):
    options = FNOOptions(channel_mlp_expansion=expansion, spectral_path=path)
    block = FourierBlock(6, modes, options, generator).double()
    with torch.no_grad():  # gates away from their initial ones, so a dropped gate would show
        for p in (block.gate, block.spectral.bias):
            if p is not None:
                p.normal_(generator=generator)
    v = torch.randn(2, 6, *shape, generator=generator, dtype=torch.float64, requires_grad=True)
    inputs = (v, *block.parameters())
    for activate in (True, False):
        _assert_same_function(block(v, activate), block.reference_forward(v, activate), inputs, generator)


@pytest.mark.parametrize("path", ["fft", "dft"])
@pytest.mark.parametrize(
    "in_channels, shape, options",
    [
        (1, (20, 18), FNOOptions()),  # scalar input: the outer-product lifting beside the coordinates
        (3, (17, 16), FNOOptions(domain_padding=0.25)),
        (2, (33,), FNOOptions(positional_embedding=False)),
        (1, (24,), FNOOptions(positional_embedding=False, channel_mlp_expansion=0.0)),
    ],
)
def test_fno_forward_equals_its_reference_forward(path, in_channels, shape, options, generator):
    options = dataclasses.replace(options, spectral_path=path)
    modes = (4,) * len(shape)
    model = FNO(in_channels, 2, modes, 8, n_layers=3, options=options, generator=generator).double()
    a = torch.randn(2, in_channels, *shape, generator=generator, dtype=torch.float64, requires_grad=True)
    _assert_same_function(model(a), model.reference_forward(a), (a, *model.parameters()), generator)


def test_parameter_names_and_shapes_are_those_of_saved_checkpoints():
    """The state dict of an FNO is its checkpoint format: these are the names and shapes it has always had."""
    model = FNO(2, 3, (4, 3), 8, n_layers=1)
    expected = {
        "lifting.fc1.weight": (16, 4),
        "lifting.fc1.bias": (16,),
        "lifting.fc2.weight": (8, 16),
        "lifting.fc2.bias": (8,),
        "blocks.0.gate": (8,),
        "blocks.0.spectral.bias": (8,),
        "blocks.0.spectral.weight.weight": (9, 4, 8, 8, 2),
        "blocks.0.skip.weight": (8, 8),
        "blocks.0.mlp.fc1.weight": (4, 8),
        "blocks.0.mlp.fc1.bias": (4,),
        "blocks.0.mlp.fc2.weight": (8, 4),
        "blocks.0.mlp.fc2.bias": (8,),
        "projection.fc1.weight": (16, 8),
        "projection.fc1.bias": (16,),
        "projection.fc2.weight": (3, 16),
        "projection.fc2.bias": (3,),
    }
    assert {name: tuple(t.shape) for name, t in model.state_dict().items()} == expected


def test_blocks_share_one_path_policy_built_from_the_options():
    model = FNO(1, 1, (4, 4), 8, n_layers=3)
    policies = {id(block.spectral.policy) for block in model.blocks}
    assert len(policies) == 1
    assert isinstance(model.blocks[0].spectral.policy, ByDevice)  # "auto"
    fixed = FNO(1, 1, (4, 4), 8, n_layers=2, options=FNOOptions(spectral_path="dft"))
    assert all(block.spectral.policy.paths == ("dft", "dft") for block in fixed.blocks)
