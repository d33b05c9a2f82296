// InProcServe's dashboard: polls api/snapshot and redraws. Everything that comes from the server (model names from
// configuration, error messages) goes into the page as text (textContent, SVG text nodes), never as HTML.
"use strict";

// Series colors are classes (s0, s1, s2 in dashboard.css): the Content-Security-Policy allows no inline style.
const SERIES = 3;
const SVG = "http://www.w3.org/2000/svg";
const previous = new Map(); // model name -> { time, ok } for throughput between two snapshots
let refresh = 2000;

function el(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function number(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (Math.abs(value) >= 1000 || Number.isInteger(value)) return Math.round(value).toLocaleString("en");
  return value.toPrecision(digits);
}

// Grouped bars: one group per bin, one bar per series; labels under each group.
function bars(labels, series, names) {
  const width = Math.max(320, labels.length * Math.max(40, 12 * series.length + 10) + 40), height = 120, left = 36, bottom = 22;
  const max = Math.max(1, ...series.flat());
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const group = (width - left) / labels.length;
  const bar = Math.max(2, (group - 6) / series.length);
  root.appendChild(svg("text", { x: 0, y: 10 }, number(max)));
  root.appendChild(svg("line", { x1: left - 2, y1: height - bottom, x2: width, y2: height - bottom, stroke: "#d9dde6" }));
  labels.forEach((label, i) => {
    series.forEach((values, s) => {
      const h = (values[i] / max) * (height - bottom - 14);
      const rect = svg("rect", { x: left + i * group + s * bar, y: height - bottom - h, width: bar - 1, height: h, class: `s${s % SERIES}` });
      rect.appendChild(svg("title", {}, `${names ? names[s] + ": " : ""}${label}: ${values[i]}`));
      root.appendChild(rect);
    });
    root.appendChild(svg("text", { x: left + i * group, y: height - 6 }, label));
  });
  const chart = el("div", { class: "chart" });
  if (names && names.length > 1) {
    const legend = el("div", { class: "legend" });
    names.forEach((name, s) => {
      const item = el("span");
      item.appendChild(el("span", { class: `swatch s${s % SERIES}` }));
      item.appendChild(document.createTextNode(name));
      legend.appendChild(item);
    });
    chart.appendChild(legend);
  }
  chart.appendChild(root);
  return chart;
}

function monitoring(model) {
  const box = el("div");
  if (!model.monitoring) return box;
  box.appendChild(el("h3", {}, `Predictions (sampling ${number(model.monitoring.sampleRate * 100)}% of rows)`));
  const versions = model.monitoring.versions;
  const names = versions.map(v => `v${v.version} ${v.role} (${number(v.sampledRows)} rows)`);
  const outputs = versions.length ? versions[0].outputs.map(o => o.name) : [];
  outputs.forEach((name, o) => {
    const first = versions[0].outputs[o];
    const labels = first.binEdges.slice(0, -1).map(e => number(e, 2));
    box.appendChild(el("div", { class: "muted" }, `output ${name}: values per bin, latest window per version`));
    box.appendChild(bars(labels, versions.map(v => v.outputs[o].binCounts), names));
    const table = el("table", { class: "outputs" });
    const head = el("tr");
    ["version", "values", "mean", ...first.quantileLevels.map(l => `p${Math.round(l * 100)}`), "PSI vs primary", "PSI vs baseline"].forEach(h => head.appendChild(el("th", {}, h)));
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    versions.forEach(v => {
      const out = v.outputs[o];
      const row = el("tr");
      [`v${v.version} ${v.role}`, number(out.count), number(out.mean), ...out.quantiles.map(q => number(q)), number(out.primaryStability), number(out.baselineStability)]
        .forEach(c => row.appendChild(el("td", {}, c)));
      body.appendChild(row);
    });
    box.appendChild(table);
  });
  versions.forEach(v => {
    if (!v.inputs.length) return;
    const details = el("details");
    details.appendChild(el("summary", {}, `v${v.version} inputs: ${v.inputs.length} columns`));
    const table = el("table");
    const head = el("tr");
    ["input", "column", "values", "mean", "std", "NaN"].forEach(h => head.appendChild(el("th", {}, h)));
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    v.inputs.forEach(c => {
      const row = el("tr");
      [c.tensor, c.column, number(c.count), number(c.mean), number(c.standardDeviation), number(c.naNCount)].forEach(x => row.appendChild(el("td", {}, x)));
      body.appendChild(row);
    });
    details.appendChild(table);
    box.appendChild(details);
  });
  return box;
}

function card(model, now) {
  const node = document.getElementById("model-template").content.firstElementChild.cloneNode(true);
  node.dataset.model = model.name;
  const set = (field, text) => { node.querySelector(`[data-field="${field}"]`).textContent = text; };
  set("name", model.name);
  set("health", model.health);
  node.querySelector('[data-field="health"]').classList.add(model.health);
  set("state", model.state);
  set("cause", model.healthCause || "");
  set("versions", model.versions.length ? model.versions.map(v => (v === model.version ? `${v} (primary)` : v)).join(", ") : "–");
  set("lane", model.lane ? `${model.lane} (${model.laneWorkers} worker${model.laneWorkers === 1 ? "" : "s"})` : "–");
  set("queue", `${model.queueLength} / ${model.queueCapacity} (batches of up to ${model.maxBatchSize})`);
  set("requests", number(model.requests));
  const ok = model.outcomes.ok || 0;
  const last = previous.get(model.name);
  const seconds = last ? (now - last.time) / 1000 : 0;
  set("throughput", last && seconds > 0 ? `${number(Math.max(0, ok - last.ok) / seconds)} /s` : "–");
  previous.set(model.name, { time: now, ok });
  set("latency", model.latencyMilliseconds.length ? model.latencyMilliseconds.map(v => `${number(v)} ms`).join(" / ") : "–");
  set("outcomes", Object.keys(model.outcomes).length ? Object.entries(model.outcomes).map(([k, v]) => `${k} ${number(v)}`).join(", ") : "–");
  const answered = Object.values(model.answeredByVersion).reduce((a, b) => a + b, 0);
  const share = v => (answered ? `${number(((model.answeredByVersion[String(v)] || 0) / answered) * 100)}% answered` : "");
  set("canary", model.canaryVersion === null ? "none" : `v${model.canaryVersion} at ${number(model.canaryPercent)}% ${share(model.canaryVersion)}`);
  const copies = Object.entries(model.shadowOutcomes).map(([k, v]) => `${k} ${number(v)}`).join(", ");
  set("shadow", model.shadowVersion === null && !copies ? "none"
    : `${model.shadowVersion === null ? "stopped" : `v${model.shadowVersion} at ${number(model.shadowPercent)}%`}; copies ${copies || "0"}; agreement ${model.shadowAgreement === null ? "–" : number(model.shadowAgreement * 100) + "%"}`);
  const labels = model.batchSizeBounds.map(b => `≤${b}`).concat([`>${model.batchSizeBounds[model.batchSizeBounds.length - 1]}`]);
  node.querySelector('[data-field="batches"]').replaceWith(bars(labels, [model.batchSizeCounts]));
  node.querySelector('[data-field="monitoring"]').replaceWith(monitoring(model));
  const history = node.querySelector('[data-field="history"]');
  model.history.forEach(e => {
    const row = el("tr");
    [new Date(e.time).toLocaleTimeString("en-GB"), e.kind, e.version ?? "–", e.detail].forEach(x => row.appendChild(el("td", {}, x)));
    history.appendChild(row);
  });
  return node;
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("api/snapshot", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const snapshot = await response.json();
    refresh = snapshot.refreshMilliseconds;
    const now = Date.parse(snapshot.time);
    const models = document.getElementById("models");
    // Keep the open/closed state of the input tables across redraws.
    const open = new Set([...models.querySelectorAll("details[open]")].map(d => d.closest(".model").dataset.model + "|" + d.querySelector("summary").textContent));
    models.replaceChildren(...snapshot.models.map(m => card(m, now)));
    models.querySelectorAll("details").forEach(d => { if (open.has(d.closest(".model").dataset.model + "|" + d.querySelector("summary").textContent)) d.open = true; });
    status.textContent = `${snapshot.models.length} model(s), updated ${new Date(now).toLocaleTimeString("en-GB")}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (error) {
    status.textContent = `can't reach the server: ${error.message}`;
  }
  setTimeout(poll, refresh);
}

poll();
