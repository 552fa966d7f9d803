"""Grading a whole class: one limited child process per submission (a file or a folder per student),
locally over --jobs processes or on an existing Dask cluster (as tune does), resumable, with a report
per student (text, JSON, and Gradescope's results.json), a class CSV and a class summary (markdown and
a bar chart of the most common mistakes)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .mistakes import title
from .report import CheckReport, label
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, check_isolated
from .source import SOURCE_SUFFIXES

VERSION = 1          # bump when grading changes, so that --out folders regrade


def submissions(folder):
    """{student: path}: each .py/.ipynb file, and each sub-folder, of folder is one student's submission."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of submissions")
    found = {}
    for item in sorted(folder.iterdir()):
        if item.name.startswith((".", "_")):
            continue
        if item.is_dir() or item.suffix in SOURCE_SUFFIXES:
            found.setdefault(item.stem if item.is_file() else item.name, item)
    return found


def fingerprint(path, options):
    """A hash of the submission's bytes (every file of a folder) and of the options it is graded with."""
    digest = hashlib.sha256(json.dumps([VERSION, options], sort_keys=True).encode())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(str(f.relative_to(path.parent)).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def grade_one(student, path, options, timeout, memory_mb):
    """(student, report JSON) for one submission, checked in its own limited child process."""
    report = check_isolated(path, options, timeout, memory_mb, neighbours=False)
    data = report.to_json()
    data["student_output"] = report.output[-4000:]
    return student, data


def grade_folder(folder, out, options, jobs=1, scheduler=None, timeout=DEFAULT_TIMEOUT,
                 memory_mb=DEFAULT_MEMORY_MB, gradescope=False, progress=None):
    """Grade every submission in folder into out; returns {student: report JSON}.

    A submission whose bytes and options match its saved report is not graded again (resumable).
    Writes out/<student>/report.txt, report.json (and results.json with gradescope), out/grades.csv,
    out/summary.md and out/summary.png.
    """
    progress = progress or (lambda line: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo, results = {}, {}
    for student, path in submissions(folder).items():
        stamp = fingerprint(path, options)
        saved = out / student / "report.json"
        if saved.is_file():
            data = json.loads(saved.read_text())
            if data.get("fingerprint") == stamp:
                results[student] = data
                if gradescope and not (out / student / "results.json").is_file():
                    _atomic(out / student / "results.json",
                            json.dumps(gradescope_results(CheckReport.from_json(data)), indent=2))
                continue
        todo[student] = (path, stamp)
    if len(results):
        progress(f"{len(results)} submissions unchanged since they were graded: skipped")
    for student, data in _run(todo, options, jobs, scheduler, timeout, memory_mb):
        data["fingerprint"] = todo[student][1]
        write_student(out / student, data, gradescope)
        results[student] = data
        progress(f"graded {student}: {_status(data)}")
    write_class(out, results)
    return dict(sorted(results.items()))


def _run(todo, options, jobs, scheduler, timeout, memory_mb):
    args = (options, timeout, memory_mb)
    if scheduler:
        from distributed import Client, as_completed as dask_completed

        with Client(scheduler, timeout="30s") as client:
            futures = [client.submit(grade_one, s, str(p), *args, key=f"netprop-grade-{s}-{stamp[:12]}", pure=False)
                       for s, (p, stamp) in todo.items()]
            for future in dask_completed(futures):
                yield future.result()
        return
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:      # each check is its own process already
        futures = [pool.submit(grade_one, s, p, *args) for s, (p, _) in todo.items()]
        for future in as_completed(futures):
            yield future.result()


def _status(data):
    return "PASSED" if data["passed"] else "ERROR" if data.get("error") else "FAILED"


def write_student(folder, data, gradescope):
    folder.mkdir(parents=True, exist_ok=True)
    report = CheckReport.from_json(data)
    _atomic(folder / "report.txt", report.text() + "\n")
    if gradescope:
        _atomic(folder / "results.json", json.dumps(gradescope_results(report), indent=2))
    _atomic(folder / "report.json", json.dumps(data, indent=2))        # last: it marks the student done


def gradescope_results(report):
    """Gradescope's autograder results: one test per compared quantity (all cases), a score out of their count."""
    tests = []
    if report.error:
        tests.append({"name": "your file can be checked", "score": 0, "max_score": 1, "status": "failed",
                      "output": report.error})
    names = []
    for case in report.cases:
        names += [r.name for r in case.rows if r.name not in names]
    for name in names:
        rows = [r for c in report.cases for r in c.rows if r.name == name]
        ok = all(r.ok for r in rows) and not any(c.error for c in report.cases)
        wrong = sorted({report.describe(r.mistake) for r in rows if not r.ok and r.mistake})
        tests.append({"name": f"{label(name)} agrees with the lecture", "score": 1 if ok else 0, "max_score": 1,
                      "status": "passed" if ok else "failed", "output": "; ".join(wrong)})
    score = sum(t["score"] for t in tests)
    return {"score": score, "output": report.text(), "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_class(out, results):
    """grades.csv, summary.md and summary.png for the class."""
    rows = []
    for student, data in sorted(results.items()):
        rows.append({"student": student, "status": _status(data), "passed": data["passed"],
                     "wrong": sum(not r["ok"] for c in data["cases"] for r in c["rows"]),
                     "compared": sum(len(c["rows"]) for c in data["cases"]),
                     "mistakes": "; ".join(_mistake_names(data)), "error": data.get("error") or ""})
    tmp = out / "grades.csv.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out / "grades.csv")
    counts = Counter(m for data in results.values() for m in _mistake_names(data))
    _atomic(out / "summary.md", summary_markdown(results, counts))
    passed = sum(d["passed"] for d in results.values())
    chart(counts, out / "summary.png", f"most common mistakes ({passed} of {len(results)} submissions passed)")


def _mistake_names(data):
    """The titles of the mistakes in one student's report, each once (both of two in one block)."""
    return sorted({title(part) for key in data.get("mistakes", {}) for part in key.split("+")})


def summary_markdown(results, counts):
    """The class summary: how many passed, failed or could not be checked, and the most common mistakes."""
    status = Counter(_status(d) for d in results.values())
    lines = ["# Class summary", "", f"{len(results)} submissions: {status['PASSED']} passed, {status['FAILED']} "
             f"failed, {status['ERROR']} could not be checked.", ""]
    if counts:
        lines += ["## Most common mistakes", "", "| students | mistake |", "|---:|---|"]
        lines += [f"| {n} | {text} |" for text, n in counts.most_common()]
    errors = Counter((d.get("error") or "").split(":")[0] for d in results.values() if d.get("error"))
    if errors:
        lines += ["", "## Could not be checked", ""] + [f"- {n} × {text}" for text, n in errors.most_common()]
    return "\n".join(lines) + "\n"


def chart(counts, path, title="most common mistakes"):
    """A horizontal bar chart of the most common mistakes (PNG), students on an integer axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    common = counts.most_common(10)[::-1]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.45 * max(len(common), 1)))
    if common:
        ax.barh([_short(t) for t, _ in common], [n for _, n in common], color="#4477aa")
        ax.set_xlabel("students")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.text(0.5, 0.5, "no mistakes found", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(title)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def _short(text, width=60):
    return text if len(text) <= width else text[: width - 1] + "…"


def _atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
