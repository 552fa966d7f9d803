// The lecture view: draws what netprop computed in Python and asks it again after every edit.
// No forward or backward pass here: every number on the page comes from the server's JSON
// (api.py). The same file is the web page's module and the notebook widget's _esm (anywidget).

const SVG = "http://www.w3.org/2000/svg";

// Four significant digits, as printed; −0 (from products with zeros) prints as 0.
export function fmt(v) {
  if (typeof v !== "number") return String(v);
  const s = String(Number(v.toPrecision(4)));
  return s === "-0" ? "0" : s;
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

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

// The lecture view in root. backend.submit(kind, payload) answers "state" (payload: a state),
// "sgd" ({state, lr}) and "export" ({state, format}); an answer holding {lecture} is drawn.
// options: syncUrl (the address bar follows the state), keysOnPage (arrows anywhere on the page),
// param and step to start at. Returns the view: show(lecture), fail(message), go(step), setParam(p).
export function mountLecture(root, backend, options = {}) {
  const view = { lec: null, changed: new Set(), param: options.param || "W1", step: options.step || 0, revision: 0,
    ticket: 0 };
  root.classList.add("np-lecture");
  root.replaceChildren();

  const error = el("div", { class: "np-error", role: "alert", hidden: true });
  const sizes = el("input", { id: "np-sizes", name: "sizes", size: 12, "aria-label": "layer sizes" });
  const activation = el("select", { id: "np-activation", "aria-label": "activation" });
  const loss = el("select", { id: "np-loss", "aria-label": "loss" });
  const seed = el("input", { id: "np-seed", type: "number", min: 0, step: 1, "aria-label": "seed" });
  const apply = el("button", { type: "submit", id: "np-apply", text: "New network" });
  const strict = el("input", { type: "checkbox", id: "np-strict" });
  const lr = el("input", { id: "np-lr", value: "0.1", size: 5, "aria-label": "learning rate" });
  const sgd = el("button", { type: "button", id: "np-sgd", text: "SGD step" });
  const sgdOut = el("output", { id: "np-sgd-out", "aria-live": "polite" });
  const format = el("select", { id: "np-format", "aria-label": "export format" });
  const exportButton = el("button", { type: "button", id: "np-export", text: "Export" });
  const controls = el("form", { class: "np-controls", onsubmit: (e) => { e.preventDefault(); newNetwork(); } },
    el("label", {}, "sizes ", sizes), el("label", {}, "activation ", activation), el("label", {}, "loss ", loss),
    el("label", {}, "seed ", seed), apply,
    el("span", { class: "np-sep" }),
    el("label", {}, "lr ", lr), sgd, sgdOut,
    el("span", { class: "np-sep" }),
    format, exportButton);

  const diagram = svgEl("svg", { class: "np-diagram", role: "img", "aria-label": "the network" });
  const back = el("button", { type: "button", id: "np-back", text: "◀ back", "aria-keyshortcuts": "ArrowLeft" });
  const next = el("button", { type: "button", id: "np-next", text: "next ▶", "aria-keyshortcuts": "ArrowRight" });
  const counter = el("span", { id: "np-counter", class: "np-counter", "aria-live": "polite" });
  const param = el("select", { id: "np-param", "aria-label": "parameter for backward propagation" });
  const stepTitle = el("h3", { id: "np-step-title", "aria-live": "polite" });
  const stepEq = el("div", { id: "np-step-eq", class: "np-eq" });
  const stepBody = el("div", { id: "np-step-body", class: "np-step-body" });
  const stepPane = el("section", { class: "np-step", "aria-label": "current step" },
    el("div", { class: "np-nav" }, back, counter, next, el("label", {}, " backward for ", param)),
    stepTitle, stepEq, stepBody);
  const note = el("p", { class: "np-note", id: "np-note" });
  const strictBox = el("div", { class: "np-strict" },
    el("label", {}, strict, " strict chain (softmax Jacobian as its own factor)"), note);
  const values = el("section", { class: "np-values", "aria-label": "values: click a number to edit it" });
  const grads = el("section", { class: "np-grads", "aria-label": "gradients by backprop" });
  root.append(error, controls,
    el("div", { class: "np-main" }, el("div", { class: "np-left" }, diagram, strictBox), stepPane),
    el("div", { class: "np-panels" }, values, grads));

  // --- talking to netprop -------------------------------------------------------------------

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    root.dataset.revision = ++view.revision;           // tests and the benchmark wait on this
  }

  async function submit(kind, payload) {
    root.dataset.busy = "1";
    const ticket = ++view.ticket;                        // a slower answer to an older edit is dropped
    try {
      const answer = await backend.submit(kind, payload);
      if (ticket !== view.ticket && kind !== "export") return null;
      if (answer && answer.lecture) show(answer.lecture, answer);
      return answer;
    } catch (e) {
      if (ticket === view.ticket) fail(e.message || String(e));
      return null;
    } finally {
      delete root.dataset.busy;
    }
  }

  function currentState() { return structuredClone(view.lec.state); }

  function newNetwork() {
    const s = { sizes: sizes.value, activation: activation.value, loss: loss.value, seed: seed.value, strict: strict.checked };
    const old = view.lec && view.lec.state;
    // Same sizes and seed: keep the edited values (activation works on them as they are; a new
    // loss needs a new kind of y). Otherwise draw everything from the seed, as derive does.
    if (old && String(old.sizes) === sizes.value.replace(/\s/g, "") && String(old.seed) === seed.value) {
      Object.assign(s, { x: old.x, weights: old.weights, biases: old.biases });
      if (old.loss === loss.value) s.y = old.y;
    }
    submit("state", s);
  }

  function edit(key, i, j, raw) {
    const s = currentState();
    if (key === "x") s.x[i] = raw;
    else if (key === "y") s.y = s.loss === "cross_entropy" ? i : Object.assign(s.y, { [i]: raw });
    else {
      const l = Number(key.slice(1)) - 1;
      if (key[0] === "W") s.weights[l][i][j] = raw; else s.biases[l][i] = raw;
    }
    submit("state", s);
  }

  activation.addEventListener("change", newNetwork);
  loss.addEventListener("change", newNetwork);
  strict.addEventListener("change", () => { const s = currentState(); s.strict = strict.checked; submit("state", s); });
  sgd.addEventListener("click", async () => {
    const answer = await submit("sgd", { state: currentState(), lr: lr.value });
    if (answer && answer.sgd) sgdOut.textContent = `f: ${fmt(answer.sgd.f_before)} → ${fmt(answer.sgd.f_after)}`;
  });
  exportButton.addEventListener("click", async () => {
    const answer = await submit("export", { state: currentState(), format: format.value });
    if (!answer) return;
    const url = URL.createObjectURL(new Blob([answer.text], { type: answer.type || "text/plain" }));
    const a = el("a", { href: url, download: `netprop-derivation.${answer.ext}`, hidden: true });
    root.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  back.addEventListener("click", () => go(view.step - 1));
  next.addEventListener("click", () => go(view.step + 1));
  param.addEventListener("change", () => { view.param = param.value; go(view.step); });
  // On the page the arrows work wherever the focus is; in a notebook only inside the widget.
  if (!options.keysOnPage) root.tabIndex = 0;
  (options.keysOnPage ? document : root).addEventListener("keydown", (e) => {
    const t = e.target;
    if (t.matches("input, select, textarea") || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (root.closest("[hidden]")) return;                // another view (the Run tab) has the page
    if (e.key === "ArrowRight") { e.preventDefault(); go(view.step + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); go(view.step - 1); }
  });

  // --- drawing ----------------------------------------------------------------------------

  function steps() {
    const s = view.lec.steps;
    return [...s.forward, ...(s.backward[view.param] || [])];
  }

  function go(i) {
    const all = steps();
    view.step = Math.max(0, Math.min(all.length - 1, i));
    drawStep();
    if (backend.onView) backend.onView({ step: view.step, param: view.param });
    syncUrl();
  }

  // The address bar follows the state, after the frame is drawn: replaceState costs milliseconds
  // that the redraw need not wait for. data-url-pending tells tests the address is not there yet.
  let urlTimer = null;
  function syncUrl() {
    if (!options.syncUrl || !view.lec) return;
    root.dataset.urlPending = "1";
    cancelAnimationFrame(urlTimer);
    urlTimer = requestAnimationFrame(() => setTimeout(() => {
      history.replaceState(null, "", `?${view.lec.query}&param=${encodeURIComponent(view.param)}&step=${view.step}`);
      delete root.dataset.urlPending;
    }, 0));
  }

  function cell(id, v, edit) {
    const cls = view.changed.has(id) ? "np-changed" : null;
    if (!edit) return el("td", { "data-q": id, class: cls, text: fmt(v) });
    const b = el("button", { type: "button", class: "np-cell", "data-q": id, title: String(v), "data-label": edit.label,
      "aria-label": `${edit.label} = ${fmt(v)}, edit`, text: fmt(v), onclick: () => startEdit(b, edit) });
    return el("td", { class: cls }, b);
  }

  // The value behind an editable number, in full (the page prints 4 digits).
  function valueAt(key, i, j) {
    const s = view.lec.state;
    if (key === "x") return s.x[i];
    if (key === "y") return Array.isArray(s.y) ? s.y[i] : Number(s.y === i);
    const l = Number(key.slice(1)) - 1;
    return key[0] === "W" ? s.weights[l][i][j] : s.biases[l][i];
  }

  // Same shapes as drawn: change the numbers and marks in place instead of building the panels again.
  function refreshNumbers(container) {
    for (const node of container.querySelectorAll("[data-q]")) {
      const id = node.dataset.q, text = view.q.get(id);
      if (text === undefined) continue;
      if (node.textContent !== text) node.textContent = text;
      const editable = node.classList.contains("np-cell");
      (editable ? node.parentElement : node).classList.toggle("np-changed", view.changed.has(id));
      if (editable) {                                    // attributes only where they change: no restyle
        const [key, i, j] = id.split(".");
        const full = String(valueAt(key, Number(i), Number(j)));
        if (node.title !== full) node.title = full;
        const label = `${node.dataset.label} = ${text}, edit`;
        if (node.getAttribute("aria-label") !== label) node.setAttribute("aria-label", label);
      }
    }
  }

  // A labelled matrix; edit(i, j) gives {key, i, j, label} to make its numbers editable.
  function matrix(name, m, id, edit) {
    const rows = asRows(m);
    const table = el("table", { class: "np-matrix", "data-name": id });
    rows.forEach((row, i) => table.append(el("tr", {}, row.map((v, j) => cell(`${id}.${i}.${j}`, v, edit && edit(i, j))))));
    const wrap = el("div", { class: "np-term" });
    if (name) wrap.append(el("div", { class: "np-label", text: name }));
    wrap.append(el("div", { class: "np-scroll" }, table));
    return wrap;
  }

  function op(text) { return el("span", { class: "np-op", text }); }

  function startEdit(button, target) {
    const v = valueAt(target.key, target.i, target.j ?? 0);
    if (target.key === "y" && view.lec.state.loss === "cross_entropy") { edit("y", target.i, 0, 1); return; }
    const input = el("input", { class: "np-edit", value: String(v), size: 8, "aria-label": `new value of ${target.label}` });
    let done = false;
    const finish = (commit) => {
      if (done) return;
      done = true;
      // ask first, so the server computes while the browser puts the button back (the answer then
      // updates it in place)
      if (commit && input.value.trim() !== String(v)) edit(target.key, target.i, target.j, input.value.trim());
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

  let drawnPanels = null;
  function drawValues() {
    const d = view.lec.derivation, st = view.lec.state, L = d.weights.length;
    const shape = JSON.stringify([st.sizes, st.loss]);
    if (shape === drawnPanels) { refreshNumbers(values); refreshNumbers(grads); return; }
    drawnPanels = shape;
    const ce = st.loss === "cross_entropy";
    values.replaceChildren(el("h3", { text: "values — click a number to edit" }),
      el("div", { class: "np-row" },
        matrix("x", d.x, "x", (i) => ({ key: "x", i, label: `x[${i}]` })),
        matrix(ce ? "y (click the true class)" : "y", d.y, "y", (i) => ({ key: "y", i, label: `y[${i}]` })),
        ...d.weights.map((W, l) => matrix(`W${l + 1}`, W, `W${l + 1}`, (i, j) => ({ key: `W${l + 1}`, i, j, label: `W${l + 1}[${i},${j}]` }))),
        ...d.biases.map((b, l) => matrix(`b${l + 1}`, b, `b${l + 1}`, (i) => ({ key: `b${l + 1}`, i, label: `b${l + 1}[${i}]` })))));
    grads.replaceChildren(el("h3", {}, "backprop: f = ", el("span", { "data-q": "f", id: "np-f", class: view.changed.has("f") ? "np-changed" : null, text: fmt(d.forward.loss) })),
      el("div", { class: "np-row" },
        ...Array.from({ length: L }, (_, l) => [
          matrix(`∇W${l + 1} f`, d.gradients[`W${l + 1}`].backprop, `grad-W${l + 1}`),
          matrix(`∇b${l + 1} f`, d.gradients[`b${l + 1}`].backprop, `grad-b${l + 1}`)]).flat()));
  }

  // The network: built once per shape, then only its numbers, widths and highlights change.
  let drawnDiagram = null;
  function buildDiagram(sizesNow) {
    const L = sizesNow.length - 1, names = view.lec.names;
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
      const head = svgEl("text", { x: pos(l, 0)[0], y: 16, class: "np-layer-label" });
      head.textContent = l === 0 ? "x" : l === L ? "ŷ" : `${names.z[l - 1]}, ${names.h[l]}`;
      diagram.append(head);
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

  function drawDiagram(step) {
    const d = view.lec.derivation, sizesNow = d.network.sizes, L = sizesNow.length - 1;
    const shape = JSON.stringify(sizesNow);
    if (!drawnDiagram || drawnDiagram.shape !== shape) drawnDiagram = { shape, ...buildDiagram(sizesNow) };
    const hlLayer = step ? step.layer : null;
    const backward = step && step.param;
    const wMax = Math.max(1e-12, ...d.weights.flat(2).map(Math.abs));
    // Only what differs from the last drawing is touched: each attribute set restyles its element.
    const setAttr = (node, name, value) => { if (node.getAttribute(name) !== value) node.setAttribute(name, value); };
    const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };
    for (const { l, i, j, line, title, label } of drawnDiagram.edges) {
      const w = d.weights[l][i][j];
      const hl = hlLayer === l + 1 && (!backward || step.param[0] === "W" || step.kind === "factor");
      setAttr(line, "class", `np-edge ${w >= 0 ? "np-pos" : "np-neg"}${hl ? " np-hl" : ""}`);
      setAttr(line, "stroke-width", (0.6 + 3 * Math.abs(w) / wMax).toFixed(2));
      setText(title, `W${l + 1}[${i},${j}] = ${fmt(w)}`);
      if (label) setText(label, fmt(w));
    }
    for (const { l, i, g, texts } of drawnDiagram.nodes) {
      const hl = hlLayer !== null && (hlLayer === l || (step.kind === "loss" && l === L));
      setAttr(g, "class", `np-node${hl ? " np-hl" : ""}`);
      const lines = l === 0 ? [fmt(d.x[i])]
        : l === L ? [fmt(d.forward.y_hat[i]), `z ${fmt(d.forward.z[l - 1][i])}`]
          : [`z ${fmt(d.forward.z[l - 1][i])}`, `h ${fmt(d.forward.h[l - 1][i])}`];
      texts.forEach((t, k) => setText(t, lines[k]));
    }
    drawnDiagram.targets.forEach((t, i) => setText(t, d.y[i] !== 0 ? `y=${fmt(d.y[i])}` : ""));
    setText(drawnDiagram.loss, `f = ${fmt(d.forward.loss)}`);
  }

  function drawStep() {
    const all = steps(), step = all[view.step];
    const d = view.lec.derivation, st = view.lec.state, nF = view.lec.steps.forward.length;
    const phase = view.step < nF ? "forward" : `backward (${view.param})`;
    counter.textContent = `step ${view.step + 1} of ${all.length} · ${phase}`;
    root.dataset.step = view.step;
    back.disabled = view.step === 0;
    next.disabled = view.step === all.length - 1;
    stepTitle.textContent = step.title;
    stepEq.textContent = step.equation;
    const body = [];
    const l = step.layer;
    const hIn = l === 1 ? d.x : d.forward.h[l - 2];
    const hName = view.lec.names.h[l - 1];
    if (step.kind === "affine" || step.kind === "output") {
      const zName = step.kind === "output" ? `z${l}` : view.lec.names.z[l - 1];
      body.push(el("div", { class: "np-row" }, matrix(zName, d.forward.z[l - 1], `z${l}`), op("="),
        matrix(`W${l}`, d.weights[l - 1], `W${l}`), matrix(hName, hIn, l === 1 ? "x" : `h${l - 1}`), op("+"),
        matrix(`b${l}`, d.biases[l - 1], `b${l}`)));
      if (step.kind === "output") {
        const outAct = st.loss === "cross_entropy" ? "softmax" : "identity";
        body.push(el("div", { class: "np-row" }, matrix("ŷ", d.forward.y_hat, "y_hat"), op("="),
          op(`${outAct}(`), matrix(zName, d.forward.z[l - 1], `z${l}`), op(")")));
      }
    } else if (step.kind === "activation") {
      body.push(el("div", { class: "np-row" }, matrix(view.lec.names.h[l], d.forward.h[l - 1], `h${l}`), op("="),
        op(`${st.activation}(`), matrix(view.lec.names.z[l - 1], d.forward.z[l - 1], `z${l}`), op(")")));
    } else if (step.kind === "loss") {
      body.push(el("div", { class: "np-row" }, matrix("y", d.y, "y"), matrix("ŷ", d.forward.y_hat, "y_hat"),
        op("f ="), el("strong", { "data-q": "f", id: "np-step-f", text: fmt(d.forward.loss) })));
    } else {
      const g = d.gradients[step.param];
      const [pl, pi] = [step.param, step.index];
      if (step.kind === "factor") {
        const formula = el("div", { class: "np-chain" }, g.factors.map((f, i) =>
          [i ? " · " : null, el("span", { class: i === pi ? "np-current" : null, text: f.label })]));
        const f = g.factors[pi];
        body.push(formula, el("p", { class: "np-step-note", text: step.note }),
          el("div", { class: "np-row" }, matrix(`${f.label}  (${f.shape.join(" × ")})`, f.matrix, `${pl}.factor${pi}`)));
      } else if (step.kind === "product") {
        body.push(el("div", { class: "np-row" }, matrix(`∂f/∂${pl}  (1 × ${g.product[0].length})`, g.product, `${pl}.product`)));
      } else if (step.kind === "reshape") {
        body.push(el("div", { class: "np-row" }, matrix(`∂f/∂${pl}  (1 × ${g.product[0].length})`, g.product, `${pl}.product`),
          op("→"), matrix(`∇${pl} f`, g.chain, `${pl}.chain`)));
      } else if (step.kind === "hadamard" || step.kind === "outer") {
        const s = view.lec.simplifications[pl][pi];
        body.push(el("div", { class: "np-row" }, matrix(s.lhs_formula, s.lhs, `${pl}.simp${pi}.lhs`), op("="),
          matrix(s.rhs_formula, s.rhs, `${pl}.simp${pi}.rhs`)),
          el("p", { text: `= ${s.result}; largest difference ${s.max_abs_difference.toExponential(1)}` }));
      } else if (step.kind === "compare") {
        body.push(el("div", { class: "np-row" }, matrix(`chain`, g.chain, `${pl}.chain`),
          matrix(`backprop ${g.backprop_formula}`, g.backprop, `grad-${pl}`),
          matrix("central finite differences", g.finite_difference, `${pl}.fd`)),
          el("p", { id: "np-maxdiff", text: `largest difference between the three: ${g.max_abs_difference.toExponential(2)}` }));
      }
    }
    stepBody.replaceChildren(...body);
    drawDiagram(step);
  }

  function show(lec, extra = {}) {
    const old = view.lec, before = view.q;
    view.changed = new Set();
    view.q = quantities(lec);
    if (old && sameShape(old, lec)) {
      for (const [id, v] of view.q) if (before.get(id) !== v) view.changed.add(id);
    }
    view.lec = lec;
    error.hidden = true;
    const st = lec.state, lim = lec.limits;
    sizes.value = st.sizes.join(",");
    seed.value = st.seed;
    strict.checked = st.strict;
    activation.replaceChildren(...lim.activations.map((a) => el("option", { value: a, text: a, selected: a === st.activation })));
    loss.replaceChildren(...lim.losses.map((a) => el("option", { value: a, text: a, selected: a === st.loss })));
    if (!format.options.length) format.replaceChildren(...lim.formats.map((a) => el("option", { value: a, text: a })));
    param.replaceChildren(...lec.params.map((p) => el("option", { value: p, text: p, selected: p === view.param })));
    if (!lec.params.includes(view.param)) view.param = lec.params[0];
    param.value = view.param;
    note.textContent = lec.fold_note;
    if (!extra.sgd) sgdOut.textContent = "";
    drawValues();
    go(view.step);
    root.dataset.revision = ++view.revision;
  }

  root.netpropView = view;                              // for a console, a test or a benchmark to reach
  view.show = show;
  view.fail = fail;
  view.go = go;
  view.setParam = (p) => { view.param = p; if (view.lec) go(view.step); };
  return view;
}

// --- the web page's backend: the server's JSON API --------------------------------------------

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
  const view = mountLecture(root, httpBackend(), { syncUrl: true, keysOnPage: true, param: params.get("param") || "W1", step: Number(params.get("step")) || 0 });
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

// --- the notebook widget (anywidget): the same view, its state in the widget's model -------------

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
