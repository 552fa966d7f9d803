"""The child process that imports and checks one student's file (python -m …homework.child REQUEST).

REQUEST is a JSON file: {"file": path in the working copy, "label": name to show, "options": {…},
"definitions_only": bool, "status": path, "result": path, "output": path}.  The child writes
"importing" and then "imported" to status, the student's prints to output, and the CheckReport's JSON
to result.  It is started by runner.py with a time limit, a memory limit and no stdin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(request_path):
    request = json.loads(Path(request_path).read_text())
    status = open(request["status"], "a", buffering=1)
    status.write("importing\n")
    # The student's prints (print() and C-level writes alike) go to a file, never to the parent's stdout.
    output = open(request["output"], "w", buffering=1)
    os.dup2(output.fileno(), 1)
    sys.stdout = output
    report = run(request, status)
    result = Path(request["result"])
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(report.to_json()))
    os.replace(tmp, result)
    status.write("done\n")
    return 0


def run(request, status):
    """The child's CheckReport for request: import (with the fallback), then check; errors as one line."""
    from threadpoolctl import threadpool_limits

    from .engine import Options, check_module
    from .loading import definitions_import, import_with_fallback
    from .report import error_report
    from .source import SubmissionError, read_source
    from .student import CheckError

    threadpool_limits(1)
    label = request["label"]
    notes = list(request.get("notes", []))
    try:
        source = read_source(request["original"]) if request.get("original") else None
        path = Path(request["file"])
        source = source or read_source(path)
        if request.get("definitions_only"):
            module, more = definitions_import(path, source, request["definitions_only"])
        else:
            module, more = import_with_fallback(path, source)
        status.write("imported\n")
        source.name = label
        return check_module(module, label, source, Options(**request["options"]), notes + more)
    except (CheckError, SubmissionError) as exc:
        return error_report(label, str(exc), notes)
    except MemoryError:
        return error_report(label, "ran out of memory (the check's memory limit; --memory sets it)", notes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
