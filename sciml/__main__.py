"""``python -m sciml`` (and ``torchrun -m sciml``) runs the command line."""

import sys

from sciml.cli import main

sys.exit(main())
