"""`python -m netprop` is the `netprop` command."""

from .cli import main

raise SystemExit(main())
