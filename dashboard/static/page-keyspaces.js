// Keyspaces ("APIs" in Unkey's words): the sets of keys Sentinel can require.

import { dashboardRead, data } from "./api.js";
import { ago, html, plural, render } from "./html.js";
import { field, modal } from "./forms.js";
import { empty, failure, icon, loading, toast } from "./ui.js";

export const name = "keyspaces";

function head() {
  return html`<div class="crumbs"><span>Keyspaces</span></div>
    <div class="page-head">
      <div><div class="title"><h1>Keyspaces</h1></div><p class="subtitle">Keys your users send; Sentinel checks them before a request reaches an app.</p></div>
      <div class="actions"><button class="btn btn-primary" data-action="create-keyspace">${icon("plus")}New keyspace</button></div>
    </div>`;
}

export async function mount(host, _params, ctx) {
  render(host, html`${head()}<div class="card">${loading()}</div>`);
  host.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=create-keyspace]")) createKeyspace(ctx);
  });
  let body;
  try {
    const keyspaces = await dashboardRead("keyspaces");
    body = keyspaces.length
      ? html`<div class="card"><table class="table"><thead><tr><th>Name</th><th>Id</th><th>Keys</th><th>Created</th></tr></thead><tbody>
          ${keyspaces.map((k) => html`<tr data-keyspace="${k.id}"><td><a class="cell-main" href="/dashboard/keyspaces/${encodeURIComponent(k.id)}">${k.name}</a></td><td class="mono muted">${k.id}</td><td>${plural(k.keys, "key")}</td><td class="muted">${ago(k.createdAt)}</td></tr>`)}
        </tbody></table></div>`
      : html`<div class="card">${empty({
          title: "No keyspaces yet",
          text: "Create a keyspace, issue keys from it, then require its keys in an environment's Sentinel settings.",
          iconName: "key",
          action: html`<button class="btn btn-primary" data-action="create-keyspace">${icon("plus")}New keyspace</button>`,
        })}</div>`;
  } catch (error) {
    body = failure(error, "Keyspaces");
  }
  render(host, html`${head()}${body}`);
  ctx.ready(host);
}

async function createKeyspace(ctx) {
  const created = await modal({
    title: "New keyspace",
    description: "A named set of keys, such as the keys of one product's customers.",
    submitLabel: "Create keyspace",
    body: field({ label: "Name", name: "name", required: true, placeholder: "Shop API", pattern: ".{3,}", message: "At least 3 characters." }),
    submit: (_form, values) => data("apis.createApi", { name: values.name }),
  });
  if (created && created.apiId) {
    toast("Keyspace created");
    ctx.navigate(`/dashboard/keyspaces/${encodeURIComponent(created.apiId)}`);
  }
}
