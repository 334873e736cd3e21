// agenttail dashboard: every number comes from /api/report/NAME, the JSON of
// `agenttail report NAME --json`, fetched from this same 127.0.0.1 server. No other request.
"use strict";

const POLL_MS = 3000;
const MAX_STACKS = 8;
const PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];
const SVG = "http://www.w3.org/2000/svg";
const state = { version: null, loads: 0, busy: false, again: false };

const $ = (selector) => document.querySelector(selector);

// -- formatting (numbers keep their exact value in data-value) -------------------------------

function money(value) {
  if (value === null || value === undefined) return "unpriced";
  return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function count(value) {
  return value === null || value === undefined ? "" : Math.round(value).toLocaleString("en-US");
}
function percent(value) {
  return value === null || value === undefined ? "" : (100 * value).toFixed(1) + "%";
}
function millis(value) {
  return value === null || value === undefined ? "" : count(value) + " ms";
}
function costText(row) {
  const text = money(row.cost_usd);
  return row.cost_usd !== null && row.unpriced_requests ? text + "*" : text;
}

// -- requests ---------------------------------------------------------------------------------

function filterParams(withDates) {
  const form = $("#filters");
  const params = new URLSearchParams();
  for (const name of ["agent", "project", "model"]) {
    const value = form.elements[name].value;
    if (value) params.append(name, value);
  }
  if (withDates) {
    for (const name of ["since", "until"]) {
      const value = form.elements[name].value;
      if (value) params.set(name, value);
    }
  }
  return params;
}

function reportUrl(name, extra, withDates, format) {
  const params = filterParams(withDates);
  for (const [key, value] of Object.entries(extra || {})) params.set(key, value);
  const query = params.toString();
  return "/api/report/" + name + (format === "csv" ? ".csv" : "") + (query ? "?" + query : "");
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

function setDownloads(key, name, extra, withDates) {
  const box = document.querySelector(`[data-download="${key}"]`);
  if (!box) return;
  box.replaceChildren();
  for (const format of ["json", "csv"]) {
    const link = document.createElement("a");
    link.href = reportUrl(name, extra, withDates, format);
    link.download = `agenttail-${key}.${format}`;
    link.textContent = format.toUpperCase();
    link.dataset.format = format;
    box.append(link);
  }
}

// -- cards ------------------------------------------------------------------------------------

function field(card, name, text, value) {
  const element = card.querySelector(`[data-field="${name}"]`);
  element.textContent = text;
  if (value !== undefined) element.dataset.value = value === null ? "" : String(value);
}

function totalsCard(id, totals) {
  const card = $(id);
  field(card, "cost", costText(totals), totals.cost_usd);
  field(card, "tokens", count(totals.total_tokens) + " tokens", totals.total_tokens);
  field(card, "requests", count(totals.requests) + " requests", totals.requests);
}

function blockCard(report) {
  const card = $("#card-block");
  const block = report.blocks.find((b) => b.active);
  card.classList.toggle("idle", !block);
  if (!block) {
    field(card, "cost", "no active block", null);
    for (const name of ["tokens", "burn", "projection", "ends"]) field(card, name, "", null);
    return;
  }
  field(card, "cost", costText(block), block.cost_usd);
  field(card, "tokens", count(block.total_tokens) + " tokens", block.total_tokens);
  const burn = block.burn_rate;
  const perHour = burn
    ? count(burn.tokens_per_hour) + " tokens/h" +
      (burn.cost_per_hour === null ? "" : " · " + money(burn.cost_per_hour) + "/h")
    : "burn rate after a second request";
  field(card, "burn", perHour, burn ? burn.tokens_per_hour : null);
  const projection = block.projection;
  field(
    card,
    "projection",
    projection
      ? "projected " + count(projection.total_tokens) + " tokens" +
        (projection.cost_usd === null ? "" : " · " + money(projection.cost_usd))
      : "",
    projection ? projection.total_tokens : null,
  );
  const end = new Date(block.end);
  const left = Math.max(0, Math.round((end - Date.now()) / 60000));
  field(card, "ends", `ends ${end.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` +
    ` (${Math.floor(left / 60)}h${String(left % 60).padStart(2, "0")}m left)`, block.end);
}

// -- the stacked chart (SVG built here from /api/report/series) --------------------------------

function stackedChart(report, metric) {
  const valueOf = (point) => (metric === "cost" ? point.cost_usd || 0 : point.total_tokens);
  const periods = [...new Set(report.series.map((p) => p.period))].sort();
  const totals = new Map();
  for (const point of report.series) {
    totals.set(point.key, (totals.get(point.key) || 0) + valueOf(point));
  }
  // Keys with nothing to draw (an unpriced model's cost) stay out of the legend.
  const ranked = [...totals.keys()]
    .filter((key) => totals.get(key) > 0)
    .sort((a, b) => totals.get(b) - totals.get(a) || (a < b ? -1 : 1));
  const shown = ranked.slice(0, MAX_STACKS);
  const stackOf = (key) => (shown.includes(key) ? key : "other");
  const stacks = ranked.length > MAX_STACKS ? [...shown, "other"] : shown;
  const cells = new Map(); // period -> stack -> value
  for (const point of report.series) {
    const row = cells.get(point.period) || new Map();
    row.set(stackOf(point.key), (row.get(stackOf(point.key)) || 0) + valueOf(point));
    cells.set(point.period, row);
  }
  // Drawn at the box's own width, so labels keep their size on a phone.
  const width = Math.max(300, Math.round($("#chart").clientWidth || 960));
  const height = width < 600 ? 220 : 300, left = 64, right = 8, top = 12, bottom = 44;
  const plotW = width - left - right, plotH = height - top - bottom;
  let largest = 0;
  for (const row of cells.values()) largest = Math.max(largest, [...row.values()].reduce((a, b) => a + b, 0));
  const highest = niceCeiling(largest);
  const scale = highest > 0 ? plotH / highest : 0;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${metric} per ${report.bucket} by ${report.by}`);
  const add = (name, attrs, text) => {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    svg.append(element);
    return element;
  };
  for (let i = 0; i <= 4; i++) {
    const value = (highest * i) / 4;
    const y = top + plotH - value * scale;
    add("line", { x1: left, x2: width - right, y1: y, y2: y, class: "gridline" });
    add("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" },
      metric === "cost" ? money(value) : compact(value));
  }
  const slot = periods.length ? plotW / periods.length : plotW;
  const labelEvery = Math.max(1, Math.ceil(periods.length / Math.floor(plotW / 56)));
  periods.forEach((period, index) => {
    let y = top + plotH;
    const x = left + index * slot + slot * 0.1;
    stacks.forEach((stack, stackIndex) => {
      const value = (cells.get(period) || new Map()).get(stack) || 0;
      if (!value) return;
      const h = value * scale;
      y -= h;
      const rect = add("rect", {
        x: x.toFixed(2), y: y.toFixed(2), width: (slot * 0.8).toFixed(2), height: Math.max(h, 0.5).toFixed(2),
        fill: PALETTE[stackIndex % PALETTE.length], class: "bar",
      });
      rect.dataset.period = period;
      rect.dataset.key = stack;
      rect.dataset.value = String(value);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${period} · ${stack}: ${metric === "cost" ? money(value) : count(value) + " tokens"}`;
      rect.append(title);
    });
    if (index % labelEvery === 0) {
      add("text", { x: x + slot * 0.4, y: height - bottom + 16, class: "axis", "text-anchor": "middle" },
        period.slice(5));
    }
  });
  if (!periods.length) {
    add("text", { x: width / 2, y: height / 2, class: "axis", "text-anchor": "middle" }, "no usage in this range");
  }
  $("#chart").replaceChildren(svg);
  const legend = $("#legend");
  legend.replaceChildren();
  stacks.forEach((stack, index) => {
    const item = document.createElement("span");
    item.className = "legend-item";
    const swatch = document.createElement("span");
    swatch.className = `swatch c${index % PALETTE.length}`;
    item.append(swatch, document.createTextNode(stack));
    legend.append(item);
  });
}

// The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above the largest bar.
function niceCeiling(value) {
  if (value <= 0) return 0;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function compact(value) {
  if (value >= 1e9) return (value / 1e9).toFixed(1) + "B";
  if (value >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (value >= 1e3) return (value / 1e3).toFixed(1) + "k";
  return String(Math.round(value));
}

// -- tables -----------------------------------------------------------------------------------

// columns: [header, text(row), raw(row) or null, numeric?]
function table(id, columns, rows) {
  const element = $(id);
  const head = document.createElement("tr");
  for (const [header, , , numeric] of columns) {
    const th = document.createElement("th");
    th.textContent = header;
    th.dataset.col = header;
    if (numeric) th.className = "num";
    head.append(th);
  }
  const body = rows.map((row) => {
    const tr = document.createElement("tr");
    for (const [header, text, raw, numeric] of columns) {
      const td = document.createElement("td");
      td.textContent = text(row);
      td.dataset.col = header;
      if (raw) {
        const value = raw(row);
        td.dataset.value = value === null || value === undefined ? "" : String(value);
        if (typeof value === "string") td.title = value;
      }
      if (numeric) td.className = "num";
      tr.append(td);
    }
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns.length;
    td.className = "muted";
    td.textContent = "nothing in this range";
    tr.append(td);
    body.push(tr);
  }
  element.replaceChildren(head, ...body);
}

const basename = (path) => (path ? path.split(/[\\/]/).filter(Boolean).pop() || path : "");
const shortId = (id) => (id.length > 12 ? id.slice(0, 8) + "…" : id);
const cost = ["cost", costText, (r) => r.cost_usd, true];
const tokens = ["tokens", (r) => count(r.total_tokens), (r) => r.total_tokens, true];
const requests = ["requests", (r) => count(r.requests), (r) => r.requests, true];

const TOP_SESSIONS = 10; // the server sends only these (?limit=), costliest first here

function renderTables(sessions, projects, tools, models) {
  const top = [...sessions.sessions]
    .sort((a, b) => (b.cost_usd || 0) - (a.cost_usd || 0) || b.total_tokens - a.total_tokens)
    .slice(0, TOP_SESSIONS);
  table("#sessions", [
    ["session", (r) => shortId(r.session_id), (r) => r.session_id, false],
    ["agent", (r) => r.agent, null, false],
    ["project", (r) => basename(r.project), (r) => r.project, false],
    ["last", (r) => r.last_activity.slice(0, 16).replace("T", " "), null, false],
    tokens, cost,
  ], top);
  table("#projects", [
    ["project", (r) => basename(r.project), (r) => r.project, false],
    ["sessions", (r) => count(r.sessions), (r) => r.sessions, true],
    requests, tokens, cost,
  ], projects.projects.slice(0, 10));
  table("#tools", [
    ["tool", (r) => r.tool, (r) => r.tool, false],
    ["agent", (r) => r.agent, null, false],
    ["calls", (r) => count(r.calls), (r) => r.calls, true],
    ["success", (r) => percent(r.success_rate), (r) => r.success_rate, true],
    ["p50", (r) => millis(r.duration_ms.p50), (r) => r.duration_ms.p50, true],
    ["p95", (r) => millis(r.duration_ms.p95), (r) => r.duration_ms.p95, true],
  ], tools.tools.slice(0, 10));
  table("#models", [
    ["model", (r) => r.model, (r) => r.model, false],
    requests, tokens, cost,
    ["errors", (r) => percent(r.error_rate), (r) => r.error_rate, true],
    ["p50", (r) => millis(r.latency_ms.p50), (r) => r.latency_ms.p50, true],
    ["p95", (r) => millis(r.latency_ms.p95), (r) => r.latency_ms.p95, true],
  ], models.models);
  for (const td of document.querySelectorAll('#models td[data-col="cost"]')) {
    td.classList.toggle("flag", td.textContent === "unpriced");
  }
}

function renderUnpriced(report) {
  const element = $("#unpriced");
  element.hidden = !report.unpriced.length;
  element.textContent = report.unpriced.length
    ? "Unpriced (no cost counted): " + report.unpriced
      .map((m) => `${m.model} (${count(m.requests)} requests, ${count(m.total_tokens)} tokens)`)
      .join(", ")
    : "";
}

function fillSelect(name, values) {
  const select = $("#filters").elements[name];
  const chosen = select.value;
  const options = [new Option("all", "")];
  for (const value of values) options.push(new Option(value, value));
  select.replaceChildren(...options);
  select.value = values.includes(chosen) ? chosen : "";
}

// -- loading ----------------------------------------------------------------------------------

async function load() {
  if (state.busy) {
    state.again = true; // a filter changed mid-load: load once more when this one ends
    return;
  }
  state.busy = true;
  state.again = false;
  try {
    const form = $("#filters");
    const stack = form.elements.stack.value;
    const metric = form.elements.metric.value;
    const context = await getJson("/api/context");
    const bucket = { bucket: "day", by: stack };
    const today = { since: context.today, until: context.today };
    const [series, day, week, month, blocks, sessions, projects, tools, models, everyAgent,
      everyProject, everyModel] = await Promise.all([
      getJson(reportUrl("series", bucket, true)),
      getJson(reportUrl("daily", today, false)),
      getJson(reportUrl("weekly", { since: context.week_start }, false)),
      getJson(reportUrl("monthly", { since: context.month_start }, false)),
      getJson(reportUrl("blocks", { since: context.yesterday }, false)),
      getJson(reportUrl("session", { limit: TOP_SESSIONS }, true)),
      getJson(reportUrl("projects", {}, true)),
      getJson(reportUrl("tools", {}, true)),
      getJson(reportUrl("model", {}, true)),
      getJson("/api/report/agents"),
      getJson("/api/report/projects"),
      getJson("/api/report/model"),
    ]);
    fillSelect("agent", everyAgent.agents.map((a) => a.agent).sort());
    fillSelect("project", everyProject.projects.map((p) => p.project).sort());
    fillSelect("model", everyModel.models.map((m) => m.model).sort());
    totalsCard("#card-today", day.totals);
    totalsCard("#card-week", week.totals);
    totalsCard("#card-month", month.totals);
    blockCard(blocks);
    $("#chart-title").textContent = `${metric === "cost" ? "Cost" : "Tokens"} per day by ${stack}`;
    stackedChart(series, metric);
    renderUnpriced(models); // every report lists the window's unpriced models
    renderTables(sessions, projects, tools, models);
    setDownloads("today", "daily", today, false);
    setDownloads("week", "weekly", { since: context.week_start }, false);
    setDownloads("month", "monthly", { since: context.month_start }, false);
    setDownloads("blocks", "blocks", { since: context.yesterday }, false);
    setDownloads("series", "series", bucket, true);
    for (const name of ["session", "projects", "tools", "model"]) setDownloads(name, name, {}, true);
    $("#problem").hidden = true;
    state.loads += 1;
    document.body.dataset.loads = String(state.loads);
    $("#status").textContent = `updated ${new Date().toLocaleTimeString()} · ${context.timezone}`;
  } catch (error) {
    const problem = $("#problem");
    problem.hidden = false;
    problem.textContent = "Could not load: " + error.message;
  } finally {
    state.busy = false;
  }
  if (state.again) await load();
}

async function poll() {
  try {
    const { version } = await getJson("/api/version");
    if (version !== state.version) {
      state.version = version;
      await load();
    }
  } catch (error) {
    $("#status").textContent = "server not answering: " + error.message;
  }
}

$("#filters").addEventListener("change", () => load());
poll();
setInterval(poll, POLL_MS);
