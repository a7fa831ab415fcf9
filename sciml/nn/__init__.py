"""Neural-network layers: the spectral convolution (the hot path) with its path policies, the
softmax-free Fourier/Galerkin attention, and the plain pointwise layers, convolutions, positional
grids and domain padding that operators and PINNs build on."""

from sciml.nn.attention import (
    AbstractSimpleAttention,
    FourierAttention,
    GalerkinAttention,
    HeadLayerNorm,
    SimpleEncoderLayer,
    fourier_attention,
    galerkin_attention,
)
from sciml.nn.conv import conv, interpolate
from sciml.nn.expansion import FourierExpansion
from sciml.nn.mlp import MLP, ChannelMLP, PointwiseLinear
from sciml.nn.neuralop_compat import load_neuralop_spectral_conv, weight_from_neuralop
from sciml.nn.padding import pad_domain, padding_widths, unpad_domain
from sciml.nn.path_policy import (
    AbstractPathPolicy,
    Autotune,
    ByDevice,
    CPURule,
    FixedPath,
    as_policy,
    cpu_rule,
)
from sciml.nn.positional import GridCoordinates
from sciml.nn.spectral_conv import SpectralConv
from sciml.nn.spectral_weights import complex_pair_parameters
from sciml.nn.truncated_fft import reference_spectral_conv

__all__ = [
    "AbstractPathPolicy",
    "AbstractSimpleAttention",
    "Autotune",
    "ByDevice",
    "CPURule",
    "ChannelMLP",
    "FixedPath",
    "FourierAttention",
    "FourierExpansion",
    "GalerkinAttention",
    "GridCoordinates",
    "HeadLayerNorm",
    "MLP",
    "PointwiseLinear",
    "SimpleEncoderLayer",
    "SpectralConv",
    "as_policy",
    "complex_pair_parameters",
    "conv",
    "cpu_rule",
    "fourier_attention",
    "galerkin_attention",
    "interpolate",
    "load_neuralop_spectral_conv",
    "pad_domain",
    "padding_widths",
    "reference_spectral_conv",
    "unpad_domain",
    "weight_from_neuralop",
]
