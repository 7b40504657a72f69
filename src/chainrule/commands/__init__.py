"""Subcommands of the ``chainrule`` command, one module each."""
