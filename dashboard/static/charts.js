// Charts of the request log, drawn with uPlot (vendor/, served from this origin): an
// environment's or a deployment's traffic (requests per second, p50/p99 latency, error
// rates) and a keyspace's verifications by outcome, over the last hour or day. The series
// come from dashboard/charts.py, in fixed buckets.

import uPlot from "./vendor/uPlot.esm.js";
import { dashboardRead } from "./api.js";
import { html, number, render } from "./html.js";
import { failure, loading } from "./ui.js";

const REFRESH_MS = 30_000;
const HEIGHT = 170;
const WINDOWS = [
  ["1h", "1h", "the last hour"],
  ["24h", "24h", "the last day"],
];
const COLORS = { p50: "#3b82f6", p99: "#4f46e5", requests: "#4f46e5", server: "#ef4444", client: "#f59e0b" };
const OUTCOME_COLORS = { VALID: "#22c55e", RATE_LIMITED: "#f59e0b", NOT_FOUND: "#71717a", DISABLED: "#a1a1aa", EXPIRED: "#b45309", USAGE_EXCEEDED: "#ef4444", INSUFFICIENT_PERMISSIONS: "#b91c1c" };
const PALETTE = ["#3b82f6", "#8b5cf6", "#ec4899", "#14b8a6", "#0ea5e9"];
let cards = 0;

function useStyles() {
  if (document.querySelector("link[data-uplot-styles]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./vendor/uPlot.min.css", import.meta.url).pathname;
  link.dataset.uplotStyles = "";
  document.head.append(link);
}

function toggle(name) {
  return html`<div class="segmented" role="radiogroup" aria-label="Time window">${WINDOWS.map(
    ([value, label], i) => html`<label><input type="radio" name="${name}" value="${value}" ${i === 0 ? html`checked` : ""}>${label}</label>`,
  )}</div>`;
}

function card(kind, title, text) {
  const name = `${kind}-window-${++cards}`;
  return html`<div class="card section-gap chart-card" data-${kind}>
    <div class="card-head"><div><h2>${title}</h2><p>${text}</p></div>${toggle(name)}</div>
    <div data-chart-body>${loading(2)}</div>
  </div>`;
}

const percent = (value) => (value === null || value === undefined ? "—" : `${(value * 100).toFixed(value < 0.01 && value > 0 ? 2 : 1)}%`);
const millis = (value) => (value === null || value === undefined ? "—" : `${number(Math.round(value * 10) / 10)} ms`);
const rate = (value) => (value >= 10 ? number(Math.round(value)) : String(Math.round(value * 100) / 100));

// A quiet window is one line in the card, not a page's empty state: the page has its own.
function quiet(title, text) {
  return html`<div class="chart-quiet" data-quiet><b>${title}</b><span>${text}</span></div>`;
}

function stat(key, label, value) {
  return html`<div data-stat="${key}"><dt>${label}</dt><dd>${value}</dd></div>`;
}

// One uPlot chart in `box`, as wide as the box: lines, or with `stacked` bars whose series
// are running totals, drawn tallest first so each outcome shows as its own band.
function plot(box, times, series, { yFormat = (v) => String(v), spanGaps = false, stacked = false } = {}) {
  const bars = stacked ? uPlot.paths.bars({ size: [0.7, 24] }) : null;
  const line = ({ label, color }) => ({ label, stroke: color, width: 1.5, fill: `${color}14`, spanGaps, points: { show: false } });
  const bar = ({ label, color }) => ({ label, stroke: color, fill: color, width: 0, paths: bars, points: { show: false } });
  if (stacked) {
    const running = times.map(() => 0);
    series = series.map((s) => ({ ...s, values: s.values.map((v, i) => (running[i] += v)) })).reverse();
  }
  const options = {
    width: Math.max(box.clientWidth, 200),
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { show: !stacked, live: false },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max, min, 0) * 1.1 || 1] } },
    axes: [{ stroke: "#71717a", grid: { stroke: "#f0f0f2" } }, { stroke: "#71717a", grid: { stroke: "#f0f0f2" }, size: 64, values: (_u, ticks) => ticks.map(yFormat) }],
    series: [{}, ...series.map(stacked ? bar : line)],
  };
  return new uPlot(options, [times.map((t) => t / 1000), ...series.map((s) => s.values)], box);
}

function trafficBody(body, found, span) {
  const totals = found.totals;
  if (!totals.requests) {
    render(body, quiet(`No requests in ${span}`, "Requests through this gateway show up here within seconds."));
    return;
  }
  render(
    body,
    html`<dl class="chart-stats">
        ${stat("requests", "Requests", number(totals.requests))}
        ${stat("rps", "Requests/s", rate(totals.requestsPerSecond))}
        ${stat("p50", "p50 latency", millis(totals.p50Ms))}
        ${stat("p99", "p99 latency", millis(totals.p99Ms))}
        ${stat("errors", "5xx rate", percent(totals.errorRate))}
        ${stat("client-errors", "4xx rate", percent(totals.clientErrorRate))}
      </dl>
      <div class="chart-grid">
        <div><h3>Requests per second</h3><div data-chart="requests"></div></div>
        <div><h3>Latency</h3><div data-chart="latency"></div></div>
        <div><h3>Error rate</h3><div data-chart="errors"></div></div>
      </div>`,
  );
  const at = (name) => body.querySelector(`[data-chart="${name}"]`);
  const share = (values) => values.map((v) => (v === null ? null : v * 100));
  return [
    plot(at("requests"), found.times, [{ label: "req/s", color: COLORS.requests, values: found.requestsPerSecond }], { yFormat: rate }),
    plot(at("latency"), found.times, [
      { label: "p50", color: COLORS.p50, values: found.p50Ms },
      { label: "p99", color: COLORS.p99, values: found.p99Ms },
    ], { yFormat: (v) => `${v} ms`, spanGaps: true }),
    plot(at("errors"), found.times, [
      { label: "5xx", color: COLORS.server, values: share(found.errorRate) },
      { label: "4xx", color: COLORS.client, values: share(found.clientErrorRate) },
    ], { yFormat: (v) => `${v}%`, spanGaps: true }),
  ];
}

function verificationsBody(body, found, span) {
  if (!found.total) {
    render(body, quiet(`No verifications in ${span}`, "Every keys.verifyKey call and every request a gateway verifies a key for shows up here."));
    return;
  }
  const color = (outcome, i) => OUTCOME_COLORS[outcome] || PALETTE[i % PALETTE.length];
  render(
    body,
    html`<dl class="chart-stats">
        ${stat("total", "Verifications", number(found.total))}
        ${found.outcomes.map((o, i) => html`<div data-outcome="${o.outcome}"><dt><span class="chart-swatch" data-color="${color(o.outcome, i)}"></span>${o.outcome}</dt><dd>${number(o.total)}</dd></div>`)}
      </dl>
      <div data-chart="verifications"></div>`,
  );
  body.querySelectorAll("[data-color]").forEach((swatch) => (swatch.style.background = swatch.dataset.color));
  const chart = plot(
    body.querySelector('[data-chart="verifications"]'),
    found.times,
    found.outcomes.map((o, i) => ({ label: o.outcome, color: color(o.outcome, i), values: o.counts })),
    { yFormat: (v) => number(v), stacked: true },
  );
  return [chart];
}

// Mounts a chart card into `slot`: reads `read(span)`, draws it with `draw`, and again on
// the toggle and every REFRESH_MS. The card says which window it has drawn in data-drawn.
function mountCard(slot, ctx, markup, read, draw) {
  useStyles();
  render(slot, markup);
  const host = slot.firstElementChild;
  const body = host.querySelector("[data-chart-body]");
  let chosen = WINDOWS[0][0];
  // The charts drawn now: destroyed when the next ones replace them, sized with the card.
  let charts = [];
  new ResizeObserver(() => {
    for (const chart of charts) {
      const width = chart.root.parentElement.clientWidth;
      if (width && width !== chart.width) chart.setSize({ width, height: HEIGHT });
    }
  }).observe(body);
  const load = async () => {
    const asked = chosen;
    let found;
    try {
      found = await read(asked);
    } catch (error) {
      if (asked !== chosen) return;
      charts.forEach((chart) => chart.destroy());
      charts = [];
      render(body, failure(error, "Charts"));
      return;
    }
    if (asked !== chosen || ctx.signal.aborted) return;
    charts.forEach((chart) => chart.destroy());
    charts = draw(body, found, WINDOWS.find(([value]) => value === asked)[2]) || [];
    host.dataset.drawn = asked;
  };
  host.addEventListener("change", (event) => {
    if (!event.target.matches("input[type=radio]")) return;
    chosen = event.target.value;
    delete host.dataset.drawn;
    load();
  });
  ctx.every(REFRESH_MS, load);
  return load();
}

// `target`: {project, app, environment} or {deploymentId}.
export function mountTraffic(slot, ctx, target) {
  const deployment = Boolean(target.deploymentId);
  return mountCard(
    slot,
    ctx,
    card("traffic", "Traffic", deployment ? "Requests this deployment's gateway answered." : "Requests this environment's gateway answered, every deployment together."),
    (span) => dashboardRead(deployment ? "deploymentTraffic" : "environmentTraffic", { ...target, window: span }),
    trafficBody,
  );
}

export function mountVerifications(slot, ctx, apiId) {
  return mountCard(
    slot,
    ctx,
    card("verifications", "Verifications", "Key verifications by outcome, from keys.verifyKey and the gateways."),
    (span) => dashboardRead("keyspaceVerifications", { apiId, window: span }),
    verificationsBody,
  );
}
