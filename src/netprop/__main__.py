"""`python -m netprop` is the `netprop` command."""

from .cli import command

raise SystemExit(command())
