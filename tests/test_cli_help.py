"""The command line helps: close-match suggestions, one-line errors, no abbreviations, an overview,
examples on every command, shell completion, and shared flags that mean one thing."""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import error_line, netprop_here

from netprop.cli import build_parser, main
from netprop.cli.argtypes import non_negative_int, positive_int

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["train", "evaluate", "predict", "tune", "landscape", "derive", "explain", "gradcheck", "check",
            "completion"]


def run_cli(*args, env=None):
    """The real console command in a child; netprop_here calls the same main() in this process."""
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def subparsers():
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def parse_error(capsys, argv):
    """(exit status, stderr) of a command line the parser refuses."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, capsys.readouterr().err


# --- the messages, verbatim ---------------------------------------------------------------------


@pytest.mark.parametrize("argv, lines", [
    (["train", "--hidden-size", "128"],
     ["netprop train: error: unrecognized argument --hidden-size; did you mean --hidden?",
      "see `netprop train --help`"]),
    (["trian"], ["netprop: error: unknown command 'trian'; did you mean train?", "see `netprop --help`"]),
    (["train", "--epoch", "1"],
     ["netprop train: error: unrecognized argument --epoch; did you mean --epochs?",
      "see `netprop train --help`"]),
    (["train", "--optimizer", "adamm"],
     ["netprop train: error: argument --optimizer: invalid choice: 'adamm' (choose from sgd, momentum, "
      "nesterov, adam); did you mean adam?", "see `netprop train --help`"]),
    (["gradcheck", "--thresold=1e-3", "--exampels", "3"],
     ["netprop gradcheck: error: unrecognized arguments --thresold (did you mean --threshold?), "
      "--exampels (did you mean --examples?)", "see `netprop gradcheck --help`"]),
    (["frobnicate"], ["netprop: error: unknown command 'frobnicate'; the commands are " + ", ".join(COMMANDS),
                      "see `netprop --help`"]),
    (["--json"], ["netprop: error: no command given; the commands are " + ", ".join(COMMANDS),
                  "see `netprop --help`"]),
    (["evaluate", "runs/a", "runs/b"],
     ["netprop evaluate: error: unrecognized argument runs/b", "see `netprop evaluate --help`"]),
    (["derive", "--zzz"],      # nothing close: no guess
     ["netprop derive: error: unrecognized argument --zzz", "see `netprop derive --help`"]),
])
def test_usage_errors_are_one_line_and_a_pointer_to_help(argv, lines):
    proc = netprop_here(*argv)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == lines           # no usage block, no traceback
    assert proc.stdout == ""


def test_an_unknown_flag_is_reported_by_the_commands_own_parser(capsys):
    # argparse left it to the top-level parser: "netprop: error: unrecognized arguments" after its usage
    code, err = parse_error(capsys, ["predict", "run", "x.png", "--topp", "5"])
    assert code == 2
    assert error_line(err) == "netprop predict: error: unrecognized argument --topp; did you mean --top?"


# --- no abbreviations ---------------------------------------------------------------------------


def test_no_command_takes_an_abbreviated_flag(capsys):
    # argparse's allow_abbrev took --epoch for --epochs silently; every prefix of every flag is refused now
    for name, parser in subparsers().items():
        flags = parser.visible_flags()
        required = ["x"] * sum(1 for a in parser._actions if not a.option_strings and a.nargs != "?")
        for flag in (f for f in flags if f.startswith("--") and f != "--help"):
            prefix = flag[:-1]
            if prefix in flags or prefix == "--":
                continue
            code, err = parse_error(capsys, [name, *required, prefix])
            assert code == 2, (name, prefix)
            assert f"unrecognized argument {prefix}; did you mean" in err, (name, prefix, err)


# --- the overview ------------------------------------------------------------------------------


def test_bare_netprop_prints_the_overview_and_exits_0():
    bare, helped = run_cli(), netprop_here("--help")       # bare: main() reading the real sys.argv
    assert bare.returncode == 0 and helped.returncode == 0 and bare.stderr == ""
    assert bare.stdout == helped.stdout
    lines = bare.stdout.splitlines()
    start = lines.index("commands:") + 1
    listed = [line.split()[0] for line in lines[start:start + len(COMMANDS)]]
    assert listed == COMMANDS and listed[0] == "train"                  # one line each, train first
    assert lines[start + len(COMMANDS)] == ""
    assert "start here:" in lines
    assert "`netprop` alone prints this overview and exits 0." in " ".join(bare.stdout.split())
    assert max(len(line) for line in lines) <= 79


def test_the_overviews_start_here_lines_parse():
    text = netprop_here().stdout
    block = text.split("start here:\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.strip().split("  ")[0] for line in block.splitlines()]
    assert len(commands) >= 3
    for command in commands:
        words = shlex.split(command)
        if "--help" not in words:
            build_parser().parse_args(words[1:])


# --- examples on every command -------------------------------------------------------------------


def netprop_words(command):
    """The argument words of an example, up to a shell redirection or pipe."""
    words = shlex.split(command)
    assert words[0] == "netprop", command
    for i, word in enumerate(words):
        if word in (">", ">>", "|"):
            return words[1:i]
    return words[1:]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_examples_that_parse(name):
    parser = subparsers()[name]
    assert len(parser.examples) >= 2
    help_text = parser.format_help()
    assert "\nexamples:\n" in help_text
    for command, what in parser.examples:
        assert f"  {command}\n      {what}\n" in help_text
        words = netprop_words(command)
        assert words[0] == name
        args = build_parser().parse_args(words)
        assert args.command == name


def test_the_derive_examples_run(tmp_path):
    # the ones that need no data set run for real, in the order given (--params reads what --json wrote);
    # in this process: the console script's derive runs as a child in test_derive.py
    for command, _ in subparsers()["derive"].examples:
        proc = netprop_here(*netprop_words(command), cwd=tmp_path)
        assert proc.returncode == 0, (command, proc.stderr)
    assert "<math" in (tmp_path / "lecture.html").read_text()
    assert "weights" in json.loads((tmp_path / "numbers.json").read_text())


# --- one meaning per flag -----------------------------------------------------------------------


def flag_actions():
    for name, parser in subparsers().items():
        for action in parser._actions:
            if action.help is not argparse.SUPPRESS:
                for flag in action.option_strings:
                    yield name, flag, action


def test_shared_flags_mean_the_same_everywhere():
    have = {}
    for name, flag, action in flag_actions():
        have.setdefault(flag, set()).add(name)
        if flag in ("--quiet", "--json"):
            assert isinstance(action, argparse._StoreTrueAction), (name, flag)
        elif flag == "--out":
            assert action.metavar == "DIR", name                 # derive's file is --output FILE
        elif flag == "--subset":
            assert action.type is positive_int and action.help.startswith("train"), name
        elif flag == "--seed":
            assert action.type is non_negative_int, name
        elif flag == "--data-dir":
            assert action.metavar == "DIR" and "Fashion-MNIST" in action.help, name
    # --quiet where a command prints progress or messages; --json where it prints results
    assert have["--quiet"] == {"train", "tune", "landscape", "derive", "gradcheck", "check"}
    assert have["--json"] == {"train", "evaluate", "predict", "tune", "landscape", "derive", "gradcheck",
                              "check"}
    assert have["--out"] == {"train", "tune", "check"} and have["--output"] == {"derive"}
    assert have["--subset"] == {"train", "tune"}
    assert have["--examples"] == {"gradcheck", "landscape"}       # how many examples a quantity is computed on


@pytest.mark.parametrize("argv, dest, value, message", [
    (["derive", "--out", "d.txt"], "output", "d.txt",
     "netprop derive: --out is deprecated and will be removed; it is now --output FILE (--out names a "
     "directory in every other command)"),
    (["landscape", "run", "--subset", "500"], "examples", 500,
     "netprop landscape: --subset is deprecated and will be removed; it is now --examples N"),
    (["train", "--landscape-subset", "500"], "landscape_examples", 500,
     "netprop train: --landscape-subset is deprecated and will be removed; it is now --landscape-examples N"),
])
def test_renamed_flags_keep_their_old_spelling_with_a_notice(capsys, argv, dest, value, message):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert capsys.readouterr().err.splitlines() == [message]


def test_renamed_flags_are_not_suggested_or_completed():
    derive = subparsers()["derive"]
    assert "--out" not in derive.visible_flags() and "--output" in derive.visible_flags()


def test_derive_json_is_format_json(tmp_path, capsys):
    assert main(["derive", "--json", "--seed", "3"]) == 0
    by_flag = capsys.readouterr().out
    assert main(["derive", "--format", "json", "--seed", "3"]) == 0
    assert json.loads(by_flag) == json.loads(capsys.readouterr().out)
    assert main(["derive", "--json", "--format", "html"]) == 2
    assert error_line(capsys.readouterr().err) == \
        "netprop derive: error: --json is --format json; it contradicts --format html"


def test_derive_output_writes_the_file_and_says_so_unless_quiet(tmp_path, capsys):
    assert main(["derive", "--output", str(tmp_path / "a.md"), "--format", "markdown"]) == 0
    assert capsys.readouterr().err == f"wrote the markdown derivation to {tmp_path / 'a.md'}\n"
    assert main(["derive", "--output", str(tmp_path / "b.md"), "--format", "markdown", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "a.md").read_text() == (tmp_path / "b.md").read_text() != ""


@pytest.mark.slow          # two full checks; test_review.py's check commands stay
def test_check_quiet_prints_nothing_when_everything_agrees_and_the_tables_when_not(tmp_path, capsys):
    from test_check import PLANTED, SOLUTION

    good = tmp_path / "good.py"
    good.write_text(SOLUTION)
    assert main(["check", str(good), "--no-images", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    right, slip, _ = PLANTED["no_prime"]      # the hidden delta without relu'(z)
    wrong = tmp_path / "wrong.py"
    wrong.write_text(SOLUTION.replace(right, slip))
    assert main(["check", str(wrong), "--no-images", "--quiet"]) == 1
    assert "FAILED:" in capsys.readouterr().out


# --- shell completion --------------------------------------------------------------------------


def netprop_on_path(tmp_path):
    """An environment whose PATH has a `netprop` that runs this checkout (the shells call it back)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "netprop"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netprop "$@"\n')
    script.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__import__("netprop").__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    return env


def shell_or_skip(name):
    if shutil.which(name) is None:
        if os.environ.get("CI"):
            raise AssertionError(f"CI needs {name} (make test-tools installs it)")
        pytest.skip(f"{name} is not installed (make test-tools installs it)")


def completions(tmp_path, line):
    """What netprop answers a completion script for the command line typed so far (argcomplete's protocol)."""
    answer = tmp_path / "answer"
    env = dict(os.environ, _ARGCOMPLETE="1", _ARGCOMPLETE_SHELL="bash", COMP_LINE=line,
               COMP_POINT=str(len(line)), _ARGCOMPLETE_STDOUT_FILENAME=str(answer), _ARGCOMPLETE_IFS="\n")
    proc = subprocess.run([sys.executable, "-m", "netprop"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return answer.read_text().split()


@pytest.mark.slow          # five netprop children; the bash script's loading and the scripts stay
def test_completion_answers_commands_flags_and_choices(tmp_path):
    assert completions(tmp_path, "netprop tr") == ["train"]
    assert completions(tmp_path, "netprop train --hid") == ["--hidden"]
    assert completions(tmp_path, "netprop train --optimizer ") == ["sgd", "momentum", "nesterov", "adam"]
    assert completions(tmp_path, "netprop derive --ou") == ["--output"]        # not the deprecated --out
    assert completions(tmp_path, "netprop completion ") == ["-h", "--help", "bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell):
    proc = netprop_here("completion", shell)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "netprop" in proc.stdout and "_ARGCOMPLETE" in proc.stdout


def test_completion_refuses_another_shell():
    proc = netprop_here("completion", "tcsh")
    assert proc.returncode == 2
    assert error_line(proc.stderr) == \
        "netprop completion: error: argument SHELL: invalid choice: 'tcsh' (choose from bash, zsh, fish)"


def test_the_bash_script_loads(tmp_path):
    env = netprop_on_path(tmp_path)
    proc = subprocess.run(["bash", "-c", "source <(netprop completion bash) && complete -p netprop"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip().endswith(" netprop") and "-F " in proc.stdout


BASH_TAB = r'''
source <(netprop completion bash)
function=$(complete -p netprop | sed -E 's/.* -F ([^ ]+) .*/\1/')
tab() {   # what Tab offers after the words typed so far, as bash's completion sets COMPREPLY
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
    [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    "$function" netprop "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "${COMPREPLY[*]}"
}
tab "netprop tr"; tab "netprop train --hid"; tab "netprop derive --format "
'''


@pytest.mark.slow
def test_bash_completes_through_the_script(tmp_path):
    proc = subprocess.run(["bash", "-c", BASH_TAB], env=netprop_on_path(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert [line.split() for line in proc.stdout.splitlines()] == [
        ["train"], ["--hidden"], ["text", "markdown", "latex", "html", "json"]]


@pytest.mark.slow          # zsh's compinit and a netprop child; bash's script is loaded in the inner loop
def test_the_zsh_script_registers_with_compinit(tmp_path):
    shell_or_skip("zsh")
    script = ('autoload -U compinit && compinit -u -d "$1/zcompdump" && eval "$(netprop completion zsh)" '
              '&& print -r -- "$_comps[netprop]"')
    proc = subprocess.run(["zsh", "-f", "-c", script, "zsh", str(tmp_path)], env=netprop_on_path(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "_python_argcomplete"


@pytest.mark.slow
def test_fish_completes_through_the_script(tmp_path):
    shell_or_skip("fish")
    script = 'netprop completion fish | source; complete -C "netprop tr"; complete -C "netprop train --hid"'
    proc = subprocess.run(["fish", "--no-config", "-c", script], env=netprop_on_path(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["train", "--hidden"]


def test_the_program_freezes_the_collector_only_as_it_leaves(tmp_path):
    # the console script and `python -m netprop` call command(): main()'s status, then gc.freeze(), so
    # that the interpreter's shutdown does not collect over Numba's registries (0.2 s of a run)
    import gc

    from netprop.cli import app

    tomllib = pytest.importorskip("tomllib", reason="Python 3.11's tomllib reads pyproject.toml")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["netprop"] == "netprop.cli:command"
    assert "raise SystemExit(command())" in (ROOT / "src/netprop/__main__.py").read_text()
    probe = ("import gc, sys\nfrom netprop.cli import command\n"
             "before = gc.get_freeze_count()\n"
             f"sys.argv = ['netprop', 'derive', '--quiet', '--output', {str(tmp_path / 'd.md')!r}]\n"
             "status = command()\nprint(before, gc.get_freeze_count() > 1000, status)\n"
             f"sys.argv = ['netprop', 'evaluate', {str(tmp_path / 'absent')!r}]\n"
             "print(command())\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["0", "True", "0", "2"], done.stderr
    assert (tmp_path / "d.md").exists()
    # main() itself, called in a longer-lived process such as this one, leaves the collector alone
    frozen = gc.get_freeze_count()
    assert app.main(["derive", "--quiet", "--output", str(tmp_path / "e.md")]) == 0
    assert gc.get_freeze_count() == frozen
