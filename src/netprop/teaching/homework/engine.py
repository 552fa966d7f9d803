"""Checking an imported student module: detect its conventions on each case, compare every quantity
with netprop (float64) and every gradient block also with central differences of the student's own
loss, and name the mistakes.  Runs wherever the module was imported (the child process, see runner)."""

from __future__ import annotations

import inspect
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..gradcheck import rel_error
from . import mistakes as M
from .apart import ApartArrays
from .cases import plan
from .layouts import INPUT_LAYOUTS, VECTOR_LAYOUTS, pack, unpack, vector_size, x_as, y_as
from .naming import Context, block_mistake, forward_mistake, loss_mistake, settle, whole_vector_mistake
from .outputs import OutputError, gradient_vector, loss_of, read_forward
from .reference import cross_entropy, reference
from .report import CaseResult, CheckReport, Row
from .student import (CheckError, FromForward, SizeError, apart_layers, call, extra_arguments, find_functions,
                      lambda_values, own_sizes, param_names, restore, set_sizes, size_globals)

FD_STEP = 1e-5
FD_SAMPLES = 10            # entries per gradient block checked by central differences (all of a smaller block)


@dataclass
class Options:
    forward: str | None = None
    backward: str | None = None
    sizes: list | None = None
    l2: float | None = None           # None: the λ the student's loss uses, detected
    activation: str = "relu"
    tolerance: float = 1e-6
    fd_tolerance: float = 1e-4
    seed: int = 0
    images: bool = True
    data_dir: str | None = None
    layout: str | None = None         # "rows"/"columns": only that input layout is tried
    order: str | None = None          # "weights-first"/"interleaved": only that vector order is tried


class CaseFailed(Exception):
    """The student's function raised or returned something unreadable on a case: one line."""


def check_module(module, label, source=None, options=None, notes=()):
    """CheckReport for an imported module; label names it, source (a Source) maps lines for messages."""
    options = options or Options()
    report = CheckReport(str(label), activation=options.activation, tolerance=options.tolerance, notes=list(notes))
    try:
        checker = Checker(module, source, options, report)
        checker.run()
    except CheckError as exc:
        report.error = str(exc)
    return report


class Checker:
    """One module's check: the functions, the conventions found so far, the cases' results."""

    def __init__(self, module, source, options, report):
        self.module, self.source, self.options, self.report = module, source, options, report
        self.fns = find_functions(module, options.forward, options.backward)
        report.forward, report.backward = self.fns.forward_name, self.fns.backward_name
        self.sizes, self.size_origin = own_sizes(module, self.fns, options.sizes)
        self.convention = None
        self.forward_shapes = []
        self.out_layout = None
        self.filename = getattr(module, "__file__", None)
        self.spans = {"forward": _span(self.fns.forward), "backward": _span(self.fns.backward)}

    def run(self):
        """Plan the cases, run each (a case that cannot run at other sizes ends those), set the verdict."""
        knobs = set(size_globals(self.module)) | {name.lower() for fn in (self.fns.forward, self.fns.backward)
                                                  for name in param_names(fn)[3:]}
        # Without a knob for the number of hidden layers, only one-hidden-layer networks can be set;
        # separate W and b parameters fix the depth and leave the widths free.
        depths = "any" if any("layer" in k.lower() for k in knobs) else "one" if knobs else None
        layers = apart_layers(self.fns)
        if layers:
            depths = "one" if layers == 2 else None
        cases = plan(self.sizes, depths, self.options.seed, self.options.images, self.options.data_dir)
        skipped = None
        for case in cases:
            if skipped and not case.own:
                continue
            try:
                result = self.run_case(case)
            except CaseFailed as exc:
                if case is cases[0]:
                    raise CheckError(str(exc)) from None
                if not case.own:
                    skipped = str(exc)
                    continue
                result = CaseResult(case.title, error=str(exc))
            self.report.cases.append(result)
        if skipped:
            self.report.notes.append(f"your functions did not run at other sizes than your own ({skipped}); "
                                     f"checked at your own sizes only (a size computed at import, or a number "
                                     f"written where NUM_* belongs?)")
        self.report.detected = self.describe()
        if all(c.error for c in self.report.cases):
            first = self.report.cases[0]
            raise CheckError(f"{first.error} (in every case; first: {first.title})")
        if self.options.l2 is None and self.report.l2 > 0:
            self.report.l2 = float(f"{self.report.l2:.10g}")
            self.report.notes.append(f"L2 found in your loss: λ = {self.report.l2:g} in the lecture's "
                                     f"(λ/2)·Σ‖W‖² (compared with netprop at that λ; --l2 sets the one you want)")
        self.report.verdict = verdict(self.report, self.options)

    # --- one case ---------------------------------------------------------------------------

    def run_case(self, case):
        saved = set_sizes(self.module, case.sizes)
        for fn in (self.fns.forward, self.fns.backward):
            if isinstance(fn, ApartArrays):
                fn.sizes = case.sizes
        try:
            kw_f = extra_arguments(self.fns.forward, case.sizes, self.sizes)
            kw_b = extra_arguments(self.fns.backward, case.sizes, self.sizes, self.fns.forward)
            with np.errstate(all="ignore"):
                return self._compare(case, kw_f, kw_b)
        except SizeError as exc:
            raise CaseFailed(str(exc)) from None
        finally:
            restore(self.module, saved)

    def _compare(self, case, kw_f, kw_b):
        """The rows of one case: detect, fit the loss's L2, compare forward outputs and gradient blocks."""
        inputs, layout, fw, changed = self.detect(case, kw_f, kw_b)
        self.convention = (inputs, layout)
        self.forward_shapes = fw.shapes
        self.out_layout = fw.out_layout
        a, lam_loss, fit_ok = self.loss_fit(case, inputs, layout, kw_f, fw.loss)
        given = self.options.l2
        lam = given if given is not None else (lam_loss if fit_ok and lam_loss > 1e-12 else 0.0)
        self.report.l2 = lam
        ctx = Context(case, lam, self.options, a if fit_ok else None, lam_loss if fit_ok else None,
                       lambda_values(self.module, kw_b))
        result = CaseResult(case.title)
        result.rows += self.forward_rows(ctx, fw)
        result.rows += self.mutation_rows(self.fns.forward_name, self.fns.forward, changed)
        x, y = x_as(case.X, inputs), y_as(case.labels, case.sizes[-1], inputs)
        theta = pack(case.weights, case.biases, layout)
        try:
            out, changed = call(self.fns.backward, [x, y, theta], self.filled(kw_b, [x, y, theta], kw_f))
            vector, bias_lengths = gradient_vector(out, case.sizes, layout, self.fns.backward_name)
        except OutputError as exc:
            result.error = str(exc)
            return result
        except (Exception, SystemExit) as exc:     # the student's code: any error is this case's line
            result.error = f"{self.fns.backward_name} raised {self.where(exc)}"
            return result
        loss_at = lambda t: self._loss(x, y, t, kw_f)
        stale = None if bias_lengths else self._stale_state(ctx, layout, vector, [x, y, theta], kw_f, kw_b)
        result.rows += self.gradient_rows(ctx, layout, vector, bias_lengths, theta, loss_at, stale)
        for row in settle(result.rows):
            self.name(row, ctx)
        result.rows += self.mutation_rows(self.fns.backward_name, self.fns.backward, changed)
        return result

    def detect(self, case, kw_f, kw_b):
        """(InputLayout, VectorLayout, Forward, changed args) under which the forward reproduces netprop best."""
        ref_loss, ref_z, _, ref_yhat, ref_grads = reference(case.weights, case.biases, case.X, case.one_hot(),
                                                            self.options.activation, 0.0)
        apart = apart_layers(self.fns) is not None    # arrays apart: the vector's block order is no question
        tried = [(i, v) for i in INPUT_LAYOUTS for v in VECTOR_LAYOUTS
                 if self.options.layout in (None, i.x) and self.options.order in (None, v.order)
                 and not (apart and v.order != "weights-first")]
        if self.convention:
            tried.insert(0, self.convention)
        best, furthest = None, (-1, None)
        for inputs, layout in tried:
            args = [x_as(case.X, inputs), y_as(case.labels, case.sizes[-1], inputs),
                    pack(case.weights, case.biases, layout)]
            self._use_layout(layout)
            try:
                out, changed = call(self.fns.forward, args, kw_f)
                fw = read_forward(out, case.sizes, case.n, self.fns.forward_name)
            except OutputError as exc:
                furthest = max(furthest, (10 ** 9, str(exc)), key=lambda e: e[0])
                continue
            except (Exception, SystemExit) as exc:     # the student's code, fed a layout it does not take
                # the layout that ran furthest into the forward raised what the student must fix
                error = (self._line_reached(exc), f"{self.fns.forward_name} raised {self.where(exc)}")
                furthest = max(furthest, error, key=lambda e: e[0])
                continue
            arrays = [rel_error(fw.z["z1"], ref_z[0])] if "z1" in fw.z else []
            arrays += [rel_error(fw.yhat, ref_yhat)] if fw.yhat is not None else []
            if not arrays:           # a loss alone: a wrong loss must not pick a wrong layout; ask the gradient too
                arrays = [self._gradient_match(args, kw_b, case, layout, ref_grads, kw_f)]
            score = min(arrays) + rel_error(fw.loss, ref_loss) * 1e-3
            if best is None or score < best[0]:
                best = (score, inputs, layout, fw, changed)
            if score < 1e-9:
                break
        if best is None:
            raise CaseFailed(f"{furthest[1]} (tried examples as rows and as columns, labels one-hot and as "
                             f"integers, and each layout of the weights)")
        self._use_layout(best[2])
        return best[1:]

    def _use_layout(self, layout):
        """Tell functions taking each W and b apart how to cut the vector (see apart)."""
        for fn in (self.fns.forward, self.fns.backward):
            if isinstance(fn, ApartArrays):
                fn.layout = layout

    def filled(self, kw_b, args, kw_f):
        """kw_b with each FromForward replaced by what the forward returns on the same arguments."""
        if not any(isinstance(v, FromForward) for v in kw_b.values()):
            return kw_b
        out = self.fns.forward(*[np.array(a, copy=True) for a in args], **kw_f)
        return {k: out[v.index] if isinstance(v, FromForward) else v for k, v in kw_b.items()}

    def _gradient_match(self, args, kw_b, case, layout, ref_grads, kw_f):
        """Relative error of the gradient function's vector against netprop's packed in layout (1 on failure)."""
        L = len(case.weights)
        try:
            vector, lengths = gradient_vector(self.fns.backward(*[a.copy() for a in args],
                                                                **self.filled(kw_b, args, kw_f)), case.sizes,
                                              layout, self.fns.backward_name)
        except (Exception, SystemExit):     # the student's code, on a layout it does not take
            return 1.0
        if lengths:
            return 1.0
        return rel_error(vector, pack([ref_grads[f"W{l + 1}"] for l in range(L)],
                                      [ref_grads[f"b{l + 1}"] for l in range(L)], layout))

    def _loss(self, x, y, theta, kw_f):
        return loss_of(self.fns.forward(x.copy(), y.copy(), theta, **kw_f), self.fns.forward_name)

    def loss_fit(self, case, inputs, layout, kw_f, loss0):
        """(a, λ, fits): the student's loss as a·(mean cross-entropy) + (λ/2)·Σ‖W‖², from three weight scales."""
        x, y = x_as(case.X, inputs), y_as(case.labels, case.sizes[-1], inputs)
        rows, values = [], []
        for scale in (1.0, 0.7, 1.3):
            Ws = [W * scale for W in case.weights]
            rows.append([cross_entropy(Ws, case.biases, case.X, case.one_hot(), self.options.activation),
                         0.5 * sum(float((W * W).sum()) for W in Ws)])
            try:
                values.append(loss0 if scale == 1.0 else self._loss(x, y, pack(Ws, case.biases, layout), kw_f))
            except Exception:               # the student's code at other weights: no fit, no λ
                return 1.0, 0.0, False
        A, v = np.array(rows), np.array(values)
        try:
            a, lam = np.linalg.solve(A[:2], v[:2])
        except np.linalg.LinAlgError:
            return 1.0, 0.0, False
        fits = abs(A[2] @ [a, lam] - v[2]) <= 1e-7 * max(abs(v[2]), 1e-12)
        return float(a), float(lam), bool(fits and np.isfinite(a))

    # --- rows -----------------------------------------------------------------------------

    def forward_rows(self, ctx, fw):
        tol = self.options.tolerance
        loss, zs, hs, yhat, _ = ctx.ref
        rows = [self.row("loss", (), rel_error(fw.loss, loss), ctx, lambda: loss_mistake(ctx, fw.loss))]
        for l, z in enumerate(zs):
            if f"z{l + 1}" in fw.z:
                u = fw.z[f"z{l + 1}"]
                in_place = l < len(hs) and M.close(u, hs[l], tol)
                rows.append(self.row(f"z{l + 1}", u.shape, rel_error(u, z), ctx,
                                     lambda in_place=in_place, l=l, u=u:
                                     "relu_in_place" if in_place else forward_mistake(ctx, f"z{l + 1}", u)))
        for l, h in enumerate(hs):
            if f"h{l + 1}" in fw.h:
                u = fw.h[f"h{l + 1}"]
                rows.append(self.row(f"h{l + 1}", h.shape, rel_error(u, h), ctx,
                                     lambda l=l, u=u: forward_mistake(ctx, f"h{l + 1}", u)))
        if fw.yhat is not None:
            rows.append(self.row("yhat", yhat.shape, rel_error(fw.yhat, yhat), ctx,
                                 lambda: forward_mistake(ctx, "yhat", fw.yhat)))
        return rows

    def _stale_state(self, ctx, layout, vector, args, kw_f, kw_b):
        """'uses_last_forward' where the gradient is wrong as called, and right when the forward runs just
        before it on the same arguments (it reads what the forward left in globals), else None."""
        W = [ctx.grads[f"W{l + 1}"] for l in range(len(ctx.case.weights))]
        b = [ctx.grads[f"b{l + 1}"] for l in range(len(ctx.case.weights))]
        wanted = pack(W, b, layout)
        if M.close(vector, wanted, self.options.tolerance):
            return None
        try:
            self.fns.forward(*[np.array(a, copy=True) for a in args], **kw_f)
            again, _ = gradient_vector(self.fns.backward(*[np.array(a, copy=True) for a in args],
                                                         **self.filled(kw_b, args, kw_f)),
                                       ctx.case.sizes, layout, self.fns.backward_name)
        except (Exception, SystemExit):     # the student's code: no second try, no such mistake
            return None
        return "uses_last_forward" if M.close(again, wanted, self.options.tolerance) else None

    def gradient_rows(self, ctx, layout, vector, bias_lengths, theta, loss_at, stale=None):
        """A row per gradient block: against netprop, against central differences of the student's loss."""
        sizes, tol = ctx.case.sizes, self.options.tolerance
        blocks = unpack(vector, sizes, layout, bias_lengths)
        positions = unpack(np.arange(vector_size(sizes), dtype=np.float64), sizes, layout)
        whole = stale or whole_vector_mistake(ctx, layout, vector, tol, bias_lengths)
        rng = np.random.default_rng(self.options.seed)
        rows = []
        for name in [f"{p}{l + 1}" for p in "Wb" for l in range(len(sizes) - 1)]:
            r, u = ctx.grads[name], blocks[name]
            if u.shape != r.shape:
                key = "bias_scalar" if u.size == 1 else "bias_per_example"
                rows.append(self.row(name, u.shape, float("nan"), ctx, lambda key=key: key))
                continue
            fd_error = self._fd_error(u, positions[name], theta, loss_at, rng)
            rows.append(self.row(name, r.shape, rel_error(u, r), ctx,
                                 lambda name=name, u=u: whole or block_mistake(ctx, name, u, layout), fd_error))
        return rows

    def _fd_error(self, u, positions, theta, loss_at, rng):
        flat_u, flat_pos = u.ravel(), positions.ravel().astype(int)
        picks = np.arange(flat_u.size) if flat_u.size <= FD_SAMPLES else rng.choice(flat_u.size, FD_SAMPLES, False)
        fd = []
        try:
            for k in picks:
                t = theta.copy()
                t[flat_pos[k]] += FD_STEP
                up = loss_at(t)
                t[flat_pos[k]] -= 2 * FD_STEP
                fd.append((up - loss_at(t)) / (2 * FD_STEP))
        except Exception:                # the student's loss at nearby weights: no second witness
            return None
        return rel_error(flat_u[picks], np.array(fd))

    def row(self, name, shape, error, ctx, find_mistake, fd_error=None):
        ok = bool(error <= self.options.tolerance)
        row = Row(name, tuple(shape), float(error), ok, fd_error=fd_error)
        if not ok:
            row.mistake = find_mistake()
            if row.mistake:
                self.name(row, ctx)
        return row

    def name(self, row, ctx):
        """The description of row's mistake, and the line of the student's code where it likely is."""
        self.report.descriptions.setdefault(row.mistake, ctx.describe(row.mistake))
        line = M.locate(row.mistake, self.source.text if self.source else "", self.spans)
        row.line = self.source.where(line) if line and self.source else None

    def mutation_rows(self, fn_name, fn, changed):
        rows, names = [], param_names(fn)
        for index in changed:
            argument = names[index] if index < len(names) else f"argument {index + 1}"
            key = f"modifies_input:{fn_name}:{argument}"
            self.report.descriptions[key] = M.SENTENCES["modifies_input"].format(function=fn_name, argument=argument)
            spans = dict(self.spans, changed_in=_span(fn))
            line = M.locate("modifies_input", self.source.text if self.source else "", spans, argument)
            rows.append(Row(f"{fn_name}({argument})", (), float("nan"), False, key,
                            line=self.source.where(line) if line and self.source else None))
        return rows

    # --- words ----------------------------------------------------------------------------

    def _line_reached(self, exc):
        """The last line of the forward function an exception passed through (0 when none)."""
        first, last = self.spans["forward"]
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                 if self.filename and Path(f.filename) == Path(self.filename) and first <= f.lineno <= last]
        return lines[-1] if lines else 0

    def where(self, exc):
        """'KeyError: 3 (hw3.py:12)': the exception and the last line of the student's file it passed through."""
        text = f"{type(exc).__name__}: {exc}".strip()
        frames = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                  if self.filename and Path(f.filename) == Path(self.filename)]
        hint = M.numpy_hint(text) + self._outside_name_hint(exc)
        if not frames:
            return text + hint
        return f"{text} ({self.source.where(frames[-1]) if self.source else f'line {frames[-1]}'}){hint}"

    def _outside_name_hint(self, exc):
        """Where a NameError names a variable the file assigns only outside its functions (under
        if __name__ == "__main__": or in top-level code left out), say so."""
        name = getattr(exc, "name", None)
        if not isinstance(exc, NameError) or not name or not self.source:
            return ""
        assigned = re.search(rf"^(\s*)(global\s+)?{re.escape(name)}\s*(,[^=]*)?=[^=]", self.source.text, re.M)
        if not assigned:
            return ""
        return (f"; {name} is assigned only outside your functions (under if __name__ == \"__main__\": or in "
                f"top-level code that did not run): compute it inside the function from the arguments it is given")

    def describe(self):
        """One line: what the check found the student's functions take and return."""
        if not self.convention:
            return ""
        inputs, layout = self.convention
        fwd, bwd = self.fns.forward_name, self.fns.backward_name
        parts = [f"{fwd} and {bwd} (found by {self.fns.found_by})", f"your functions take {inputs.describe()}"]
        first = self.report.cases[0] if self.report.cases else None
        if first is not None and not any(r.name[:1] in "zhy" for r in first.rows):
            parts.append(f"{fwd} returns the loss only")
        elif self.out_layout:
            parts.append(f"{fwd} returns examples as {self.out_layout}")
        parts += self.forward_shapes
        apart = [fn for fn in (self.fns.forward, self.fns.backward) if isinstance(fn, ApartArrays)]
        parts += [fn.describe() for fn in apart]
        if len(apart) < 2:
            parts.append(layout.describe())
        parts.append(f"sizes from {self.size_origin} ({'-'.join(map(str, self.sizes))})")
        return "; ".join(parts)


def _span(fn):
    try:
        lines, start = inspect.getsourcelines(fn)
        return (start, start + len(lines) - 1)
    except (OSError, TypeError):
        return (1, 10 ** 9)


def verdict(report, options):
    """The closing lines: passed, or which blocks are wrong for the student's own loss and which only
    disagree with the lecture's loss; blocks no named mistake explains."""
    if report.passed:
        return ("PASSED: every quantity agrees with netprop, and your gradient with central differences of "
                "your own loss")
    where = lambda rows: ", ".join(f"{_lbl(r)} (case {k})" for k, r in rows[:8]) + (
        f", … ({len(rows)} in all)" if len(rows) > 8 else "")
    failing = [(k, r) for k, c in enumerate(report.cases, 1) for r in c.rows if not r.ok]
    grads = [(k, r) for k, r in failing if r.name[:1] in "Wb" and r.name[1:].isdigit()]
    own_wrong = [(k, r) for k, r in grads if r.fd_error is not None and r.fd_error > options.fd_tolerance]
    loss_only = [(k, r) for k, r in grads if r.fd_error is not None and r.fd_error <= options.fd_tolerance]
    lines = []
    if own_wrong:
        lines.append(f"your gradient is wrong for your own loss in {where(own_wrong)}")
    if loss_only:
        loss_keys = sorted({r.mistake for c in report.cases for r in c.rows if r.name == "loss" and r.mistake})
        why = "; ".join(report.describe(k) for k in loss_keys) or "see the loss row"
        lines.append(f"your gradient matches your own loss in {where(loss_only)}, but your loss is not the "
                     f"lecture's: {why}")
    unexplained = [(k, r) for k, r in failing if not r.mistake]
    if unexplained:
        lines.append(f"no known mistake explains {where(unexplained)}")
    errors = sum(c.error is not None for c in report.cases)
    total = sum(len(c.rows) for c in report.cases) + errors
    head = f"FAILED: {len(failing) + errors} of {total} comparisons disagree or did not run"
    return "\n".join([head] + [f"  {line}" for line in lines])


def _lbl(row):
    from .report import label
    return label(row.name)
