"""netprop explain: the live lecture in the browser."""

from __future__ import annotations

from pathlib import Path

from .argtypes import port
from .common import CLIError
from .parsing import add_command


def add_parser(sub):
    """`netprop explain [RUN_DIR]`: where the local server listens, and whether a browser opens."""
    p = add_command(
        sub, "explain", "the lecture live in your browser, one equation at a time",
        description=(
            "Start a local web app (needs the explain extra: pip install 'netprop[explain]') and open "
            "it in the browser: the lecture's network as a diagram, forward propagation one equation "
            "at a time, each parameter's Jacobian chain beside backprop and finite differences, the "
            "strict chain with the softmax Jacobian, editable x, y, W and b, an SGD step, and a URL "
            "that reproduces the page. All numbers are computed by netprop in Python. Given RUN_DIR "
            "(a run written by netprop train), a Run view shows it too. Serves 127.0.0.1 only unless "
            "--host says otherwise; Ctrl-C stops."),
        examples=[
            ("netprop explain", "open the live lecture in your browser"),
            ("netprop explain runs/first", "with the Run view of a run written by netprop train"),
            ("netprop explain --no-browser --port 8000",
             "print the address only (on a remote machine: forward port 8000 with ssh -L)"),
        ],
    )
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None,
                   help="a run directory to show in the Run view (optional)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 serves "
                        "every interface, to anyone who can reach this machine)")
    p.add_argument("--port", type=port, default=0, help="port (default 0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the address but do not open a browser")
    p.set_defaults(func=cmd_explain)
    return p


def cmd_explain(args):
    try:
        from ..explain import run_directory_problem, serve
        import starlette  # noqa: F401  (the extra's two packages, checked before binding a port)
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CLIError(f"the live lecture needs the explain extra ({exc.name} is missing): "
                       f"pip install 'netprop[explain]'") from None
    run_dir = None
    if args.run_dir is not None:
        run_dir = Path(args.run_dir)
        if not run_dir.exists():
            raise CLIError(f"{args.run_dir}: no such run directory")
        problem = run_directory_problem(run_dir)
        if problem:
            raise CLIError(problem)
    serve(run_dir=run_dir, host=args.host, port=args.port, open_browser=not args.no_browser)
    return 0
