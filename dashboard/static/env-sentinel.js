// Sentinel, the gateway in front of the environment: which keyspaces' keys it accepts, and
// its ordered policy list. Both are saved with gateway.setPolicies (the whole list, in
// order); replicas with gateway.updateSettings.

import { dashboardRead, data } from "./api.js";
import { html, render } from "./html.js";
import { busy, clearErrors, fieldError, modal, showApiError } from "./forms.js";
import { badge, empty, failure, icon, loading, notice, toast } from "./ui.js";
import { RULES, RULE_LABEL, policyText, ruleOf } from "./policies.js";

const TEMPLATES = {
  ratelimit: { ratelimit: { limit: 100, windowMs: 60000, identifiers: [{ remoteIp: {} }] } },
  firewall: { match: [{ path: { path: { prefix: "/admin" } } }], firewall: { action: "ACTION_DENY" } },
  ipRules: { ipRules: { allow: ["10.0.0.0/8"] } },
  jwt: { jwt: { jwksUrl: "https://auth.example.com/.well-known/jwks.json", audiences: ["api"] } },
  openapi: { openapi: {} },
  logging: { logging: { requestHeaders: true, responseHeaders: false, requestBody: false, responseBody: false, query: true } },
  keyauth: { keyauth: { keyspaces: [] } },
};
const MAX_KEYSPACES = 5;

function scope(params) {
  return { project: params.project, app: params.app, environment: params.environment };
}

// What setPolicies takes: the stored policies without their server-made ids.
function forSaving(policies) {
  return policies.map(({ id, ...rest }) => rest);
}

function keyauthCard(keyspaces, chosen) {
  if (!keyspaces.length) {
    return html`<div class="card"><div class="card-head"><div><h2>API key authentication</h2><p>Only requests with a valid key reach the app.</p></div></div>
      ${empty({ title: "No keyspaces yet", text: "Create a keyspace first; then choose it here to require its keys.", iconName: "key", action: html`<a class="btn" href="/dashboard/keyspaces">Go to keyspaces</a>` })}</div>`;
  }
  return html`<form class="card" novalidate data-keyauth>
    <div class="card-head"><div><h2>API key authentication</h2><p>Requests without a valid, enabled key of a chosen keyspace get 401 before they reach the app.</p></div>
      ${chosen.length ? badge("On", "green", true) : badge("Off", "gray", true)}</div>
    <div class="card-body form"><div data-form-errors></div>
      <div class="field"><span class="label">Keyspaces (up to ${MAX_KEYSPACES})</span>
        <div class="choices" data-loc="keyauth">${keyspaces.map(
          (keyspace) => html`<label class="choice"><input type="checkbox" name="keyspaces" data-group value="${keyspace.id}" ${chosen.includes(keyspace.id) ? html`checked` : ""}>
            <span class="grow"><span class="cell-main">${keyspace.name}</span><span class="cell-sub mono"> ${keyspace.id}</span></span><span class="muted">${keyspace.keys} ${keyspace.keys === 1 ? "key" : "keys"}</span></label>`,
        )}</div>
        <div class="help">Keys are sent as <code>Authorization: Bearer &lt;key&gt;</code>. Clear every box to turn key auth off.</div>
      </div>
    </div>
    <div class="card-foot"><span class="note">Applies to the next deployment.</span><button class="btn btn-primary" type="submit">Save key auth</button></div>
  </form>`;
}

function policyRow(policy, index, count, names) {
  return html`<div class="policy field ${policy.enabled ? "" : "disabled"}" data-policy="${index}">
    <span class="order">${index + 1}</span>
    <div data-loc="policies[${index}]">${policyText(policy, names)}</div>
    <div class="row-actions">
      <input type="checkbox" class="switch" role="switch" aria-label="Enabled" title="${policy.enabled ? "Enabled" : "Disabled"}" data-do="toggle" data-index="${index}" ${policy.enabled ? html`checked` : ""}>
      <button type="button" class="btn btn-sm btn-ghost" data-do="up" data-index="${index}" ${index === 0 ? html`disabled` : ""} title="Move up">${icon("up")}<span class="sr-only">Move up</span></button>
      <button type="button" class="btn btn-sm btn-ghost" data-do="down" data-index="${index}" ${index === count - 1 ? html`disabled` : ""} title="Move down">${icon("down")}<span class="sr-only">Move down</span></button>
      <button type="button" class="btn btn-sm btn-ghost" data-do="edit" data-index="${index}">${icon("edit")}Edit</button>
      <button type="button" class="btn btn-sm btn-ghost danger" data-do="delete" data-index="${index}">${icon("trash")}<span class="sr-only">Delete</span></button>
    </div>
  </div>`;
}

function policiesCard(draft, dirty, names) {
  return html`<form class="card" novalidate data-policies>
    <div class="card-head"><div><h2>Policies</h2><p>Run in order on every request; the first one that rejects answers, and the app never sees the request.</p></div>
      <button type="button" class="btn btn-sm" data-do="add">${icon("plus")}Add policy</button></div>
    <div data-form-errors class="card-body"></div>
    ${draft.length ? draft.map((policy, i) => policyRow(policy, i, draft.length, names)) : empty({ title: "No policies", text: "Every request goes straight to the app. Add key auth, rate limits, IP rules or a JWT check.", iconName: "shield" })}
    <div class="card-foot"><span class="note">${dirty ? "Unsaved changes" : "Saved"}</span>
      <div class="row-actions">${dirty ? html`<button type="button" class="btn" data-do="discard">Discard</button>` : ""}<button class="btn btn-primary" type="submit" ${dirty ? "" : html`disabled`}>Save policies</button></div></div>
  </form>`;
}

function replicasCard() {
  return html`<form class="card" novalidate data-replicas>
    <div class="card-head"><div><h2>Sentinel replicas</h2><p>Gateway processes per region for this environment, isolated from every other environment's.</p></div></div>
    <div class="card-body form"><div data-form-errors></div>
      <div class="field"><label for="f-sentinelReplicas">Replicas per region</label>
        <input class="input" id="f-sentinelReplicas" name="sentinelReplicas" data-loc="sentinelReplicas" type="number" min="1" max="16" placeholder="Default: 3 in production, 1 in a preview" data-message="Between 1 and 16 replicas.">
        <div class="help">Empty goes back to the default. Edges start or stop replicas within a second.</div></div>
    </div>
    <div class="card-foot"><span class="note">Applies at once.</span><button class="btn btn-primary" type="submit">Save replicas</button></div>
  </form>`;
}

export async function mount(host, params) {
  render(host, loading());
  const state = { saved: [], draft: [], keyspaces: [], names: {} };
  let policiesError = null;
  let keyspacesError = null;
  const load = async () => {
    [state.saved, state.keyspaces] = await Promise.all([
      data("gateway.listPolicies", scope(params)).catch((error) => {
        policiesError = error;
        return [];
      }),
      dashboardRead("keyspaces").catch((error) => {
        keyspacesError = error;
        return [];
      }),
    ]);
    state.draft = structuredClone(state.saved);
    state.names = Object.fromEntries(state.keyspaces.map((k) => [k.id, k.name]));
  };
  const dirty = () => JSON.stringify(state.draft) !== JSON.stringify(state.saved);
  const draw = () => {
    if (policiesError) {
      render(host, html`${failure(policiesError, "Sentinel policies")}${replicasCard()}`);
      return;
    }
    const keyauth = state.draft.find((p) => ruleOf(p) === "keyauth");
    const chosen = keyauth ? keyauth.keyauth.keyspaces : [];
    render(
      host,
      html`${notice("info", "Policies apply to the next deployment", "Each deployment enforces the policies it was created with, so a rollback restores them too.")}
      ${keyspacesError ? failure(keyspacesError, "Keyspaces") : keyauthCard(state.keyspaces, chosen)}
      ${policiesCard(state.draft, dirty(), state.names)}
      ${replicasCard()}`,
    );
  };
  await load();
  draw();

  const save = async (form, policies) => {
    try {
      await busy(form.querySelector("button[type=submit]"), () => data("gateway.setPolicies", { ...scope(params), policies: forSaving(policies) }));
    } catch (error) {
      showApiError(form, error);
      return false;
    }
    await load();
    draw();
    return true;
  };

  host.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    if (form.matches("[data-keyauth]")) {
      const chosen = [...form.querySelectorAll("input[name=keyspaces]:checked")].map((input) => input.value);
      if (chosen.length > MAX_KEYSPACES) {
        fieldError(form.querySelector("input[name=keyspaces]"), `Choose at most ${MAX_KEYSPACES} keyspaces.`);
        return;
      }
      const policies = structuredClone(state.draft);
      const index = policies.findIndex((p) => ruleOf(p) === "keyauth");
      if (chosen.length && index >= 0) policies[index].keyauth.keyspaces = chosen;
      else if (chosen.length) policies.unshift({ name: "API key auth", enabled: true, keyauth: { keyspaces: chosen } });
      else if (index >= 0) policies.splice(index, 1);
      if (await save(form, policies)) toast(chosen.length ? "Key auth saved" : "Key auth turned off");
    } else if (form.matches("[data-policies]")) {
      if (await save(form, state.draft)) toast("Policies saved");
    } else if (form.matches("[data-replicas]")) {
      const input = form.querySelector("input[name=sentinelReplicas]");
      if (input.value && !input.checkValidity()) {
        fieldError(input, input.dataset.message);
        return;
      }
      try {
        await busy(form.querySelector("button[type=submit]"), () =>
          data("gateway.updateSettings", { ...scope(params), sentinelReplicas: input.value ? Number(input.value) : null }),
        );
        toast(input.value ? `Sentinel runs ${input.value} replicas per region` : "Sentinel replicas back to the default");
      } catch (error) {
        showApiError(form, error);
      }
    }
  });

  host.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-do]");
    if (!button || button.dataset.do === "toggle") return;
    const index = Number(button.dataset.index);
    const draft = state.draft;
    switch (button.dataset.do) {
      case "up":
        [draft[index - 1], draft[index]] = [draft[index], draft[index - 1]];
        break;
      case "down":
        [draft[index + 1], draft[index]] = [draft[index], draft[index + 1]];
        break;
      case "delete":
        draft.splice(index, 1);
        break;
      case "discard":
        state.draft = structuredClone(state.saved);
        break;
      case "edit": {
        const edited = await editPolicy(draft[index]);
        if (edited) draft[index] = edited;
        break;
      }
      case "add": {
        const added = await editPolicy(null);
        if (added) draft.push(added);
        break;
      }
      default:
        return;
    }
    draw();
  });

  host.addEventListener("change", (event) => {
    const toggle = event.target.closest("[data-do=toggle]");
    if (!toggle) return;
    state.draft[Number(toggle.dataset.index)].enabled = toggle.checked;
    draw();
  });
}

// A policy's name, switch and rule (as JSON, Unkey's shape); null when cancelled.
function editPolicy(policy) {
  const isNew = policy === null;
  const rule = isNew ? "ratelimit" : ruleOf(policy);
  const { id, name, enabled, ...rest } = policy || { name: "", enabled: true, ...TEMPLATES.ratelimit };
  return modal({
    title: isNew ? "Add a policy" : `Edit ${name}`,
    description: "The rule is written in Unkey's policy shape: one rule, and optional match conditions.",
    submitLabel: isNew ? "Add to list" : "Update",
    wide: true,
    body: html`
      <div class="form-row">
        <div class="field"><label for="p-name">Name</label><input class="input" id="p-name" name="name" data-loc="name" value="${name}" required placeholder="Rate limit per IP"></div>
        ${isNew
          ? html`<div class="field"><label for="p-type">Type</label><select class="select input" id="p-type" name="type">${Object.keys(TEMPLATES).map((key) => html`<option value="${key}" ${key === rule ? html`selected` : ""}>${RULE_LABEL[key]}</option>`)}</select></div>`
          : ""}
      </div>
      <div class="field"><label for="p-rule">Rule</label>
        <textarea class="input code" id="p-rule" name="rule" data-loc="rule" rows="10" spellcheck="false">${JSON.stringify(rest, null, 2)}</textarea>
        <div class="help">Exactly one of ${RULES.join(", ")}; <code>match</code> narrows the requests it applies to.</div></div>
      <label class="check"><input type="checkbox" name="enabled" ${enabled ? html`checked` : ""}>Enabled</label>`,
    submit: async (form, values) => {
      let parsed;
      try {
        parsed = JSON.parse(form.querySelector("#p-rule").value);
      } catch (error) {
        throw { status: 400, detail: "", errors: [{ location: "body.rule", message: `This is not valid JSON: ${error.message}` }] };
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw { status: 400, detail: "", errors: [{ location: "body.rule", message: "The rule must be a JSON object." }] };
      }
      const rules = RULES.filter((key) => parsed[key] !== undefined);
      if (rules.length !== 1) {
        throw { status: 400, detail: "", errors: [{ location: "body.rule", message: `Set exactly one of ${RULES.join(", ")}.` }] };
      }
      const out = { name: values.name, enabled: values.enabled, ...parsed };
      if (!isNew && id) out.id = id;
      return out;
    },
  }).then((result) => (result && result !== true ? result : null));
}

// The type picker fills the rule with that type's template.
document.addEventListener("change", (event) => {
  const picker = event.target.closest("#p-type");
  if (!picker) return;
  const area = picker.closest("form").querySelector("#p-rule");
  area.value = JSON.stringify(TEMPLATES[picker.value], null, 2);
});

