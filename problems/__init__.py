"""The built-in PDE problems, written against sciml's public API as a user would write one."""
