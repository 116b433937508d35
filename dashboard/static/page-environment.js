// One environment: its deployments (live, updating while they roll out), its custom
// domains, and its settings (runtime, build, variables, Sentinel).

import { data } from "./api.js";
import { html, render } from "./html.js";
import { actionButtons, age, deployForm, liveOf, orderedDomains, redeploy, runAction, source, took, trigger } from "./deploy.js";
import { mountTraffic } from "./charts.js";
import { FINAL, badge, domainLink, empty, failure, icon, kindBadge, loading, statusBadge } from "./ui.js";
import * as domains from "./env-domains.js";
import * as settings from "./env-settings.js";
import * as variables from "./env-variables.js";
import * as sentinel from "./env-sentinel.js";

export const name = "environment";

const SECTIONS = [
  ["runtime", "Runtime", settings.runtime],
  ["build", "Build", settings.build],
  ["variables", "Variables", variables.mount],
  ["sentinel", "Sentinel", sentinel.mount],
];

export function basePath(params) {
  return `/dashboard/projects/${encodeURIComponent(params.project)}/apps/${encodeURIComponent(params.app)}/environments/${encodeURIComponent(params.environment)}`;
}

function head(params, environment) {
  const base = basePath(params);
  const tab = (key, href, label) => html`<a href="${href}" class="${params.tab === key ? "active" : ""}" data-tab="${key}">${label}</a>`;
  return html`<div class="crumbs">
      <a href="/dashboard/projects">Projects</a><span class="sep">/</span>
      <a href="/dashboard/projects/${encodeURIComponent(params.project)}">${params.project}</a><span class="sep">/</span>
      <span>${params.app}</span><span class="sep">/</span><span>${params.environment}</span>
    </div>
    <div class="page-head">
      <div><div class="title"><h1>${params.environment}</h1>${environment ? kindBadge(environment.kind) : ""}</div>
        <p class="subtitle">${params.project} / ${params.app}${environment && environment.description ? ` · ${environment.description}` : ""}</p></div>
      <div class="actions"><button class="btn btn-primary" data-action="deploy">${icon("rocket")}Deploy</button></div>
    </div>
    <nav class="tabs">
      ${tab("deployments", base, "Deployments")}
      ${tab("domains", `${base}/domains`, "Domains")}
      ${tab("settings", `${base}/settings`, "Settings")}
    </nav>`;
}

export async function mount(host, params, ctx) {
  const state = { environment: null, app: null, deployments: [] };
  render(host, html`${head(params, null)}<div data-body>${loading()}</div>`);
  host.addEventListener("click", (event) => onClick(event, params, state, ctx));
  try {
    state.environment = await data("environments.getEnvironment", { project: params.project, app: params.app, environment: params.environment });
  } catch (error) {
    render(host, html`${head(params, null)}${failure(error, "This environment")}`);
    ctx.ready(host);
    return;
  }
  render(host, html`${head(params, state.environment)}<div data-body></div>`);
  const body = host.querySelector("[data-body]");
  if (params.tab === "domains") {
    await domains.mount(body, params, state, ctx);
  } else if (params.tab === "settings") {
    await mountSettings(body, params, state, ctx);
  } else {
    await mountDeployments(body, params, state, ctx);
  }
  ctx.ready(host);
}

async function mountSettings(body, params, state, ctx) {
  const found = SECTIONS.find(([key]) => key === params.section);
  const base = `${basePath(params)}/settings`;
  render(
    body,
    html`<div class="split">
      <nav class="subnav">${SECTIONS.map(([key, label]) => html`<a href="${key === "runtime" ? base : `${base}/${key}`}" class="${params.section === key ? "active" : ""}" data-section="${key}">${label}</a>`)}</nav>
      <div data-section-body></div>
    </div>`,
  );
  const target = body.querySelector("[data-section-body]");
  if (!found) {
    render(target, html`<div class="card">${empty({ title: "No such settings section", text: "Pick a section on the left." })}</div>`);
    return;
  }
  await found[2](target, params, state, ctx);
}

// ---- deployments tab ------------------------------------------------------------------

function liveCard(state) {
  const production = state.environment.kind === "production";
  const live = liveOf(state.deployments, state.environment);
  if (!live) {
    return html`<div class="card"><div class="live">
      <div><h3>${production ? "Live deployment" : "Serving"}</h3><p class="muted">Nothing is serving in this environment yet.</p></div>
      <div><h3>Regions</h3><div class="regions">${state.environment.regions.map((r) => badge(`${r.name} ×${r.replicas.max}`, "outline"))}</div></div>
    </div></div>`;
  }
  return html`<div class="card" data-live="${live.id}"><div class="live">
    <div><h3>${production ? "Live deployment" : "Serving"}</h3>
      <div class="nowrap">${statusBadge(live, production)} ${production ? badge("Current", "accent") : ""} <a class="mono" href="/dashboard/deployments/${encodeURIComponent(live.id)}">${live.id}</a></div>
      <div class="section-gap">${source(live, { long: true })}</div>
      <div class="live-meta"><span>Created <b>${age(live)}</b></span><span>Took <b>${took(live) || "—"}</b></span><span>By <b>${trigger(live)}</b></span></div>
      <div class="actions-row"><a class="btn btn-sm" href="/dashboard/deployments/${encodeURIComponent(live.id)}">View deployment</a>${actionButtons(live, { redeploy: true })}</div>
    </div>
    <div><h3>Domains</h3><div class="domains">${orderedDomains(live).map(domainLink)}</div>
      <h3 class="section-gap">Regions</h3><div class="regions">${live.regions.map((r) => badge(r, "outline"))}</div></div>
  </div></div>`;
}

function row(deployment, production) {
  return html`<tr data-deployment-row="${deployment.id}">
    <td><div class="nowrap">${statusBadge(deployment, production)}${deployment.isCurrent ? html` ${badge("Current", "accent")}` : ""}</div>
      <div class="cell-sub"><a class="mono" href="/dashboard/deployments/${encodeURIComponent(deployment.id)}">${deployment.id}</a></div></td>
    <td>${source(deployment)}</td>
    <td class="nowrap" title="${new Date(deployment.createdAt).toISOString()}"><div>${age(deployment)}</div>
      <div class="cell-sub">${trigger(deployment)} · ${took(deployment) ? `took ${took(deployment)}` : FINAL.has(deployment.status) ? "—" : "running…"}</div></td>
    <td><div class="row-actions">${actionButtons(deployment)}</div></td>
  </tr>`;
}

function table(state) {
  const production = state.environment.kind === "production";
  if (!state.deployments.length) {
    return html`<div class="card">${empty({
      title: "No deployments yet",
      text: "Deploy a commit, a branch or a pre-built image. Every deployment gets its own domain, and production keeps the previous one warm for an instant rollback.",
      iconName: "rocket",
      action: html`<button class="btn btn-primary" data-action="deploy">${icon("rocket")}Deploy</button>`,
    })}</div>`;
  }
  return html`<div class="card"><table class="table">
    <thead><tr><th>Status</th><th>Source</th><th>Created</th><th class="right">Actions</th></tr></thead>
    <tbody>${state.deployments.map((d) => row(d, production))}</tbody>
  </table></div>`;
}

async function mountDeployments(body, params, state, ctx) {
  const load = async () => {
    const page = await data("deployments.listDeployments", {
      project: params.project,
      app: params.app,
      environment: params.environment,
      limit: 50,
    });
    state.deployments = page;
  };
  // The traffic card keeps its own slot: redrawing the deployments leaves its charts be.
  const draw = () => {
    render(body.querySelector("[data-live-slot]"), liveCard(state));
    render(body.querySelector("[data-list-slot]"), html`<div class="section-title"><h2>Deployments</h2><span class="muted">${state.deployments.length ? `${state.deployments.length} most recent` : ""}</span></div>${table(state)}`);
  };
  try {
    await load();
  } catch (error) {
    render(body, failure(error, "Deployments"));
    return;
  }
  render(body, html`<div data-live-slot></div><div data-traffic-slot></div><div data-list-slot></div>`);
  draw();
  mountTraffic(body.querySelector("[data-traffic-slot]"), ctx, { project: params.project, app: params.app, environment: params.environment });
  state.redraw = async () => {
    await load();
    draw();
  };
  // Poll fast while something is rolling out or an action was just sent, slowly otherwise.
  let quiet = 0;
  ctx.every(1500, async () => {
    const moving = state.deployments.some((d) => !FINAL.has(d.status)) || Date.now() < (state.fastUntil || 0);
    if (!moving && ++quiet % 5 !== 0) return;
    if (document.querySelector("dialog[open]")) return;
    try {
      await state.redraw();
    } catch {
      // A failed refresh keeps the last good view; the next tick tries again.
    }
  });
}

async function onClick(event, params, state, ctx) {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const action = button.dataset.action;
  if (action === "deploy") {
    // The app's source only sets the form's defaults: asked for when the form opens.
    if (state.app === null) state.app = await data("apps.getApp", { project: params.project, app: params.app }).catch(() => undefined);
    await deployForm({ project: params.project, app: params.app, environment: params.environment, appInfo: state.app, navigate: ctx.navigate });
    return;
  }
  const deployment = state.deployments.find((d) => d.id === button.dataset.deployment);
  if (!deployment) return;
  if (action === "redeploy") {
    await redeploy(deployment, { navigate: ctx.navigate });
  } else if (["promote", "rollback", "stop", "start"].includes(action)) {
    const current = state.deployments.find((d) => d.isCurrent) || null;
    await runAction(action, deployment, {
      current,
      onDone: () => {
        // The environment's workflow carries the action out within moments: watch closely.
        state.fastUntil = Date.now() + 20000;
        if (state.redraw) state.redraw().catch(() => {});
      },
    });
  }
}
