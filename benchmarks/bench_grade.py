"""Grading a class: 200 generated submissions checked with --jobs 2, each in its own limited process.

The submissions are the files of tests/student_corpus (every convention and mistake written there),
each copied under a student's name with a line of its own, so that no two are the same file.  Reports
the wall time for all 200 with --jobs 2, and as a peer measured in the same run, 20 of them with
--jobs 1 (seconds per submission both ways).

    PYTHONPATH=src python benchmarks/bench_grade.py [--students 200] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from netprop.teaching.homework.classroom import grade_folder

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "student_corpus"


def make_submissions(folder, count):
    """count student files cycling through the corpus, each with a line of its own."""
    sources = sorted(CORPUS.glob("*.py"))
    folder.mkdir(parents=True)
    for k in range(count):
        source = sources[k % len(sources)]
        (folder / f"student_{k:03d}.py").write_text(f"# student {k:03d}, from {source.name}\n" + source.read_text())


def timed_grading(folder, out, jobs):
    started = time.perf_counter()
    results = grade_folder(folder, out, {"images": False}, jobs=jobs)
    return time.perf_counter() - started, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--peer", type=int, default=20, help="submissions graded with --jobs 1 as the peer")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_submissions(tmp / "class", args.students)
        make_submissions(tmp / "peer", args.peer)
        peer_time, _ = timed_grading(tmp / "peer", tmp / "peer-grades", 1)
        total, results = timed_grading(tmp / "class", tmp / "grades", args.jobs)
        status = Counter("passed" if d["passed"] else "error" if d.get("error") else "failed" for d in results.values())
    per_jobs = total / args.students
    per_one = peer_time / args.peer
    print(f"{args.students} submissions with --jobs {args.jobs}: {total:.1f} s ({per_jobs:.2f} s per submission); "
          f"{dict(status)}")
    print(f"peer, {args.peer} submissions with --jobs 1: {peer_time:.1f} s ({per_one:.2f} s per submission)")
    print(f"--jobs {args.jobs} grades {per_one / per_jobs:.2f}× as many submissions per second as --jobs 1")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
