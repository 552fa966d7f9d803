// The lecture view: draws what netprop computed in Python and asks it again after every edit.
// No forward or backward pass here: every number on the page comes from the server's JSON
// (api.py). This module is the web page's; the notebook widget's _esm is dom.js and this file
// joined (widget.py's bundle()).
//
// The view is one plain object (`view`: its elements, the lecture shown, the step) passed to named
// functions: build* make elements once, render* draw the current lecture into them.

import { el, fmt, setAttr, setText, svgEl } from "./dom.js";

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

function buildControls(view) {
  const ui = view.ui;
  ui.error = el("div", { class: "np-error", role: "alert", hidden: true });
  ui.sizes = el("input", { id: "np-sizes", name: "sizes", size: 12, "aria-label": "layer sizes" });
  ui.activation = el("select", { id: "np-activation", "aria-label": "activation" });
  ui.loss = el("select", { id: "np-loss", "aria-label": "loss" });
  ui.seed = el("input", { id: "np-seed", type: "number", min: 0, step: 1, "aria-label": "seed" });
  ui.apply = el("button", { type: "submit", id: "np-apply", text: "New network" });
  ui.strict = el("input", { type: "checkbox", id: "np-strict" });
  ui.lr = el("input", { id: "np-lr", value: "0.1", size: 5, "aria-label": "learning rate" });
  ui.sgd = el("button", { type: "button", id: "np-sgd", text: "SGD step" });
  ui.sgdOut = el("output", { id: "np-sgd-out", "aria-live": "polite" });
  ui.format = el("select", { id: "np-format", "aria-label": "export format" });
  ui.exportButton = el("button", { type: "button", id: "np-export", text: "Export" });
  return el("form", { class: "np-controls", onsubmit: (e) => { e.preventDefault(); newNetwork(view); } },
    el("label", {}, "sizes ", ui.sizes), el("label", {}, "activation ", ui.activation),
    el("label", {}, "loss ", ui.loss), el("label", {}, "seed ", ui.seed), ui.apply,
    el("span", { class: "np-sep" }),
    el("label", {}, "lr ", ui.lr), ui.sgd, ui.sgdOut,
    el("span", { class: "np-sep" }),
    ui.format, ui.exportButton);
}

function buildStepPane(view) {
  const ui = view.ui;
  ui.back = el("button", { type: "button", id: "np-back", text: "◀ back", "aria-keyshortcuts": "ArrowLeft" });
  ui.next = el("button", { type: "button", id: "np-next", text: "next ▶", "aria-keyshortcuts": "ArrowRight" });
  ui.counter = el("span", { id: "np-counter", class: "np-counter", "aria-live": "polite" });
  ui.param = el("select", { id: "np-param", "aria-label": "parameter for backward propagation" });
  ui.stepTitle = el("h3", { id: "np-step-title", "aria-live": "polite" });
  ui.stepEq = el("div", { id: "np-step-eq", class: "np-eq" });
  ui.stepBody = el("div", { id: "np-step-body", class: "np-step-body" });
  return el("section", { class: "np-step", "aria-label": "current step" },
    el("div", { class: "np-nav" }, ui.back, ui.counter, ui.next, el("label", {}, " backward for ", ui.param)),
    ui.stepTitle, ui.stepEq, ui.stepBody);
}

function buildLayout(view) {
  const ui = view.ui;
  const controls = buildControls(view);
  const stepPane = buildStepPane(view);
  ui.diagram = svgEl("svg", { class: "np-diagram", role: "img", "aria-label": "the network" });
  ui.note = el("p", { class: "np-note", id: "np-note" });
  const strictBox = el("div", { class: "np-strict" },
    el("label", {}, ui.strict, " strict chain (softmax Jacobian as its own factor)"), ui.note);
  ui.values = el("section", { class: "np-values", "aria-label": "values: click a number to edit it" });
  ui.grads = el("section", { class: "np-grads", "aria-label": "gradients by backprop" });
  view.root.append(ui.error, controls,
    el("div", { class: "np-main" }, el("div", { class: "np-left" }, ui.diagram, strictBox), stepPane),
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
  const url = URL.createObjectURL(new Blob([answer.text], { type: answer.type || "text/plain" }));
  const a = el("a", { href: url, download: `netprop-derivation.${answer.ext}`, hidden: true });
  view.root.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function wireControls(view) {
  const ui = view.ui;
  ui.activation.addEventListener("change", () => newNetwork(view));
  ui.loss.addEventListener("change", () => newNetwork(view));
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
}

// On the page the arrows work wherever the focus is; in a notebook only inside the widget.
function wireKeys(view) {
  const root = view.root, onPage = view.options.keysOnPage;
  if (!onPage) root.tabIndex = 0;
  (onPage ? document : root).addEventListener("keydown", (e) => {
    const t = e.target;
    if (t.matches("input, select, textarea") || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (root.closest("[hidden]")) return;                // another view (the Run tab) has the page
    if (e.key === "ArrowRight") { e.preventDefault(); go(view, view.step + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); go(view, view.step - 1); }
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

// A labelled matrix; edit(i, j) gives {key, i, j, label} to make its numbers editable.
function matrix(view, name, m, id, edit) {
  const table = el("table", { class: "np-matrix", "data-name": id });
  asRows(m).forEach((row, i) =>
    table.append(el("tr", {}, row.map((v, j) => cell(view, `${id}.${i}.${j}`, v, edit && edit(i, j))))));
  const wrap = el("div", { class: "np-term" });
  if (name) wrap.append(el("div", { class: "np-label", text: name }));
  wrap.append(el("div", { class: "np-scroll" }, table));
  return wrap;
}

const op = (text) => el("span", { class: "np-op", text });

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
  ui.grads.replaceChildren(el("h3", {}, "backprop: f = ", el("span", { "data-q": "f", id: "np-f",
    class: view.changed.has("f") ? "np-changed" : null, text: fmt(d.forward.loss) })),
  el("div", { class: "np-row" },
    ...Array.from({ length: L }, (_, l) => [
      matrix(view, `∇W${l + 1} f`, d.gradients[`W${l + 1}`].backprop, `grad-W${l + 1}`),
      matrix(view, `∇b${l + 1} f`, d.gradients[`b${l + 1}`].backprop, `grad-b${l + 1}`)]).flat()));
}

// --- the network diagram ------------------------------------------------------------------------

// The SVG's elements for one shape: built once, then only numbers, widths and highlights change.
function buildDiagram(view, sizesNow) {
  const diagram = view.ui.diagram, L = sizesNow.length - 1, names = view.lec.names;
  // Weights are written on the edges when they cannot collide: few inputs per layer, spread out
  // along the edge by source (x) and by target (y); otherwise they are in each edge's tooltip.
  const labelEdges = sizesNow.every((n, l) => l === 0 || (sizesNow[l - 1] <= 3 && n * sizesNow[l - 1] <= 9));
  const colW = labelEdges ? 250 : 150, rowH = 46, top = 34, maxN = Math.max(...sizesNow);
  const width = colW * L + 140, height = top + rowH * maxN + 20;
  diagram.setAttribute("viewBox", `0 0 ${width} ${height}`);
  diagram.replaceChildren();
  const pos = (l, i) => [70 + colW * l, top + rowH * (i + (maxN - sizesNow[l]) / 2) + rowH / 2];
  const parts = { edges: [], nodes: [], targets: [] };
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < sizesNow[l + 1]; i++) {
      for (let j = 0; j < sizesNow[l]; j++) {
        const [x1, y1] = pos(l, j), [x2, y2] = pos(l + 1, i);
        const line = svgEl("line", { x1: x1 + 28, y1, x2: x2 - 28, y2, "data-edge": `W${l + 1}.${i}.${j}` });
        const title = svgEl("title");
        line.append(title);
        diagram.append(line);
        let label = null;
        if (labelEdges) {
          const t = 0.2 + 0.6 * (j + 0.5) / sizesNow[l];
          label = svgEl("text", { x: x1 + 28 + (x2 - x1 - 56) * t, y: y1 + (y2 - y1) * t - 3, class: "np-edge-label" });
          diagram.append(label);
        }
        parts.edges.push({ l, i, j, line, title, label });
      }
    }
  }
  sizesNow.forEach((n, l) => {
    diagram.append(svgEl("text", { x: pos(l, 0)[0], y: 16, class: "np-layer-label" },
      l === 0 ? "x" : l === L ? "ŷ" : `${names.z[l - 1]}, ${names.h[l]}`));
    for (let i = 0; i < n; i++) {
      const [cx, cy] = pos(l, i);
      const g = svgEl("g", { class: "np-node", "data-node": `${l}.${i}` });
      g.append(svgEl("rect", { x: cx - 28, y: cy - 18, width: 56, height: 36, rx: 8 }));
      const lines = l === 0 ? 1 : 2;
      const texts = Array.from({ length: lines }, (_, k) => {
        const t = svgEl("text", { x: cx, y: cy + (lines === 1 ? 4 : k === 0 ? -3 : 11), class: k ? "np-node-sub" : "np-node-main" });
        g.append(t);
        return t;
      });
      diagram.append(g);
      parts.nodes.push({ l, i, g, texts });
      if (l === L) {
        const t = svgEl("text", { x: cx + 34, y: cy + 4, class: "np-target" });
        diagram.append(t);
        parts.targets.push(t);
      }
    }
  });
  parts.loss = svgEl("text", { x: width - 8, y: height - 8, class: "np-loss", "text-anchor": "end" });
  diagram.append(parts.loss);
  return parts;
}

function renderDiagram(view, step) {
  const d = view.lec.derivation, sizesNow = d.network.sizes, L = sizesNow.length - 1;
  const shape = JSON.stringify(sizesNow);
  if (!view.drawnDiagram || view.drawnDiagram.shape !== shape) view.drawnDiagram = { shape, ...buildDiagram(view, sizesNow) };
  const drawn = view.drawnDiagram;
  const hlLayer = step ? step.layer : null;
  const backward = step && step.param;
  const wMax = Math.max(1e-12, ...d.weights.flat(2).map(Math.abs));
  for (const { l, i, j, line, title, label } of drawn.edges) {
    const w = d.weights[l][i][j];
    const hl = hlLayer === l + 1 && (!backward || step.param[0] === "W" || step.kind === "factor");
    setAttr(line, "class", `np-edge ${w >= 0 ? "np-pos" : "np-neg"}${hl ? " np-hl" : ""}`);
    setAttr(line, "stroke-width", (0.6 + 3 * Math.abs(w) / wMax).toFixed(2));
    setText(title, `W${l + 1}[${i},${j}] = ${fmt(w)}`);
    if (label) setText(label, fmt(w));
  }
  for (const { l, i, g, texts } of drawn.nodes) {
    const hl = hlLayer !== null && (hlLayer === l || (step.kind === "loss" && l === L));
    setAttr(g, "class", `np-node${hl ? " np-hl" : ""}`);
    const lines = l === 0 ? [fmt(d.x[i])]
      : l === L ? [fmt(d.forward.y_hat[i]), `z ${fmt(d.forward.z[l - 1][i])}`]
        : [`z ${fmt(d.forward.z[l - 1][i])}`, `h ${fmt(d.forward.h[l - 1][i])}`];
    texts.forEach((t, k) => setText(t, lines[k]));
  }
  drawn.targets.forEach((t, i) => setText(t, d.y[i] !== 0 ? `y=${fmt(d.y[i])}` : ""));
  setText(drawn.loss, `f = ${fmt(d.forward.loss)}`);
}

// --- the current step ---------------------------------------------------------------------------

function forwardBody(view, step) {
  const d = view.lec.derivation, st = view.lec.state, names = view.lec.names, l = step.layer;
  const hIn = l === 1 ? d.x : d.forward.h[l - 2];
  const hName = names.h[l - 1];
  const m = (name, value, id) => matrix(view, name, value, id);
  if (step.kind === "affine" || step.kind === "output") {
    const zName = step.kind === "output" ? `z${l}` : names.z[l - 1];
    const rows = [el("div", { class: "np-row" }, m(zName, d.forward.z[l - 1], `z${l}`), op("="),
      m(`W${l}`, d.weights[l - 1], `W${l}`), m(hName, hIn, l === 1 ? "x" : `h${l - 1}`), op("+"),
      m(`b${l}`, d.biases[l - 1], `b${l}`))];
    if (step.kind === "output") {
      const outAct = st.loss === "cross_entropy" ? "softmax" : "identity";
      rows.push(el("div", { class: "np-row" }, m("ŷ", d.forward.y_hat, "y_hat"), op("="),
        op(`${outAct}(`), m(zName, d.forward.z[l - 1], `z${l}`), op(")")));
    }
    return rows;
  }
  if (step.kind === "activation") {
    return [el("div", { class: "np-row" }, m(names.h[l], d.forward.h[l - 1], `h${l}`), op("="),
      op(`${st.activation}(`), m(names.z[l - 1], d.forward.z[l - 1], `z${l}`), op(")"))];
  }
  return [el("div", { class: "np-row" }, m("y", d.y, "y"), m("ŷ", d.forward.y_hat, "y_hat"),
    op("f ="), el("strong", { "data-q": "f", id: "np-step-f", text: fmt(d.forward.loss) }))];
}

function backwardBody(view, step) {
  const g = view.lec.derivation.gradients[step.param];
  const [pl, pi] = [step.param, step.index];
  const m = (name, value, id) => matrix(view, name, value, id);
  if (step.kind === "factor") {
    const formula = el("div", { class: "np-chain" }, g.factors.map((f, i) =>
      [i ? " · " : null, el("span", { class: i === pi ? "np-current" : null, text: f.label })]));
    const f = g.factors[pi];
    return [formula, el("p", { class: "np-step-note", text: step.note }),
      el("div", { class: "np-row" }, m(`${f.label}  (${f.shape.join(" × ")})`, f.matrix, `${pl}.factor${pi}`))];
  }
  const product = () => m(`∂f/∂${pl}  (1 × ${g.product[0].length})`, g.product, `${pl}.product`);
  if (step.kind === "product") return [el("div", { class: "np-row" }, product())];
  if (step.kind === "reshape") return [el("div", { class: "np-row" }, product(), op("→"), m(`∇${pl} f`, g.chain, `${pl}.chain`))];
  if (step.kind === "hadamard" || step.kind === "outer") {
    const s = view.lec.simplifications[pl][pi];
    return [el("div", { class: "np-row" }, m(s.lhs_formula, s.lhs, `${pl}.simp${pi}.lhs`), op("="),
      m(s.rhs_formula, s.rhs, `${pl}.simp${pi}.rhs`)),
    el("p", { text: `= ${s.result}; largest difference ${s.max_abs_difference.toExponential(1)}` })];
  }
  return [el("div", { class: "np-row" }, m("chain", g.chain, `${pl}.chain`),
    m(`backprop ${g.backprop_formula}`, g.backprop, `grad-${pl}`),
    m("central finite differences", g.finite_difference, `${pl}.fd`)),
  el("p", { id: "np-maxdiff", text: `largest difference between the three: ${g.max_abs_difference.toExponential(2)}` })];
}

function renderStep(view) {
  const all = steps(view), step = all[view.step], ui = view.ui;
  const nF = view.lec.steps.forward.length;
  const phase = view.step < nF ? "forward" : `backward (${view.param})`;
  ui.counter.textContent = `step ${view.step + 1} of ${all.length} · ${phase}`;
  view.root.dataset.step = view.step;
  ui.back.disabled = view.step === 0;
  ui.next.disabled = view.step === all.length - 1;
  ui.stepTitle.textContent = step.title;
  ui.stepEq.textContent = step.equation;
  ui.stepBody.replaceChildren(...(step.param ? backwardBody(view, step) : forwardBody(view, step)));
  renderDiagram(view, step);
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
  ui.note.textContent = lec.fold_note;
  if (!extra.sgd) ui.sgdOut.textContent = "";
}

function show(view, lec, extra = {}) {
  const old = view.lec, before = view.q;
  view.changed = new Set();
  view.q = quantities(lec);
  if (old && sameShape(old, lec)) {
    for (const [id, v] of view.q) if (before.get(id) !== v) view.changed.add(id);
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
  const view = { root, backend, options, ui: {}, lec: null, q: new Map(), changed: new Set(),
    param: options.param || "W1", step: options.step || 0, revision: 0, ticket: 0,
    drawnPanels: null, drawnDiagram: null, urlTimer: null };
  root.classList.add("np-lecture");
  root.replaceChildren();
  buildLayout(view);
  wireControls(view);
  wireKeys(view);
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
        const type = res.headers.get("Content-Type") || "text/plain";
        const ext = (res.headers.get("Content-Disposition") || "").match(/\.(\w+)"/);
        return { text: await res.text(), type, ext: ext ? ext[1] : "txt" };
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

function widgetBackend(model) {
  let next = 0;
  const waiting = new Map();
  model.on("msg:custom", (msg) => {
    if (msg.type !== "response" || !waiting.has(msg.id)) return;
    const { resolve, reject } = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.ok) resolve(msg); else reject(new Error(msg.error));
  });
  return {
    submit(kind, payload) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        model.send({ type: "request", id, kind, payload });
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
