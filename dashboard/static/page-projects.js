// Projects: every project of the workspace, and a form to create one.

import { all, data } from "./api.js";
import { ago, html, plural, render } from "./html.js";
import { SLUG_MESSAGE, SLUG_PATTERN, field, modal } from "./forms.js";
import { empty, failure, icon, loading, toast } from "./ui.js";

export const name = "projects";


function head() {
  return html`<div class="crumbs"><span>Projects</span></div>
    <div class="page-head">
      <div><div class="title"><h1>Projects</h1></div><p class="subtitle">Each project holds apps; each app runs in a production and a preview environment.</p></div>
      <div class="actions"><button class="btn btn-primary" data-action="create-project">${icon("plus")}New project</button></div>
    </div>`;
}

function tile(project, apps) {
  const initial = project.name.slice(0, 1).toUpperCase();
  return html`<a class="card tile" href="/dashboard/projects/${encodeURIComponent(project.slug)}" data-project="${project.slug}">
    <div class="tile-head"><span class="tile-icon">${initial}</span><div class="truncate"><h2 class="truncate">${project.name}</h2><div class="muted mono truncate">${project.slug}</div></div></div>
    <div class="meta">
      <span>${apps === null ? "apps unknown" : plural(apps.length, "app")}</span>
      <span>created ${ago(project.createdAt)}</span>
    </div>
  </a>`;
}

export async function mount(host, _params, ctx) {
  render(host, html`${head()}<div class="card">${loading()}</div>`);
  host.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=create-project]")) createProject(ctx);
  });
  let body;
  try {
    const projects = await all("projects.listProjects", { limit: 100 });
    if (projects.length === 0) {
      body = html`<div class="card">${empty({
        title: "No projects yet",
        text: "A project groups the apps you deploy. Create one, then deploy an image or connect a repository.",
        iconName: "projects",
        action: html`<button class="btn btn-primary" data-action="create-project">${icon("plus")}New project</button>`,
      })}</div>`;
    } else {
      const apps = await Promise.all(
        projects.map((project) => data("apps.listApps", { project: project.id, limit: 100 }).catch(() => null)),
      );
      body = html`<div class="grid grid-3">${projects.map((project, i) => tile(project, apps[i]))}</div>`;
    }
  } catch (error) {
    body = failure(error, "Projects");
  }
  render(host, html`${head()}${body}`);
  ctx.ready(host);
}

async function createProject(ctx) {
  const created = await modal({
    title: "New project",
    description: "The slug becomes part of every domain of the project's deployments.",
    submitLabel: "Create project",
    body: html`
      ${field({ label: "Name", name: "name", required: true, placeholder: "Shop" })}
      ${field({ label: "Slug", name: "slug", required: true, placeholder: "shop", pattern: SLUG_PATTERN, message: SLUG_MESSAGE, mono: true, help: "Lowercase letters, digits and '-'." })}`,
    submit: async (_form, values) => {
      await data("projects.createProject", { name: values.name, slug: values.slug });
      return values.slug;
    },
  });
  if (created) {
    toast(`Project ${created} created`);
    ctx.navigate(`/dashboard/projects/${encodeURIComponent(created)}`);
  }
}
