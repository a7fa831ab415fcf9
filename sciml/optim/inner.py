"""The shared frame of ConFIG and M-ConFIG: a combined gradient handed to a standard torch optimizer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from sciml.optim.clip import check_grad_clip, clip_norm_
from sciml.optim.terms import check_names, flat_params, set_flat_grad

__all__ = ["AbstractInnerUpdate"]


class AbstractInnerUpdate(Optimizer):
    """An optimizer whose rule yields a gradient vector that an inner torch optimizer then applies.

    The wrapper and its inner optimizer share ``param_groups`` and ``state``, so LR schedulers,
    ``zero_grad`` and ``add_param_group`` reach the inner optimizer, and ``state_dict()`` is the inner
    one's (plus whatever state the rule itself keeps; subclasses add it).

    Parameters
    ----------
    params
        The parameters or parameter groups, as for any torch optimizer; one real dtype and device.
    terms
        The names of the loss terms the closure returns.
    inner
        The torch optimizer class that applies the combined gradient.
    lr
        Its learning rate.
    inner_kwargs
        Its other keyword arguments (``betas``, ``momentum``, ``weight_decay``, ...).
    grad_clip
        The largest global L2 norm of the gradient vector handed to the inner optimizer, clipped
        as ``torch.nn.utils.clip_grad_norm_`` clips; ``None`` does not clip.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        terms: Sequence[str],
        *,
        inner: type[Optimizer],
        lr: float,
        inner_kwargs: Mapping[str, Any] | None,
        grad_clip: float | None,
    ):
        who = type(self).__name__
        self.terms = check_names(terms, who)
        self.grad_clip = check_grad_clip(grad_clip, who)
        if not (isinstance(inner, type) and issubclass(inner, Optimizer)):
            raise TypeError(f"{who}: inner must be a torch.optim.Optimizer subclass, got {inner!r}")
        if "lr" in (inner_kwargs or {}):
            raise ValueError(f"{who}: pass the learning rate as lr, not inside inner_kwargs")
        self.inner = inner(params, lr=lr, **dict(inner_kwargs or {}))
        super().__init__(self.inner.param_groups, self.inner.defaults)
        self._share_inner()
        flat_params(self.param_groups, who)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()  # torch's keeps only defaults, state and param_groups, not terms and inner

    def _share_inner(self) -> None:
        self.param_groups = self.inner.param_groups
        self.state = self.inner.state

    def state_dict(self) -> dict[str, Any]:
        return self.inner.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.inner.load_state_dict(state_dict)
        self._share_inner()  # torch's load replaces the inner's group list and state dict

    def _params(self) -> list[Tensor]:
        return flat_params(self.param_groups, type(self).__name__)

    @torch.no_grad()
    def _apply(self, params: list[Tensor], direction: Tensor) -> None:
        """Descend along ``direction`` ``(N,)``, clipped to ``grad_clip``, with the inner optimizer."""
        clip_norm_([direction], self.grad_clip, type(self).__name__)
        set_flat_grad(params, direction)
        self.inner.step()
