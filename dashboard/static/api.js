// The dashboard's only way to the server: Unkey's v2 wire protocol, with the root key the
// user signed in with. The key lives in sessionStorage (gone when the tab closes) and only
// ever travels in the Authorization header: never in a URL, never in a log line.

const STORAGE_KEY = "dockyard.rootKey";
const TRIGGER_HEADER = "X-Dockyard-Trigger";

export const session = {
  get key() {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  signIn(key) {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(operation, status, body) {
    const error = (body && body.error) || {};
    super(error.detail || `${operation} answered ${status}`);
    this.operation = operation;
    this.status = status;
    this.detail = error.detail || this.message;
    this.title = error.title || "";
    this.errors = error.errors || [];
    this.requestId = body && body.meta ? body.meta.requestId : null;
  }

  // The operation itself does not exist on this dockyard (yet): a route 404, 405 or 501.
  get missing() {
    if (this.status === 501 || this.status === 405) return true;
    return this.status === 404 && /^There is no operation/.test(this.detail);
  }
}

export class NetworkError extends Error {
  constructor(operation) {
    super(`dockyard did not answer ${operation}: is the API running?`);
    this.operation = operation;
    this.status = 0;
    this.errors = [];
  }

  get missing() {
    return false;
  }
}

function headers(extra) {
  return { Authorization: `Bearer ${session.key || ""}`, ...extra };
}

async function post(operation, path, body, extraHeaders) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", ...extraHeaders }),
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new NetworkError(operation);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = new ApiError(operation, response.status, payload);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return payload;
}

// One /v2 operation; resolves to the whole body ({meta, data, pagination?}).
export function call(operation, body = {}, { trigger } = {}) {
  const extra = trigger ? { [TRIGGER_HEADER]: trigger } : {};
  return post(operation, `/v2/${operation}`, body, extra);
}

export async function data(operation, body = {}, options = {}) {
  return (await call(operation, body, options)).data;
}

// Every page of a paginated operation, up to `max` items.
export async function all(operation, body = {}, max = 1000) {
  const items = [];
  let cursor;
  do {
    const page = await call(operation, cursor ? { ...body, cursor } : body);
    items.push(...page.data);
    cursor = page.pagination && page.pagination.hasMore ? page.pagination.cursor : undefined;
  } while (cursor && items.length < max);
  return items;
}

// Reads Unkey's v2 API has no list for (dashboard/reads.py).
export async function dashboardRead(name, body = {}) {
  return (await post(name, `/dashboard/api/${name}`, body, {})).data;
}

// A server-sent event stream read with fetch, so the key goes in a header (EventSource
// cannot send one). Calls onEvent(name, data, id) until the stream ends or signal aborts.
export async function stream(path, { onEvent, signal, lastEventId }) {
  const extra = lastEventId ? { "Last-Event-ID": lastEventId } : {};
  const response = await fetch(path, { headers: headers(extra), signal, cache: "no-store" });
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    throw new ApiError(path, response.status, payload);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let id = null;
      const lines = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "id") id = text;
        else if (field === "data") lines.push(text);
      }
      if (lines.length) onEvent(name, lines.join("\n"), id);
    }
  }
}
