// An environment's domains: the ones dockyard gives every deployment, and custom domains
// with the DNS records that prove ownership and route them.

import { all, data } from "./api.js";
import { ago, html, render } from "./html.js";
import { liveOf, orderedDomains } from "./deploy.js";
import { busy, clearErrors, confirmAction, fieldError, showApiError } from "./forms.js";
import { badge, copyButton, domainLink, empty, failure, icon, loading, notice, toast } from "./ui.js";

const STATUS = {
  pending: ["Pending DNS", "amber"],
  verifying: ["Verifying", "amber"],
  verified: ["Verified", "green"],
  failed: ["Failed", "red"],
};

function scope(params) {
  return { project: params.project, app: params.app, environment: params.environment };
}

function builtIn(live) {
  return html`<div class="card">
    <div class="card-head"><div><h2>dockyard domains</h2><p>Given to every deployment automatically; no DNS to set up.</p></div></div>
    <div class="card-body">${live ? html`<div class="domains">${orderedDomains(live).map(domainLink)}</div>` : html`<p class="muted">Deploy once and this environment's domains appear here.</p>`}</div>
  </div>`;
}

function records(domain) {
  return html`<table class="records">
    <thead><tr><th>Type</th><th>Name</th><th>Value</th><th>Status</th><th></th></tr></thead>
    <tbody>${domain.dnsRecords.map(
      (record) => html`<tr>
        <td><b>${record.type}</b></td>
        <td><code>${record.name}</code></td>
        <td><code>${record.value}</code>${record.note ? html`<div class="cell-sub">${record.note}</div>` : ""}</td>
        <td>${record.verified ? badge("Found", "green", true) : badge("Not found", "gray", true)}</td>
        <td class="right">${copyButton(record.value)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function domainCard(domain) {
  const [label, color] = STATUS[domain.status] || [domain.status, "gray"];
  const verified = domain.status === "verified";
  return html`<div class="card" data-domain="${domain.domain}">
    <div class="card-head">
      <div><h2>${verified ? domainLink(domain.domain) : domain.domain}</h2><p>Added ${ago(domain.createdAt)}</p></div>
      <div class="row-actions">${badge(label, color, true)}
        ${verified ? "" : html`<button class="btn btn-sm" data-do="verify" data-id="${domain.id}">${icon("check")}Verify now</button>`}
        <button class="btn btn-sm btn-ghost danger" data-do="remove" data-id="${domain.id}" data-name="${domain.domain}">${icon("trash")}Remove</button></div>
    </div>
    <div class="card-body">
      ${verified
        ? html`<p class="muted">Serving this environment's current deployment.</p>`
        : html`<div class="form">${domain.verificationError ? notice(domain.status === "failed" ? "error" : "warn", domain.status === "failed" ? "Verification failed" : "Not verified yet", domain.verificationError) : ""}
          <p class="muted">Create these records at your DNS provider, then verify. dockyard also checks on its own for 24 hours.</p>
          ${records(domain)}</div>`}
    </div>
  </div>`;
}

function addForm() {
  return html`<div class="card"><form class="card-body form" novalidate data-add-domain>
    <div class="field"><label for="new-domain">Add a custom domain</label>
      <div class="inline-form"><input class="input" id="new-domain" name="domain" data-loc="domain" placeholder="api.example.com" autocomplete="off">
      <button class="btn btn-primary" type="submit">${icon("plus")}Add domain</button></div>
      <div class="help">A subdomain gets a CNAME; an apex domain gets an ALIAS. Both need a TXT record to prove it is yours.</div>
    </div>
  </form></div>`;
}

export async function mount(body, params, state, ctx) {
  render(body, html`${loading()}`);
  const draw = async () => {
    let list;
    let live = null;
    try {
      const [deployments, domains] = await Promise.all([
        data("deployments.listDeployments", { ...scope(params), limit: 20 }).catch(() => []),
        all("domains.listDomains", { ...scope(params), limit: 100 }),
      ]);
      live = liveOf(deployments, state.environment);
      list = domains;
    } catch (error) {
      render(body, html`${builtIn(live)}<div class="section-title"><h2>Custom domains</h2></div>${failure(error, "Custom domains")}`);
      return;
    }
    render(
      body,
      html`${builtIn(live)}<div class="section-title"><h2>Custom domains</h2><span class="muted">${list.length ? `${list.length}` : ""}</span></div>
      ${addForm()}
      ${list.length ? list.map(domainCard) : html`<div class="card">${empty({ title: "No custom domains", text: "Point a domain you own at this environment: add it above and create the DNS records it shows.", iconName: "globe" })}</div>`}`,
    );
  };
  await draw();
  body.addEventListener("submit", async (event) => {
    const form = event.target.closest("[data-add-domain]");
    if (!form) return;
    event.preventDefault();
    clearErrors(form);
    const input = form.querySelector("input[name=domain]");
    const domain = input.value.trim().toLowerCase().replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (!domain) {
      fieldError(input, "Enter a domain name, such as api.example.com.");
      return;
    }
    if (!/^[^\s]+\.[^\s]+$/.test(domain)) {
      fieldError(input, "A domain has at least one dot and no spaces, such as api.example.com.");
      return;
    }
    try {
      await busy(form.querySelector("button"), () => data("domains.createDomain", { ...scope(params), domain }));
      toast(`${domain} added: create its DNS records`);
      await draw();
    } catch (error) {
      showApiError(form, error);
    }
  });
  body.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-do]");
    if (!button) return;
    if (button.dataset.do === "verify") {
      try {
        await busy(button, () => data("domains.verifyDomain", { domain: button.dataset.id }));
        toast("Checking the DNS records…");
        await draw();
      } catch (error) {
        toast(error.detail || error.message, "error");
      }
    } else if (button.dataset.do === "remove") {
      const done = await confirmAction({
        title: `Remove ${button.dataset.name}?`,
        description: "It stops serving at once. The DNS records at your provider stay until you delete them.",
        submitLabel: "Remove domain",
        danger: true,
        submit: () => data("domains.deleteDomain", { domain: button.dataset.id }),
      });
      if (done) {
        toast(`${button.dataset.name} removed`);
        await draw();
      }
    }
  });
  ctx.every(10000, () => {
    if (!document.querySelector("dialog[open]") && !body.contains(document.activeElement)) draw().catch(() => {});
  });
}
