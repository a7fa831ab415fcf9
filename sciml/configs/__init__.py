"""Run configurations shipped with sciml, found by name: ``sciml train darcy_fno_small --out RUN``."""
