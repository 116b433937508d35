// Forms and dialogs: a bad field's message shows next to it, whether the page's own
// checks or the API's 400 found it.

import { html, render, trusted } from "./html.js";

// Slugs become part of hostnames (api/schemas/base.py). Patterns are compiled with the `v`
// flag, where a `-` inside a class must be escaped.
export const SLUG_PATTERN = "[a-z0-9][a-z0-9\\-]{1,61}[a-z0-9]";
export const SLUG_MESSAGE = "3 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit.";

export function field({ label, name, loc, type = "text", value = "", help, placeholder, required, pattern, min, max, step, message, mono, autocomplete = "off" }) {
  const id = `f-${name}`;
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <input class="input ${mono ? "code" : ""}" id="${id}" name="${name}" data-loc="${loc || name}" type="${type}"
      value="${value ?? ""}" placeholder="${placeholder || ""}" autocomplete="${autocomplete}"
      ${required ? trusted("required") : ""} ${pattern ? html`pattern="${pattern}"` : ""}
      ${min !== undefined ? html`min="${min}"` : ""} ${max !== undefined ? html`max="${max}"` : ""}
      ${step !== undefined ? html`step="${step}"` : ""} ${message ? html`data-message="${message}"` : ""}>
    ${help ? html`<div class="help">${help}</div>` : ""}
  </div>`;
}

export function clearErrors(form) {
  form.querySelectorAll(".field .error, .form-error").forEach((node) => node.remove());
  form.querySelectorAll(".invalid").forEach((node) => node.classList.remove("invalid"));
}

export function fieldError(input, message) {
  const holder = input.closest(".field") || input.parentElement;
  holder.classList.add("invalid");
  const note = document.createElement("div");
  note.className = "error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  const help = holder.querySelector(":scope > .help");
  if (help) help.before(note);
  else holder.append(note);
}

export function formError(form, message) {
  const note = document.createElement("div");
  note.className = "form-error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  const host = form.querySelector("[data-form-errors]") || form;
  host.prepend(note);
}

// The browser's own checks (required, pattern, min, max), shown our way: next to the field.
export function validate(form) {
  clearErrors(form);
  let first = null;
  for (const input of form.querySelectorAll("input, select, textarea")) {
    if (input.disabled || input.checkValidity()) continue;
    const custom = input.dataset.message;
    const message = input.validity.valueMissing ? "This field is required." : custom || input.validationMessage;
    fieldError(input, message);
    first = first || input;
  }
  if (first) first.focus();
  return first === null;
}

// A 400's field errors (Unkey's `errors[].location`, e.g. body.regions[0].replicas.max)
// go next to the input whose data-loc is that location or its nearest parent.
export function showApiError(form, error) {
  clearErrors(form);
  const inputs = [...form.querySelectorAll("[data-loc]")];
  let placed = false;
  for (const item of error.errors || []) {
    const location = (item.location || "").replace(/^body\.?/, "");
    const input = inputs
      .filter((node) => {
        const loc = node.dataset.loc;
        return loc && (location === loc || location.startsWith(`${loc}.`) || location.startsWith(`${loc}[`));
      })
      .sort((a, b) => b.dataset.loc.length - a.dataset.loc.length)[0];
    if (input) {
      const message = item.fix ? `${item.message.replace(/[.\s]*$/, "")}. ${item.fix}` : item.message;
      fieldError(input, message);
      placed = true;
    }
  }
  if (!placed) {
    formError(form, error.missing ? `This action needs ${error.operation}, which this dockyard does not offer yet.` : error.detail || error.message);
  }
  const first = form.querySelector(".invalid input, .invalid select, .invalid textarea");
  if (first) first.focus();
}

// ---- buttons that wait ----------------------------------------------------------------------

export async function busy(button, work) {
  if (!button) return work();
  button.classList.add("busy");
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.classList.remove("busy");
    button.disabled = false;
  }
}

// ---- modals ---------------------------------------------------------------------------------

// A dialog holding one form. `submit(form, values)` runs on submit after the field checks;
// an ApiError it throws is shown on the form, anything it returns closes the dialog (unless
// it returns "keep"). Resolves with what submit returned, or null when cancelled.
export function modal({ title, description, body, submitLabel = "Save", danger = false, wide = false, submit, cancelLabel = "Cancel" }) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = `modal ${wide ? "wide" : ""}`;
    let result = null;
    render(
      dialog,
      html`<form novalidate>
        <div class="modal-head"><h2>${title}</h2>${description ? html`<p>${description}</p>` : ""}</div>
        <div class="modal-body"><div data-form-errors></div>${body}</div>
        <div class="modal-foot">
          <button type="button" class="btn" data-close>${cancelLabel}</button>
          ${submit ? html`<button type="submit" class="btn ${danger ? "btn-danger" : "btn-primary"}" data-submit>${submitLabel}</button>` : ""}
        </div>
      </form>`,
    );
    const form = dialog.querySelector("form");
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!validate(form)) return;
      const button = form.querySelector("[data-submit]");
      try {
        const value = await busy(button, () => submit(form, values(form), dialog));
        if (value === "keep") return;
        result = value === undefined ? true : value;
        dialog.close();
      } catch (error) {
        if (error && "status" in error) showApiError(form, error);
        else formError(form, String(error.message || error));
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector(".modal-body input:not([type=hidden]), .modal-body select, .modal-body textarea");
    if (first) first.focus();
  });
}

export function confirmAction(options) {
  return modal({ submitLabel: "Confirm", ...options, body: options.body || html``, submit: options.submit || (() => true) });
}

// A slug field follows its form's name field until someone edits the slug itself.
document.addEventListener("input", (event) => {
  const input = event.target;
  const form = input.form;
  if (!form || !["name", "slug"].includes(input.name)) return;
  const slug = form.querySelector("input[name=slug]");
  if (!slug) return;
  if (input.name === "slug") {
    slug.dataset.edited = "true";
    return;
  }
  if (slug.dataset.edited) return;
  slug.value = input.value
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
});

// Named form values: checkboxes as booleans, everything else as trimmed strings.
export function values(form) {
  const out = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (input.type === "checkbox") {
      if (input.dataset.group) {
        out[input.name] = out[input.name] || [];
        if (input.checked) out[input.name].push(input.value);
      } else out[input.name] = input.checked;
    } else if (input.type === "radio") {
      if (input.checked) out[input.name] = input.value;
    } else out[input.name] = input.value.trim();
  }
  return out;
}
