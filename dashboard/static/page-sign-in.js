// Sign in with a root key: checked against the API, then kept in this tab's sessionStorage.

import { call, session } from "./api.js";
import { html, render } from "./html.js";
import { busy, clearErrors, fieldError, formError } from "./forms.js";
import { LOGO } from "./ui.js";

export const name = "sign-in";

export function mount(host, _params, ctx) {
  const query = new URLSearchParams(location.search);
  const next = query.get("next");
  const target = next && next.startsWith("/dashboard/") && !next.startsWith("/dashboard/sign-in") ? next : "/dashboard/projects";
  if (session.key) {
    ctx.navigate(target, { replace: true });
    return;
  }
  render(
    host,
    html`<div class="signin">
      <div class="card">
        <div class="brand"><img src="${LOGO}" alt="">dockyard</div>
        <h1>Sign in</h1>
        <p class="lead">Use a root key of this dockyard. It stays in this browser tab only and is forgotten when you close it.</p>
        <form class="form" novalidate>
          <div data-form-errors></div>
          ${query.get("expired") ? html`<div class="form-error" role="alert">Your root key stopped working (revoked, disabled or expired). Sign in again.</div>` : ""}
          <div class="field">
            <label for="root-key">Root key</label>
            <input class="input code" id="root-key" type="password" autocomplete="off" spellcheck="false" placeholder="dy_root_…" required>
          </div>
          <button class="btn btn-primary" type="submit">Sign in</button>
        </form>
        <p class="hint">No key yet? <code>scripts/dev</code> prints one at the first start; <code>dockyard root-keys create</code> makes more.</p>
      </div>
    </div>`,
  );
  const form = host.querySelector("form");
  const input = host.querySelector("#root-key");
  input.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const key = input.value.trim();
    if (!key) {
      fieldError(input, "Paste your root key.");
      return;
    }
    if (/\s/.test(key)) {
      fieldError(input, "A root key has no spaces: paste only the key itself.");
      return;
    }
    session.signIn(key);
    try {
      await busy(form.querySelector("button"), () => call("projects.listProjects", { limit: 1 }));
    } catch (error) {
      if (error.status === 401 || (error.status === 403 && /disabled/i.test(error.detail))) {
        session.signOut();
        fieldError(input, error.detail || "This root key is not valid.");
        return;
      }
      if (error.status !== 403) {
        session.signOut();
        formError(form, error.detail || error.message);
        return;
      }
      // 403: a valid key that may not read projects (e.g. keyspaces only); let it in.
    }
    input.value = "";
    ctx.navigate(target, { replace: true });
  });
  ctx.ready(host);
}
