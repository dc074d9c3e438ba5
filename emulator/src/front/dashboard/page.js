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
// `render(value, element)` fills the section (defined below).
const SECTIONS = [
  { key: "sources", render: (sources, element) => renderSources(sources, element) },
  { key: "executions", render: (executions, element) => renderExecutions(executions, element) },
];

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

// ---- event sources ------------------------------------------------------------------------

/** A table section: its title, header cells and a body (made once, then refilled). */
function tableSection(element, title, headers) {
  if (!element.querySelector("tbody")) {
    element.append(el("h2", {}, title),
      el("table", {}, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))), el("tbody", {})));
  }
  return element.querySelector("tbody");
}

function renderSources(sources, element) {
  const rows = tableSection(element, "Event sources",
    ["Kind", "Name", "Function", "State", "Next fire", "Fired", "In flight", "Last error"]);
  const cell = (value) => el("td", {}, value === undefined || value === null ? "" : value);
  rows.replaceChildren(...sources.map((s) => el("tr", { "data-source": s.name, "data-kind": s.kind },
    cell(s.kind), cell(s.name), cell(s.function), el("td", {}, badge(s.state)),
    cell(s.nextFire ? new Date(s.nextFire).toLocaleString() : ""), cell(s.fired), cell(s.inFlight),
    el("td", { class: s.lastError ? "note" : null }, s.lastError || ""))));
  if (sources.length === 0) rows.append(el("tr", {}, el("td", { colspan: 8 }, "none")));
}

// ---- Step Functions executions --------------------------------------------------------------

/** The execution whose graph is shown: its ARN and the status it was drawn at. */
let execution = null;

/** AWS's epoch seconds as a local time. */
const epochTime = (seconds) => (seconds === undefined ? "" : new Date(seconds * 1000).toLocaleTimeString());

function renderExecutions(executions, element) {
  const rows = tableSection(element, "Step Functions executions",
    ["Name", "State machine", "Status", "Started", "Stopped", "Events"]);
  if (!element.querySelector("#execution")) {
    element.append(el("div", { id: "execution", hidden: "" },
      el("h3", {}, "Execution ", el("span", { id: "execution-name" })),
      el("p", { id: "execution-summary" }),
      el("div", { id: "execution-graph" }),
      el("div", { class: "io" },
        el("div", {}, el("h3", {}, "Input"), el("pre", { id: "execution-input" })),
        el("div", {}, el("h3", {}, "Output"), el("pre", { id: "execution-output" })))));
  }
  rows.replaceChildren(...executions.map((x) => {
    const row = el("tr", { "data-execution": x.executionArn, class: execution && execution.arn === x.executionArn ? "selected" : null },
      el("td", {}, x.name), el("td", {}, x.stateMachineArn.split(":").pop()),
      el("td", {}, badge(x.status, x.status.toLowerCase())), el("td", {}, epochTime(x.startDate)),
      el("td", {}, epochTime(x.stopDate)), el("td", {}, x.events));
    row.addEventListener("click", () => showExecution(x.executionArn));
    return row;
  }));
  if (executions.length === 0) rows.append(el("tr", {}, el("td", { colspan: 6 }, "none")));
  // The open execution moved on (or ended) since it was drawn: draw it again.
  const open = execution && executions.find((x) => x.executionArn === execution.arn);
  if (open && (open.status !== execution.status || open.events !== execution.events)) {
    showExecution(open.executionArn);
  }
}

async function showExecution(arn) {
  const detail = await getJson("/_lambkin/executions/" + encodeURIComponent(arn));
  execution = { arn, status: detail.status, events: detail.events };
  document.querySelectorAll("[data-execution]").forEach((row) => {
    row.classList.toggle("selected", row.dataset.execution === arn);
  });
  $("execution").hidden = false;
  $("execution").dataset.status = detail.status;
  $("execution-name").textContent = detail.name;
  $("execution-summary").replaceChildren(badge(detail.status, detail.status.toLowerCase()), " ",
    detail.stateMachineArn, detail.error ? " · " + detail.error + ": " + (detail.cause || "") : "");
  $("execution-input").textContent = bodyText({ body: detail.input });
  $("execution-output").textContent = detail.output === undefined ? "" : bodyText({ body: detail.output });
  $("execution-graph").replaceChildren(drawMachine(detail.definition, detail.path, detail.status));
}

// The state machine as a graph: each (sub)machine laid out in layers from its StartAt (longest
// path over forward edges), Parallel branches and Map processors drawn inside their state's
// box. State names are unique in a whole definition, so the path is keyed by name.

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_HEIGHT = 30;
const GAP_X = 24;
const GAP_Y = 34;
const PAD = 10;
const HEADER = 22;

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** The transitions out of a state: `[target, kind]`. */
function transitions(state) {
  const out = [];
  if (state.Next) out.push([state.Next, "next"]);
  for (const choice of state.Choices || []) out.push([choice.Next, "choice"]);
  if (state.Default) out.push([state.Default, "default"]);
  for (const catcher of state.Catch || []) out.push([catcher.Next, "catch"]);
  return out;
}

/** The machines nested in a state: Parallel's branches, Map's processor. */
function nested(state) {
  if (state.Type === "Parallel") return state.Branches || [];
  if (state.Type === "Map") return [state.ItemProcessor || state.Iterator].filter(Boolean);
  return [];
}

/** The label of a state: its name (shortened), and how often it was entered if more than once. */
function stateLabel(name, entered) {
  const short = name.length > 28 ? name.slice(0, 27) + "…" : name;
  return short + (entered > 1 ? ` ×${entered}` : "");
}

/**
 * Lays out a (sub)machine: its size, its states' boxes and its edges (relative positions);
 * `entered` (state → times) sizes the labels.
 */
function layout(machine, entered) {
  const states = machine.States || {};
  const names = Object.keys(states);
  // Back edges (to a state on the current depth-first path) are drawn beside the graph; the
  // rest form a DAG, layered by longest path.
  const back = new Set();
  const seen = new Set();
  const stack = new Set();
  const visit = (name) => {
    seen.add(name);
    stack.add(name);
    for (const [target] of transitions(states[name])) {
      if (!(target in states)) continue;
      if (stack.has(target)) back.add(name + "\u0000" + target);
      else if (!seen.has(target)) visit(target);
    }
    stack.delete(name);
  };
  if (machine.StartAt in states) visit(machine.StartAt);
  names.forEach((n) => seen.has(n) || visit(n));
  const forward = (name) => transitions(states[name])
    .filter(([target]) => target in states && !back.has(name + "\u0000" + target));
  const layer = new Map(names.map((n) => [n, 0]));
  const order = [];
  const done = new Set();
  const topo = (name) => {
    if (done.has(name)) return;
    done.add(name);
    forward(name).forEach(([target]) => topo(target));
    order.unshift(name);
  };
  if (machine.StartAt in states) topo(machine.StartAt);
  names.forEach(topo);
  for (const name of order) {
    for (const [target] of forward(name)) {
      layer.set(target, Math.max(layer.get(target), layer.get(name) + 1));
    }
  }

  // Each state's box: a label, or its nested machines side by side under a header.
  const boxes = new Map();
  for (const name of names) {
    const inner = nested(states[name]).map((m) => layout(m, entered));
    const labelWidth = 24 + 7 * stateLabel(name, entered[name] || 0).length;
    const box = inner.length === 0
      ? { w: labelWidth, h: NODE_HEIGHT, inner }
      : {
        w: Math.max(labelWidth, inner.reduce((sum, m) => sum + m.w, 0) + GAP_X * (inner.length - 1) + 2 * PAD),
        h: HEADER + Math.max(...inner.map((m) => m.h)) + PAD,
        inner,
      };
    boxes.set(name, box);
  }

  // Rows by layer; within a row, ordered by where the states leading to them stand.
  const rows = [];
  for (const name of order) {
    const l = layer.get(name);
    (rows[l] = rows[l] || []).push(name);
  }
  const center = new Map();
  let y = 0;
  const rowWidths = [];
  for (const row of rows.filter(Boolean)) {
    const weight = (name) => {
      const from = names.filter((n) => center.has(n) && forward(n).some(([t]) => t === name));
      return from.length === 0 ? 0 : from.reduce((sum, n) => sum + center.get(n), 0) / from.length;
    };
    row.sort((a, b) => weight(a) - weight(b));
    let x = 0;
    const height = Math.max(...row.map((n) => boxes.get(n).h));
    for (const name of row) {
      const box = boxes.get(name);
      box.x = x;
      box.y = y;
      center.set(name, x + box.w / 2);
      x += box.w + GAP_X;
    }
    rowWidths.push([row, x - GAP_X]);
    y += height + GAP_Y;
  }
  // Rows centred on the widest; room on the right for back edges.
  const width = Math.max(NODE_HEIGHT, ...rowWidths.map(([, w]) => w));
  for (const [row, w] of rowWidths) {
    for (const name of row) boxes.get(name).x += (width - w) / 2;
  }
  const edges = [];
  for (const name of names) {
    for (const [target, kind] of transitions(states[name])) {
      if (target in states) edges.push({ from: name, to: target, kind, back: back.has(name + "\u0000" + target) });
    }
  }
  const loops = edges.some((e) => e.back) ? 3 * PAD : 0;
  return { w: width + loops, h: Math.max(NODE_HEIGHT, y - GAP_Y), start: machine.StartAt, boxes, edges, states };
}

/** Draws a laid-out machine at (x, y) into `group`, marking the path taken. */
function drawLayout(group, machine, x, y, taken) {
  const position = (name) => {
    const b = machine.boxes.get(name);
    return { left: x + b.x, top: y + b.y, w: b.w, h: b.h };
  };
  for (const edge of machine.edges) {
    const from = position(edge.from);
    const to = position(edge.to);
    let d;
    if (edge.back) {
      // Out of the right side, around, into the right side of the earlier state.
      const right = x + machine.w - PAD;
      const y1 = from.top + from.h * 0.65;
      const y2 = to.top + to.h * 0.35;
      d = `M${from.left + from.w},${y1} C${right},${y1} ${right},${y2} ${to.left + to.w},${y2}`;
    } else {
      const x1 = from.left + from.w / 2;
      const y1 = from.top + from.h;
      const x2 = to.left + to.w / 2;
      const y2 = to.top;
      const bend = Math.max(12, (y2 - y1) / 2);
      d = `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
    }
    const times = taken.transitions.get(edge.from + "\u0000" + edge.to);
    group.append(svg("path", {
      d,
      class: "edge " + edge.kind + (times ? " taken" : ""),
      "data-from": edge.from,
      "data-to": edge.to,
      "marker-end": times ? "url(#arrow-taken)" : "url(#arrow)",
    }, svg("title", {}, `${edge.from} → ${edge.to} (${edge.kind})` + (times ? `, taken ${times}×` : ""))));
  }
  for (const [name, box] of machine.boxes) {
    const state = machine.states[name];
    const at = position(name);
    const entered = taken.entered[name] || 0;
    const classes = ["state", state.Type];
    if (entered) classes.push("taken");
    if (taken.open.has(name)) classes.push(taken.openClass);
    const node = svg("g", { class: classes.join(" "), "data-state": name },
      svg("title", {}, `${name} (${state.Type})` + (entered ? `, entered ${entered}×` : ", not entered")),
      svg("rect", { x: at.left, y: at.top, width: at.w, height: at.h, rx: box.inner.length ? 6 : 14 }));
    const labelY = box.inner.length ? at.top + 15 : at.top + at.h / 2 + 4;
    node.append(svg("text", { x: at.left + at.w / 2, y: labelY }, stateLabel(name, entered)));
    group.append(node);
    let innerX = at.left + (at.w - (box.inner.reduce((s, m) => s + m.w, 0) + GAP_X * (box.inner.length - 1))) / 2;
    for (const inner of box.inner) {
      const lane = svg("g", { class: "lane" });
      group.append(lane);
      drawLayout(lane, inner, innerX, at.top + HEADER, taken);
      innerX += inner.w + GAP_X;
    }
  }
}

/** The SVG of a definition with the path taken (`path` of `/_lambkin/executions/{arn}`). */
function drawMachine(definition, path, status) {
  const taken = {
    entered: path.entered,
    transitions: new Map(path.transitions.filter((t) => t.from !== null).map((t) => [t.from + "\u0000" + t.to, t.times])),
    open: new Set(path.open),
    openClass: status === "RUNNING" ? "current" : "stopped",
  };
  const machine = layout(definition, path.entered);
  const top = 2 * PAD + 8;
  const width = machine.w + 2 * PAD;
  const height = machine.h + top + PAD;
  const graph = svg("svg", { class: "machine", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" },
    svg("defs", {},
      svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })),
      svg("marker", { id: "arrow-taken", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow taken" }))));
  // The start: a dot above the first state.
  const first = machine.boxes.get(machine.start);
  if (first) {
    const x = PAD + first.x + first.w / 2;
    const started = (path.entered[machine.start] || 0) > 0;
    graph.append(svg("circle", { class: "start" + (started ? " taken" : ""), cx: x, cy: PAD, r: 5 }),
      svg("path", { class: "edge next" + (started ? " taken" : ""), d: `M${x},${PAD + 5} L${x},${top}`, "marker-end": started ? "url(#arrow-taken)" : "url(#arrow)" }));
  }
  const group = svg("g", {});
  graph.append(group);
  drawLayout(group, machine, PAD, top, taken);
  return graph;
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
