"""Fourier neural operators: FNO and its Tucker-factorized variant TFNO (Li et al. 2021; Kossaifi et al. 2023).

The operator maps an input function ``a`` sampled on a grid to an output function ``u`` on the same
grid, at any resolution:

.. math::

    v_0 = P(a, x), \\qquad
    v_{l+1} = \\sigma\\Big( M_l\\big(\\sigma(K_l v_l + W_l v_l + b_l)\\big) + g_l \\odot v_l \\Big), \\qquad
    u = Q(v_L),

where ``x`` are the coordinates of the unit box (appended to ``a``), ``P`` and ``Q`` are pointwise
two-layer MLPs (lifting, projection), ``K_l`` is the spectral convolution (keep the lowest Fourier
modes, mix channels per mode), ``W_l v + b_l`` a pointwise linear skip, ``M_l`` a pointwise channel
MLP with the soft-gating skip ``g_l \\odot v_l`` and ``\\sigma`` the GELU (not applied after the last
layer). This is the architecture of neuraloperator's ``FNO`` with its defaults (``norm=None``,
``fno_skip="linear"``, ``channel_mlp_skip="soft-gating"``), so weights transfer one to one.
With ``domain_padding`` the blocks run on the zero-padded box (:mod:`sciml.nn.padding`).

:meth:`AbstractFNO.forward` runs the measured fusions of :mod:`sciml.models.fno_block` and a
lifting that never builds ``cat(a, x)``; :meth:`AbstractFNO.reference_forward` computes the formula
above plainly and is tested equal to it.

References
----------
Z. Li et al., "Fourier Neural Operator for Parametric Partial Differential Equations", ICLR 2021.
J. Kossaifi et al., "Multi-Grid Tensorized Fourier Neural Operator for High-Resolution PDEs", TMLR 2023.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from sciml.models.fno_block import FourierBlock, pointwise
from sciml.nn import ChannelMLP, GridCoordinates, as_policy, pad_domain, padding_widths, unpad_domain
from sciml.nn.path_policy import PATHS
from sciml.nn.spectral_weights import FACTORIZATIONS


@dataclasses.dataclass(frozen=True)
class FNOOptions:
    """Advanced FNO options; the defaults are neuraloperator's.

    Parameters
    ----------
    lifting_ratio, projection_ratio
        Hidden channels of the lifting / projection MLPs as multiples of ``width``.
    channel_mlp_expansion
        Hidden channels of each block's channel MLP as a multiple of ``width``; ``0`` removes the MLP
        (and its soft-gating skip).
    positional_embedding
        Append the coordinates of ``[0, 1)^d`` to the input channels.
    domain_padding
        Zero-pad ``round(domain_padding * n)`` points on both sides of every axis after the lifting
        (for non-periodic problems); a fraction, so the padded box is the same at every resolution.
    factorization, rank
        Spectral weight factorization (``None``, ``"dense"``, ``"tucker"``, ``"cp"``) and its rank.
    spectral_path
        ``"auto"``, ``"fft"`` or ``"dft"``: how the spectral convolutions transform (see
        :mod:`sciml.nn.path_policy`); the model builds one policy from it and shares it between its
        blocks. A string, so that the options stay JSON; for another policy set
        ``block.spectral.path`` after construction.
    """

    lifting_ratio: float = 2.0
    projection_ratio: float = 2.0
    channel_mlp_expansion: float = 0.5
    positional_embedding: bool = True
    domain_padding: float = 0.0
    factorization: str | None = None
    rank: float = 0.5
    spectral_path: str = "auto"

    def __post_init__(self):
        if self.lifting_ratio <= 0 or self.projection_ratio <= 0:
            raise ValueError(f"FNOOptions: lifting_ratio and projection_ratio must be > 0, got {self}")
        if self.channel_mlp_expansion < 0:
            raise ValueError(f"FNOOptions: channel_mlp_expansion must be >= 0, got {self.channel_mlp_expansion}")
        if not 0 <= self.domain_padding < 1:
            raise ValueError(f"FNOOptions: domain_padding must be a fraction in [0, 1), got {self.domain_padding}")
        if self.factorization not in FACTORIZATIONS:
            raise ValueError(f"FNOOptions: factorization must be one of {FACTORIZATIONS}, got {self.factorization!r}")
        if self.spectral_path not in PATHS:
            raise ValueError(f"FNOOptions: spectral_path must be one of {PATHS}, got {self.spectral_path!r}")


class AbstractFNO(nn.Module):
    """The FNO architecture; :class:`FNO` and :class:`TFNO` differ only in their default options.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output functions.
    modes
        Kept Fourier modes per axis, one entry per space dimension (1-D, 2-D, 3-D from its length):
        ``|k| <= modes[i]`` on every axis but the last, ``0 <= k <= modes[-1]`` on the last. On a grid
        too coarse to resolve them (``n_i < 2 modes[i] + 1``) the blocks keep ``(n_i - 1) // 2``
        instead, with the same weights: the model stays defined, and warns once that it clipped.
    width
        Channels of the hidden representation.
    n_layers
        Number of Fourier blocks.
    options
        Advanced options, :class:`FNOOptions`; ``None`` takes the class's ``default_options``.
    generator
        Seeds the weight initialization.

    Shapes: ``forward(a)`` maps ``(B, in_channels, *S) -> (B, out_channels, *S)`` for any ``S`` with
    ``len(S) == len(modes)``.
    """

    name: ClassVar[str]
    default_options: ClassVar[FNOOptions]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: tuple[int, ...],
        width: int,
        n_layers: int = 4,
        options: FNOOptions | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        name = type(self).__name__
        if not isinstance(modes, Sequence) or not all(_is_int(m) for m in modes):
            raise TypeError(f"{name}: modes must be a sequence of ints, one per space axis (e.g. modes=(12, 12) "
                            f"for a 2-D grid), got {modes!r}")
        modes = tuple(int(m) for m in modes)
        if not 1 <= len(modes) <= 3 or min(modes) < 1:
            raise ValueError(f"{name}: modes must hold 1 to 3 positive ints, got {modes}")
        sizes = {"in_channels": in_channels, "out_channels": out_channels, "width": width, "n_layers": n_layers}
        for key, value in sizes.items():
            if not _is_int(value):
                raise TypeError(f"{name}: {key} must be an int, got {value!r}")
        if min(in_channels, out_channels, width, n_layers) < 1:
            raise ValueError(
                f"{type(self).__name__}: in_channels, out_channels, width and n_layers must be >= 1, got "
                f"{in_channels}, {out_channels}, {width}, {n_layers}"
            )
        options = self.default_options if options is None else options
        for ratio in ("lifting_ratio", "projection_ratio"):
            if int(getattr(options, ratio) * width) < 1:
                raise ValueError(f"{type(self).__name__}: options.{ratio} * width must give >= 1 hidden channel, "
                                 f"got {getattr(options, ratio)} * {width}")
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.width, self.n_layers, self.options = width, n_layers, options
        self.coordinates = GridCoordinates() if options.positional_embedding else None
        lifted_in = in_channels + (len(modes) if options.positional_embedding else 0)
        self.lifting = ChannelMLP(lifted_in, int(options.lifting_ratio * width), width, generator=generator)
        policy = as_policy(options.spectral_path)  # one autotune cache for all blocks
        self.blocks = nn.ModuleList(FourierBlock(width, modes, options, generator, policy) for _ in range(n_layers))
        self.projection = ChannelMLP(width, int(options.projection_ratio * width), out_channels, generator=generator)

    def forward(self, a: Tensor) -> Tensor:
        """``a`` ``(B, in_channels, *S)`` -> ``(B, out_channels, *S)``; fused (see :mod:`sciml.models.fno_block`)."""
        self._check(a)
        batch, space = a.shape[0], tuple(a.shape[2:])
        v = self._lift(a.reshape(batch, self.in_channels, -1), space).view(batch, self.width, *space)  # (B, C, *S)
        return self._operate(v, space, reference=False)

    def reference_forward(self, a: Tensor) -> Tensor:
        """The model written plainly, ``Q(v_L)`` of the module docstring; equal to :meth:`forward` (tested)."""
        self._check(a)
        batch, space = a.shape[0], tuple(a.shape[2:])
        if self.coordinates is not None:
            x = self.coordinates.channels_first(space, a.dtype, a.device)  # (d, *S)
            a = torch.cat([a, x.expand(batch, *x.shape)], dim=1)  # (B, C_in + d, *S)
        v = self.lifting(a)  # (B, C, *S)
        return self._operate(v, space, reference=True)

    def _check(self, a: Tensor) -> None:
        name, dim = type(self).__name__, len(self.modes)
        if a.dim() != dim + 2 or a.shape[1] != self.in_channels:
            raise ValueError(
                f"{name}: expected a of shape (B, {self.in_channels}, *S) with {dim} space axes, got {tuple(a.shape)}"
            )
        if a.numel() == 0:
            raise ValueError(f"{name}: a is empty (shape {tuple(a.shape)}); give at least one sample and grid point")
        weight = self.lifting.fc1.weight
        if a.device != weight.device:
            raise ValueError(f"{name}: a is on {a.device} but the model is on {weight.device}; move one of them "
                             f"(a.to({str(weight.device)!r}) or model.to({str(a.device)!r}))")
        if a.dtype != weight.dtype and not torch.is_autocast_enabled(a.device.type):
            raise TypeError(f"{name}: a is {a.dtype} but the model's weights are {weight.dtype}; convert one of them "
                            f"(a.to({weight.dtype}) or model.to({a.dtype}))")
        space = a.shape[2:]
        if any(2 * k + 1 > n for k, n in zip(self.modes, space)):
            warnings.warn(f"{name}: a grid of {tuple(space)} points resolves fewer than modes={self.modes}; "
                          f"keeping min(K, (n - 1) // 2) per axis", stacklevel=3)

    def _operate(self, v: Tensor, space: tuple[int, ...], reference: bool) -> Tensor:
        """Pad, the blocks (fused or ``reference``), unpad, project: ``(B, C, *S) -> (B, C_out, *S)``."""
        widths = padding_widths(space, self.options.domain_padding)
        if any(widths):
            v = pad_domain(v, widths)
        for index, block in enumerate(self.blocks):
            activate = index < self.n_layers - 1
            v = block.reference_forward(v, activate) if reference else block(v, activate)
        if any(widths):
            v = unpad_domain(v, widths)
        return self.projection(v)

    def _lift(self, a3: Tensor, space: tuple[int, ...]) -> Tensor:
        """The lifting MLP on ``cat(a, x)`` ``(B, C_in + d, N)`` without building the concatenation.

        Its first layer splits as ``W_a a + (W_x x + b)``: the coordinate term is one small
        ``(C_lift, d) @ (d, N)`` product shared by the whole batch and accumulated by the GEMM.
        """
        fc1 = self.lifting.fc1
        if self.coordinates is None:
            hidden = pointwise(fc1.weight, a3, fc1.bias[:, None])  # (B, C_lift, N)
        else:
            x = self.coordinates.channels_first(space, a3.dtype, a3.device).reshape(len(space), -1)  # (d, N)
            w_a, w_x = fc1.weight[:, : self.in_channels], fc1.weight[:, self.in_channels :]
            hidden = pointwise(w_a, a3, torch.addmm(fc1.bias[:, None], w_x, x))  # (B, C_lift, N)
        return self.lifting.fc2(self.lifting.activation(hidden))

    def config(self) -> dict[str, Any]:
        """A JSON-able description from which :meth:`from_config` rebuilds the model (weights apart)."""
        return {
            "model": self.name,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "modes": list(self.modes),
            "width": self.width,
            "n_layers": self.n_layers,
            "options": dataclasses.asdict(self.options),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "AbstractFNO":
        """The model that :meth:`config` describes, freshly initialized."""
        if config.get("model") != cls.name:
            raise ValueError(f"{cls.__name__}.from_config: config describes model {config.get('model')!r}, not {cls.name!r}")
        return cls(
            config["in_channels"],
            config["out_channels"],
            tuple(config["modes"]),
            config["width"],
            config["n_layers"],
            FNOOptions(**config["options"]),
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class FNO(AbstractFNO):
    """Fourier neural operator with dense spectral weights (see :class:`AbstractFNO`)."""

    name = "fno"
    default_options = FNOOptions()


class TFNO(AbstractFNO):
    """Fourier neural operator with Tucker-factorized spectral weights (see :class:`AbstractFNO`)."""

    name = "tfno"
    default_options = FNOOptions(factorization="tucker")
