"""What every ``sciml`` command shares: the one-line errors, the exit statuses, argument parsers.

This module imports nothing heavy (torch is imported where a device is parsed), so that
:func:`sciml.cli.main` installs its signal handlers before the slow imports of the commands.
"""

from __future__ import annotations

import argparse
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: exit statuses: a bad argument or file, a run that failed (full disk, I/O error, solver blow-up, not
#: enough memory), Ctrl-C (SIGINT), SIGTERM, and a reader of stdout that went away (SIGPIPE)
USAGE, FAILED, INTERRUPTED, TERMINATED, BROKEN_PIPE = 2, 1, 128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGPIPE


class CommandError(Exception):
    """A user error, printed as one line; ``status`` is the exit status (:data:`USAGE` or :data:`FAILED`)."""

    def __init__(self, message: str, status: int = USAGE):
        super().__init__(message)
        self.status = status


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C's ``KeyboardInterrupt``: a command stops the same way on both."""


#: the interrupts received by the running command (:func:`interrupt`), for :func:`check_interrupted`
_received: list[KeyboardInterrupt] = []


def interrupt(signum: int, frame: object) -> None:
    """The SIGINT and SIGTERM handler of :func:`sciml.cli.main`: raise where the program is, and remember it.

    Python runs the handler wherever the program is, also inside a finalizer or a weakref callback,
    whose exceptions it only prints ("Exception ignored in ..."); the command would then run on.
    Remembered, the interrupt is raised again by the next :func:`check_interrupted`.
    """
    err = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    _received.append(err)
    raise err


def check_interrupted() -> None:
    """Raise the interrupt this command received, if any: for long loops, in case a finalizer swallowed it."""
    if _received:
        raise _received[-1]


def forget_interrupts() -> None:
    """A new command starts with no interrupt received."""
    _received.clear()


def interrupted_status(err: KeyboardInterrupt) -> int:
    """The exit status of a command stopped by ``err``: :data:`TERMINATED` for SIGTERM, else :data:`INTERRUPTED`."""
    return TERMINATED if isinstance(err, Terminated) else INTERRUPTED


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (argparse prints the usage block first)."""

    def error(self, message: str):
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def int_at_least(low: int, high: int | None = None):
    """An argparse type: an integer ``>= low`` (and ``<= high``)."""
    wanted = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {wanted}, got {text!r}")
        return value

    return parse


def device(option: str, text: str) -> torch.device:
    """The device ``text`` names: ``cpu``, ``cuda`` or ``cuda:N``; a :class:`CommandError` naming ``option`` otherwise."""
    import torch  # here, not at the top: see the module docstring

    try:
        device = torch.device(text)
    except RuntimeError as err:
        raise CommandError(f"{option} {text}: {err}") from None
    if device.type not in ("cpu", "cuda"):
        raise CommandError(f"{option} {text}: not supported (cpu, cuda or cuda:N)")
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type == "cuda" and (count == 0 or (device.index or 0) >= count):
        raise CommandError(f"{option} {text}: " + (f"this machine has {count} CUDA devices" if count else "no CUDA device is available"))
    return device
