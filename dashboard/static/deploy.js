// Deployments as every page shows them, and the actions on them: deploy, redeploy,
// promote, roll back, stop and start. Each action is one /v2 call, after a confirmation
// that says what will change.

import { data } from "./api.js";
import { ago, duration, html, shortSha } from "./html.js";
import { field, modal } from "./forms.js";
import { config, domainLink, icon, toast } from "./ui.js";

export const TRIGGER = "dashboard";

export function isProduction(deployment, environment) {
  if (environment) return environment.kind === "production";
  return deployment.environment === "production";
}

// What the deployment runs, in one line: the commit (with its message) or the image.
export function source(deployment, { long = false } = {}) {
  const git = deployment.git;
  if (git) {
    const message = git.commitMessage ? git.commitMessage.split("\n")[0] : "";
    return html`<div class="commit">
      <div class="message">${message || html`<span class="muted">No commit message</span>`}</div>
      <div class="cell-sub nowrap">${git.author ? html`<span class="author">${git.author.handle}</span> · ` : ""}${git.branch ? html`<span class="branch">${icon("branch")}${git.branch}</span> · ` : ""}<code>${shortSha(git.commitSha)}</code>${long && deployment.docker ? html` · <code>${deployment.docker.image}</code>` : ""}</div>
    </div>`;
  }
  if (deployment.docker) {
    return html`<div class="commit"><div class="message mono">${deployment.docker.image}</div><div class="cell-sub">Pre-built image</div></div>`;
  }
  return html`<span class="muted">Unknown source</span>`;
}

export function sourceText(deployment) {
  if (deployment.git) {
    const branch = deployment.git.branch ? `${deployment.git.branch} @ ` : "";
    return `${branch}${shortSha(deployment.git.commitSha)}`;
  }
  return deployment.docker ? deployment.docker.image : "unknown source";
}

export function took(deployment) {
  if (!deployment.finishedAt) return "";
  return duration(deployment.finishedAt - deployment.createdAt);
}

export function age(deployment) {
  return ago(deployment.createdAt);
}

const TRIGGERS = { api: "API", cli: "CLI", dashboard: "Dashboard", github: "GitHub push", unkey: "Unkey", unknown: "Unknown" };
export function trigger(deployment) {
  const via = deployment.trigger ? deployment.trigger.via : "unknown";
  return TRIGGERS[via] || via;
}

// The deployment an environment serves: production's current one, else the newest ready.
export function liveOf(deployments, environment) {
  if (environment.kind === "production") return deployments.find((d) => d.isCurrent) || null;
  return deployments.find((d) => d.status === "ready") || null;
}

// Domains, most general first: live, environment, branch, then commit and deployment.
export function orderedDomains(deployment) {
  return [...(deployment.domains || [])].sort((a, b) => rank(a) - rank(b) || a.length - b.length);
}

function rank(hostname) {
  const label = hostname.split(".")[0];
  if (label.includes("-dep-")) return 4;
  if (label.includes("-git-")) return /-git-[0-9a-f]{7}-/.test(label) ? 3 : 2;
  return 1;
}

export function domainList(deployment, limit = 3) {
  const domains = orderedDomains(deployment);
  if (!domains.length) return html`<span class="muted">No domains yet</span>`;
  const shown = domains.slice(0, limit);
  const more = domains.length - shown.length;
  return html`<div class="domains">${shown.map(domainLink)}${more > 0 ? html`<span class="muted">+${more} more</span>` : ""}</div>`;
}

// ---- actions ----------------------------------------------------------------------------

const ACTION_LABEL = { promote: "Promote", rollback: "Roll back", stop: "Stop", start: "Start" };
const ACTION_ICON = { promote: "promote", rollback: "rollback", stop: "stop", start: "play" };

export function actionButtons(deployment, { small = true, redeploy = true } = {}) {
  const size = small ? "btn-sm" : "";
  const buttons = (deployment.availableActions || []).map(
    (action) => html`<button class="btn ${size}" data-action="${action}" data-deployment="${deployment.id}">${icon(ACTION_ICON[action])}${ACTION_LABEL[action]}</button>`,
  );
  if (redeploy) {
    buttons.push(html`<button class="btn ${size} ${small ? "btn-ghost" : ""}" data-action="redeploy" data-deployment="${deployment.id}" title="Deploy the same source again" aria-label="Redeploy">${icon("redeploy")}<span class="label">Redeploy</span></button>`);
  }
  return buttons;
}

function standbyText() {
  const minutes = config().standbyMinutes;
  return minutes ? `${minutes} minutes` : "the standby window";
}

function summaryBox(label, deployment) {
  if (!deployment) return html`<div><small>${label}</small><span class="muted">nothing</span></div>`;
  return html`<div><small>${label}</small><div class="mono truncate">${deployment.id}</div><div class="cell-sub truncate">${sourceText(deployment)}</div></div>`;
}

function confirmation(action, deployment, current) {
  const live = current ? orderedDomains(current).filter((d) => rank(d) === 1) : [];
  const where = live.length ? live.join(", ") : "the live domain";
  const change = html`<div class="change">${summaryBox("Live now", current)}<span class="arrow">→</span>${summaryBox(action === "stop" ? "Stopped" : "Live after", deployment)}</div>`;
  switch (action) {
    case "rollback":
      return {
        title: "Roll back production?",
        description: `Traffic on ${where} moves to an earlier deployment within seconds. Nothing is rebuilt.`,
        submitLabel: "Roll back",
        danger: true,
        body: html`${change}<ul class="bullets">
          <li>${current ? html`<code>${current.id}</code> stays warm on standby for ${standbyText()}, so you can promote it back.` : "The current deployment stays warm on standby."}</li>
          <li>Until you promote a deployment, new production deployments will not go live on their own.</li>
        </ul>`,
      };
    case "promote":
      return {
        title: "Promote to production?",
        description: `${where} will serve this deployment within seconds.`,
        submitLabel: "Promote",
        body: html`${change}<ul class="bullets"><li>New production deployments go live on their own again.</li>${deployment.status === "stopped" ? html`<li>This deployment is stopped: its instances start first.</li>` : ""}</ul>`,
      };
    case "stop":
      return {
        title: "Stop this preview?",
        description: "Its instances stop and its domains answer 503 until you start it again.",
        submitLabel: "Stop deployment",
        danger: true,
        body: html`<p class="muted">Start it again at any time with the configuration it was created with.</p>`,
      };
    case "start":
      return {
        title: "Start this preview?",
        description: "Its instances start again with the configuration it was created with, and its domains serve it once healthy.",
        submitLabel: "Start deployment",
        body: html``,
      };
    default:
      return null;
  }
}

const OPERATIONS = {
  promote: "deployments.promoteDeployment",
  rollback: "deployments.rollbackDeployment",
  stop: "deployments.stopDeployment",
  start: "deployments.startDeployment",
};
const DONE = { promote: "Promoted", rollback: "Rolled back to", stop: "Stopping", start: "Starting" };

// Run `action` on `deployment` after confirmation; true when it was sent.
export async function runAction(action, deployment, { current, onDone }) {
  const text = confirmation(action, deployment, current);
  const done = await modal({
    ...text,
    submit: async () => {
      await data(OPERATIONS[action], { deploymentId: deployment.id });
      return true;
    },
  });
  if (done) {
    toast(`${DONE[action]} ${deployment.id}`);
    if (onDone) onDone();
  }
  return Boolean(done);
}

// Re-run an earlier deployment: the same image, or a rebuild of the same commit.
export async function redeploy(deployment, { navigate }) {
  const rebuild = deployment.git && !deployment.docker;
  const created = await modal({
    title: "Redeploy?",
    description: rebuild
      ? "dockyard builds the same commit again and rolls it out as a new deployment."
      : "dockyard rolls out the same image again as a new deployment, with the environment's current settings.",
    submitLabel: "Redeploy",
    body: html`<div class="change">${summaryBox("Source", deployment)}<span class="arrow">→</span><div><small>Environment</small><div>${deployment.project} / ${deployment.app}</div><div class="cell-sub">${deployment.environment}</div></div></div>`,
    submit: async () =>
      data(
        "deployments.createDeployment",
        {
          project: deployment.project,
          app: deployment.app,
          environment: deployment.environment,
          deployment: { deploymentId: deployment.id },
        },
        { trigger: TRIGGER },
      ),
  });
  if (created && created.deploymentId) {
    toast(`Deployment ${created.deploymentId} started`);
    navigate(`/dashboard/deployments/${encodeURIComponent(created.deploymentId)}`);
  }
}

// Deploy a commit or branch of the app's repository, or a pre-built image. A commit can
// only be built from a connected repository, so without one the image comes first.
export async function deployForm({ project, app, environment, appInfo, navigate }) {
  const repository = appInfo && appInfo.git ? appInfo.git.repository : "";
  const defaultKind = repository && appInfo.sourceType !== "oci" ? "git" : "image";
  const image = appInfo && appInfo.oci ? appInfo.oci.image : "";
  const branch = appInfo && appInfo.git ? appInfo.git.defaultBranch || "" : "";
  const created = await modal({
    title: `Deploy to ${environment}`,
    description: "A new deployment of this environment, with its current settings, variables and policies.",
    submitLabel: "Deploy",
    body: html`
      <div class="segmented" role="radiogroup" aria-label="Source">
        <label><input type="radio" name="kind" value="git" ${defaultKind === "git" ? html`checked` : ""}>Commit or branch</label>
        <label><input type="radio" name="kind" value="image" ${defaultKind === "image" ? html`checked` : ""}>Pre-built image</label>
      </div>
      <div data-kind="git" class="form ${defaultKind === "git" ? "" : "hidden"}">
        <div class="form-row">
          ${field({ label: "Branch", name: "branch", loc: "git.branch", value: branch, placeholder: "main", pattern: "\\S+", message: "A branch name has no spaces." })}
          ${field({ label: "Commit SHA", name: "commitSha", loc: "git.commitSha", placeholder: "9f2c1a7", mono: true, pattern: "[0-9a-fA-F]{4,40}", message: "A commit SHA is 4 to 40 hexadecimal characters." })}
        </div>
        ${repository
          ? html`<div class="help muted">Leave the commit empty to deploy the branch's newest commit of <code>${repository}</code>.</div>`
          : html`<div class="help muted" data-no-repository>This app has no repository connected: a commit or branch deploys only once one is.</div>`}
      </div>
      <div data-kind="image" class="form ${defaultKind === "image" ? "" : "hidden"}">
        ${field({ label: "Image", name: "image", loc: "image.dockerImage", value: image, placeholder: "registry.example.com/shop:v2", mono: true, help: "A tag or a digest; the worker must be able to pull it (or have it locally)." })}
      </div>`,
    submit: async (form, values) => {
      const body = { project, app, environment };
      if (values.kind === "image") {
        if (!values.image) throw fieldProblem("image.dockerImage", "Enter the image to deploy.");
        body.image = { dockerImage: values.image };
      } else {
        if (!values.branch && !values.commitSha) throw fieldProblem("git.branch", "Enter a branch, a commit SHA, or both.");
        body.git = {};
        if (values.branch) body.git.branch = values.branch;
        if (values.commitSha) body.git.commitSha = values.commitSha;
      }
      return data("deployments.createDeployment", body, { trigger: TRIGGER });
    },
  });
  if (created && created.deploymentId) {
    toast(`Deployment ${created.deploymentId} started`);
    navigate(`/dashboard/deployments/${encodeURIComponent(created.deploymentId)}`);
  }
}

// A field problem found before calling the API, shaped like the API's own 400.
function fieldProblem(location, message) {
  return { status: 400, errors: [{ location: `body.${location}`, message }], detail: message };
}

// The deploy form switches its fields with the source kind.
document.addEventListener("change", (event) => {
  const radio = event.target.closest("input[name=kind]");
  if (!radio) return;
  const form = radio.closest("form");
  form.querySelectorAll("[data-kind]").forEach((part) => part.classList.toggle("hidden", part.dataset.kind !== radio.value));
  form.querySelectorAll("[data-kind] input").forEach((input) => (input.disabled = input.closest("[data-kind]").dataset.kind !== radio.value));
});
