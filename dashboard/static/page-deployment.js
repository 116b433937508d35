// One deployment: status, source, steps with their times, the build log while it is
// written, its error when it failed, its domains, the Sentinel policies frozen into it, and
// a link to its Temporal workflow.

import { call, dashboardRead, data, stream } from "./api.js";
import { clock, dateTime, duration, html, render } from "./html.js";
import { actionButtons, age, orderedDomains, redeploy, runAction, source, took, trigger } from "./deploy.js";
import { FINAL, badge, domainLink, failure, icon, kindBadge, loading, notice, statusBadge, workflowUrl } from "./ui.js";
import { policyText, ruleOf } from "./policies.js";
import { followRuntimeLog, runtimeLogCard } from "./runtime-log.js";
import { mountTraffic } from "./charts.js";

export const name = "deployment";

const POLL_MS = 1000;
const STEP_LABEL = { queued: "Queued", building: "Building", deploying: "Deploying", network: "Assigning domains", finalizing: "Finalizing" };

function envHref(d) {
  return `/dashboard/projects/${encodeURIComponent(d.project)}/apps/${encodeURIComponent(d.app)}/environments/${encodeURIComponent(d.environment)}`;
}

function head(d, environment, id) {
  const production = environment ? environment.kind === "production" : d && d.environment === "production";
  const workflow = d ? workflowUrl(d.id) : null;
  return html`<div class="crumbs">
      <a href="/dashboard/projects">Projects</a><span class="sep">/</span>
      ${d ? html`<a href="/dashboard/projects/${encodeURIComponent(d.project)}">${d.project}</a><span class="sep">/</span><span>${d.app}</span><span class="sep">/</span>
      <a href="${envHref(d)}">${d.environment}</a><span class="sep">/</span>` : ""}<span class="mono">${id}</span>
    </div>
    <div class="page-head">
      <div><div class="title"><h1 class="mono">${id}</h1>${d ? statusBadge(d, production) : ""}${d && d.isCurrent ? badge("Current", "accent") : ""}${environment ? kindBadge(environment.kind) : ""}</div>
        ${d ? html`<p class="subtitle">${d.project} / ${d.app} / ${d.environment} · created ${age(d)} by ${trigger(d)}</p>` : ""}</div>
      <div class="actions">${d ? actionButtons(d, { small: false }) : ""}
        ${workflow ? html`<a class="btn" href="${workflow}" target="_blank" rel="noopener noreferrer" data-workflow>${icon("workflow")}Workflow${icon("external")}</a>` : ""}</div>
    </div>`;
}

function facts(d) {
  const running = !FINAL.has(d.status);
  return html`<div class="card"><dl class="facts">
    <div><dt>Source</dt><dd>${source(d, { long: true })}</dd></div>
    <div><dt>Created</dt><dd title="${dateTime(d.createdAt)}">${dateTime(d.createdAt)}</dd></div>
    <div><dt>Duration</dt><dd>${took(d) || (running ? html`<span class="muted">${duration(Date.now() - d.createdAt)} so far</span>` : "—")}</dd></div>
    <div><dt>Trigger</dt><dd>${trigger(d)}</dd></div>
  </dl></div>`;
}

function errorBox(d) {
  if (!d.error) return "";
  const step = STEP_LABEL[d.error.step] ? STEP_LABEL[d.error.step].toLowerCase() : d.error.step;
  const code = d.error.code && d.error.code !== "unknown" ? ` (${d.error.code.replaceAll("_", " ")})` : "";
  return html`<div class="section-gap" data-error>${notice("error", `Failed while ${step}${code}`, html`<span class="mono">${d.error.message}</span>`)}</div>`;
}

function details(d) {
  const domains = orderedDomains(d);
  const rt = d.runtime || {};
  return html`<div class="grid grid-2 section-gap">
    <div class="card"><div class="card-head"><div><h2>Domains</h2><p>${d.status === "ready" ? "Open in a new tab." : "Assigned once the deployment is healthy."}</p></div></div>
      <div class="card-body">${domains.length ? html`<div class="domains">${domains.map(domainLink)}</div>` : html`<p class="muted">No domains yet.</p>`}</div></div>
    <div class="card"><div class="card-head"><div><h2>Runtime</h2><p>Frozen into this deployment when it was created.</p></div></div>
      <div class="card-body"><dl class="kv">
        <dt>Regions</dt><dd><div class="regions">${(d.regions || []).map((r) => badge(r, "outline"))}</div></dd>
        <dt>Port</dt><dd>${rt.port}</dd>
        <dt>Resources</dt><dd>${rt.vCpus} vCPU · ${rt.memoryMib} MiB</dd>
        <dt>Health check</dt><dd>${rt.healthcheck ? html`<code>${rt.healthcheck.method} ${rt.healthcheck.path}</code> every ${rt.healthcheck.intervalSeconds}s` : html`<span class="muted">None: ready once started</span>`}</dd>
        ${d.docker && d.docker.resolvedImage ? html`<dt>Image digest</dt><dd class="mono truncate" title="${d.docker.resolvedImage}">${d.docker.resolvedImage}</dd>` : ""}
      </dl></div></div>
  </div>`;
}

// What the deployment's gateway enforces; unlike the environment's list, it never changes.
function policiesCard(d, policies, names) {
  const rows = policies.map(
    (policy, i) => html`<div class="policy ${policy.enabled ? "" : "disabled"}" data-frozen-policy="${i}"><span class="order">${i + 1}</span><div>${policyText(policy, names)}</div></div>`,
  );
  return html`<div class="card section-gap" data-frozen-policies>
    <div class="card-head"><div><h2>Sentinel policies</h2><p>Frozen into this deployment when it was created: its gateway runs them in order on every request.</p></div>
      <a class="btn btn-sm" href="${envHref(d)}/settings/sentinel">${icon("shield")}Environment's policies</a></div>
    ${rows.length ? html`<div>${rows}</div>` : html`<p class="card-body muted">None: every request goes straight to the app.</p>`}
  </div>`;
}

async function frozenPolicies(d) {
  let policies;
  try {
    ({ policies } = await dashboardRead("deploymentPolicies", { deploymentId: d.id }));
  } catch (error) {
    return html`<div class="section-gap">${failure(error, "Sentinel policies")}</div>`;
  }
  let names = {};
  if (policies.some((policy) => ruleOf(policy) === "keyauth")) {
    const keyspaces = await dashboardRead("keyspaces").catch(() => []);
    names = Object.fromEntries(keyspaces.map((keyspace) => [keyspace.id, keyspace.name]));
  }
  return policiesCard(d, policies, names);
}

function steps(d) {
  const list = d.steps || [];
  if (!list.length) {
    return html`<p class="card-body muted">${FINAL.has(d.status) ? "No steps were recorded." : "Waiting for the workflow to start…"}</p>`;
  }
  const first = list[0].startedAt;
  return html`<ol class="steps">${list.map(
    (step) => html`<li class="step ${step.status}" data-step="${step.name}">
      <span class="mark"></span>
      <div><div class="name">${STEP_LABEL[step.name] || step.name}</div>${step.message ? html`<div class="message" title="${step.message}">${step.message}</div>` : ""}</div>
      <div class="time"><div>${step.finishedAt ? duration(step.finishedAt - step.startedAt) : step.status === "running" ? duration(Date.now() - step.startedAt) : ""}</div>
        <div class="faint">+${duration(step.startedAt - first) || "0ms"} · ${clock(step.startedAt)}</div></div>
    </li>`,
  )}</ol>`;
}

export async function mount(host, params, ctx) {
  const id = params.deployment;
  render(host, html`${head(null, null, id)}<div class="card">${loading(4)}</div>`);
  let d;
  let environment;
  try {
    d = await data("deployments.getDeployment", { deploymentId: id });
  } catch (error) {
    render(host, html`${head(null, null, id)}${failure(error, "This deployment")}`);
    ctx.ready(host);
    return;
  }
  let policies;
  [environment, policies] = await Promise.all([
    data("environments.getEnvironment", { project: d.project, app: d.app, environment: d.environment }).catch(() => null),
    frozenPolicies(d),
  ]);
  render(
    host,
    html`<div data-head></div><div data-facts></div><div data-error-slot></div>
    <div class="grid progress section-gap">
      <div class="card"><div class="card-head"><div><h2>Steps</h2><p>Each phase of the workflow, timed.</p></div></div><div data-steps></div></div>
      <div class="card log-card"><div class="card-head"><div><h2>Build log</h2><p data-log-note>Output of the image build, as it happens.</p></div><span class="log-head-status" data-log-status></span></div>
        <div class="log" data-log></div></div>
    </div>
    <div data-traffic-slot></div>
    ${runtimeLogCard()}
    <div data-details></div>${policies}`,
  );
  const draw = () => {
    render(host.querySelector("[data-head]"), head(d, environment, id));
    render(host.querySelector("[data-facts]"), facts(d));
    render(host.querySelector("[data-error-slot]"), errorBox(d));
    render(host.querySelector("[data-details]"), details(d));
    render(host.querySelector("[data-steps]"), steps(d));
  };
  draw();
  ctx.ready(host);
  followLog(host, d, ctx);
  followRuntimeLog(host, () => d, ctx);
  mountTraffic(host.querySelector("[data-traffic-slot]"), ctx, { deploymentId: d.id });

  // Every second while it rolls out; every few seconds after, as actions change it too.
  let tick = 0;
  ctx.every(POLL_MS, async () => {
    tick += 1;
    if (FINAL.has(d.status) && tick % 4 !== 0) return;
    if (document.querySelector("dialog[open]")) return;
    try {
      d = await data("deployments.getDeployment", { deploymentId: id });
      draw();
    } catch {
      // Keep the last good view; the next tick tries again.
    }
  });

  host.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "redeploy") {
      await redeploy(d, { navigate: ctx.navigate });
      return;
    }
    let current = null;
    try {
      const list = await data("deployments.listDeployments", { project: d.project, app: d.app, environment: d.environment, limit: 50 });
      current = list.find((item) => item.isCurrent) || null;
    } catch {
      current = null;
    }
    await runAction(action, d, {
      current,
      onDone: async () => {
        d = await data("deployments.getDeployment", { deploymentId: id });
        draw();
      },
    });
  });
}

// ---- build log ----------------------------------------------------------------------------

function followLog(host, d, ctx) {
  const box = host.querySelector("[data-log]");
  const status = host.querySelector("[data-log-status]");
  let count = 0;
  const append = (entry) => {
    const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 24;
    const line = document.createElement("div");
    line.className = `line ${entry.output === "stderr" ? "stderr" : ""}`;
    const n = document.createElement("span");
    n.className = "n";
    n.textContent = String(++count);
    const text = document.createElement("span");
    text.textContent = entry.message;
    line.append(n, text);
    const placeholder = box.querySelector(".empty-log");
    if (placeholder) placeholder.remove();
    box.append(line);
    if (stick) box.scrollTop = box.scrollHeight;
  };
  const placeholder = (text) => {
    if (count === 0) render(box, html`<div class="empty-log">${text}</div>`);
  };
  const setLive = (live) => render(status, live ? html`<span class="live-dot"></span>Live` : html``);
  const finished = () => {
    setLive(false);
    if (count === 0) box.classList.add("quiet");
    placeholder(d.git && !d.docker ? "The build printed nothing." : "Image deployments skip the build: the image runs as it is.");
  };

  placeholder("Waiting for build output…");
  setLive(true);
  let lastId = null;
  stream(`/v2/deployments/${encodeURIComponent(d.id)}/buildLogs/stream`, {
    signal: ctx.signal,
    onEvent(event, payload, eventId) {
      if (eventId) lastId = eventId;
      if (event === "log") append(JSON.parse(payload));
      if (event === "end") finished();
    },
  })
    .then(finished)
    .catch((error) => {
      if (ctx.signal.aborted) return;
      if (error.missing) pollLog(d, ctx, append, finished, box);
      else {
        setLive(false);
        if (count === 0) render(box, html`<div class="empty-log">The live log stopped: ${error.message}. ${lastId ? "" : "Reload to try again."}</div>`);
      }
    });
}

// Without the stream, page through deployments.listBuildLogs until the build is over.
async function pollLog(d, ctx, append, finished, box) {
  let cursor;
  let skip = 0;
  for (;;) {
    if (ctx.signal.aborted) return;
    let page;
    try {
      page = await call("deployments.listBuildLogs", cursor ? { deploymentId: d.id, cursor } : { deploymentId: d.id });
    } catch (error) {
      if (error.missing) {
        render(box, html`<div class="empty-log">Build logs are not available on this dockyard yet: it does not offer <code>deployments.listBuildLogs</code> or the log stream.</div>`);
      } else {
        render(box, html`<div class="empty-log">Could not read the build log: ${error.message}</div>`);
      }
      return;
    }
    // The last page has no cursor: ask for it again, and skip what was already shown.
    page.data.slice(skip).forEach(append);
    if (page.pagination && page.pagination.hasMore) {
      cursor = page.pagination.cursor;
      skip = 0;
      continue;
    }
    skip = page.data.length;
    let current;
    try {
      current = await data("deployments.getDeployment", { deploymentId: d.id });
    } catch {
      current = d;
    }
    if (!["pending", "starting", "building"].includes(current.status)) {
      finished();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
