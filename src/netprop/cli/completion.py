"""netprop completion: the shell script that completes netprop's commands, flags and choices.

argcomplete (Apache-2.0, one pure-Python wheel of 43 KB, no dependencies) rather than shtab: it
completes bash, zsh and fish from the parser itself, where shtab has no fish. Its scripts call
netprop back with _ARGCOMPLETE set at each Tab; main() answers that before anything else runs.
"""

from __future__ import annotations

import os
import sys

from .parsing import add_command

SHELLS = ["bash", "zsh", "fish"]


def add_parser(sub):
    """`netprop completion SHELL`."""
    p = add_command(
        sub, "completion", "print the shell script that completes netprop (bash, zsh or fish)",
        description=(
            "Print a script that makes Tab complete netprop's commands, flags and their choices in "
            "SHELL. Load it once in the shell you are in, or save it where the shell loads completions "
            "(the documentation's completion page has each shell's steps): "
            "bash: source <(netprop completion bash); zsh (after compinit): eval \"$(netprop completion "
            "zsh)\"; fish: netprop completion fish | source."),
        examples=[
            ("netprop completion bash > ~/.local/share/bash-completion/completions/netprop",
             "bash: completes in every new shell (needs the bash-completion package)"),
            ("netprop completion zsh > ~/.zfunc/_netprop",
             "zsh: with fpath+=(~/.zfunc) before compinit in ~/.zshrc"),
            ("netprop completion fish > ~/.config/fish/completions/netprop.fish",
             "fish: completes in every new shell"),
        ],
    )
    p.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")
    p.set_defaults(func=cmd_completion)
    return p


def cmd_completion(args):
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["netprop"], shell=args.shell))
    return 0


def complete_if_asked(parser):
    """Answer a completion script's request (it sets _ARGCOMPLETE) and exit; otherwise return at once."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    argcomplete.autocomplete(parser)
