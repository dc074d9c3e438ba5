// The lambkin dashboard: renders the model of `GET /_lambkin` (JSON), follows invocations
// live (`/_lambkin/live`, Server-Sent Events) and shows one invocation's detail. No framework,
// no build step: the emulator serves this file as it is.
"use strict";

const token = document.querySelector('meta[name="lambkin-token"]').content;
/** Invocation summaries by id (the recorder's numbers). */
const invocations = new Map();
/** The most rows the list keeps (the emulator's ring may hold more). */
const MAX_ROWS = 1000;
let model = null;
let selected = null;

// Sections drawn from the model besides functions and charts: `key` is the model's field,
// `render(value, element)` fills the section. Event sources and workflows go here.
const SECTIONS = [];

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (text is always set as text, never as HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const badge = (text, kind) => el("span", { class: "badge " + (kind || text) }, text);
const ms = (value) => (value === null || value === undefined ? "" : value.toFixed(2) + " ms");

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

// ---- the model: build state, functions, charts --------------------------------------------

async function refreshModel() {
  try {
    model = await getJson("/_lambkin");
  } catch (error) {
    $("connection").textContent = "disconnected";
    return;
  }
  renderBuild();
  renderFunctions();
  renderCharts();
  renderSections();
}

let modelTimer = null;
/** Refreshes the model soon, once for a burst of invocations. */
function refreshSoon() {
  if (modelTimer === null) {
    modelTimer = setTimeout(() => {
      modelTimer = null;
      refreshModel();
    }, 250);
  }
}

function renderBuild() {
  const build = $("build");
  build.textContent = "build: " + model.build;
  build.className = "badge " + model.build;
  const failure = $("build-failure");
  failure.hidden = model.build !== "failed";
  $("failed-functions").textContent = model.failedFunctions.join(", ");
  $("diagnostics").textContent = model.diagnostics || "";
}

function renderFunctions() {
  const rows = model.details.map((f) => {
    const instances = el("td", {});
    for (const instance of f.instances) {
      instances.append(badge(instance.state + (instance.pid ? " " + instance.pid : "")), " ");
    }
    if (f.instances.length === 0) instances.append("none");
    const reserved = f.reservedConcurrency === null ? "unreserved" : f.reservedConcurrency;
    return el("tr", { "data-function": f.key },
      el("td", {}, f.name),
      el("td", {}, f.version),
      el("td", {}, f.memoryMb + " MB"),
      el("td", {}, f.timeoutMs / 1000 + " s"),
      el("td", {}, f.routes.join(", ")),
      instances,
      el("td", {}, f.usedConcurrency + " / " + reserved),
      el("td", {}, f.buildFailed ? badge("failed") : badge("ready")));
  });
  $("function-rows").replaceChildren(...rows);
  const select = $("filter-function");
  const chosen = select.value;
  const names = [...new Set(model.details.map((f) => f.name))];
  select.replaceChildren(el("option", { value: "" }, "all"), ...names.map((n) => el("option", { value: n }, n)));
  select.value = chosen;
}

function renderSections() {
  const host = $("sections");
  for (const section of SECTIONS) {
    if (!(section.key in model)) continue;
    let element = document.getElementById("section-" + section.key);
    if (!element) {
      element = el("section", { id: "section-" + section.key });
      host.append(element);
    }
    section.render(model[section.key], element);
  }
}

// ---- charts (canvas) ----------------------------------------------------------------------

const COLORS = ["#3b6fd4", "#c62828", "#1a7f37", "#b26a00", "#7b3fb5", "#00838f"];

/** Clears `canvas` and draws axes for values up to `max`; returns the drawing frame. */
function frame(canvas, max, unit) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const box = { left: 44, top: 10, right: canvas.width - 8, bottom: canvas.height - 22 };
  ctx.strokeStyle = "#d8dde2";
  ctx.fillStyle = "#5c6670";
  ctx.font = "11px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = box.bottom - ((box.bottom - box.top) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(box.left, y);
    ctx.lineTo(box.right, y);
    ctx.stroke();
    const label = (max * i) / 4;
    ctx.fillText(label >= 10 ? label.toFixed(0) : label.toFixed(1), 4, y + 4);
  }
  ctx.fillText(unit, box.left, canvas.height - 6);
  return { ctx, box, y: (v) => box.bottom - ((box.bottom - box.top) * v) / (max || 1) };
}

function renderCharts() {
  const charts = model.charts;
  // Invocations and errors per second: two lines.
  const seconds = charts.perSecond;
  const rateMax = Math.max(1, ...seconds.map((s) => s.invocations));
  const rate = frame($("chart-rate"), rateMax, "per second");
  const step = (rate.box.right - rate.box.left) / Math.max(1, seconds.length - 1);
  [["invocations", COLORS[0]], ["errors", COLORS[1]]].forEach(([field, color]) => {
    rate.ctx.strokeStyle = color;
    rate.ctx.beginPath();
    seconds.forEach((s, i) => {
      const x = rate.box.left + i * step;
      if (i === 0) rate.ctx.moveTo(x, rate.y(s[field]));
      else rate.ctx.lineTo(x, rate.y(s[field]));
    });
    rate.ctx.stroke();
  });

  // Duration percentiles: three bars per function.
  const functions = Object.entries(charts.durationMs).filter(([, d]) => d.count > 0);
  const durationMax = Math.max(1, ...functions.map(([, d]) => d.p99));
  const durations = frame($("chart-durations"), durationMax, "ms");
  bars(durations, functions.map(([name, d]) => [name, [d.p50, d.p90, d.p99]]));

  // Memory per instance: used of the memory size.
  const instances = charts.instances;
  const memoryMax = Math.max(1, ...instances.map((i) => i.memorySizeMb));
  const memory = frame($("chart-memory"), memoryMax, "MB");
  bars(memory, instances.map((i) => [i.function + " " + i.instance, [i.maxMemoryUsedMb]]));
}

/** Draws groups of bars (`[label, [values…]]`) in a frame. */
function bars(chart, groups) {
  const { ctx, box, y } = chart;
  const width = (box.right - box.left) / Math.max(1, groups.length);
  groups.forEach(([label, values], g) => {
    const barWidth = Math.max(2, (width - 8) / values.length);
    values.forEach((value, v) => {
      ctx.fillStyle = COLORS[v % COLORS.length];
      const x = box.left + g * width + 4 + v * barWidth;
      ctx.fillRect(x, y(value), barWidth - 1, box.bottom - y(value));
    });
    ctx.fillStyle = "#5c6670";
    ctx.fillText(label.slice(0, 24), box.left + g * width + 4, box.bottom + 12);
  });
}

// ---- the invocation list ------------------------------------------------------------------

function add(summary) {
  invocations.set(summary.id, summary);
  while (invocations.size > MAX_ROWS) {
    invocations.delete(invocations.keys().next().value);
  }
}

async function loadInvocations() {
  const { invocations: recent } = await getJson("/_lambkin/invocations");
  recent.forEach(add);
  renderList();
}

function matches(summary) {
  const fn = $("filter-function").value;
  const status = $("filter-status").value;
  const text = $("filter-text").value.trim().toLowerCase();
  if (fn && summary.function !== fn) return false;
  if (status && summary.status !== status) return false;
  if (text) {
    const haystack = [summary.requestId, summary.function, summary.trigger, summary.status,
      summary.errorType || ""].join(" ").toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

function renderList() {
  const rows = [...invocations.values()]
    .sort((a, b) => b.id - a.id)
    .filter(matches)
    .map((s) => {
      const row = el("tr", { "data-id": s.id, "data-request-id": s.requestId, class: s.id === selected ? "selected" : null },
        el("td", {}, new Date(s.time).toLocaleTimeString()),
        el("td", {}, s.function),
        el("td", {}, s.trigger),
        el("td", {}, badge(s.status), s.errorType ? " " + s.errorType : ""),
        el("td", {}, s.coldStart ? "cold, init " + ms(s.initDurationMs) : ""),
        el("td", {}, ms(s.durationMs)),
        el("td", {}, s.billedDurationMs === null ? "" : s.billedDurationMs + " ms"),
        el("td", {}, s.maxMemoryUsedMb === null ? "" : s.maxMemoryUsedMb + " / " + s.memorySizeMb + " MB"));
      row.addEventListener("click", () => show(s.id));
      return row;
    });
  $("invocation-rows").replaceChildren(...rows);
}

// ---- one invocation -----------------------------------------------------------------------

/** A recorded body as text: pretty JSON when it is whole JSON, with the recorder's note. */
function bodyText(body) {
  if (!body) return "";
  let text = body.body;
  if (!body.note) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch (error) {
      // Not JSON: shown as it is.
    }
  }
  return body.note ? text + "\n… (" + body.note + ")" : text;
}

async function show(id) {
  selected = id;
  renderList();
  const detail = await getJson("/_lambkin/invocations/" + id);
  $("detail").hidden = false;
  $("detail-request-id").textContent = detail.requestId;
  $("detail-summary").replaceChildren(
    badge(detail.status), " ", detail.function + ":" + detail.version, " · ", detail.trigger,
    detail.instance ? " · instance " + detail.instance : "",
    detail.coldStart ? " · cold start (init " + ms(detail.initDurationMs) + ")" : "");
  $("detail-event").textContent = bodyText(detail.event);
  $("detail-response").textContent = bodyText(detail.response);
  const lines = detail.log.split("\n");
  $("detail-log").textContent = detail.log;
  $("detail-report").textContent = lines.filter((l) => l.startsWith("REPORT")).join("\n");
  const errorBox = $("detail-error-box");
  errorBox.hidden = detail.status !== "error";
  if (detail.status === "error") {
    let error = detail.response ? detail.response.body : "";
    try {
      const parsed = JSON.parse(error);
      const trace = Array.isArray(parsed.stackTrace) ? "\n" + parsed.stackTrace.join("\n") : "";
      error = (parsed.errorType || "") + ": " + (parsed.errorMessage || "") + trace;
    } catch (e) {
      // Shown as it is.
    }
    $("detail-error").textContent = error;
  }
  const replay = $("replay");
  replay.disabled = !detail.replayable;
  replay.title = detail.replayable ? "" : "The event was truncated: it cannot be replayed";
  replay.dataset.id = id;
  $("replay-result").textContent = "";
}

async function replay() {
  const id = $("replay").dataset.id;
  const result = $("replay-result");
  result.textContent = "replaying…";
  const response = await fetch("/_lambkin/invocations/" + id + "/replay", {
    method: "POST",
    headers: { "x-lambkin-token": token },
  });
  const answer = await response.json();
  if (!response.ok) {
    result.textContent = "not replayed: " + (answer.message || answer.Message || response.status);
    return;
  }
  add(answer);
  // The new invocation's detail replaces this one's (clearing the result), then says where it
  // came from.
  await show(answer.id);
  $("replay-result").textContent = "replayed as " + answer.requestId + ": " + answer.status;
}

// ---- live feed ----------------------------------------------------------------------------

function follow() {
  const live = new EventSource("/_lambkin/live");
  live.addEventListener("open", () => {
    $("connection").textContent = "live";
    $("connection").className = "badge ready";
    // Subscribed first, then the list: nothing that ends in between is missed.
    loadInvocations();
  });
  live.addEventListener("invocation", (event) => {
    add(JSON.parse(event.data));
    renderList();
    refreshSoon();
  });
  live.addEventListener("lagged", () => loadInvocations());
  live.addEventListener("error", () => {
    $("connection").textContent = "reconnecting";
    $("connection").className = "badge building";
  });
}

$("filter-function").addEventListener("change", renderList);
$("filter-status").addEventListener("change", renderList);
$("filter-text").addEventListener("input", renderList);
$("replay").addEventListener("click", replay);
refreshModel();
setInterval(refreshModel, 2000);
follow();
