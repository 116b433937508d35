// Markup from tagged templates: every interpolated value is escaped unless it is itself
// markup made by `html`, so names, commit messages and log lines can never become code.

class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function piece(value) {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  return escape(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1];
  return new Markup(out);
}

// Trusted constant markup (icons); never pass data through this.
export function trusted(text) {
  return new Markup(text);
}

export function render(element, markup) {
  element.innerHTML = piece(markup);
}

// ---- formatting -----------------------------------------------------------------------

const UNITS = [
  ["y", 365 * 24 * 3600e3],
  ["mo", 30 * 24 * 3600e3],
  ["d", 24 * 3600e3],
  ["h", 3600e3],
  ["m", 60e3],
  ["s", 1e3],
];

export function ago(ms) {
  if (!ms) return "";
  const elapsed = Date.now() - ms;
  if (elapsed < 5e3) return "just now";
  for (const [unit, size] of UNITS) {
    if (elapsed >= size) return `${Math.floor(elapsed / size)}${unit} ago`;
  }
  return "just now";
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function dateTime(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function clock(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

export function shortSha(sha) {
  return sha ? sha.slice(0, 7) : "";
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

export function number(value) {
  return new Intl.NumberFormat().format(value);
}
