// One keyspace's keys: create (the secret is shown once), revoke, disable, and set rate
// limits and credits. Every change reaches all Sentinel replicas within a second.

import { all, data } from "./api.js";
import { ago, html, number, render } from "./html.js";
import { busy, confirmAction, field, modal } from "./forms.js";
import { badge, copyButton, empty, failure, icon, loading, toast } from "./ui.js";
import { mountVerifications } from "./charts.js";

export const name = "keyspace";

const RATELIMIT_NAME = "requests";

function head(params, keyspace, count) {
  return html`<div class="crumbs"><a href="/dashboard/keyspaces">Keyspaces</a><span class="sep">/</span><span>${keyspace ? keyspace.name : params.keyspace}</span></div>
    <div class="page-head">
      <div><div class="title"><h1>${keyspace ? keyspace.name : params.keyspace}</h1>${badge(params.keyspace, "outline")}</div>
        <p class="subtitle">${count === null ? "" : `${count} ${count === 1 ? "key" : "keys"} · `}only a key's hash is stored; its secret is shown once, when it is created.</p></div>
      <div class="actions">
        <button class="btn btn-ghost danger" data-action="delete-keyspace">${icon("trash")}Delete keyspace</button>
        <button class="btn btn-primary" data-action="create-key">${icon("plus")}Create key</button>
      </div>
    </div>`;
}

function credits(key) {
  if (!key.credits || key.credits.remaining === null || key.credits.remaining === undefined) return html`<span class="muted">Unlimited</span>`;
  const refill = key.credits.refill ? html`<div class="cell-sub">+${number(key.credits.refill.amount)} ${key.credits.refill.interval}</div>` : "";
  return html`<div>${number(key.credits.remaining)} left</div>${refill}`;
}

function limits(key) {
  const list = key.ratelimits || [];
  if (!list.length) return html`<span class="muted">None</span>`;
  return list.map((r) => html`<div class="nowrap">${number(r.limit)} / ${r.duration >= 1000 ? `${r.duration / 1000}s` : `${r.duration}ms`}</div>`);
}

function status(key) {
  if (key.expires && key.expires <= Date.now()) return badge("Expired", "gray", true);
  return key.enabled ? badge("Active", "green", true) : badge("Disabled", "gray", true);
}

function row(key) {
  return html`<tr data-key="${key.keyId}">
    <td><div class="cell-main">${key.name || html`<span class="muted">Unnamed key</span>`}</div><div class="cell-sub mono">${key.start ? `${key.start}…` : "migrated"} · ${key.keyId}</div></td>
    <td>${status(key)}</td>
    <td>${credits(key)}</td>
    <td>${limits(key)}</td>
    <td class="muted nowrap">${key.lastUsedAt ? ago(key.lastUsedAt) : "Never"}</td>
    <td class="muted nowrap">${ago(key.createdAt)}</td>
    <td><div class="row-actions">
      <button class="btn btn-sm btn-ghost" data-do="limits" data-id="${key.keyId}">Limits</button>
      <button class="btn btn-sm btn-ghost" data-do="${key.enabled ? "disable" : "enable"}" data-id="${key.keyId}">${key.enabled ? "Disable" : "Enable"}</button>
      <button class="btn btn-sm btn-ghost danger" data-do="revoke" data-id="${key.keyId}">Revoke</button>
    </div></td>
  </tr>`;
}

export async function mount(host, params, ctx) {
  const state = { keyspace: null, keys: [] };
  const draw = async () => {
    let body;
    try {
      [state.keyspace, state.keys] = await Promise.all([
        data("apis.getApi", { apiId: params.keyspace }),
        all("apis.listKeys", { apiId: params.keyspace, limit: 100 }),
      ]);
      body = state.keys.length
        ? html`<div class="card"><table class="table"><thead><tr><th>Key</th><th>Status</th><th>Credits</th><th>Rate limits</th><th>Last used</th><th>Created</th><th class="right">Actions</th></tr></thead>
            <tbody>${state.keys.map(row)}</tbody></table></div>`
        : html`<div class="card">${empty({
            title: "No keys yet",
            text: "Create a key for each customer or service that calls your API. You see its secret once, then only its first characters.",
            iconName: "key",
            action: html`<button class="btn btn-primary" data-action="create-key">${icon("plus")}Create key</button>`,
          })}</div>`;
    } catch (error) {
      body = failure(error, "Keys");
    }
    render(host.querySelector("[data-keys-slot]"), html`${head(params, state.keyspace, state.keyspace ? state.keys.length : null)}${body}`);
  };
  // The verifications card keeps its own slot: redrawing the keys leaves its chart be.
  render(host, html`<div data-keys-slot>${head(params, null, null)}<div class="card">${loading()}</div></div><div data-verifications-slot></div>`);
  await draw();
  if (state.keyspace) mountVerifications(host.querySelector("[data-verifications-slot]"), ctx, params.keyspace);
  ctx.ready(host);

  host.addEventListener("click", async (event) => {
    const action = event.target.closest("[data-action]");
    if (action && action.dataset.action === "create-key") {
      if (await createKey(params.keyspace)) await draw();
      return;
    }
    if (action && action.dataset.action === "delete-keyspace") {
      if (await deleteKeyspace(state.keyspace || { id: params.keyspace, name: params.keyspace }, state.keys.length)) {
        ctx.navigate("/dashboard/keyspaces");
      }
      return;
    }
    const button = event.target.closest("[data-do]");
    if (!button) return;
    const key = state.keys.find((k) => k.keyId === button.dataset.id);
    if (!key) return;
    let changed = false;
    try {
      if (button.dataset.do === "revoke") changed = await revoke(key);
      else if (button.dataset.do === "limits") changed = await editLimits(key);
      else {
        const enabled = button.dataset.do === "enable";
        await busy(button, () => data("keys.updateKey", { keyId: key.keyId, enabled }));
        toast(enabled ? "Key enabled" : "Key disabled: gateways reject it within a second");
        changed = true;
      }
    } catch (error) {
      toast(error.detail || error.message, "error");
    }
    if (changed) await draw();
  });
}

async function createKey(apiId) {
  const created = await modal({
    title: "Create a key",
    description: "The secret is shown once, right after this. dockyard keeps only its hash.",
    submitLabel: "Create key",
    body: html`
      <div class="form-row">
        ${field({ label: "Name (optional)", name: "name", placeholder: "Acme Inc. production" })}
        ${field({ label: "Prefix (optional)", name: "prefix", mono: true, placeholder: "shop", pattern: "\\w{1,16}", message: "Up to 16 letters, digits or underscores." })}
      </div>
      <div class="form-row">
        ${field({ label: "Credits (optional)", name: "remaining", loc: "credits.remaining", type: "number", min: 0, placeholder: "Unlimited", help: "Each verified request uses one." })}
        ${field({ label: "Rate limit (optional)", name: "limit", loc: "ratelimits", type: "number", min: 1, placeholder: "Requests", help: "Requests per window." })}
        ${field({ label: "Window (seconds)", name: "window", loc: "ratelimits[0].duration", type: "number", min: 1, value: 60 })}
      </div>`,
    submit: async (_form, values) => {
      const body = { apiId };
      if (values.name) body.name = values.name;
      if (values.prefix) body.prefix = values.prefix;
      if (values.remaining !== "") body.credits = { remaining: Number(values.remaining) };
      if (values.limit !== "") {
        body.ratelimits = [{ name: RATELIMIT_NAME, limit: Number(values.limit), duration: Number(values.window || 60) * 1000, autoApply: true }];
      }
      return data("keys.createKey", body);
    },
  });
  if (!created || !created.key) return false;
  await modal({
    title: "Copy your key now",
    description: "This is the only time it is shown. Store it somewhere safe; if it is lost, revoke it and create another.",
    cancelLabel: "Done",
    body: html`<div class="secret"><code data-new-key>${created.key}</code>${copyButton(created.key)}</div>
      <p class="muted">Key id <code>${created.keyId}</code>. Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>`,
  });
  return true;
}

async function revoke(key) {
  const done = await confirmAction({
    title: `Revoke ${key.name || key.keyId}?`,
    description: "Every gateway rejects this key within a second. This cannot be undone.",
    submitLabel: "Revoke key",
    danger: true,
    body: html`<div class="secret"><code>${key.start ? `${key.start}…` : "migrated"}</code><span class="muted">${key.keyId}</span></div>`,
    submit: () => data("keys.deleteKey", { keyId: key.keyId }),
  });
  if (done) toast("Key revoked");
  return Boolean(done);
}

async function editLimits(key) {
  const current = (key.ratelimits || [])[0];
  const refill = key.credits && key.credits.refill;
  const remaining = key.credits && key.credits.remaining !== null && key.credits.remaining !== undefined ? key.credits.remaining : "";
  const done = await modal({
    title: "Rate limit and credits",
    description: `For ${key.name || key.keyId}. Gateways apply changes within a second.`,
    submitLabel: "Save limits",
    body: html`
      <div class="form-row">
        ${field({ label: "Requests per window", name: "limit", loc: "ratelimits", type: "number", min: 1, value: current ? current.limit : "", placeholder: "No limit" })}
        ${field({ label: "Window (seconds)", name: "window", loc: "ratelimits[0].duration", type: "number", min: 1, value: current ? current.duration / 1000 : 60 })}
      </div>
      <div class="form-row">
        ${field({ label: "Credits left", name: "remaining", loc: "credits.remaining", type: "number", min: 0, value: remaining, placeholder: "Unlimited" })}
        <div class="field"><label for="f-interval">Refill</label><select class="select input" id="f-interval" name="interval" data-loc="credits.refill.interval">
          <option value="">Never</option><option value="daily" ${refill && refill.interval === "daily" ? html`selected` : ""}>Daily</option><option value="monthly" ${refill && refill.interval === "monthly" ? html`selected` : ""}>Monthly</option></select></div>
        ${field({ label: "Refill amount", name: "amount", loc: "credits.refill.amount", type: "number", min: 1, value: refill ? refill.amount : "" })}
      </div>`,
    submit: async (_form, values) => {
      const body = { keyId: key.keyId };
      body.ratelimits = values.limit === "" ? null : [{ name: current ? current.name : RATELIMIT_NAME, limit: Number(values.limit), duration: Number(values.window || 60) * 1000, autoApply: true }];
      if (values.remaining === "") {
        body.credits = null;
      } else {
        body.credits = { remaining: Number(values.remaining) };
        if (values.interval) {
          if (values.amount === "") throw { status: 400, detail: "", errors: [{ location: "body.credits.refill.amount", message: "How many credits each refill adds." }] };
          body.credits.refill = { interval: values.interval, amount: Number(values.amount) };
        }
      }
      return data("keys.updateKey", body);
    },
  });
  if (done) toast("Limits saved");
  return Boolean(done);
}

async function deleteKeyspace(keyspace, count) {
  const done = await confirmAction({
    title: `Delete ${keyspace.name}?`,
    description: `Its ${count} ${count === 1 ? "key stops" : "keys stop"} working at every gateway within a second. This cannot be undone.`,
    submitLabel: "Delete keyspace",
    danger: true,
    submit: () => data("apis.deleteApi", { apiId: keyspace.id }),
  });
  if (done) toast("Keyspace deleted");
  return Boolean(done);
}
