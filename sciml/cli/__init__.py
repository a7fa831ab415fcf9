"""The ``sciml`` command line: ``generate`` and ``info`` (datasets), ``train`` and ``eval`` (runs).

Every bad argument or file ends in a one-line error on stderr and a non-zero exit status, never a
traceback; tracebacks are left for bugs. Each command module registers its subcommands with
``add_commands``; the registries (:mod:`sciml.registry`) map names to classes here, at the edge.

Ctrl-C and SIGTERM stop every command the same way (exit status 130 and 143), start-up included:
this module imports little (milliseconds), and the command modules, which import torch (seconds),
only once the handlers are installed. An interrupt that lands in a finalizer, where Python only
prints it, is raised again by the command's next progress report. A reader of stdout that goes away (``sciml info FILE | head
-1``) ends the command quietly.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import warnings

import sciml
from sciml.cli.common import BROKEN_PIPE, USAGE, CommandError, Parser, forget_interrupts, interrupt, interrupted_status

__all__ = ["CommandError", "main"]


def _parser() -> Parser:
    # torch comes with the commands, and importlib.metadata takes tens of milliseconds: both after the signal handlers
    import platform
    from importlib import metadata

    from sciml.cli import data, train

    parser = Parser(prog="sciml", description="Physics-informed scientific machine learning in PyTorch.")
    parser.add_argument("--version", action="version", version=f"sciml {sciml.__version__} (torch {metadata.version('torch')}, "
                        f"h5py {metadata.version('h5py')}, Python {platform.python_version()})")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    data.add_commands(commands)
    train.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``sciml`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    forget_interrupts()
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def quiet_interrupts(unraisable) -> None:  # a finalizer swallowed an interrupt: check_interrupted raises it again
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_interrupts
    try:
        return _run(argv)
    except KeyboardInterrupt as err:  # outside a command's own handling: start-up, parsing
        print("sciml: interrupted", file=sys.stderr)
        return interrupted_status(err)
    except BrokenPipeError:
        # stdout's reader is gone: nothing more can be shown, and Python's flush at exit must not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    finally:
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _show_warning(prog: str, message: Warning | str, *_: object, **__: object) -> None:
    print(f"{prog}: warning: {message}", file=sys.stderr)


def _run(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    args.argv, args.prog = argv, f"sciml {args.command}"
    try:
        with warnings.catch_warnings():  # the library's warnings as one line each, whatever the caller's filters
            warnings.simplefilter("default")
            warnings.showwarning = functools.partial(_show_warning, args.prog)
            status = args.run(args)
    except CommandError as err:
        print(f"{args.prog}: error: {err}", file=sys.stderr)
        return err.status
    sys.stdout.flush()  # a closed pipe shows here, where main handles it, rather than at exit
    return status
