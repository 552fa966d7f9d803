"""The parser every netprop command uses: no abbreviations, one-line errors with a close match, examples.

argparse's defaults fit a script, not a course's tool: it takes `--epoch 1` for `--epochs`, prints its
usage block before every error, reports a subcommand's unknown flag from the top-level parser without
a suggestion, and shows no examples. NetpropParser changes those four things and nothing else.
"""

from __future__ import annotations

import argparse
import difflib
import sys


def close_match(word, candidates):
    """The candidate most like word (difflib's ratio >= 0.6), or None."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _looks_like_a_flag(token):
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)                   # -1 or -0.5: a stray value, not a flag
    except ValueError:
        return True
    return False


class NetpropParser(argparse.ArgumentParser):
    """An ArgumentParser with allow_abbrev=False, `examples` for its --help, and one-line errors."""

    def __init__(self, *args, examples=(), **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.examples = list(examples)          # [(command line, what it does)], shown by --help

    def error(self, message):
        """The problem on one line, then where to read more; exit status 2, argparse's for misuse."""
        self.exit(2, f"{self.prog}: error: {message}\nsee `{self.prog} --help`\n")

    def visible_flags(self):
        """Every option string --help shows (deprecated spellings are hidden and not suggested)."""
        return [flag for action in self._actions if action.help is not argparse.SUPPRESS
                for flag in action.option_strings]

    def parse_args(self, args=None, namespace=None):
        """argparse's parse_args, but a subcommand's unknown flag is reported by that subcommand."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            owner = self._chosen_subparser(namespace) or self
            owner.error(unrecognized_message(extras, owner.visible_flags()))
        return namespace

    def _chosen_subparser(self, namespace):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(namespace, action.dest, None))
                if chosen is not None:
                    return chosen._chosen_subparser(namespace) or chosen
        return None

    def _check_value(self, action, value):
        # argparse's "invalid choice" check, with a close match named, and an unknown command's own words
        if action.choices is None or value in action.choices:
            return
        names = [str(choice) for choice in action.choices]
        guess = close_match(str(value), names)
        if isinstance(action, argparse._SubParsersAction):
            self.error(f"unknown command {value!r}; " + (f"did you mean {guess}?" if guess else
                       f"the commands are {', '.join(names)}"))
        raise argparse.ArgumentError(action, f"invalid choice: {value!r} (choose from {', '.join(names)})"
                                     + (f"; did you mean {guess}?" if guess else ""))

    def format_help(self):
        """argparse's help (descriptions wrapped to the terminal), then the examples as written."""
        text = super().format_help()
        if not self.examples:
            return text
        lines = ["examples:"]
        for command, what in self.examples:
            lines += [f"  {command}", f"      {what}"]
        return text + "\n" + "\n".join(lines) + "\n"


def unrecognized_message(extras, flags):
    """'unrecognized argument --hidden-size; did you mean --hidden?' for the words argparse left over."""
    words = [token.split("=", 1)[0] for token in extras if _looks_like_a_flag(token)] or extras
    guesses = [close_match(word, flags) if word.startswith("-") else None for word in words]
    if len(words) == 1:
        return f"unrecognized argument {words[0]}" + (f"; did you mean {guesses[0]}?" if guesses[0] else "")
    return "unrecognized arguments " + ", ".join(
        word + (f" (did you mean {guess}?)" if guess else "") for word, guess in zip(words, guesses))


def add_command(sub, name, summary, description, examples):
    """A subcommand's parser: summary is its one line in `netprop`'s overview; examples go to --help."""
    return sub.add_parser(name, help=summary, description=description, examples=examples)


class DeprecatedFlag(argparse.Action):
    """An old spelling kept working: it sets the new flag's value and says once, on stderr, to switch."""

    def __init__(self, option_strings, dest, replacement, **kwargs):
        kwargs.update(help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: {option_string} is deprecated and will be removed; it is now "
              f"{self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)
