"""neuraloperator's ``.pt`` files: a dictionary of tensors ``x`` (inputs) and ``y`` (solutions).

neuraloperator's example data (``darcy_train_16.pt``: ``x (N, 16, 16)`` bool, ``y (N, 16, 16)``
float32; ``burgers_train_16.pt``: ``x (N, 16)``, ``y (N, 17, 16)`` float64 and ``visc``) store
fields without a channel axis and add one on load; files of one's own may have it. The rule:

- ``x`` and ``y`` of equal rank have a channel axis (axis 1) if either has length 1 there, else none;
- ranks that differ by one: the higher-rank one has a channel axis (``y (N, T, 16)`` beside
  ``x (N, 16)``: ``T`` time steps as channels), the other none;

after which both must share the spatial shape ``S``. So ``(N, C, *S)`` with ``C > 1`` on both sides
reads as space, not channels. Bool and integer fields become floats. The files carry no grid;
the reader takes the periodic unit box, the grid neuraloperator's positional embedding assumes
(``linspace(0, 1, n + 1)[:-1]`` per axis). Other keys (``visc``) are not read. Files are loaded
with ``torch.load(..., weights_only=True)``, so no code is unpickled.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import Tensor

from sciml.data.readers_base import Field, Layout, ReaderError, make_grid


def torch_layout(path: Path) -> Layout:
    """The pairs of a neuraloperator ``.pt`` file (see the module docstring)."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # torch's message spans many lines; keep the one that says why
        why = next((line.strip() for line in str(err).splitlines() if "WeightsUnpickler error" in line), "")
        raise ReaderError(path, f"refused by torch.load(weights_only=True), which loads only tensors and plain "
                                f"containers: {why or 'damaged pickle'}") from err
    # torch reports a damaged file as any of RuntimeError, EOFError, OSError, KeyError, ..., depending on
    # which bytes are hit; all of them mean the same here
    except Exception as err:
        raise ReaderError(path, f"not a readable torch file, truncated or corrupt ({type(err).__name__}: "
                                f"{str(err).splitlines()[0] if str(err) else ''})") from err
    if not isinstance(data, dict) or not {"x", "y"} <= data.keys():
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ReaderError(path, f"expected a dict with tensors 'x' (inputs) and 'y' (solutions); found {found}")
    x, y = (_tensor(path, data, key) for key in ("x", "y"))
    x_channel, y_channel = _channel_axes(path, x, y)
    inputs, solutions = _field("x", x, x_channel), _field("y", y, y_channel)
    space = inputs.shape[2:]
    grid = make_grid(path, space, (1.0,) * len(space), periodic=True)
    return Layout(inputs, solutions, grid, "neuraloperator-pt",
                  f"neuraloperator .pt (x {tuple(x.shape)} {x.dtype}, y {tuple(y.shape)} {y.dtype})")


def _tensor(path: Path, data: dict, key: str) -> Tensor:
    value = data[key]
    if not isinstance(value, Tensor):
        raise ReaderError(path, f"{key!r} is a {type(value).__name__}; expected a tensor")
    if value.is_complex() or value.ndim < 2:
        raise ReaderError(path, f"{key!r} is a {value.dtype} tensor of shape {tuple(value.shape)}; expected a real "
                                "(N, *S) or (N, C, *S) field")
    return value


def _channel_axes(path: Path, x: Tensor, y: Tensor) -> tuple[bool, bool]:
    """Whether ``x`` and ``y`` have a channel axis (the rule in the module docstring)."""
    if x.ndim == y.ndim:
        both = x.shape[1] == 1 or y.shape[1] == 1
        return both, both
    if abs(x.ndim - y.ndim) == 1:
        return x.ndim > y.ndim, y.ndim > x.ndim
    raise ReaderError(path, f"x {tuple(x.shape)} and y {tuple(y.shape)}: expected ranks that are equal or differ "
                            "by one (a channel axis)")


def _field(name: str, t: Tensor, channel: bool) -> Field:
    if channel:
        return Field(name, tuple(t.shape), lambda i, j: t[i:j])
    return Field(name, (t.shape[0], 1, *t.shape[1:]), lambda i, j: t[i:j, None])
