// An environment's variables. Write-only values are never sent back by the API, so they
// are never shown; recoverable ones are shown on request.

import { all, data } from "./api.js";
import { ago, html, render } from "./html.js";
import { busy, clearErrors, confirmAction, showApiError, validate, values } from "./forms.js";
import { badge, empty, failure, icon, loading, toast } from "./ui.js";

function scope(params) {
  return { project: params.project, app: params.app, environment: params.environment };
}

function addForm() {
  return html`<form class="card" novalidate data-add-variable>
    <div class="card-head"><div><h2>Add or replace a variable</h2><p>Setting a key that exists replaces its value.</p></div></div>
    <div class="card-body form"><div data-form-errors></div>
      <div class="form-row">
        <div class="field"><label for="var-key">Key</label><input class="input code" id="var-key" name="key" data-loc="variables[0].key" placeholder="DATABASE_URL" autocomplete="off" required pattern="[A-Za-z_][A-Za-z0-9_]*" data-message="Letters, digits and underscores, not starting with a digit."></div>
        <div class="field"><label for="var-value">Value</label><input class="input code" id="var-value" name="value" data-loc="variables[0].value" type="password" autocomplete="new-password" required></div>
      </div>
      <div class="form-row">
        <div class="field"><label for="var-kind">Visibility</label>
          <select class="select input" id="var-kind" name="kind" data-loc="variables[0].kind">
            <option value="writeonly" selected>Write-only: never shown again</option>
            <option value="recoverable">Recoverable: readable with the right permission</option>
          </select></div>
        <div class="field"><label for="var-description">Description (optional)</label><input class="input" id="var-description" name="description" data-loc="variables[0].description" autocomplete="off"></div>
      </div>
    </div>
    <div class="card-foot"><span class="note">Applies to the next deployment.</span><button class="btn btn-primary" type="submit">${icon("plus")}Save variable</button></div>
  </form>`;
}

function row(variable) {
  const value =
    variable.kind === "writeonly"
      ? html`<span class="muted">${icon("lock")} hidden (write-only)</span>`
      : variable.value === undefined
        ? html`<span class="muted">not readable with this key</span>`
        : html`<span class="mono" data-secret="${variable.value}">••••••••</span> <button class="btn btn-sm btn-ghost" data-do="reveal">Show</button>`;
  return html`<tr data-variable="${variable.key}">
    <td><div class="cell-main mono">${variable.key}</div>${variable.description ? html`<div class="cell-sub">${variable.description}</div>` : ""}</td>
    <td>${variable.kind === "writeonly" ? badge("Write-only", "outline") : badge("Recoverable", "blue")}</td>
    <td class="value-cell">${value}</td>
    <td class="nowrap muted">${ago(variable.createdAt)}</td>
    <td class="right"><button class="btn btn-sm btn-ghost danger" data-do="remove" data-key="${variable.key}">${icon("trash")}Remove</button></td>
  </tr>`;
}

export async function mount(host, params) {
  render(host, loading());
  const draw = async () => {
    let list;
    try {
      list = await all("environments.listEnvironmentVariables", { ...scope(params), limit: 100 });
    } catch (error) {
      render(host, failure(error, "Environment variables"));
      return;
    }
    render(
      host,
      html`${addForm()}
      <div class="section-title"><h2>Variables</h2><span class="muted">${list.length || ""}</span></div>
      ${list.length
        ? html`<div class="card"><table class="table"><thead><tr><th>Key</th><th>Visibility</th><th>Value</th><th>Updated</th><th></th></tr></thead><tbody>${list.map(row)}</tbody></table></div>`
        : html`<div class="card">${empty({ title: "No variables", text: "Variables reach every instance as environment variables. Values are encrypted at rest.", iconName: "lock" })}</div>`}`,
    );
  };
  await draw();
  host.addEventListener("submit", async (event) => {
    const form = event.target.closest("[data-add-variable]");
    if (!form) return;
    event.preventDefault();
    if (!validate(form)) return;
    const v = values(form);
    const variable = { key: v.key, value: form.querySelector("#var-value").value, kind: v.kind };
    if (v.description) variable.description = v.description;
    try {
      await busy(form.querySelector("button[type=submit]"), () => data("environments.setEnvironmentVariables", { ...scope(params), variables: [variable] }));
    } catch (error) {
      showApiError(form, error);
      return;
    }
    clearErrors(form);
    toast(`${variable.key} saved`);
    await draw();
  });
  host.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-do]");
    if (!button) return;
    if (button.dataset.do === "reveal") {
      const secret = button.parentElement.querySelector("[data-secret]");
      secret.textContent = secret.dataset.secret;
      button.remove();
    } else if (button.dataset.do === "remove") {
      const key = button.dataset.key;
      const done = await confirmAction({
        title: `Remove ${key}?`,
        description: "The next deployment runs without it. Deployments running now keep the value they were created with.",
        submitLabel: "Remove variable",
        danger: true,
        submit: () => data("environments.removeEnvironmentVariables", { ...scope(params), variables: [key] }),
      });
      if (done) {
        toast(`${key} removed`);
        await draw();
      }
    }
  });
}

