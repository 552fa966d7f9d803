"""`netprop gradcheck` end to end: numbers, JSON, exit codes and one-line errors."""

import json
import subprocess
import sys

import pytest
from helpers import error_line, netprop_here

import netprop
from netprop.cli import main


def run_cli(*args):
    """The real console command in a child; netprop_here calls the same main() in this process."""
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True,
                          timeout=300)


def test_table_has_a_relative_error_per_parameter(capsys):
    assert main(["gradcheck", "--sizes", "6,5,3"]) == 0
    out = capsys.readouterr().out
    for name in ("W1", "b1", "W2", "b2"):
        line = next(l for l in out.splitlines() if l.strip().startswith(name + " "))
        error = float(line.split()[2])
        assert 0 <= error < 1e-6 and line.endswith("ok")
    assert "PASSED" in out


def test_json_matches_the_library():
    proc = netprop_here("gradcheck", "--sizes", "5,4,4,3", "--activation", "sigmoid", "--l2", "0.1",
                   "--json", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] is True
    (entry,) = report["networks"]
    assert entry["layer_sizes"] == [5, 4, 4, 3]
    assert set(entry["relative_errors"]) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert entry["max_relative_error"] == max(entry["relative_errors"].values()) < 1e-6


@pytest.mark.slow          # 784-3-10 on Fashion-MNIST images; the table and JSON tests stay
def test_default_checks_the_lecture_network():
    proc = netprop_here("gradcheck", "--hidden", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    names = [n["network"] for n in json.loads(proc.stdout)["networks"]]
    assert names[0].startswith("random 20-10-5") and names[1].startswith("lecture 784-3-10")


def test_exit_code_1_when_a_gradient_is_wrong(monkeypatch, capsys):
    real_backward = netprop.Network.backward

    def wrong(self, cache, y, l2=0.0):
        grads = real_backward(self, cache, y, l2)
        grads.biases[-1] = grads.biases[-1] + 0.1
        return grads

    monkeypatch.setattr(netprop.Network, "backward", wrong)
    assert main(["gradcheck", "--sizes", "4,3,2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "FAILED" in out


@pytest.mark.parametrize("args, message", [
    (["gradcheck", "--sizes", "3,x"], "comma-separated positive integers"),
    (["gradcheck", "--sizes", "7"], "at least two layer sizes"),
    (["gradcheck", "--l2", "-1"], "finite number >= 0"),
    (["gradcheck", "--examples", "0"], "positive integer"),
    (["gradcheck", "--activation", "softplus"], "invalid choice"),
    (["frobnicate"], "unknown command 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_no_traceback(args, message):
    proc = netprop_here(*args)
    assert proc.returncode == 2
    assert message in error_line(proc.stderr)


def test_console_script_and_help():
    proc = run_cli("gradcheck", "--help")
    assert proc.returncode == 0 and "finite differences" in " ".join(proc.stdout.split())
    proc = netprop_here("--version")
    assert proc.stdout.strip() == f"netprop {netprop.__version__}"
