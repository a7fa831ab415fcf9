"""The ``sciml`` command line: ``generate`` and ``info`` (datasets), ``train`` and ``eval`` (runs).

Every bad argument or file ends in a one-line error on stderr and a non-zero exit status, never a
traceback; tracebacks are left for bugs. Each command module registers its subcommands with
``add_commands``; the registries (:mod:`sciml.registry`) map names to classes here, at the edge.
"""

from __future__ import annotations

import sys

from sciml.cli import data, train
from sciml.cli.common import CommandError, Parser
from sciml.cli.data import build_problem

__all__ = ["CommandError", "build_problem", "main"]


def _parser() -> Parser:
    parser = Parser(prog="sciml", description="Physics-informed scientific machine learning in PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.add_commands(commands)
    train.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``sciml`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv, args.prog = argv, f"sciml {args.command}"
    try:
        return args.run(args)
    except CommandError as err:
        print(f"{args.prog}: error: {err}", file=sys.stderr)
        return 2
