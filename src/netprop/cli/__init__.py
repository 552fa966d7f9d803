"""The `netprop` command: argument parsing and printing only; the math lives in the library.

One module per command (train, evaluate and predict, gradcheck, derive, explain, tune, landscape,
check), each with `add_parser(sub)` and its `cmd_*` function; the flag groups several commands
share in flags.py, the training configuration's flags in config_flags.py, the argparse types in
argtypes.py; app.py assembles the parser and holds main().
"""

from .common import CLIError
from .config_flags import CONFIG_FLAGS
from .app import build_parser, command, main

__all__ = ["CLIError", "CONFIG_FLAGS", "build_parser", "command", "main"]
