// The one DOM helper module of the front-end: building elements, printing numbers and names, the
// sign colours. The lecture view (lecture.js) and the run view (run.js) both draw with these; the
// notebook widget's bundle puts this file first (widget.py's bundle()).

export const SVG_NS = "http://www.w3.org/2000/svg";

// An HTML element: attrs "class", "text" and on<event> are special; null, undefined and false skip an
// attribute, true sets it empty; children are flattened and null ones skipped.
export function el(tag, attrs = {}, ...children) {
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

// An SVG element with its attributes, and text if given.
export function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Four significant digits (or digits), as printed, with a real minus sign; −0 (from products with zeros) prints as 0.
export function fmt(v, digits = 4) {
  if (typeof v !== "number") return String(v);
  const s = String(Number(v.toPrecision(digits)));
  return s === "-0" || s === "0" ? "0" : s.replace("-", "−");
}

const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";

// A name as the slides write it: the layer's number as a subscript (W1 → W₁, z2 → z₂, g3 → g₃).
export function mathName(text) {
  return String(text).replace(/([A-Za-zŷδ])(\d+)/g, (_, letter, digits) =>
    letter + [...digits].map((d) => SUBSCRIPT[d]).join(""));
}

// One colour convention everywhere (the lecture's diagram, the run view, derive's SVG and PNG plots):
// red for positive, blue for negative, white for zero; v in [−1, 1].
export function signedColour(v) {
  const t = Math.max(-1, Math.min(1, v));
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

// Black or white, whichever reads better on the colour [r, g, b] (WCAG's relative luminance).
export function inkOn([r, g, b]) {
  const lin = (c) => { const v = c / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff";
}

export function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

// Set an attribute or a text only when it differs: each write restyles its element.
export function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// Maths typeset by KaTeX (vendored, static/vendored/katex/: the page loads it as a script, the widget's
// bundle carries it): tex as derive's LaTeX writes it, text (the Unicode form) as the fallback and as
// data-equation, so that tests and screen readers without MathML still read it.
export function typeset(node, tex, text) {
  node.dataset.equation = text;
  const katex = globalThis.katex;
  if (!katex || !tex) { node.textContent = text; return; }
  try {
    katex.render(tex, node, { displayMode: true, throwOnError: true, output: "htmlAndMathml" });
  } catch (e) {
    node.textContent = text;               // a label KaTeX cannot parse still reads as the slides write it
  }
}
