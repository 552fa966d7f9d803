"""A check's outcome: the conventions detected, a table per case with both witnesses per block, the
mistakes named with their lines, the verdict; as text for a student and as JSON for programs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


@dataclass
class Row:
    """One compared quantity: loss, z1, h1, yhat, W1, b1, … (W1 meaning ∇W1 here)."""

    name: str
    shape: tuple
    error: float                       # against netprop
    ok: bool
    mistake: str | None = None
    fd_error: float | None = None      # against central differences of the student's own loss
    line: str | None = None


@dataclass
class CaseResult:
    title: str
    rows: list = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self):
        return self.error is None and all(r.ok for r in self.rows)


@dataclass
class CheckReport:
    """passed only when every case ran and every quantity agreed; error (one line) when nothing could be checked."""

    path: str
    forward: str = ""
    backward: str = ""
    detected: str = ""
    activation: str = "relu"
    l2: float = 0.0
    tolerance: float = 1e-6
    cases: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    descriptions: dict = field(default_factory=dict)
    error: str | None = None
    verdict: str = ""
    output: str = ""                   # what the student's code printed (kept out of --json's stdout)

    @property
    def passed(self):
        return self.error is None and bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def exit_code(self):
        return EXIT_ERROR if self.error else EXIT_PASSED if self.passed else EXIT_FAILED

    def mistakes(self):
        """{mistake key: ["∇W1 (case 1)", …]}: every named mistake and where it showed."""
        found = {}
        for k, case in enumerate(self.cases, start=1):
            for row in case.rows:
                if row.mistake:
                    found.setdefault(row.mistake, []).append(f"{label(row.name)} (case {k})")
        return found

    def describe(self, key):
        return self.descriptions.get(key, key)

    def text(self):
        """The report as `netprop check` prints it."""
        lines = [f"netprop check {self.path}"]
        if self.detected:
            lines.append(f"detected: {self.detected}")
        lines += [f"note: {n}" for n in self.notes]
        if self.error:
            return "\n".join(lines + [f"ERROR: {self.error}"])
        lines.append(f"compared with netprop (float64, {self.activation}, l2 = {self.l2:g}) and with central "
                     f"differences of your own loss; tolerance {self.tolerance:g}")
        marks = {key: f"[{chr(ord('a') + k)}]" for k, key in enumerate(self.mistakes())}
        for k, case in enumerate(self.cases, start=1):
            lines += ["", f"case {k}: {case.title}"] + _case_lines(case, marks)
        if marks:
            lines += ["", "mistakes found:"]
            for key, where in self.mistakes().items():
                shown = ", ".join(where[:6]) + (f", … ({len(where)} in all)" if len(where) > 6 else "")
                lines += [f"  {marks[key]} {self.describe(key)}", f"      in {shown}"]
                spots = sorted({r.line for c in self.cases for r in c.rows if r.mistake == key and r.line})
                if spots:
                    lines.append(f"      look at {', '.join(spots)}")
        lines += ["", self.verdict or ("PASSED: every quantity agrees with netprop" if self.passed else "FAILED")]
        return "\n".join(lines)

    def to_json(self):
        data = asdict(self)
        data.update(passed=self.passed, exit_code=self.exit_code,
                    mistakes={k: {"description": self.describe(k), "where": v} for k, v in self.mistakes().items()})
        data.pop("output")
        for case in data["cases"]:
            for row in case["rows"]:
                row["shape"] = list(row["shape"])
                row["rel_error"] = row.pop("error")
                for key in ("rel_error", "fd_error"):
                    if row[key] is not None and not np.isfinite(row[key]):
                        row[key] = None
        return data

    @classmethod
    def from_json(cls, data):
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["cases"] = [CaseResult(c["title"], [_row(r) for r in c["rows"]], c["error"])
                           for c in data.get("cases", [])]
        return cls(**fields)

    def __str__(self):
        return self.text()


def _row(data):
    """A Row from its JSON (rel_error null for NaN)."""
    fields = {k: v for k, v in data.items() if k in Row.__dataclass_fields__ and k not in ("shape", "error")}
    error = data.get("rel_error")
    return Row(**fields, shape=tuple(data["shape"]), error=float("nan") if error is None else error)


def _case_lines(case, marks):
    if case.error:
        return [f"  ERROR: {case.error}"]
    out = [f"  {'quantity':<8}  {'shape':<10}  {'vs netprop':>10}  {'vs your loss':>12}  verdict"]
    for r in case.rows:
        verdict = "ok" if r.ok else f"WRONG {marks[r.mistake]}" if r.mistake else "WRONG, no known mistake matches"
        fd = "" if r.fd_error is None else f"{r.fd_error:.2e}"
        error = f"{r.error:.2e}" if np.isfinite(r.error) else "-"
        shape = str(tuple(r.shape)) if r.shape else ""
        out.append(f"  {label(r.name):<8}  {shape:<10}  {error:>10}  {fd:>12}  {verdict}")
    return out


def label(name):
    """'∇W1' for a gradient block, the name itself for loss, z1, h1, yhat, and a call's arguments."""
    return "∇" + name if name[:1] in "Wb" and name[1:].isdigit() else name


def error_report(path, message, notes=(), detected=""):
    return CheckReport(str(path), detected=detected, notes=list(notes), error=message)
