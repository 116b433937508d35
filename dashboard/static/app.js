// The page shell and its router: addresses under /dashboard, each drawn by one page module.

import { session, whenUnauthorized } from "./api.js";
import { html, render } from "./html.js";
import { LOGO, config, icon } from "./ui.js";
import * as signIn from "./page-sign-in.js";
import * as projects from "./page-projects.js";
import * as project from "./page-project.js";
import * as environment from "./page-environment.js";
import * as deployment from "./page-deployment.js";
import * as keyspaces from "./page-keyspaces.js";
import * as keyspace from "./page-keyspace.js";

const ENV = "/dashboard/projects/:project/apps/:app/environments/:environment";
const ROUTES = [
  ["/dashboard/sign-in", signIn, {}],
  ["/dashboard/projects", projects, {}],
  ["/dashboard/projects/:project", project, {}],
  [ENV, environment, { tab: "deployments" }],
  [`${ENV}/domains`, environment, { tab: "domains" }],
  [`${ENV}/settings`, environment, { tab: "settings", section: "runtime" }],
  [`${ENV}/settings/:section`, environment, { tab: "settings" }],
  ["/dashboard/deployments/:deployment", deployment, {}],
  ["/dashboard/keyspaces", keyspaces, {}],
  ["/dashboard/keyspaces/:keyspace", keyspace, {}],
].map(([pattern, page, extra]) => ({ pattern, page, extra, regex: compile(pattern) }));

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  return { re: new RegExp(`^${source}/?$`), names };
}

function match(path) {
  for (const route of ROUTES) {
    const found = route.regex.re.exec(path);
    if (!found) continue;
    const params = { ...route.extra };
    route.regex.names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1])));
    return { route, params };
  }
  return null;
}

const app = document.getElementById("app");
let current = null;

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  show();
}

function refresh() {
  show({ keepScroll: true });
}

function shell(active) {
  const { workspace } = config();
  const item = (href, name, label, key) =>
    html`<a href="${href}" class="${active === key ? "active" : ""}">${icon(name)}<span>${label}</span></a>`;
  return html`<div class="shell">
    <aside class="sidebar">
      <a class="brand" href="/dashboard/projects"><img src="${LOGO}" alt=""><span class="brand-name">dockyard</span></a>
      <div class="nav-label">Deploy</div>
      <nav class="nav">${item("/dashboard/projects", "projects", "Projects", "projects")}</nav>
      <div class="nav-label">Gateway</div>
      <nav class="nav">${item("/dashboard/keyspaces", "key", "Keyspaces", "keyspaces")}</nav>
      <div class="sidebar-foot">
        <div class="workspace"><span class="avatar">${(workspace || "w").slice(0, 1).toUpperCase()}</span><div><b>${workspace || "workspace"}</b><span>Root key session</span></div></div>
        <nav class="nav">
          ${config().temporalUi ? html`<a href="${config().temporalUi}" target="_blank" rel="noopener noreferrer" title="Temporal Web UI">${icon("workflow")}<span>Temporal Web UI</span></a>` : ""}
          <a href="/dashboard/sign-in" data-sign-out title="Sign out">${icon("logout")}<span>Sign out</span></a>
        </nav>
      </div>
    </aside>
    <main class="main"><div class="page" id="page"></div></main>
  </div>`;
}

function show({ keepScroll = false } = {}) {
  if (current) current.stop();
  let path = location.pathname.replace(/\/+$/, "") || "/dashboard";
  if (path === "/dashboard") {
    history.replaceState(null, "", "/dashboard/projects");
    path = "/dashboard/projects";
  }
  const found = match(path);
  const isSignIn = found && found.route.page === signIn;
  if (!session.key && !isSignIn) {
    const next = path === "/dashboard/projects" ? "" : `?next=${encodeURIComponent(path)}`;
    history.replaceState(null, "", `/dashboard/sign-in${next}`);
    return show();
  }
  const timers = [];
  const controller = new AbortController();
  const ctx = {
    navigate,
    refresh,
    signal: controller.signal,
    every(ms, fn) {
      // A hidden tab stops polling; the next tick after it is shown catches up.
      timers.push(setInterval(() => document.hidden || fn(), ms));
    },
    ready(host) {
      host.dataset.ready = "true";
    },
  };
  current = {
    stop() {
      timers.forEach(clearInterval);
      controller.abort();
    },
  };
  if (isSignIn) {
    render(app, html`<div id="page"></div>`);
  } else {
    const active = path.startsWith("/dashboard/keyspaces") ? "keyspaces" : "projects";
    if (!app.querySelector(".shell") || app.dataset.active !== active) {
      render(app, shell(active));
      app.dataset.active = active;
    }
  }
  const host = document.createElement("div");
  host.className = "page-host";
  const page = document.getElementById("page");
  page.replaceChildren(host);
  if (!keepScroll) window.scrollTo(0, 0);
  if (!found) {
    render(host, html`<div class="card"><div class="empty"><h3>Nothing here</h3><p>No dashboard page lives at this address.</p><a class="btn" href="/dashboard/projects">Go to projects</a></div></div>`);
    ctx.ready(host);
    return;
  }
  host.dataset.page = found.route.page.name;
  found.route.page.mount(host, found.params, ctx);
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || !link.getAttribute("href").startsWith("/dashboard")) return;
  event.preventDefault();
  if (link.hasAttribute("data-sign-out")) {
    session.signOut();
    app.dataset.active = "";
  }
  navigate(link.getAttribute("href"));
});

window.addEventListener("popstate", () => show());

whenUnauthorized(() => {
  // The key was revoked, deleted or expired while signed in: back to the sign-in page.
  session.signOut();
  app.dataset.active = "";
  const path = location.pathname;
  if (!path.startsWith("/dashboard/sign-in")) {
    history.replaceState(null, "", `/dashboard/sign-in?expired=1&next=${encodeURIComponent(path)}`);
    show();
  }
});

show();
