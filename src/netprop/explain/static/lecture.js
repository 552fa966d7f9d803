// The lecture view: draws what netprop computed in Python and asks it again after every edit.
// No forward or backward pass here: every number on the page comes from the server's JSON
// (api.py). This module is the web page's; the notebook widget's _esm is dom.js and this file
// joined (widget.py's bundle()).
//
// The view is one plain object (`view`: its elements, the lecture shown, the step) passed to named
// functions: build* make elements once, render* draw the current lecture into them.

import { el, fmt, mathName, setAttr, setText, svgEl, typeset } from "./dom.js";

const asRows = (m) => (Array.isArray(m[0]) ? m : m.map((v) => [v]));   // a vector shows as a column

// Every number of a lecture by a stable id, so a new answer can be compared with the last one.
function quantities(lec) {
  const out = new Map();
  const put = (id, m) => asRows(m).forEach((row, i) => row.forEach((v, j) => out.set(`${id}.${i}.${j}`, fmt(v))));
  const d = lec.derivation;
  put("x", d.x); put("y", d.y);
  d.weights.forEach((W, l) => put(`W${l + 1}`, W));
  d.biases.forEach((b, l) => put(`b${l + 1}`, b));
  d.forward.z.forEach((z, l) => put(`z${l + 1}`, z));
  d.forward.h.forEach((h, l) => put(`h${l + 1}`, h));
  put("y_hat", d.forward.y_hat);
  out.set("f", fmt(d.forward.loss));
  for (const [p, g] of Object.entries(d.gradients)) {
    g.factors.forEach((f, i) => put(`${p}.factor${i}`, f.matrix));
    put(`${p}.product`, g.product); put(`${p}.chain`, g.chain);
    put(`grad-${p}`, g.backprop); put(`${p}.fd`, g.finite_difference);
  }
  for (const [p, steps] of Object.entries(lec.simplifications))
    steps.forEach((s, i) => { put(`${p}.simp${i}.lhs`, s.lhs); put(`${p}.simp${i}.rhs`, s.rhs); });
  return out;
}

const sameShape = (a, b) => a && b && JSON.stringify(a.state.sizes) === JSON.stringify(b.state.sizes);

// --- the parts, built once ----------------------------------------------------------------------

let mountedViews = 0;       // a second view in the same document (a notebook) gets its own element ids

// An element id unique in the document: the page's one view keeps the plain id the tests and links use.
const idOf = (view, name) => `np-${name}${view.idSuffix}`;

function buildControls(view) {
  const ui = view.ui, id = (name) => idOf(view, name);
  ui.sizes = el("input", { id: id("sizes"), class: "np-sizes", name: "sizes", size: 12, "aria-label": "layer sizes",
    enterkeyhint: "go" });
  ui.activation = el("select", { id: id("activation"), "aria-label": "activation" });
  ui.loss = el("select", { id: id("loss"), "aria-label": "loss" });
  ui.seed = el("input", { id: id("seed"), class: "np-seed", type: "number", min: 0, step: 1, "aria-label": "seed",
    enterkeyhint: "go" });
  ui.apply = el("button", { type: "submit", id: id("apply"), text: "New network" });
  ui.strict = el("input", { type: "checkbox", id: id("strict") });
  ui.lr = el("input", { id: id("lr"), class: "np-lr", value: "0.1", size: 5, "aria-label": "learning rate",
    enterkeyhint: "go" });
  ui.sgd = el("button", { type: "button", id: id("sgd"), text: "SGD step" });
  ui.sgdOut = el("output", { id: id("sgd-out"), class: "np-sgd-out", "aria-live": "polite" });
  ui.format = el("select", { id: id("format"), "aria-label": "export format" });
  ui.exportButton = el("button", { type: "button", id: id("export"), text: "Export" });
  return el("form", { class: "np-controls", onsubmit: (e) => { e.preventDefault(); newNetwork(view); } },
    el("label", {}, "sizes ", ui.sizes), el("label", {}, "activation ", ui.activation),
    el("label", {}, "loss ", ui.loss), el("label", {}, "seed ", ui.seed), ui.apply,
    el("span", { class: "np-sep" }),
    el("label", {}, "lr ", ui.lr), ui.sgd, ui.sgdOut,
    el("span", { class: "np-sep" }),
    ui.format, ui.exportButton,
    el("label", { class: "np-strict" }, ui.strict, " strict chain (the softmax Jacobian as its own factor)"));
}

// The step pane: the buttons first, at fixed sizes, so that they never move while the text changes.
function buildStepPane(view) {
  const ui = view.ui, id = (name) => idOf(view, name);
  ui.back = el("button", { type: "button", id: id("back"), class: "np-stepper", text: "◀ back",
    "aria-keyshortcuts": "ArrowLeft" });
  ui.next = el("button", { type: "button", id: id("next"), class: "np-stepper", text: "next ▶",
    "aria-keyshortcuts": "ArrowRight" });
  ui.counter = el("span", { id: id("counter"), class: "np-counter", "aria-live": "polite" });
  ui.param = el("select", { id: id("param"), "aria-label": "parameter for backward propagation" });
  ui.present = el("button", { type: "button", id: id("present"), class: "np-present-button", "aria-pressed": "false",
    "aria-keyshortcuts": "p", title: "present mode: the diagram and the step only (key p)", text: "present" });
  ui.stepTitle = el("h3", { id: id("step-title"), class: "np-step-title", "aria-live": "polite" });
  ui.stepEq = el("div", { id: id("step-eq"), class: "np-eq" });
  ui.start = el("p", { class: "np-start", hidden: true });
  ui.note = el("p", { class: "np-note", id: id("note"), hidden: true });
  ui.stepBody = el("div", { id: id("step-body"), class: "np-step-body" });
  ui.continueButton = el("button", { type: "button", id: id("continue"), class: "np-continue", hidden: true });
  ui.stepPane = el("section", { class: "np-step", "aria-label": "current step" },
    el("div", { class: "np-nav" }, ui.back, ui.next, ui.counter,
      el("label", { class: "np-param" }, "backward for ", ui.param), ui.present),
    ui.stepTitle, ui.start, ui.stepEq, ui.note, ui.stepBody, ui.continueButton);
  return ui.stepPane;
}

function buildLegend() {
  const swatch = (cls) => el("span", { class: `np-swatch ${cls}`, "aria-hidden": "true" });
  return el("p", { class: "np-legend" },
    swatch("np-swatch-pos"), "positive ", swatch("np-swatch-neg"), "negative · line width: |value| · ",
    el("span", { class: "np-legend-grad", text: "δ, ∇W" }), " backward: gradients, right to left ",
    swatch("np-swatch-lit"), "in play at this step");
}

function buildLayout(view) {
  const ui = view.ui;
  ui.error = el("div", { class: "np-error", role: "alert", hidden: true });
  const controls = buildControls(view);
  const stepPane = buildStepPane(view);
  ui.diagram = svgEl("svg", { class: "np-diagram", role: "img", "aria-label": "the network" });
  ui.diagramWrap = el("div", { class: "np-diagram-wrap" }, ui.diagram);
  ui.figure = el("div", { class: "np-figure" }, ui.diagramWrap, buildLegend());
  ui.values = el("section", { class: "np-values", "aria-label": "values: click a number to edit it" });
  ui.grads = el("section", { class: "np-grads", "aria-label": "gradients by backprop" });
  view.root.append(ui.error, el("div", { class: "np-toolbar" }, controls),
    el("div", { class: "np-stage" }, ui.figure, stepPane),
    el("div", { class: "np-panels" }, ui.values, ui.grads));
}

// --- talking to netprop ---------------------------------------------------------------------------

function fail(view, message) {
  view.ui.error.textContent = message;
  view.ui.error.hidden = false;
  view.root.dataset.revision = ++view.revision;           // tests and the benchmark wait on this
}

async function submit(view, kind, payload) {
  const root = view.root;
  root.dataset.busy = "1";
  const ticket = ++view.ticket;                        // a slower answer to an older edit is dropped
  try {
    const answer = await view.backend.submit(kind, payload);
    if (ticket !== view.ticket && kind !== "export") return null;
    if (answer && answer.lecture) show(view, answer.lecture, answer);
    return answer;
  } catch (e) {
    if (ticket === view.ticket) fail(view, e.message || String(e));
    return null;
  } finally {
    delete root.dataset.busy;
  }
}

const currentState = (view) => structuredClone(view.lec.state);

function newNetwork(view) {
  const ui = view.ui;
  const s = { sizes: ui.sizes.value, activation: ui.activation.value, loss: ui.loss.value, seed: ui.seed.value,
    strict: ui.strict.checked };
  const old = view.lec && view.lec.state;
  // Same sizes and seed: keep the edited values (activation works on them as they are; a new
  // loss needs a new kind of y). Otherwise draw everything from the seed, as derive does.
  if (old && String(old.sizes) === ui.sizes.value.replace(/\s/g, "") && String(old.seed) === ui.seed.value) {
    Object.assign(s, { x: old.x, weights: old.weights, biases: old.biases });
    if (old.loss === ui.loss.value) s.y = old.y;
  }
  submit(view, "state", s);
}

function submitEdit(view, key, i, j, raw) {
  const s = currentState(view);
  if (key === "x") s.x[i] = raw;
  else if (key === "y") s.y = s.loss === "cross_entropy" ? i : Object.assign(s.y, { [i]: raw });
  else {
    const l = Number(key.slice(1)) - 1;
    if (key[0] === "W") s.weights[l][i][j] = raw; else s.biases[l][i] = raw;
  }
  submit(view, "state", s);
}

async function exportDerivation(view) {
  const answer = await submit(view, "export", { state: currentState(view), format: view.ui.format.value });
  if (!answer) return;
  const url = URL.createObjectURL(new Blob([answer.text], { type: answer.media || "text/plain" }));
  const a = el("a", { href: url, download: `netprop-derivation.${answer.ext}`, hidden: true });
  view.root.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Enter in a field acts at once (its form's implicit submission is not relied on: a notebook's own
// key handling may cancel it).
function onFieldEnter(view, e) {
  if (e.key !== "Enter" || e.isComposing) return;
  e.preventDefault();
  if (e.target === view.ui.lr) view.ui.sgd.click(); else newNetwork(view);
}

function setPresenting(view, on) {
  view.root.classList.toggle("np-presenting", on);
  view.ui.present.setAttribute("aria-pressed", String(on));
  if (view.options.keysOnPage) document.body.classList.toggle("np-presenting", on);   // the page's header too
}

const togglePresenting = (view) => setPresenting(view, !view.root.classList.contains("np-presenting"));

function continueWith(view, param) {
  view.param = param;
  view.ui.param.value = param;
  go(view, view.lec.steps.forward.length);             // its first backward step
  view.ui.next.focus();
}

function wireControls(view) {
  const ui = view.ui;
  ui.activation.addEventListener("change", () => newNetwork(view));
  ui.loss.addEventListener("change", () => newNetwork(view));
  for (const field of [ui.sizes, ui.seed, ui.lr]) field.addEventListener("keydown", (e) => onFieldEnter(view, e));
  ui.strict.addEventListener("change", () => {
    const s = currentState(view); s.strict = ui.strict.checked; submit(view, "state", s);
  });
  ui.sgd.addEventListener("click", async () => {
    const answer = await submit(view, "sgd", { state: currentState(view), lr: ui.lr.value });
    if (answer && answer.sgd) ui.sgdOut.textContent = `f: ${fmt(answer.sgd.f_before)} → ${fmt(answer.sgd.f_after)}`;
  });
  ui.exportButton.addEventListener("click", () => exportDerivation(view));
  ui.back.addEventListener("click", () => go(view, view.step - 1));
  ui.next.addEventListener("click", () => go(view, view.step + 1));
  ui.param.addEventListener("change", () => { view.param = ui.param.value; go(view, view.step); });
  ui.present.addEventListener("click", () => togglePresenting(view));
  ui.continueButton.addEventListener("click", () => continueWith(view, ui.continueButton.dataset.param));
}

// On the page the arrows (and p, present) work wherever the focus is; in a notebook only inside the
// widget, and no key pressed there reaches the notebook (JupyterLab would cut the cell on x).
function wireKeys(view) {
  const root = view.root, onPage = view.options.keysOnPage;
  if (!onPage) {
    root.tabIndex = 0;
    root.dataset.lmSuppressShortcuts = "true";           // Lumino's own opt-out, beside stopPropagation
    root.addEventListener("keydown", (e) => e.stopPropagation());
  }
  (onPage ? document : root).addEventListener("keydown", (e) => {
    const t = e.target;
    if (t.matches("input, select, textarea, .np-scrolls") || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (root.closest("[hidden]")) return;                // another view (the Run tab) has the page
    if (e.key === "ArrowRight") { e.preventDefault(); go(view, view.step + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); go(view, view.step - 1); }
    else if (e.key === "p" && !t.matches("button.np-cell")) { e.preventDefault(); togglePresenting(view); }
  });
}

// --- walking the steps --------------------------------------------------------------------------

function steps(view) {
  const s = view.lec.steps;
  return [...s.forward, ...(s.backward[view.param] || [])];
}

function go(view, i) {
  view.step = Math.max(0, Math.min(steps(view).length - 1, i));
  renderStep(view);
  if (view.backend.onView) view.backend.onView({ step: view.step, param: view.param });
  syncUrl(view);
}

// The address bar follows the state, after the frame is drawn: replaceState costs milliseconds
// that the redraw need not wait for. data-url-pending tells tests the address is not there yet.
function syncUrl(view) {
  if (!view.options.syncUrl || !view.lec) return;
  view.root.dataset.urlPending = "1";
  cancelAnimationFrame(view.urlTimer);
  view.urlTimer = requestAnimationFrame(() => setTimeout(() => {
    history.replaceState(null, "", `?${view.lec.query}&param=${encodeURIComponent(view.param)}&step=${view.step}`);
    delete view.root.dataset.urlPending;
  }, 0));
}

// --- numbers and matrices -----------------------------------------------------------------------

function cell(view, id, v, target) {
  const cls = view.changed.has(id) ? "np-changed" : null;
  if (!target) return el("td", { "data-q": id, class: cls, text: fmt(v) });
  const b = el("button", { type: "button", class: "np-cell", "data-q": id, title: String(v), "data-label": target.label,
    "aria-label": `${target.label} = ${fmt(v)}, edit`, text: fmt(v), onclick: () => startEdit(view, b, target) });
  return el("td", { class: cls }, b);
}

// The value behind an editable number, in full (the page prints 4 digits).
function valueAt(view, key, i, j) {
  const s = view.lec.state;
  if (key === "x") return s.x[i];
  if (key === "y") return Array.isArray(s.y) ? s.y[i] : Number(s.y === i);
  const l = Number(key.slice(1)) - 1;
  return key[0] === "W" ? s.weights[l][i][j] : s.biases[l][i];
}

// Same shapes as drawn: change the numbers and marks in place instead of building the panels again.
function refreshNumbers(view, container) {
  for (const node of container.querySelectorAll("[data-q]")) {
    const id = node.dataset.q, text = view.q.get(id);
    if (text === undefined) continue;
    setText(node, text);
    const editable = node.classList.contains("np-cell");
    (editable ? node.parentElement : node).classList.toggle("np-changed", view.changed.has(id));
    if (editable) {                                    // attributes only where they change: no restyle
      const [key, i, j] = id.split(".");
      const full = String(valueAt(view, key, Number(i), Number(j)));
      if (node.title !== full) node.title = full;
      setAttr(node, "aria-label", `${node.dataset.label} = ${text}, edit`);
    }
  }
}

// A labelled, bracketed matrix; edit(i, j) gives {key, i, j, label} to make its numbers editable.
// block: the width of a block matrix's blocks (a separator between them; its zeros faded).
function matrix(view, name, m, id, edit, block = 0) {
  const table = el("table", { class: "np-matrix", "data-name": id });
  asRows(m).forEach((row, i) => table.append(el("tr", {}, row.map((v, j) => {
    const td = cell(view, `${id}.${i}.${j}`, v, edit && edit(i, j));
    if (block && j % block === 0 && j) td.classList.add("np-block-start");
    if (block && v === 0) td.classList.add("np-zero");
    return td;
  }))));
  const wrap = el("div", { class: "np-term" });
  if (name) wrap.append(el("div", { class: "np-label", text: mathName(name) }));
  wrap.append(el("div", { class: "np-brackets" }, table));
  return wrap;
}

const op = (text) => el("span", { class: "np-op", text: mathName(text) });

function startEdit(view, button, target) {
  const v = valueAt(view, target.key, target.i, target.j ?? 0);
  if (target.key === "y" && view.lec.state.loss === "cross_entropy") { submitEdit(view, "y", target.i, 0, 1); return; }
  const input = el("input", { class: "np-edit", value: String(v), size: 8, "aria-label": `new value of ${target.label}` });
  let done = false;
  const finish = (commit) => {
    if (done) return;
    done = true;
    // ask first, so the server computes while the browser puts the button back (the answer then
    // updates it in place)
    if (commit && input.value.trim() !== String(v)) submitEdit(view, target.key, target.i, target.j, input.value.trim());
    input.replaceWith(button);
    button.focus();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); finish(true); }
    else if (e.key === "Escape") { e.preventDefault(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true));
  button.replaceWith(input);
  input.focus(); input.select();
}

// --- the values and gradients panels ------------------------------------------------------------

function renderValues(view) {
  const d = view.lec.derivation, st = view.lec.state, L = d.weights.length, ui = view.ui;
  const shape = JSON.stringify([st.sizes, st.loss]);
  if (shape === view.drawnPanels) { refreshNumbers(view, ui.values); refreshNumbers(view, ui.grads); return; }
  view.drawnPanels = shape;
  const ce = st.loss === "cross_entropy";
  const editable = (key, l) => (i, j) => ({ key, i, j, label: j === undefined ? `${key}[${i}]` : `${key}[${i},${j}]` });
  ui.values.replaceChildren(el("h3", { text: "values — click a number to edit" }),
    el("div", { class: "np-row" },
      matrix(view, "x", d.x, "x", (i) => ({ key: "x", i, label: `x[${i}]` })),
      matrix(view, ce ? "y (click the true class)" : "y", d.y, "y", (i) => ({ key: "y", i, label: `y[${i}]` })),
      ...d.weights.map((W, l) => matrix(view, `W${l + 1}`, W, `W${l + 1}`, editable(`W${l + 1}`, l))),
      ...d.biases.map((b, l) => matrix(view, `b${l + 1}`, b, `b${l + 1}`, (i) => editable(`b${l + 1}`, l)(i)))));
  ui.grads.replaceChildren(el("h3", {}, "backprop: f = ", el("span", { "data-q": "f", id: idOf(view, "f"),
    class: view.changed.has("f") ? "np-changed" : null, text: fmt(d.forward.loss) })),
  el("div", { class: "np-row" },
    ...Array.from({ length: L }, (_, l) => [
      matrix(view, `∇W${l + 1} f`, d.gradients[`W${l + 1}`].backprop, `grad-W${l + 1}`),
      matrix(view, `∇b${l + 1} f`, d.gradients[`b${l + 1}`].backprop, `grad-b${l + 1}`)]).flat()));
}

// --- the network diagram ------------------------------------------------------------------------

// Sizes in the SVG's own units; the SVG is as wide as its column, so these scale with the screen.
const NODE_W = 108, NODE_H = 52;

// Where each node sits: layers left to right, or (a narrow screen) top to bottom.
function diagramGeometry(sizesNow, vertical) {
  const L = sizesNow.length - 1, maxN = Math.max(...sizesNow);
  // Weights are written on the edges when they cannot collide: few inputs per layer, spread out
  // along the edge by source; otherwise they are in each edge's tooltip.
  const labelEdges = !vertical && sizesNow.every((n, l) => l === 0 || (sizesNow[l - 1] <= 3 && n * sizesNow[l - 1] <= 9));
  if (vertical) {
    const across = NODE_W + 14, down = 116, left = 44, top = 36;
    const pos = (l, i) => [left + NODE_W / 2 + across * (i + (maxN - sizesNow[l]) / 2), top + NODE_H / 2 + down * l];
    // each layer's label centred in the gutter left of its row (the stylesheet centres them)
    return { L, labelEdges, pos, vertical, labelX: left / 2, width: left + across * maxN + 40, height: top + down * L + NODE_H + 56 };
  }
  const colW = labelEdges ? 340 : 190, rowH = 66, top = 44, left = 16;
  const pos = (l, i) => [left + NODE_W / 2 + colW * l, top + rowH * (i + (maxN - sizesNow[l]) / 2) + rowH / 2];
  return { L, labelEdges, pos, vertical, width: left + colW * L + NODE_W + 78, height: top + rowH * maxN + 36 };
}

// An arrowhead for the gradients' edges, pointing back towards the input (its id unique per view).
function arrowMarker(view) {
  const marker = svgEl("marker", { id: `np-arrow${view.idSuffix}`, viewBox: "0 0 10 10", refX: 1, refY: 5,
    markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse", class: "np-arrow" });
  marker.append(svgEl("path", { d: "M 10 0 L 0 5 L 10 10 z" }));
  return svgEl("defs", {}, marker);
}

function buildEdges(view, geo, sizesNow, parts) {
  const diagram = view.ui.diagram, { pos, vertical } = geo;
  const [dx, dy] = vertical ? [0, NODE_H / 2] : [NODE_W / 2, 0];
  for (let l = 0; l < geo.L; l++) {
    for (let i = 0; i < sizesNow[l + 1]; i++) {
      for (let j = 0; j < sizesNow[l]; j++) {
        const [x1, y1] = pos(l, j), [x2, y2] = pos(l + 1, i);
        const ends = { x1: x1 + dx, y1: y1 + dy, x2: x2 - dx, y2: y2 - dy };
        const line = svgEl("line", { ...ends, "data-edge": `W${l + 1}.${i}.${j}` });
        const title = svgEl("title");
        const hit = svgEl("line", { ...ends, class: "np-edge-hit" });
        hit.append(title);
        hit.addEventListener("click", (e) => editFromEdge(view, l, i, j, e));
        diagram.append(line, hit);
        let label = null;
        if (geo.labelEdges) {
          const t = 0.18 + 0.64 * (j + 0.5) / sizesNow[l];
          label = svgEl("text", { x: ends.x1 + (ends.x2 - ends.x1) * t, y: ends.y1 + (ends.y2 - ends.y1) * t - 4,
            class: "np-edge-label", "data-edge": `W${l + 1}.${i}.${j}` });
          label.addEventListener("click", (e) => editFromEdge(view, l, i, j, e));
          diagram.append(label);
        }
        parts.edges.push({ l, i, j, line, title, label });
      }
    }
  }
}

function buildNodes(view, geo, sizesNow, parts) {
  const diagram = view.ui.diagram, { pos, L, vertical } = geo, names = view.lec.names;
  sizesNow.forEach((n, l) => {
    // top to bottom the label sits left of its row, so only the layer's h (z is on the nodes)
    const head = l === 0 ? "x" : l === L ? "ŷ" : vertical ? names.h[l] : `${names.z[l - 1]}, ${names.h[l]}`;
    const [hx, hy] = pos(l, 0);
    diagram.append(vertical
      ? svgEl("text", { x: geo.labelX, y: hy + 5, class: "np-layer-label" }, mathName(head))
      : svgEl("text", { x: hx, y: 24, class: "np-layer-label" }, mathName(head)));
    for (let i = 0; i < n; i++) {
      const [cx, cy] = pos(l, i);
      const g = svgEl("g", { class: "np-node", "data-node": `${l}.${i}` });
      g.append(svgEl("rect", { x: cx - NODE_W / 2, y: cy - NODE_H / 2, width: NODE_W, height: NODE_H, rx: 10 }));
      const lines = l === 0 ? 1 : 2;
      const texts = Array.from({ length: lines }, (_, k) => {
        const t = svgEl("text", { x: cx, y: cy + (lines === 1 ? 6 : k === 0 ? -4 : 17), class: k ? "np-node-sub" : "np-node-main" });
        g.append(t);
        return t;
      });
      diagram.append(g);
      parts.nodes.push({ l, i, g, texts });
      if (l === L) {
        const t = svgEl("text", vertical ? { x: cx, y: cy + NODE_H / 2 + 20, class: "np-target", "text-anchor": "middle" }
          : { x: cx + NODE_W / 2 + 6, y: cy + 6, class: "np-target" });
        diagram.append(t);
        parts.targets.push(t);
      }
    }
  });
}

// The SVG's elements for one shape: built once, then only numbers, widths and highlights change.
function buildDiagram(view, sizesNow, vertical) {
  const diagram = view.ui.diagram, geo = diagramGeometry(sizesNow, vertical);
  diagram.setAttribute("viewBox", `0 0 ${geo.width} ${geo.height}`);
  diagram.classList.toggle("np-vertical", vertical);
  // top to bottom (a phone), a wide layer keeps its text legible: the drawing scrolls sideways in its
  // frame rather than shrink below 0.8 of its size (the page itself never scrolls sideways)
  diagram.style.minWidth = vertical ? `${Math.round(0.8 * geo.width)}px` : "";
  // a wide, flat network (few units a layer) gets the whole width in present mode, the step below it
  view.root.classList.toggle("np-wide-diagram", geo.width > 2.2 * geo.height);
  diagram.replaceChildren(arrowMarker(view));
  const parts = { edges: [], nodes: [], targets: [] };
  buildEdges(view, geo, sizesNow, parts);
  buildNodes(view, geo, sizesNow, parts);
  parts.loss = svgEl("text", { x: geo.width - 8, y: geo.height - 10, class: "np-loss", "text-anchor": "end" });
  diagram.append(parts.loss);
  return parts;
}

// A weight edited from its edge: a field where it was clicked, Enter asks netprop, Escape leaves it.
function editFromEdge(view, l, i, j, event) {
  const fig = view.ui.figure, box = fig.getBoundingClientRect();
  const key = `W${l + 1}`, label = `${key}[${i},${j}]`;
  fig.querySelector(".np-edge-edit")?.remove();
  const input = el("input", { class: "np-edit np-edge-edit", value: String(valueAt(view, key, i, j)), size: 8,
    "aria-label": `new value of ${label}` });
  input.style.left = `${Math.max(0, event.clientX - box.left - 40)}px`;
  input.style.top = `${Math.max(0, event.clientY - box.top - 16)}px`;
  let done = false;
  const finish = (commit) => {
    if (done) return;
    done = true;
    if (commit && input.value.trim() !== String(valueAt(view, key, i, j))) submitEdit(view, key, i, j, input.value.trim());
    input.remove();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); finish(true); } else if (e.key === "Escape") { e.preventDefault(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true));
  fig.append(input);
  input.focus(); input.select();
}

// What the diagram shows at a step: lit nodes and edges, and from which layer down the gradients are known.
function diagramFocus(view, step) {
  const lights = step.lights || { nodes: [], edges: [] };
  return { nodes: new Set(lights.nodes), edges: new Set(lights.edges), reach: step.param ? step.layer : Infinity };
}

function renderEdges(view, drawn, focus) {
  const d = view.lec.derivation;
  const grads = d.weights.map((_, l) => d.gradients[`W${l + 1}`].backprop);
  const wMax = Math.max(1e-12, ...d.weights.flat(2).map(Math.abs));
  const gMax = Math.max(1e-12, ...grads.filter((_, l) => l + 1 >= focus.reach).flat(2).map(Math.abs));
  for (const { l, i, j, line, title, label } of drawn.edges) {
    const w = d.weights[l][i][j], gw = grads[l][i][j], backward = l + 1 >= focus.reach;
    const shown = backward ? gw : w, scale = backward ? gMax : wMax;
    const lit = focus.edges.has(l + 1);
    setAttr(line, "class", `np-edge ${shown >= 0 ? "np-pos" : "np-neg"}${lit ? " np-hl" : ""}${backward ? " np-grad-edge" : ""}`);
    setAttr(line, "stroke-width", (1 + 5 * Math.abs(shown) / scale).toFixed(2));
    if (backward) setAttr(line, "marker-start", `url(#np-arrow${view.idSuffix})`); else line.removeAttribute("marker-start");
    setText(title, `${mathName(`W${l + 1}`)}[${i},${j}] = ${fmt(w)}; ∇${mathName(`W${l + 1}`)}[${i},${j}] f = ${fmt(gw)}` +
      " (click to edit the weight)");
    if (label) {
      setText(label, fmt(shown, 3));          // three digits on an edge: the labels stay apart
      setAttr(label, "class", `np-edge-label${backward ? " np-grad" : ""}`);
    }
  }
}

function renderNodes(view, drawn, focus) {
  const d = view.lec.derivation, L = d.weights.length, names = view.lec.names;
  for (const { l, i, g, texts } of drawn.nodes) {
    setAttr(g, "class", `np-node${focus.nodes.has(l) ? " np-hl" : ""}`);
    const delta = l >= 1 && l >= focus.reach ? d.gradients[`b${l}`].backprop[i] : null;
    let lines;
    if (l === 0) lines = [fmt(d.x[i])];
    else if (delta !== null) {
      const top = l === L ? `ŷ ${fmt(d.forward.y_hat[i])}` : `${mathName(names.h[l])} ${fmt(d.forward.h[l - 1][i])}`;
      lines = [top, `${l === L ? "ŷ−y" : mathName(names.delta[l - 1])} ${fmt(delta)}`];
    } else if (l === L) lines = [`ŷ ${fmt(d.forward.y_hat[i])}`, `z ${fmt(d.forward.z[l - 1][i])}`];
    else lines = [`z ${fmt(d.forward.z[l - 1][i])}`, `h ${fmt(d.forward.h[l - 1][i])}`];
    texts.forEach((t, k) => setText(t, lines[k]));
    if (texts[1]) setAttr(texts[1], "class", delta !== null ? "np-node-sub np-grad" : "np-node-sub");
  }
}

function renderDiagram(view, step) {
  const d = view.lec.derivation, sizesNow = d.network.sizes;
  const vertical = view.root.clientWidth > 0 && view.root.clientWidth < 600;
  const shape = JSON.stringify([sizesNow, vertical]);
  if (!view.drawnDiagram || view.drawnDiagram.shape !== shape) {
    view.drawnDiagram = { shape, ...buildDiagram(view, sizesNow, vertical) };
  }
  const drawn = view.drawnDiagram, focus = diagramFocus(view, step);
  view.ui.diagram.classList.toggle("np-backward", Boolean(step.param));
  renderEdges(view, drawn, focus);
  renderNodes(view, drawn, focus);
  drawn.targets.forEach((t, i) => setText(t, d.y[i] !== 0 ? `y=${fmt(d.y[i])}` : ""));
  setText(drawn.loss, `f = ${fmt(d.forward.loss)}`);
}

// --- the current step ---------------------------------------------------------------------------

const row = (...parts) => el("div", { class: "np-row" }, ...parts);

function lossBody(view) {
  const d = view.lec.derivation, st = view.lec.state, m = (name, value, id) => matrix(view, name, value, id);
  const f = el("strong", { "data-q": "f", id: idOf(view, "step-f"), class: "np-step-f", text: fmt(d.forward.loss) });
  if (st.loss !== "cross_entropy") return [row(m("ŷ", d.forward.y_hat, "y_hat"), m("y", d.y, "y")), row(op("f = ½ ‖ŷ − y‖² ="), f)];
  // only the true class k counts: f = −log ŷ_k
  const k = st.y, p = d.forward.y_hat[k];
  return [row(m("y", d.y, "y"), m("ŷ", d.forward.y_hat, "y_hat")),
    row(op(`f = −log ŷ${k} = −log ${fmt(p)} =`), f),
    el("p", { class: "np-step-note", text: mathName(`y is one-hot at class ${k}, so of the sum only −log ŷ${k} is left.`) })];
}

function forwardBody(view, step) {
  const d = view.lec.derivation, st = view.lec.state, names = view.lec.names, l = step.layer;
  const hIn = l === 1 ? d.x : d.forward.h[l - 2];
  const hName = names.h[l - 1];
  const m = (name, value, id) => matrix(view, name, value, id);
  if (step.kind === "affine" || step.kind === "output") {
    const zName = step.kind === "output" ? `z${l}` : names.z[l - 1];
    const rows = [row(m(zName, d.forward.z[l - 1], `z${l}`), op("="),
      m(`W${l}`, d.weights[l - 1], `W${l}`), m(hName, hIn, l === 1 ? "x" : `h${l - 1}`), op("+"),
      m(`b${l}`, d.biases[l - 1], `b${l}`))];
    if (step.kind === "output") {
      const outAct = st.loss === "cross_entropy" ? "softmax" : "identity";
      rows.push(row(m("ŷ", d.forward.y_hat, "y_hat"), op("="), op(`${outAct}(`), m(zName, d.forward.z[l - 1], `z${l}`), op(")")));
    }
    return rows;
  }
  if (step.kind === "activation") {
    return [row(m(names.h[l], d.forward.h[l - 1], `h${l}`), op("="),
      op(`${st.activation}(`), m(names.z[l - 1], d.forward.z[l - 1], `z${l}`), op(")"))];
  }
  return lossBody(view);
}

// The width of the blocks of ∂z/∂W_l (its last factor): h_{l-1}ᵀ on the diagonal, sizes[l-1] wide.
const blockWidth = (view, param, index) => (param[0] === "W" && index === view.lec.derivation.gradients[param].factors.length - 1
  ? view.lec.derivation.network.sizes[Number(param.slice(1)) - 1] : 0);

function factorTerm(view, param, i) {
  const f = view.lec.derivation.gradients[param].factors[i];
  return matrix(view, `${f.label}  (${f.shape.join(" × ")})`, f.matrix, `${param}.factor${i}`, null, blockWidth(view, param, i));
}

// Hadamard: the two operands, their product (the δ it defines), and the diagonal form it replaces.
// Outer product: g and h_{l-1}ᵀ, their product, and the reshaped chain it replaces.
function simplificationBody(view, step) {
  const s = view.lec.simplifications[step.param][step.index], id = `${step.param}.simp${step.index}`;
  const [a, b] = s.operands;
  const m = (name, value, q) => matrix(view, name, value, q);
  const first = step.kind === "hadamard"
    ? row(m(a.formula, a.value, `${id}.a`), op("⊙"), m(b.formula, b.value, `${id}.b`), op("="), m(s.result, s.rhs, `${id}.rhs`))
    : row(m(a.formula, a.value, `${id}.a`), m(b.formula, b.value, `${id}.b`), op("="), m(s.rhs_formula, s.rhs, `${id}.rhs`));
  return [first, row(m(s.lhs_formula, s.lhs, `${id}.lhs`), op(`= ${s.result}`)),
    el("p", { class: "np-step-note", text: mathName(`${s.lhs_formula} = ${s.rhs_formula}: largest difference ` +
      `${s.max_abs_difference.toExponential(1)}`) })];
}

function backwardBody(view, step) {
  const g = view.lec.derivation.gradients[step.param];
  const [pl, pi] = [step.param, step.index];
  const m = (name, value, id) => matrix(view, name, value, id);
  const product = () => m(`∂f/∂${pl}  (1 × ${g.product[0].length})`, g.product, `${pl}.product`);
  if (step.kind === "factor") {
    const formula = el("div", { class: "np-chain" }, g.factors.map((f, i) =>
      [i ? " · " : null, el("span", { class: i === pi ? "np-current" : null, text: mathName(f.label) })]));
    return [formula, el("p", { class: "np-step-note", text: mathName(step.note) }), row(factorTerm(view, pl, pi))];
  }
  if (step.kind === "product") {
    return [row(...g.factors.map((_, i) => [i ? op("·") : null, factorTerm(view, pl, i)]), op("="), product())];
  }
  if (step.kind === "reshape") return [row(product(), op("→"), m(`∇${pl} f`, g.chain, `${pl}.chain`))];
  if (step.kind === "hadamard" || step.kind === "outer") return simplificationBody(view, step);
  return [row(m("chain", g.chain, `${pl}.chain`),
    m(`backprop ${g.backprop_formula}`, g.backprop, `grad-${pl}`),
    m("central finite differences", g.finite_difference, `${pl}.fd`)),
  el("p", { id: idOf(view, "maxdiff"), class: "np-maxdiff",
    text: `largest difference between the three: ${g.max_abs_difference.toExponential(2)}` })];
}

// Around the step: where to start, the softmax fold where it happens, what to do at the end.
function renderGuides(view, step, all) {
  const ui = view.ui, params = view.lec.params;
  ui.start.hidden = view.step !== 0;
  ui.start.textContent = "Start here: next ▶ walks the forward pass one equation at a time, then backward " +
    `propagation for the parameter chosen beside it. ${mathName(view.lec.start_note)}`;
  ui.next.classList.toggle("np-first", view.step === 0);
  ui.note.hidden = !step.fold;
  ui.note.textContent = step.fold ? mathName(view.lec.fold_note) : "";
  const last = view.step === all.length - 1;
  const nextParam = params[(params.indexOf(view.param) + 1) % params.length];
  ui.continueButton.hidden = !last;
  ui.continueButton.dataset.param = nextParam;
  ui.continueButton.textContent = `continue with ∇${mathName(nextParam)} f ▶`;
}

function renderStep(view) {
  const all = steps(view), step = all[view.step], ui = view.ui;
  const nF = view.lec.steps.forward.length;
  const phase = view.step < nF ? "forward" : `backward (${mathName(view.param)})`;
  ui.counter.textContent = `step ${view.step + 1} of ${all.length} · ${phase}`;
  view.root.dataset.step = view.step;
  ui.back.disabled = view.step === 0;
  ui.next.disabled = view.step === all.length - 1;
  if (ui.param.value !== view.param) ui.param.value = view.param;     // w.param set from Python
  ui.stepTitle.textContent = mathName(step.title);
  typeset(ui.stepEq, step.equation_tex, mathName(step.equation));
  renderGuides(view, step, all);
  ui.stepBody.replaceChildren(...(step.param ? backwardBody(view, step) : forwardBody(view, step)));
  renderDiagram(view, step);
  focusableIfScrolled(ui.stepPane);
  focusableIfScrolled(ui.figure);
}

// A row that scrolls sideways (a wide equation) is reachable by keyboard, so its arrows scroll it.
function focusableIfScrolled(container) {
  for (const node of container.querySelectorAll(".np-row, .np-eq, .np-chain, .np-diagram-wrap")) {
    const scrolls = node.scrollWidth > node.clientWidth + 1;
    if (scrolls && !node.hasAttribute("tabindex")) {
      node.tabIndex = 0;
      node.classList.add("np-scrolls");                  // its arrow keys scroll it, not step
      node.setAttribute("aria-label", "wider than the screen: the arrow keys scroll it");
    } else if (!scrolls && node.hasAttribute("tabindex")) {
      node.removeAttribute("tabindex");
      node.classList.remove("np-scrolls");
      node.removeAttribute("aria-label");
    }
  }
}

// --- a new lecture from netprop -----------------------------------------------------------------

function renderControls(view, lec, extra) {
  const ui = view.ui, st = lec.state, lim = lec.limits;
  const options = (select, names, current) =>
    select.replaceChildren(...names.map((a) => el("option", { value: a, text: a, selected: a === current })));
  ui.sizes.value = st.sizes.join(",");
  ui.seed.value = st.seed;
  ui.strict.checked = st.strict;
  options(ui.activation, lim.activations, st.activation);
  options(ui.loss, lim.losses, st.loss);
  if (!ui.format.options.length) options(ui.format, lim.formats, null);
  if (!lec.params.includes(view.param)) view.param = lec.params[0];
  options(ui.param, lec.params, view.param);
  ui.param.value = view.param;
  if (!extra.sgd) ui.sgdOut.textContent = "";
}

function show(view, lec, extra = {}) {
  const old = view.lec, before = view.q;
  view.changed = new Set();
  view.q = quantities(lec);
  if (old && sameShape(old, lec)) {
    // the strict chain has other factors, not changed ones: with the toggle only numbers are compared
    const sameChain = old.state.strict === lec.state.strict;
    for (const [id, v] of view.q) {
      if (before.get(id) !== v && (sameChain || !/\.(factor\d+|product)\./.test(id))) view.changed.add(id);
    }
  }
  view.lec = lec;
  view.ui.error.hidden = true;
  renderControls(view, lec, extra);
  renderValues(view);
  go(view, view.step);
  view.root.dataset.revision = ++view.revision;
}

// The lecture view in root. backend.submit(kind, payload) answers "state" (payload: a state),
// "sgd" ({state, lr}) and "export" ({state, format}); an answer holding {lecture} is drawn.
// options: syncUrl (the address bar follows the state), keysOnPage (arrows anywhere on the page),
// param and step to start at. Returns the view: show(lecture), fail(message), go(step), setParam(p).
export function mountLecture(root, backend, options = {}) {
  const n = mountedViews++;
  const view = { root, backend, options, ui: {}, lec: null, q: new Map(), changed: new Set(),
    param: options.param || "W1", step: options.step || 0, revision: 0, ticket: 0,
    drawnPanels: null, drawnDiagram: null, urlTimer: null, idSuffix: n ? `-${n + 1}` : "" };
  root.classList.add("np-lecture");
  root.replaceChildren();
  buildLayout(view);
  wireControls(view);
  wireKeys(view);
  // a narrow column (a phone, a notebook's side panel) turns the diagram to run top to bottom
  new ResizeObserver(() => { if (view.lec) renderDiagram(view, steps(view)[view.step]); }).observe(root);
  root.netpropView = view;                              // for a console, a test or a benchmark to reach
  view.show = (lec, extra) => show(view, lec, extra);
  view.fail = (message) => fail(view, message);
  view.go = (i) => go(view, i);
  view.setParam = (p) => { view.param = p; if (view.lec) go(view, view.step); };
  return view;
}

// --- the web page's backend: the server's JSON API ----------------------------------------------

export function httpBackend(base = "") {
  async function post(path, payload) {
    const res = await fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try { message = (await res.json()).error || message; } catch (e) { /* not JSON: keep the status */ }
      throw new Error(message);
    }
    return res;
  }
  return {
    async submit(kind, payload) {
      if (kind === "export") {
        const res = await post("/api/export", payload);
        const media = res.headers.get("Content-Type") || "text/plain";
        const ext = (res.headers.get("Content-Disposition") || "").match(/\.(\w+)"/);
        return { text: await res.text(), media, ext: ext ? ext[1] : "txt" };
      }
      const res = await post(kind === "sgd" ? "/api/sgd" : "/api/lecture", kind === "sgd" ? payload : { state: payload });
      const lec = await res.json();
      return { lecture: lec, sgd: lec.sgd };
    },
  };
}

export async function mountPage(root) {
  const params = new URLSearchParams(location.search);
  const view = mountLecture(root, httpBackend(), { syncUrl: true, keysOnPage: true, param: params.get("param") || "W1",
    step: Number(params.get("step")) || 0 });
  const res = await fetch(`/api/lecture?${location.search.slice(1)}`);
  if (res.ok) view.show(await res.json());
  else {
    let message = `${res.status}`;
    try { message = (await res.json()).error; } catch (e) { /* keep the status */ }
    const fallback = await fetch("/api/lecture");
    view.show(await fallback.json());
    view.fail(`${message} — showing the default network instead`);
  }
  return view;
}

// --- the notebook widget (anywidget): the same view, its state in the widget's model ---------------

export const KERNEL_SILENT = "the kernel did not answer: re-run the cell";

// Requests go to the Python widget as custom messages; each waits request_timeout seconds at most
// (after a kernel restart nothing answers, and the page says so instead of hanging).
function widgetBackend(model) {
  let next = 0;
  const waiting = new Map();
  model.on("msg:custom", (msg) => {
    if (msg.type !== "response" || !waiting.has(msg.id)) return;
    const { resolve, reject, timer } = waiting.get(msg.id);
    clearTimeout(timer);
    waiting.delete(msg.id);
    if (msg.ok) resolve(msg); else reject(new Error(msg.error));
  });
  return {
    submit(kind, payload) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(id); reject(new Error(KERNEL_SILENT)); },
          1000 * (model.get("request_timeout") || 30));
        waiting.set(id, { resolve, reject, timer });
        try {
          model.send({ type: "request", id, kind, payload });
        } catch (e) {                                      // no comm any more (the kernel restarted)
          clearTimeout(timer); waiting.delete(id); reject(new Error(KERNEL_SILENT));
        }
      });
    },
    onView({ step, param }) {
      if (model.get("step") === step && model.get("param") === param) return;
      model.set("step", step); model.set("param", param); model.save_changes();
    },
  };
}

function render({ model, el: root }) {
  const view = mountLecture(root, widgetBackend(model), { param: model.get("param"), step: model.get("step") });
  const redraw = () => { const lec = model.get("lecture"); if (lec && lec.state) view.show(lec); };
  model.on("change:lecture", redraw);
  model.on("change:step", () => view.go(model.get("step")));
  model.on("change:param", () => view.setParam(model.get("param")));
  model.on("change:error", () => { if (model.get("error")) view.fail(model.get("error")); });
  redraw();
}

export default { render };
