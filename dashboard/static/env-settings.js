// An environment's runtime and build settings, saved with environments.updateSettings.
// Each deployment freezes the settings it was created with: a change applies to the next.

import { data } from "./api.js";
import { html, render } from "./html.js";
import { busy, field, showApiError, validate, values } from "./forms.js";
import { icon, notice, toast } from "./ui.js";

const CPUS = [0.25, 0.5, 1, 2, 4, 8, 16];
const MEMORY = [256, 512, 1024, 2048, 4096, 8192, 16384];
const SIGNALS = ["SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL"];

function scope(params) {
  return { project: params.project, app: params.app, environment: params.environment };
}

function select(label, name, options, current, { loc, help, format = String } = {}) {
  const list = options.includes(current) ? options : [current, ...options];
  return html`<div class="field"><label for="f-${name}">${label}</label>
    <select class="select input" id="f-${name}" name="${name}" data-loc="${loc || name}">
      ${list.map((option) => html`<option value="${option}" ${option === current ? html`selected` : ""}>${format(option)}</option>`)}
    </select>${help ? html`<div class="help">${help}</div>` : ""}</div>`;
}

const appliesNext = () =>
  notice("info", "Applies to the next deployment", "Every deployment keeps the settings it was created with, so a rollback restores them too. Deploy or redeploy to use new settings.");

function footer(label) {
  return html`<div class="card-foot"><span class="note">Changes apply to the next deployment.</span><button class="btn btn-primary" type="submit">${label}</button></div>`;
}

function memory(mib) {
  return mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

function regionRow(region, index) {
  return html`<div class="form-row" data-region>
    ${field({ label: index === 0 ? "Region" : "", name: `region-${index}`, loc: `regions[${index}].name`, value: region.name, required: true, mono: true })}
    ${field({ label: index === 0 ? "Replicas" : "", name: `replicas-${index}`, loc: `regions[${index}].replicas`, type: "number", value: region.replicas.max, min: 1, max: 32, required: true, message: "Between 1 and 32 replicas." })}
  </div>`;
}

export async function runtime(host, params, state) {
  const draw = () => {
    const env = state.environment;
    const rt = env.runtime;
    const hc = rt.healthcheck;
    render(
      host,
      html`${appliesNext()}
      <form class="card" novalidate data-settings="runtime">
        <div class="card-head"><div><h2>Runtime</h2><p>How each instance runs.</p></div></div>
        <div class="card-body form"><div data-form-errors></div>
          <div class="form-row">
            ${field({ label: "Port", name: "port", type: "number", value: rt.port, min: 1, max: 65535, required: true, help: "The port your app listens on inside its container.", message: "A port is a number from 1 to 65535." })}
            ${select("CPU", "vCpus", CPUS, rt.vCpus, { format: (v) => `${v} vCPU` })}
            ${select("Memory", "memoryMib", MEMORY, rt.memoryMib, { format: memory })}
          </div>
          <div class="form-row">
            ${select("Shutdown signal", "shutdownSignal", SIGNALS, rt.shutdownSignal)}
            ${select("Upstream protocol", "upstreamProtocol", ["http1", "h2c"], rt.upstreamProtocol, { format: (v) => (v === "h2c" ? "HTTP/2 (h2c)" : "HTTP/1.1") })}
            ${field({ label: "Command", name: "command", value: (rt.command || []).join(" "), placeholder: "Image default", mono: true, help: "Words separated by spaces; empty runs the image's own command." })}
          </div>
        </div>
        <div class="card-head"><div><h2>Health check</h2><p>A deployment goes live only once every instance answers it.</p></div>
          <label class="check"><input type="checkbox" name="healthcheck" ${hc ? html`checked` : ""}>Enabled</label></div>
        <div class="card-body form" data-healthcheck>
          <div class="form-row">
            ${select("Method", "hcMethod", ["GET", "POST"], hc ? hc.method : "GET", { loc: "healthcheck.method" })}
            ${field({ label: "Path", name: "hcPath", loc: "healthcheck.path", value: hc ? hc.path : "/health", mono: true, pattern: "/.*", message: "A path starts with /." })}
          </div>
          <div class="form-row">
            ${field({ label: "Interval (s)", name: "hcInterval", loc: "healthcheck.intervalSeconds", type: "number", value: hc ? hc.intervalSeconds : 10, min: 1, max: 3600 })}
            ${field({ label: "Timeout (s)", name: "hcTimeout", loc: "healthcheck.timeoutSeconds", type: "number", value: hc ? hc.timeoutSeconds : 5, min: 1, max: 3600 })}
            ${field({ label: "Failures before unhealthy", name: "hcFailures", loc: "healthcheck.failureThreshold", type: "number", value: hc ? hc.failureThreshold : 3, min: 1, max: 100 })}
            ${field({ label: "Initial delay (s)", name: "hcDelay", loc: "healthcheck.initialDelaySeconds", type: "number", value: hc ? hc.initialDelaySeconds : 0, min: 0, max: 3600 })}
          </div>
        </div>
        <div class="card-head"><div><h2>Regions and replicas</h2><p>Instances per region; Sentinel sends each request to a healthy one in its region.</p></div>
          <button class="btn btn-sm" type="button" data-add-region>${icon("plus")}Add region</button></div>
        <div class="card-body form" data-regions>${env.regions.map(regionRow)}</div>
        ${footer("Save runtime settings")}
      </form>`,
    );
    toggleHealth(host);
  };
  draw();
  host.addEventListener("change", (event) => {
    if (event.target.name === "healthcheck") toggleHealth(host);
  });
  host.addEventListener("click", (event) => {
    if (!event.target.closest("[data-add-region]")) return;
    const list = host.querySelector("[data-regions]");
    const index = list.querySelectorAll("[data-region]").length;
    list.insertAdjacentHTML("beforeend", String(regionRow({ name: "", replicas: { max: 1 } }, index)));
    list.querySelector(`[name=region-${index}]`).focus();
  });
  host.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!validate(form)) return;
    const v = values(form);
    const regions = [...form.querySelectorAll("[data-region]")].map((_, i) => ({
      name: v[`region-${i}`],
      replicas: { min: Number(v[`replicas-${i}`]), max: Number(v[`replicas-${i}`]) },
    }));
    const body = {
      ...scope(params),
      port: Number(v.port),
      vCpus: Number(v.vCpus),
      memoryMib: Number(v.memoryMib),
      shutdownSignal: v.shutdownSignal,
      upstreamProtocol: v.upstreamProtocol,
      command: v.command ? v.command.split(/\s+/) : [],
      healthcheck: v.healthcheck
        ? {
            method: v.hcMethod,
            path: v.hcPath,
            intervalSeconds: Number(v.hcInterval),
            timeoutSeconds: Number(v.hcTimeout),
            failureThreshold: Number(v.hcFailures),
            initialDelaySeconds: Number(v.hcDelay),
          }
        : null,
      regions: regions.filter((region) => region.name),
    };
    await save(form, body, params, state, draw);
  });
}

function toggleHealth(host) {
  const on = host.querySelector("input[name=healthcheck]").checked;
  const part = host.querySelector("[data-healthcheck]");
  part.classList.toggle("hidden", !on);
  part.querySelectorAll("input, select").forEach((input) => (input.disabled = !on));
}

export async function build(host, params, state) {
  const draw = () => {
    const b = state.environment.build;
    render(
      host,
      html`${appliesNext()}
      <form class="card" novalidate data-settings="build">
        <div class="card-head"><div><h2>Build</h2><p>How a git deployment turns a commit into an image. Image deployments skip the build.</p></div></div>
        <div class="card-body form"><div data-form-errors></div>
          <div class="form-row">
            ${field({ label: "Root directory", name: "rootDirectory", value: b.rootDirectory, mono: true, required: true, help: "The build context, relative to the repository root." })}
            ${field({ label: "Dockerfile", name: "dockerfile", value: b.dockerfile || "", placeholder: "Dockerfile", mono: true, help: "Relative to the root directory." })}
          </div>
          <div class="field"><label for="f-watchPaths">Watch paths</label>
            <textarea class="input code" id="f-watchPaths" name="watchPaths" data-loc="watchPaths" rows="3" placeholder="src/**">${(b.watchPaths || []).join("\n")}</textarea>
            <div class="help">One glob per line. A push that changes none of them is not deployed; empty deploys every push.</div></div>
          <label class="check"><input type="checkbox" name="autoDeploy" data-loc="autoDeploy" ${b.autoDeploy ? html`checked` : ""}><span>Deploy on every push<span class="help">Pushes to the repository create deployments of this environment.</span></span></label>
        </div>
        ${footer("Save build settings")}
      </form>`,
    );
  };
  draw();
  host.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!validate(form)) return;
    const v = values(form);
    const body = {
      ...scope(params),
      rootDirectory: v.rootDirectory,
      dockerfile: v.dockerfile || null,
      watchPaths: v.watchPaths ? v.watchPaths.split("\n").map((line) => line.trim()).filter(Boolean) : [],
      autoDeploy: v.autoDeploy,
    };
    await save(form, body, params, state, draw);
  });
}

async function save(form, body, params, state, draw) {
  try {
    await busy(form.querySelector("button[type=submit]"), () => data("environments.updateSettings", body));
  } catch (error) {
    showApiError(form, error);
    return;
  }
  state.environment = await data("environments.getEnvironment", scope(params));
  draw();
  toast("Saved: the next deployment uses these settings");
}

