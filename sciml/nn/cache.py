"""A bounded least-recently-used cache for what layers precompute per shape, dtype and device.

Layers that serve any resolution build small things per grid (DFT matrices, coordinates, the
transform path chosen for a shape). Cached without a bound they grow with every new resolution a
long-lived process meets; this cache keeps the ``maxsize`` most recently used entries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import torch

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most ``maxsize`` entries; adding one more evicts the least recently used.

    Parameters
    ----------
    maxsize
        The bound, at least 1.
    """

    def __init__(self, maxsize: int):
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"LRUCache: maxsize must be an int >= 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """The entry for ``key`` (now the most recently used), or ``None``."""
        value = self._entries.get(key)
        if value is not None and not torch.compiler.is_compiling():  # tracing only reads
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entry beyond ``maxsize``."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """The entry for ``key``, built by ``build()`` and stored on a miss.

        Under ``torch.compile`` a miss is built inside the graph and not stored: a tensor traced
        there must not outlive its graph (run the layer once eagerly to cache it as a constant).
        """
        value = self.get(key)
        if value is None:
            value = build()
            if not torch.compiler.is_compiling():
                self.put(key, value)
        return value
