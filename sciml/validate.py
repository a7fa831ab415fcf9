"""Checks of scalar arguments that name the owner, the argument, the range and the reason.

A problem, a model or a solver checks its numbers where it is constructed, so that the command line
and the Python API refuse the same values before any work is done.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_number"]


def check_number(
    owner: str,
    name: str,
    value: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    integer: bool = False,
    why: str = "",
) -> None:
    """Raise unless ``value`` is a finite real number (an integer if ``integer``) in the given range.

    Parameters
    ----------
    owner, name
        Who is checking and which argument, e.g. ``"Darcy"``, ``"rtol"``; the message starts
        ``"Darcy: rtol must be ..."``.
    value
        The value; ``bool`` is not a number here, ``NaN`` and infinities are refused.
    above, at_least, below
        Bounds: ``value > above``, ``value >= at_least``, ``value < below``.
    integer
        Require an ``int`` (a float such as ``3.0`` is refused).
    why
        The reason for the range, appended in parentheses, e.g. ``"the GRF must be continuous"``.

    Raises
    ------
    TypeError
        ``value`` is not a real number (or not an integer).
    ValueError
        ``value`` is not finite or out of range.
    """
    kind = "an integer" if integer else "a finite number"
    bounds = [f"> {above}" if above is not None else "", f">= {at_least}" if at_least is not None else "",
              f"< {below}" if below is not None else ""]
    wanted = " and ".join(b for b in bounds if b)
    reason = f" ({why})" if why else ""
    expected = f"{owner}: {name} must be {kind}{' ' + wanted if wanted else ''}{reason}, got {value!r}"
    number = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, number):
        raise TypeError(expected)
    if not math.isfinite(value):
        raise ValueError(expected)
    if (above is not None and not value > above) or (at_least is not None and not value >= at_least) or (
            below is not None and not value < below):
        raise ValueError(expected)
