// A deployment's runtime log, live: what every instance prints and how each exited, from
// deployments.getRuntimeLogs. Each round reads again a little back in time (a line can be
// stored after the ones that follow it) and shows only the lines it has not shown yet.

import { call } from "./api.js";
import { html, render } from "./html.js";

const POLL_MS = 2000;
const OVERLAP_MS = 10_000;
// The API reads at most a week of a deployment's log at a time.
const MAX_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000;
// Deployments whose instances no longer print.
const NOT_RUNNING = new Set(["failed", "stopped", "cancelled", "skipped"]);

export function runtimeLogCard() {
  return html`<div class="card log-card section-gap"><div class="card-head"><div><h2>Runtime log</h2><p>What the app prints, from every instance, and how each exited.</p></div><span class="log-head-status" data-runtime-status></span></div>
    <div class="log" data-runtime-log></div></div>`;
}

function clockTime(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

// `current()` is the deployment as the page last read it.
export function followRuntimeLog(host, current, ctx) {
  const box = host.querySelector("[data-runtime-log]");
  const status = host.querySelector("[data-runtime-status]");
  const start = Math.max(current().createdAt, Date.now() - MAX_WINDOW_MS);
  let since = start;
  let shown = new Map();
  let count = 0;

  const append = (entry) => {
    const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 24;
    const line = document.createElement("div");
    line.className = `line ${entry.stream === "stdout" ? "" : "stderr"}`;
    line.dataset.stream = entry.stream;
    line.style.gridTemplateColumns = "112px 1fr"; // a clock time, not a line number
    const when = document.createElement("span");
    when.className = "n";
    when.textContent = clockTime(entry.time);
    const text = document.createElement("span");
    const what = entry.stream === "event" ? `── ${entry.message}` : entry.message;
    text.textContent = `${entry.region}/${entry.instanceId}  ${what}`;
    line.append(when, text);
    if (count === 0) render(box, html``);
    count += 1;
    box.append(line);
    if (stick) box.scrollTop = box.scrollHeight;
  };
  const note = (text) => {
    if (count === 0) render(box, html`<div class="empty-log">${text}</div>`);
  };
  const setLive = (live) => render(status, live ? html`<span class="live-dot"></span>Live` : html``);

  async function round() {
    const until = Date.now();
    const read = new Map();
    let body = { deploymentId: current().id, startTime: since, endTime: until, limit: 1000 };
    for (;;) {
      const page = await call("deployments.getRuntimeLogs", body);
      for (const entry of page.data) {
        const key = JSON.stringify([entry.time, entry.region, entry.instanceId, entry.stream, entry.message]);
        read.set(key, (read.get(key) || 0) + 1);
        if (read.get(key) > (shown.get(key) || 0)) {
          shown.set(key, (shown.get(key) || 0) + 1);
          append(entry);
        }
      }
      if (!(page.pagination && page.pagination.hasMore)) break;
      body = { ...body, cursor: page.pagination.cursor };
    }
    since = Math.max(start, until - OVERLAP_MS);
    shown = new Map([...shown].filter(([key]) => JSON.parse(key)[0] >= since));
  }

  note("Waiting for the app's output…");
  (async () => {
    while (!ctx.signal.aborted) {
      const running = !NOT_RUNNING.has(current().status);
      setLive(running);
      try {
        await round();
      } catch (error) {
        setLive(false);
        if (error.missing) note("Runtime logs are not available on this dockyard: it does not offer deployments.getRuntimeLogs.");
        else note(`Could not read the runtime log: ${error.message}`);
        return;
      }
      if (!running) {
        setLive(false);
        note("The app printed nothing.");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
}
