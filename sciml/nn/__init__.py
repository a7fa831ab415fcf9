"""Neural-network layers: the spectral convolution (the hot path), its parts and its path policies."""

from sciml.nn.neuralop_compat import load_neuralop_spectral_conv, weight_from_neuralop
from sciml.nn.path_policy import (
    AbstractPathPolicy,
    Autotune,
    ByDevice,
    CPURule,
    FixedPath,
    as_policy,
    cpu_rule,
)
from sciml.nn.spectral_conv import SpectralConv
from sciml.nn.truncated_fft import reference_spectral_conv

__all__ = [
    "AbstractPathPolicy",
    "Autotune",
    "ByDevice",
    "CPURule",
    "FixedPath",
    "SpectralConv",
    "as_policy",
    "cpu_rule",
    "load_neuralop_spectral_conv",
    "reference_spectral_conv",
    "weight_from_neuralop",
]
