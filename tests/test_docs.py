"""Every code block in README.md and docs/ runs, so the documentation cannot rot.

A page's fenced blocks run in the order they appear, in one temporary folder per page:

- ```python blocks are executed, in one namespace per page (a later block sees an earlier one's names),
  except one titled with a file name (```python title="hw3.py"), which is written to that file;
- ```console blocks: each line starting with `$ netprop` is a command (a trailing backslash continues
  it on the next line), run by bash with `netprop` meaning this checkout's netprop; it must exit 0,
  or the status a trailing `# exit N` names. The lines after a command are its output as shown to
  the reader, never compared (they hold run times and the like). `netprop explain` is started,
  its page fetched, and stopped. Lines starting with `$ ` and another program are not run;
- ```text blocks show output or other illustrations, ```sh blocks the set-up commands (make, pip,
  apt-get) that build the environment these tests run in: neither runs.

A block with any other language, or none, fails the test, so that no example goes unchecked. A page
that runs `netprop` commands is marked slow (each starts bash and a Python; those that train, tune,
draw a landscape, evaluate, predict or check homework take longer), as is one holding the comment
`<!-- docs-test: slow (why) -->`; pages of Python blocks alone stay in the inner loop. Pages that
train need Fashion-MNIST (skipped without it, except under CI).
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import fashion_mnist_or_skip

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LANGUAGES = {"python", "console", "text", "sh"}
NEEDS_DATA = {"train", "tune", "landscape", "evaluate", "predict"}
SLOW_MARKER = "<!-- docs-test: slow"        # then the reason, and -->
COMMAND_TIMEOUT_S = 600

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n"
                   r"(?P<body>.*?)\n(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)
EXPECTED_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def fenced_blocks(text):
    """[(language, body, line number, title or None)] of a page's fenced code blocks, indentation removed."""
    blocks = []
    for found in FENCE.finditer(text):
        indent = found["indent"]
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                         for line in found["body"].split("\n"))
        language = found["info"].strip().split(" ")[0] if found["info"].strip() else ""
        title = re.search(r'title="([^"]+)"', found["info"])
        blocks.append((language, body, text.count("\n", 0, found.start()) + 1, title and title[1]))
    return blocks


def console_commands(body):
    """[(command, expected exit status)] for the `$ netprop …` lines of a console block."""
    commands, pending = [], None
    for line in body.split("\n"):
        if pending is not None:
            pending += " " + line.strip()
        elif line.startswith("$ netprop ") or line.strip() == "$ netprop":
            pending = line[2:].strip()
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        expected = EXPECTED_EXIT.search(pending)
        commands.append((EXPECTED_EXIT.sub("", pending), int(expected[1]) if expected else 0))
        pending = None
    return commands


def subcommands(page_text):
    return {command.split()[1] for language, body, *_ in fenced_blocks(page_text) if language == "console"
            for command, _ in console_commands(body) if len(command.split()) > 1}


def page_param(page):
    text = page.read_text(encoding="utf-8")
    runs_netprop = any(console_commands(body) for language, body, *_ in fenced_blocks(text) if language == "console")
    slow = SLOW_MARKER in text or runs_netprop
    return pytest.param(page, id=page.relative_to(ROOT).as_posix(), marks=[pytest.mark.slow] if slow else [])


@pytest.fixture
def shell_env(tmp_path):
    """An environment where `netprop` runs this checkout's netprop with this interpreter."""
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "netprop"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netprop "$@"\n')
    shim.chmod(0o755)
    src = str(ROOT / "src")
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "MPLBACKEND": "Agg", "BROWSER": "true",
            "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}


def run_command(command, expected, cwd, env, where):
    if command.split()[1:2] == ["explain"]:
        return serve_and_fetch(command, cwd, env, where)
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert done.returncode == expected, (f"{where}: `{command}` exited {done.returncode}, not {expected}\n"
                                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def serve_and_fetch(command, cwd, env, where):
    """`netprop explain …` serves until stopped: wait for its address, fetch the page, stop it."""
    server = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, address = time.monotonic() + 60, None
        while address is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            found = re.search(r"http://\S+", line)
            address = found.group(0) if found else None
        assert address, f"{where}: `{command}` printed no address"
        with urllib.request.urlopen(address, timeout=30) as response:
            assert response.status == 200, f"{where}: {address} answered {response.status}"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stdout.close()


@pytest.mark.parametrize("doc_page", [page_param(page) for page in PAGES])
def test_every_code_block_runs(doc_page, tmp_path, shell_env, monkeypatch):
    """The page's blocks, in order, in a folder of its own: python executed, console commands run."""
    text = doc_page.read_text(encoding="utf-8")
    blocks = fenced_blocks(text)
    name = doc_page.relative_to(ROOT).as_posix()
    unknown = [(line, language) for language, _, line, _ in blocks if language not in LANGUAGES]
    assert not unknown, f"{name}: blocks whose language is not one of {sorted(LANGUAGES)}: {unknown}"
    if subcommands(text) & NEEDS_DATA:
        fashion_mnist_or_skip()
    work = tmp_path / "page"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    for language, body, line, title in blocks:
        where = f"{name}:{line}"
        if language == "python" and title:
            (work / title).parent.mkdir(parents=True, exist_ok=True)
            (work / title).write_text(body + "\n")
        elif language == "python":
            exec(compile(body, where, "exec"), namespace)
        elif language == "console":
            for command, expected in console_commands(body):
                run_command(command, expected, work, shell_env, where)


RELATIVE_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_links_resolve():
    # the README is read on a forge, not built by MkDocs, so its links are checked here
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [target for target in RELATIVE_LINK.findall(text) if not (ROOT / target).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_blocks_are_found_as_the_rules_say():
    # the extractor itself, on a page written by hand: indented fences, continuations, exit codes
    page = ("Intro\n\n```python\nx = 1\n```\n\n- item\n\n    ```console\n    $ netprop gradcheck \\\n"
            "        --sizes 4,3,2\n    output line\n    $ netprop check hw.py  # exit 1\n    $ ls\n    ```\n\n"
            "```text\n$ netprop train\n```\n\n```python title=\"hw.py\"\ndef f():\n    pass\n```\n")
    blocks = fenced_blocks(page)
    assert [(language, line, title) for language, _, line, title in blocks] == [
        ("python", 3, None), ("console", 9, None), ("text", 17, None), ("python", 21, "hw.py")]
    assert blocks[3][1] == "def f():\n    pass"
    assert console_commands(blocks[1][1]) == [("netprop gradcheck --sizes 4,3,2", 0), ("netprop check hw.py", 1)]
    assert subcommands(page) == {"gradcheck", "check"}


def test_the_api_reference_lists_every_public_name():
    # mkdocstrings renders only the members named in the page; a name added to netprop.__all__
    # without a line there would be missing from the reference without any build warning
    import netprop
    import netprop.sklearn

    for module, page in ((netprop, "netprop.md"), (netprop.sklearn, "sklearn.md")):
        text = (ROOT / "docs" / "reference" / page).read_text(encoding="utf-8")
        listed = set(re.findall(r"^ +- (\w+)$", text, re.M)) | set(re.findall(r"^::: [\w.]+\.(\w+)$", text, re.M))
        assert set(module.__all__) - {"__version__"} <= listed, sorted(set(module.__all__) - listed - {"__version__"})
