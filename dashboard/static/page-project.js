// One project: its apps, each with its environments, the deployment each one serves, its
// domains and regions.

import { data } from "./api.js";
import { html, render } from "./html.js";
import { age, domainList, liveOf, source } from "./deploy.js";
import { SLUG_MESSAGE, SLUG_PATTERN, field, modal } from "./forms.js";
import { badge, empty, failure, icon, kindBadge, loading, notice, statusBadge, toast } from "./ui.js";

export const name = "project";


function envPath(project, app, environment) {
  return `/dashboard/projects/${encodeURIComponent(project)}/apps/${encodeURIComponent(app)}/environments/${encodeURIComponent(environment)}`;
}

function head(project, slug) {
  return html`<div class="crumbs"><a href="/dashboard/projects">Projects</a><span class="sep">/</span><span>${project ? project.name : slug}</span></div>
    <div class="page-head">
      <div><div class="title"><h1>${project ? project.name : slug}</h1>${project ? badge(project.slug, "outline") : ""}</div>
      <p class="subtitle">Apps, their environments and what each one serves right now.</p></div>
      <div class="actions"><button class="btn btn-primary" data-action="create-app">${icon("plus")}New app</button></div>
    </div>`;
}

function envRow(project, app, environment, deployments) {
  const href = envPath(project.slug, app.slug, environment.slug);
  let live = html`<span class="muted">Nothing deployed yet</span>`;
  let domains = html`<span class="muted">—</span>`;
  if (deployments === null) {
    live = html`<span class="muted">Deployments unavailable</span>`;
  } else {
    const serving = liveOf(deployments, environment);
    const newest = deployments[0];
    const shown = serving || newest;
    if (shown) {
      const production = environment.kind === "production";
      live = html`<div><div class="nowrap">${statusBadge(shown, production)} <a class="mono" href="/dashboard/deployments/${encodeURIComponent(shown.id)}">${shown.id}</a> <span class="muted">· ${age(shown)}</span></div>
        <div class="cell-sub">${source(shown)}</div>
        ${newest && serving && newest.id !== serving.id ? html`<div class="cell-sub">Newest: ${statusBadge(newest, production)} <a class="mono" href="/dashboard/deployments/${encodeURIComponent(newest.id)}">${newest.id}</a></div>` : ""}</div>`;
      domains = serving ? domainList(serving, 2) : html`<span class="muted">Not serving</span>`;
    }
  }
  return html`<div class="env-row" data-environment="${environment.slug}">
    <div class="name"><a href="${href}">${environment.slug}</a>${kindBadge(environment.kind)}</div>
    <div>${live}</div>
    <div>${domains}</div>
    <div class="regions">${(environment.regions || []).map((region) => badge(`${region.name} ×${region.replicas.max}`, "outline"))}</div>
  </div>`;
}

function appCard(project, app, environments, deployments) {
  const origin = app.oci ? html`<code>${app.oci.image}</code>` : app.git ? html`<code>${app.git.repository}</code>${app.git.defaultBranch ? html` · ${app.git.defaultBranch}` : ""}` : html`<span>No repository connected</span>`;
  return html`<section class="card" data-app="${app.slug}">
    <div class="card-head"><div><h2>${app.name} <span class="muted mono">${app.slug}</span></h2><p>${app.sourceType === "oci" ? "Image app" : "Git app"} · ${origin}</p></div>
      ${app.isRolledBack ? badge("Rolled back", "amber", true) : ""}</div>
    ${app.isRolledBack ? html`<div class="card-body">${notice("warn", "Production is rolled back", "New production deployments will not go live on their own until you promote one.")}</div>` : ""}
    ${environments.map((environment, i) => envRow(project, app, environment, deployments[i]))}
  </section>`;
}

export async function mount(host, params, ctx) {
  render(host, html`${head(null, params.project)}<div class="card">${loading()}</div>`);
  host.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=create-app]")) createApp(params.project, ctx);
  });
  let project;
  let body;
  try {
    // One list of the project's newest deployments serves every environment's row.
    let apps;
    let deployments;
    [project, apps, deployments] = await Promise.all([
      data("projects.getProject", { project: params.project }),
      data("apps.listApps", { project: params.project, limit: 100 }),
      data("deployments.listDeployments", { project: params.project, limit: 100 }).catch(() => null),
    ]);
    if (apps.length === 0) {
      body = html`<div class="card">${empty({
        title: "No apps in this project",
        text: "An app is one service you deploy. It starts with a production and a preview environment.",
        action: html`<button class="btn btn-primary" data-action="create-app">${icon("plus")}New app</button>`,
      })}</div>`;
    } else {
      const cards = await Promise.all(apps.map((app) => loadApp(project, app, deployments)));
      body = cards;
    }
  } catch (error) {
    body = failure(error, "This project");
  }
  render(host, html`${head(project, params.project)}${body}`);
  ctx.ready(host);
}

async function loadApp(project, app, deployments) {
  let environments;
  try {
    environments = await data("environments.listEnvironments", { project: project.id, app: app.id });
  } catch (error) {
    return html`<section class="card"><div class="card-head"><h2>${app.name}</h2></div><div class="card-body">${failure(error, "Environments")}</div></section>`;
  }
  environments.sort((a, b) => (a.kind === b.kind ? a.slug.localeCompare(b.slug) : a.kind === "production" ? -1 : 1));
  const byEnvironment = await Promise.all(environments.map((environment) => ofEnvironment(app, environment, deployments)));
  return appCard(project, app, environments, byEnvironment);
}

// An environment's deployments from the project's list; production's live one is asked
// for on its own only when it is older than everything the list holds.
async function ofEnvironment(app, environment, deployments) {
  if (deployments === null) return null;
  const mine = deployments.filter((d) => d.app === app.slug && d.environment === environment.slug);
  const current = app.currentDeploymentId;
  if (environment.kind === "production" && current && !mine.some((d) => d.id === current)) {
    const live = await data("deployments.getDeployment", { deploymentId: current }).catch(() => null);
    if (live && live.environment === environment.slug) mine.push(live);
  }
  return mine;
}

async function createApp(projectSlug, ctx) {
  const created = await modal({
    title: "New app",
    description: "Deploy a pre-built image, or connect a GitHub repository to build on every push.",
    submitLabel: "Create app",
    body: html`
      <div class="form-row">
        ${field({ label: "Name", name: "name", required: true, placeholder: "API" })}
        ${field({ label: "Slug", name: "slug", required: true, placeholder: "api", pattern: SLUG_PATTERN, message: SLUG_MESSAGE, mono: true })}
      </div>
      ${field({ label: "Image (optional)", name: "image", loc: "oci.image", placeholder: "registry.example.com/api:v1", mono: true, help: "Leave empty to connect a repository instead." })}
      ${field({ label: "Repository (optional)", name: "repository", loc: "git.repository", placeholder: "owner/name", mono: true, pattern: "[A-Za-z0-9._\\-]+/[A-Za-z0-9._\\-]+", message: "Write the repository as owner/name." })}`,
    submit: async (_form, values) => {
      const body = { project: projectSlug, name: values.name, slug: values.slug };
      if (values.image) body.oci = { image: values.image };
      else if (values.repository) body.git = { repository: values.repository };
      await data("apps.createApp", body);
      return values.slug;
    },
  });
  if (created) {
    toast(`App ${created} created`);
    ctx.refresh();
  }
}
