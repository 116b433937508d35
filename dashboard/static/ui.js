// The dashboard's parts: icons, status badges, notices, links, toasts, copy buttons.

import { html, render, trusted } from "./html.js";

// ---- icons (24px grid, stroked) -------------------------------------------------------

const PATHS = {
  projects: '<rect x="3" y="3" width="7.5" height="7.5" rx="1.5"/><rect x="13.5" y="3" width="7.5" height="7.5" rx="1.5"/><rect x="3" y="13.5" width="7.5" height="7.5" rx="1.5"/><rect x="13.5" y="13.5" width="7.5" height="7.5" rx="1.5"/>',
  key: '<circle cx="8" cy="15" r="4.5"/><path d="M11.2 11.8 20 3M16.5 6.5l3 3M14 9l2 2"/>',
  external: '<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>',
  branch: '<circle cx="6" cy="5" r="2"/><circle cx="6" cy="19" r="2"/><circle cx="18" cy="7" r="2"/><path d="M6 7v10M18 9c0 5-6 4-11.3 8.7"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  rocket: '<path d="M5 15c-1.5 1.5-2 5-2 5s3.5-.5 5-2M9 15l-3-3c1-4 4-8 9-9 2-.3 4 0 5 1 1 1 1.3 3 1 5-1 5-5 8-9 9z"/><circle cx="15" cy="9" r="1.6"/>',
  rollback: '<path d="M4 5v5h5"/><path d="M4.5 10A8 8 0 1 1 6 17"/>',
  promote: '<path d="M12 19V5M6 11l6-6 6 6"/>',
  play: '<path d="M7 4.5v15l12-7.5z"/>',
  stop: '<rect x="6" y="6" width="12" height="12" rx="1.5"/>',
  redeploy: '<path d="M20 12a8 8 0 1 1-2.3-5.7"/><path d="M20 4v5h-5"/>',
  alert: '<path d="M12 3 2 20h20z"/><path d="M12 10v4M12 17v.5"/>',
  info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8v.5"/>',
  error: '<circle cx="12" cy="12" r="9"/><path d="m9 9 6 6M15 9l-6 6"/>',
  copy: '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3"/>',
  logout: '<path d="M15 4h4a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1h-4M10 8l-4 4 4 4M6 12h10"/>',
  globe: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>',
  shield: '<path d="M12 3 4 6v6c0 5 3.5 8 8 9 4.5-1 8-4 8-9V6z"/>',
  settings: '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M4.9 4.9 7 7M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1 7 17M17 7l2.1-2.1"/>',
  terminal: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="m7 9 3 3-3 3M13 15h4"/>',
  workflow: '<circle cx="6" cy="6" r="2.5"/><circle cx="18" cy="18" r="2.5"/><path d="M8.5 6H15a3 3 0 0 1 0 6H9a3 3 0 0 0 0 6h6.5"/>',
  box: '<path d="M12 3 3.5 7.5v9L12 21l8.5-4.5v-9z"/><path d="M3.5 7.5 12 12l8.5-4.5M12 12v9"/>',
  up: '<path d="m6 15 6-6 6 6"/>',
  down: '<path d="m6 9 6 6 6-6"/>',
  trash: '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>',
  edit: '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
  lock: '<rect x="5" y="10" width="14" height="10" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/>',
  check: '<path d="m5 12 5 5 9-10"/>',
};

export function icon(name) {
  return trusted(
    `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${PATHS[name] || ""}</svg>`,
  );
}

// ---- deployment status ------------------------------------------------------------------

export const FINAL = new Set(["ready", "failed", "skipped", "superseded", "cancelled", "stopped"]);

const STATUS = {
  pending: ["Queued", "amber"],
  starting: ["Starting", "amber"],
  building: ["Building", "amber"],
  deploying: ["Deploying", "amber"],
  network: ["Assigning domains", "amber"],
  finalizing: ["Finalizing", "amber"],
  awaiting_approval: ["Awaiting approval", "amber"],
  ready: ["Ready", "green"],
  failed: ["Failed", "red"],
  stopped: ["Stopped", "gray"],
  superseded: ["Superseded", "gray"],
  cancelled: ["Cancelled", "gray"],
  skipped: ["Skipped", "gray"],
};

// A ready production deployment that is not the live one is warm on standby.
export function statusOf(deployment, production) {
  if (deployment.status === "ready" && production && !deployment.isCurrent) {
    return ["Standby", "blue"];
  }
  return STATUS[deployment.status] || [deployment.status, "gray"];
}

export function statusBadge(deployment, production) {
  const [label, color] = statusOf(deployment, production);
  return html`<span class="badge ${color}" data-status="${deployment.status}"><span class="dot"></span>${label}</span>`;
}

export function badge(label, color = "gray", dot = false) {
  return html`<span class="badge ${color}">${dot ? html`<span class="dot"></span>` : ""}${label}</span>`;
}

export function kindBadge(kind) {
  return kind === "production" ? badge("Production", "dark") : badge("Preview", "outline");
}

// ---- notices, empty states, loading -------------------------------------------------------

export function empty({ title, text, action, iconName = "box" }) {
  return html`<div class="empty">
    <div class="icon">${icon(iconName)}</div>
    <h3>${title}</h3>
    ${text ? html`<p>${text}</p>` : ""}
    ${action || ""}
  </div>`;
}

export function notice(kind, title, text) {
  const name = kind === "warn" ? "alert" : kind === "error" ? "error" : "info";
  return html`<div class="notice ${kind}" role="${kind === "error" ? "alert" : "status"}">
    ${icon(name)}<div><b>${title}</b><p>${text}</p></div>
  </div>`;
}

// What a section shows when its read failed: "not available yet" for an operation this
// dockyard does not have, the API's own message otherwise.
export function failure(error, what) {
  if (error && error.missing) {
    return html`<div data-missing="${error.operation}">${notice(
      "warn",
      `${what}: not available on this dockyard yet`,
      html`This needs <code>${error.operation}</code>, which this dockyard's API does not offer yet (it answered ${error.status}). The rest of the page works.`,
    )}</div>`;
  }
  const id = error && error.requestId ? html` <span class="muted mono">(${error.requestId})</span>` : "";
  return notice("error", `Could not load ${what.toLowerCase()}`, html`${error ? error.detail || error.message : "Unknown error"}${id}`);
}

export function loading(rows = 3) {
  return html`<div class="loading" aria-busy="true">${Array.from({ length: rows }, (_, i) => html`<div class="skeleton" data-w="${i}"></div>`)}</div>`;
}

// ---- links ------------------------------------------------------------------------------

// The logo, from the same (versioned, cached) folder as this module.
export const LOGO = new URL("./favicon.svg", import.meta.url).pathname;

export function config() {
  const meta = document.querySelector('meta[name="dockyard-config"]');
  try {
    return JSON.parse(meta.content);
  } catch {
    return {};
  }
}

export function domainUrl(hostname) {
  const port = config().edgePort;
  return `http://${hostname}${port && port !== 80 ? `:${port}` : ""}/`;
}

export function domainLink(hostname) {
  return html`<a class="domain-link" href="${domainUrl(hostname)}" target="_blank" rel="noopener noreferrer" title="${hostname}"><span>${hostname}</span>${icon("external")}</a>`;
}

export function workflowUrl(deploymentId) {
  const { temporalUi, temporalNamespace } = config();
  if (!temporalUi) return null;
  const base = temporalUi.replace(/\/$/, "");
  return `${base}/namespaces/${encodeURIComponent(temporalNamespace || "default")}/workflows/deploy-${encodeURIComponent(deploymentId)}`;
}

// ---- toasts -------------------------------------------------------------------------------

export function toast(message, kind = "ok") {
  let host = document.querySelector(".toasts");
  if (!host) {
    host = document.createElement("div");
    host.className = "toasts";
    document.body.append(host);
  }
  const item = document.createElement("div");
  item.className = `toast ${kind === "error" ? "error" : ""}`;
  item.setAttribute("role", "status");
  render(item, html`<span class="dot"></span><span>${message}</span>`);
  host.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 3500);
}

// ---- copy -------------------------------------------------------------------------------

export function copyButton(text, label = "Copy") {
  return html`<button type="button" class="btn btn-sm" data-copy="${text}">${icon("copy")}<span>${label}</span></button>`;
}

async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "sr-only";
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  try {
    await copy(button.dataset.copy);
    const label = button.querySelector("span");
    if (label) {
      const before = label.textContent;
      label.textContent = "Copied";
      setTimeout(() => (label.textContent = before), 1500);
    }
  } catch {
    toast("Copying failed: select the text and copy it yourself.", "error");
  }
});
