// The run view: one training run's curves, first-layer tiles, confusion matrix and test images,
// and a test image's forward pass through the trained network.  Every number comes from the
// server's /api/run/... (netprop in Python); this file only asks and draws.
//
//   import { mountRunView } from "./run.js";
//   const view = await mountRunView(document.querySelector("#run"), "");   // "" = same origin
//   view.close();                                                          // stops live updates

import { decodeBase64, el, inkOn, mathName, signedColour, svgEl as svg } from "./dom.js";

const THUMBS_PER_PAGE = 40;
const MAX_TILES = 256;
const SHORT_RUN_EPOCHS = 5;      // up to this many epochs the tiles open on W1's change, not W1

function percent(p, digits = 1) {
  return `${(100 * p).toFixed(digits)} %`;
}

// Round axis limits and about five ticks between them.
function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const values = [];
  for (let v = start; v <= end + step / 2; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

// A line chart of per-epoch values: series = [{name, cls, values: [[epoch, y], ...]}].
function lineChart(title, yLabel, series, format) {
  const width = 360, height = 220, left = 52, right = 10, top = 24, bottom = 40;
  const all = series.flatMap((s) => s.values);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "np-run-chart", role: "img",
                             "aria-label": title });
  chart.append(svg("text", { x: left, y: 15, class: "np-run-chart-title" }, title));
  if (all.length === 0) {
    chart.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no epoch finished yet"));
    return chart;
  }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const xMax = Math.max(...xs, 2), xMin = 1;
  const yTicks = ticks(Math.min(...ys), Math.max(...ys));
  const yMin = yTicks[0], yMax = yTicks[yTicks.length - 1];
  const X = (x) => left + ((x - xMin) / (xMax - xMin)) * (width - left - right);
  const Y = (y) => top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom);
  for (const t of yTicks) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: Y(t), y2: Y(t), class: "np-run-grid" }));
    chart.append(svg("text", { x: left - 4, y: Y(t) + 4, "text-anchor": "end" }, format(t)));
  }
  const xStep = Math.max(1, Math.ceil((xMax - xMin) / 8));
  for (let e = xMin; e <= xMax; e += xStep) {
    chart.append(svg("text", { x: X(e), y: height - bottom + 16, "text-anchor": "middle" }, String(e)));
  }
  chart.append(svg("text", { x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle" }, "epoch"));
  chart.append(svg("text", { x: 12, y: (top + height - bottom) / 2, "text-anchor": "middle",
                             transform: `rotate(-90 12 ${(top + height - bottom) / 2})` }, yLabel));
  series.forEach((s, k) => {
    const points = s.values.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, class: `np-run-line ${s.cls}` }));
    for (const [x, y] of s.values) {
      const dot = svg("circle", { cx: X(x), cy: Y(y), r: 2.5, class: `np-run-dot ${s.cls}` });
      dot.append(svg("title", {}, `${s.name}, epoch ${x}: ${format(y)}`));
      chart.append(dot);
    }
    const lx = width - 170 + 85 * k;
    chart.append(svg("line", { x1: lx, x2: lx + 18, y1: 11, y2: 11, class: `np-run-line ${s.cls}` }));
    chart.append(svg("text", { x: lx + 22, y: 15 }, s.name));
  });
  return chart;
}

// The rows of W1 as image tiles, each scaled by its own largest |weight| (as netprop's plot).
function drawTiles(canvas, tiles) {
  const [h, w] = tiles.image_shape;
  const values = new Float32Array(decodeBase64(tiles.data).buffer);
  const columns = Math.min(16, tiles.shown), rows = Math.ceil(tiles.shown / columns), gap = 2;
  canvas.width = columns * (w + gap) - gap;
  canvas.height = rows * (h + gap) - gap;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#595959";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let unit = 0; unit < tiles.shown; unit++) {
    const row = values.subarray(unit * tiles.inputs, (unit + 1) * tiles.inputs);
    let scale = 0;
    for (const v of row) scale = Math.max(scale, Math.abs(v));
    scale = scale || 1;
    const image = ctx.createImageData(w, h);
    for (let i = 0; i < row.length; i++) {
      const [r, g, b] = signedColour(row[i] / scale);
      image.data.set([r, g, b, 255], 4 * i);
    }
    ctx.putImageData(image, (unit % columns) * (w + gap), Math.floor(unit / columns) * (h + gap));
  }
}

function drawGrey(canvas, pixels, [h, w]) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) image.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
  ctx.putImageData(image, 0, 0);
}


// One vector (z or h of a layer) as cells coloured by sign, scaled by its largest |value|: with
// the numbers written in when there are few (and each class's name over the output layer's), as a
// canvas strip when there are many.
function vectorView(values, names = null) {
  const scale = Math.max(...values.map(Math.abs)) || 1;
  if (values.length <= 32 || names) {
    const row = el("div", { class: `np-run-vector${names ? " np-run-named" : ""}` });
    values.forEach((v, i) => {
      const [r, g, b] = signedColour(v / scale);
      const cell = el("span", { title: `${names ? names[i] : `[${i}]`} = ${v}` },
        names ? el("small", { class: "np-run-class", text: names[i] }) : null, v.toFixed(2));
      cell.style.background = `rgb(${r},${g},${b})`;
      cell.style.color = inkOn([r, g, b]);
      row.append(cell);
    });
    return row;
  }
  const perRow = 64, cell = 8;
  const canvas = el("canvas", { class: "np-run-strip" });
  canvas.width = perRow * cell;
  canvas.height = Math.ceil(values.length / perRow) * cell;
  const ctx = canvas.getContext("2d");
  values.forEach((v, i) => {
    const [r, g, b] = signedColour(v / scale);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect((i % perRow) * cell, Math.floor(i / perRow) * cell, cell - 1, cell - 1);
  });
  return canvas;
}

function probabilityBars(yHat, names, label) {
  const rowHeight = 18, width = 360, left = 100, barWidth = 200;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${rowHeight * yHat.length + 4}`, class: "np-run-bars",
                             role: "img", "aria-label": "ŷ: the class probabilities" });
  yHat.forEach((p, k) => {
    const y = 2 + k * rowHeight;
    chart.append(svg("text", { x: left - 6, y: y + 12, "text-anchor": "end",
                               class: k === label ? "np-run-true" : "" }, names[k]));
    chart.append(svg("rect", { x: left, y: y + 2, width: Math.max(0.5, barWidth * p), height: rowHeight - 6,
                               class: "np-run-bar" }));
    chart.append(svg("text", { x: left + barWidth * p + 4, y: y + 12 }, percent(p)));
  });
  return chart;
}

// --- the view: one state object, named functions that fill its panels ---------------------------

function buildRunView(view) {
  const ui = view.ui;
  ui.title = el("h2", { class: "np-run-title", text: "training run" });
  ui.status = el("p", { class: "np-run-status" });
  ui.problem = el("p", { class: "np-run-error", role: "alert", hidden: "" });
  ui.curves = el("div", { class: "np-run-curves" });
  ui.tileButtons = el("div", { class: "np-run-toggle", role: "group", "aria-label": "which matrix" });
  ui.tileCanvas = el("canvas", { class: "np-run-tiles-canvas", hidden: "" });
  ui.tileCaption = el("p", { class: "np-run-caption" });
  ui.confusion = el("div", { class: "np-run-confusion" });
  ui.thumbs = el("div", { class: "np-run-thumbs" });
  ui.pager = el("div", { class: "np-run-pager" });
  ui.testHeading = el("h3", { text: "Test images" });
  ui.forward = el("div", { class: "np-run-forward", "aria-live": "polite" });
  ui.forwardPanel = el("section", { class: "np-run-panel np-run-forward-panel" }, el("h3", { text: "Forward pass" }), ui.forward);
  view.element.replaceChildren(el("section", { class: "np-run" },
    el("header", {}, ui.title, ui.status, ui.problem),
    el("section", { class: "np-run-panel np-run-test" }, ui.testHeading,
      el("p", { class: "np-run-caption", text: "Pick one to see its forward pass through the trained network." }),
      ui.pager, ui.thumbs),
    ui.forwardPanel,
    el("section", { class: "np-run-panel" }, el("h3", { text: "Learning curves" }), ui.curves),
    el("section", { class: "np-run-panel" }, el("h3", {}, "First layer: each hidden unit's row of ", mathName("W1")),
      ui.tileButtons, ui.tileCanvas, ui.tileCaption),
    el("section", { class: "np-run-panel" }, el("h3", { text: "Test confusion matrix" }), ui.confusion)));
  for (const [kind, label] of [["first_layer_change", "W₁ − W₁ at initialisation"], ["first_layer", "W₁"]]) {
    ui.tileButtons.append(el("button", { type: "button", "data-kind": kind,
      "aria-pressed": String(kind === view.tilesKind), text: label, onclick: () => chooseTiles(view, kind) }));
  }
}

function showProblem(view, message) {
  view.ui.problem.textContent = message;
  view.ui.problem.hidden = !message;
}

// JSON from the API, or null after putting the server's one-line message on the page.
async function api(view, path) {
  let response;
  try {
    response = await fetch(`${view.base}/api/run/${path}`);
  } catch (exc) {
    showProblem(view, `the server did not answer (${exc.message})`);
    return null;
  }
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) {
    showProblem(view, body.error || `HTTP ${response.status}`);
    return null;
  }
  return body;
}

function renderHeader(view) {
  const s = view.summary;
  view.ui.title.textContent = `Training run “${s.name}”`;
  const parts = [];
  if (s.layer_sizes) parts.push(`network ${s.layer_sizes.join("-")} (${s.activation})`);
  if (s.data) parts.push(`data ${s.data.name}${s.data.subset ? `, subset of ${s.data.subset}` : ""}`);
  if (s.status === "training") {
    const age = (Date.now() - view.checkpointAt) / 1000;
    parts.push(`training: epoch ${s.epochs_done} of ${s.epochs_planned} done, last checkpoint at ` +
               new Date(view.checkpointAt).toLocaleTimeString() +
               (age > 600 ? " (stopped? netprop train --resume continues it)" : ""));
  } else if (s.status === "waiting") {
    parts.push("waiting for the first epoch's checkpoint");
  } else {
    parts.push(`finished: ${s.epochs_done} epochs, best epoch ${s.best_epoch}`);
  }
  const m = s.metrics;
  if (m && m.validation_accuracy != null) parts.push(`validation accuracy ${percent(m.validation_accuracy, 2)}`);
  if (m && m.test_accuracy != null) parts.push(`test accuracy ${percent(m.test_accuracy, 2)}`);
  view.ui.status.textContent = parts.join(" · ");
  view.ui.status.dataset.status = s.status;
}

function renderCurves(view) {
  const h = view.summary.history;
  const series = (key, scale = 1) => h.map((r) => [r.epoch, scale * r[key]]);
  view.ui.curves.replaceChildren(
    lineChart("loss", "mean cross-entropy", [
      { name: "training", cls: "np-train", values: series("train_loss") },
      { name: "validation", cls: "np-val", values: series("val_loss") }], (v) => v.toFixed(3)),
    lineChart("accuracy", "accuracy (%)", [
      { name: "training", cls: "np-train", values: series("train_accuracy", 100) },
      { name: "validation", cls: "np-val", values: series("val_accuracy", 100) }], (v) => v.toFixed(1)));
}

function chooseTiles(view, kind) {
  view.tilesKind = kind;
  view.tilesChosen = true;
  for (const b of view.ui.tileButtons.children) b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
  renderTiles(view);
}

async function renderTiles(view) {
  if (view.tilesPending) return;
  const ui = view.ui, s = view.summary;
  const drawable = s.status !== "waiting" && s.image_shape;
  ui.tileCanvas.hidden = ui.tileButtons.hidden = !drawable;
  if (!drawable) {
    ui.tileCaption.textContent = s.image_shape ? "No weights yet: the first epoch has not finished."
      : "The inputs are not 28×28 images, so W1's rows are not drawn as tiles.";
    return;
  }
  view.tilesPending = true;
  const tiles = await api(view, `${view.tilesKind}?limit=${MAX_TILES}`);
  view.tilesPending = false;
  if (!tiles) return;
  drawTiles(ui.tileCanvas, tiles);
  const shown = tiles.shown < tiles.units ? `the first ${tiles.shown} of ${tiles.units}` : `all ${tiles.units}`;
  ui.tileCaption.textContent = `${tiles.what}, ${shown} hidden units, from the ${tiles.source}` +
    (tiles.epoch ? `, epoch ${tiles.epoch}` : "") + ". Red positive, blue negative; each tile scaled by its largest |weight|.";
}

function confusionTable(c) {
  const table = el("table", { class: "np-run-matrix" });
  const head = el("tr", {}, el("th", { text: "true \\ predicted" }));
  c.class_names.forEach((name) => head.append(el("th", { scope: "col", text: name })));
  table.append(head);
  c.matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const tr = el("tr", {}, el("th", { scope: "row", text: c.class_names[i] }));
    row.forEach((count, j) => {
      const rate = count / total;
      const td = el("td", { text: String(count), title: `${c.class_names[i]} predicted as ${c.class_names[j]}: ${count}` });
      const shade = [33, 102, 172].map((c) => Math.round(255 + (c - 255) * rate));   // over white
      td.style.background = `rgb(${shade.join(",")})`;
      td.style.color = inkOn(shade);
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

async function renderConfusion(view) {
  const s = view.summary, confusion = view.ui.confusion;
  if (s.status !== "finished") {
    confusion.replaceChildren(el("p", { class: "np-run-caption",
      text: "The test set is read once, after training: the matrix appears when the run finishes." }));
    return;
  }
  if (!s.data || !s.data.test_data) {
    confusion.replaceChildren(el("p", { class: "np-run-caption", text: "This run has no test set." }));
    return;
  }
  const c = await api(view, "confusion");
  if (!c) return;
  confusion.replaceChildren(confusionTable(c), el("p", { class: "np-run-caption",
    text: `${c.correct} of ${c.total} test examples right: ${percent(c.accuracy, 2)}. Rows: true class; colour: the row's share.` }));
}

function thumbButton(view, page, pixels, k) {
  const index = page.offset + k;
  const names = view.summary.class_names || [];
  const label = names[page.labels[k]] ?? String(page.labels[k]);
  const button = el("button", { type: "button", class: "np-run-thumb", "data-index": String(index),
    "aria-label": `test image ${index}: ${label}`, title: `#${index}: ${label}`, onclick: () => showForward(view, index) });
  if (pixels) {
    const canvas = el("canvas");
    const size = page.image_shape[0] * page.image_shape[1];
    drawGrey(canvas, pixels.subarray(k * size, (k + 1) * size), page.image_shape);
    button.append(canvas);
  } else {
    button.textContent = `#${index}: ${label}`;
    button.classList.add("np-run-thumb-text");
  }
  if (page.predicted && page.predicted[k] !== page.labels[k]) button.classList.add("np-run-wrong");
  if (index === view.selected) button.setAttribute("aria-current", "true");
  return button;
}

async function renderThumbs(view) {
  const s = view.summary, ui = view.ui;
  if (!s.data || !s.data.test_data) {
    ui.thumbs.replaceChildren(el("p", { class: "np-run-caption",
      text: s.status === "waiting" ? "Waiting for the run's first epoch." : "This run has no test set." }));
    return;
  }
  const page = await api(view, `test_images?offset=${view.offset}&limit=${THUMBS_PER_PAGE}`);
  if (!page) return;
  const pixels = page.pixels ? decodeBase64(page.pixels) : null;
  ui.testHeading.textContent = pixels ? "Test images" : "Test examples";
  ui.thumbs.replaceChildren(...Array.from({ length: page.count }, (_, k) => thumbButton(view, page, pixels, k)));
  const previous = el("button", { type: "button", text: "◀ previous",
    onclick: () => { view.offset = Math.max(0, view.offset - THUMBS_PER_PAGE); renderThumbs(view); } });
  const next = el("button", { type: "button", text: "next ▶",
    onclick: () => { view.offset += THUMBS_PER_PAGE; renderThumbs(view); } });
  previous.disabled = page.offset === 0;
  next.disabled = page.offset + page.count >= page.total;
  ui.pager.replaceChildren(previous, el("span", { text: ` ${pixels ? "images" : "examples"} ${page.offset + 1}–${page.offset + page.count} of ${page.total}` +
    (page.predicted ? " (red frame: the network gets it wrong)" : "") + " " }), next);
}

// The layers of one forward pass: z and h of each layer, ŷ as bars, the top three classes.
function forwardFigures(f) {
  const parts = [el("p", { class: "np-run-forward-title", text: `Test image ${f.index}, true class: ${f.label_name}` })];
  if (f.pixels) {
    const canvas = el("canvas", { class: "np-run-input" });
    drawGrey(canvas, f.pixels, f.image_shape);
    parts.push(el("figure", {}, el("figcaption", {
      text: `The image's ${f.x.length} pixels; x is them standardised with the training split's mean and std.` }),
    canvas));
  }
  const layers = el("div", { class: "np-run-layers" });
  const L = f.z.length;
  f.z.forEach((z, l) => {
    const n = l + 1;
    const input = l === 0 ? "x" : `h${l}`;
    const output = l === L - 1;                 // the output layer's z: one value per class, named
    layers.append(el("figure", {}, el("figcaption", {
      text: mathName(`z${n} = W${n} ${input} + b${n}   (${z.length} values; red +, blue −)`) }),
    vectorView(z, output ? f.class_names : null)));
    if (!output) {
      layers.append(el("figure", {}, el("figcaption", { text: mathName(`h${n} = ${f.activation}(z${n})`) }),
        vectorView(f.h[l])));
    }
  });
  parts.push(layers);
  parts.push(el("figure", {}, el("figcaption", { text: `ŷ = softmax(${mathName(`z${L}`)}): the class probabilities` }),
    probabilityBars(f.y_hat, f.class_names, f.label)));
  const top3 = el("ol", { class: "np-run-top3" }, f.top3.map((t) => el("li", { "data-class": String(t.class) },
    el("span", { class: "np-run-name", text: t.name }), " ",
    el("span", { class: "np-run-prob", text: percent(t.probability, 2) }))));
  parts.push(el("div", {}, el("h4", { text: "Top 3 classes" }), top3));
  return parts;
}

async function showForward(view, index) {
  const ui = view.ui;
  view.selected = index;
  for (const b of ui.thumbs.querySelectorAll("[aria-current]")) b.removeAttribute("aria-current");
  const chosen = ui.thumbs.querySelector(`[data-index="${index}"]`);
  if (chosen) chosen.setAttribute("aria-current", "true");
  if (view.summary.status !== "finished") {
    ui.forward.replaceChildren(el("p", { class: "np-run-caption",
      text: "The forward pass uses the trained model, written when the run finishes." }));
    return;
  }
  ui.forward.replaceChildren(el("p", { class: "np-run-caption", text: `computing test image ${index}…` }));
  const f = await api(view, `forward?index=${index}`);
  if (!f || view.selected !== index) return;
  showProblem(view, "");
  ui.forward.replaceChildren(...forwardFigures(f));
  ui.forwardPanel.scrollIntoView({ block: "nearest" });       // the pass just asked for, in view
}

async function load(view) {
  const summary = await api(view, "summary");
  if (!summary) return false;
  view.summary = summary;
  // after a short run W1 is still mostly its random start: what training changed is the telling view
  if (!view.tilesChosen && summary.status !== "waiting") {
    view.tilesChosen = true;
    const kind = summary.epochs_done <= SHORT_RUN_EPOCHS ? "first_layer_change" : "first_layer";
    view.tilesKind = kind;
    for (const b of view.ui.tileButtons.children) b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
  }
  view.checkpointAt = Date.now() - 1000 * (summary.checkpoint_age_seconds || 0);
  renderHeader(view);
  renderCurves(view);
  await Promise.all([renderTiles(view), renderConfusion(view), renderThumbs(view)]);
  if (view.selected != null) await showForward(view, view.selected);
  return true;
}

function onEpoch(view, message) {
  if (view.summary.status === "waiting") {         // the first checkpoint: now there is a network
    reload(view);
    return;
  }
  const record = JSON.parse(message.data);
  const h = view.summary.history;
  if (h.length && h[h.length - 1].epoch >= record.epoch) return;
  h.push(record);
  view.summary.epochs_done = h.length;
  view.checkpointAt = Date.now();
  renderHeader(view);
  renderCurves(view);
  renderTiles(view);
}

async function reload(view) {
  if (view.events) view.events.close();
  view.events = null;
  if (await load(view)) follow(view);
}

// Live updates while the run trains: the server's event stream, one event per finished epoch.
function follow(view) {
  if (view.closed || view.summary.status === "finished") return;
  const events = new EventSource(`${view.base}/api/run/events?after=${view.summary.epochs_done}`);
  view.events = events;
  events.addEventListener("epoch", (message) => onEpoch(view, message));
  events.addEventListener("problem", (message) => showProblem(view, JSON.parse(message.data).error));
  events.addEventListener("finished", () => reload(view));
  events.addEventListener("restart", () => reload(view));
}

export async function mountRunView(element, apiBase = "") {
  if (!document.querySelector("link[data-np-run-css]")) {
    document.head.append(el("link", { rel: "stylesheet", href: new URL("./run.css", import.meta.url).href,
      "data-np-run-css": "" }));
  }
  const view = { element, base: apiBase.replace(/\/+$/, ""), ui: {}, summary: null, checkpointAt: null,
    tilesKind: "first_layer", offset: 0, selected: null, tilesPending: false, closed: false, events: null };
  buildRunView(view);
  if (await load(view)) follow(view);
  return {
    close() {
      view.closed = true;
      if (view.events) view.events.close();
    },
    showForward: (index) => showForward(view, index),
  };
}
