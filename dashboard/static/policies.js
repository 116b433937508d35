// Gateway policies in words: which rule a policy holds and what it does, as the Sentinel
// settings and a deployment's page show them.

import { html } from "./html.js";
import { badge } from "./ui.js";

export const RULES = ["keyauth", "ratelimit", "firewall", "ipRules", "jwt", "openapi", "logging"];
export const RULE_LABEL = { keyauth: "Key auth", ratelimit: "Rate limit", firewall: "Firewall", ipRules: "IP rules", jwt: "JWT", openapi: "OpenAPI", logging: "Logging" };

export function ruleOf(policy) {
  return RULES.find((rule) => policy[rule] !== undefined && policy[rule] !== null) || "unknown";
}

export function summary(policy, names) {
  const rule = ruleOf(policy);
  const body = policy[rule] || {};
  let text;
  switch (rule) {
    case "keyauth":
      text = `Accepts keys of ${(body.keyspaces || []).map((id) => names[id] || id).join(", ") || "no keyspace"}`;
      break;
    case "ratelimit": {
      const by = (body.identifiers || []).map(identifierText).join(" + ") || "caller";
      text = `${body.limit} requests per ${body.windowMs / 1000}s per ${by}`;
      break;
    }
    case "firewall":
      text = "Denies matching requests";
      break;
    case "ipRules":
      text = [body.allow && body.allow.length ? `allows ${body.allow.join(", ")}` : "", body.deny && body.deny.length ? `denies ${body.deny.join(", ")}` : ""].filter(Boolean).join("; ");
      break;
    case "jwt":
      text = `Verifies a bearer JWT (${body.jwksUrl ? "JWKS" : "public key"})`;
      break;
    case "openapi":
      text = "Rejects requests that do not match the app's OpenAPI document";
      break;
    case "logging":
      text = "Logs requests";
      break;
    default:
      text = "";
  }
  const when = (policy.match || []).map(matchText).join(" and ");
  return when ? `${text} · when ${when}` : text;
}

// A policy's name, rule and switch state over the summary of what it does.
export function policyText(policy, names) {
  const rule = ruleOf(policy);
  return html`<div class="cell-main">${policy.name} ${badge(RULE_LABEL[rule] || rule, "outline")} ${policy.enabled ? "" : badge("Disabled", "gray")}</div>
    <div class="summary">${summary(policy, names)}</div>`;
}

const IDENTIFIERS = { remoteIp: "client IP", authenticatedSubject: "key", path: "path" };
function identifierText(item) {
  // The one option that is set; the others may be present as null.
  const kind = Object.keys(item).find((name) => item[name] !== null && item[name] !== undefined);
  if (kind === "header") return `header ${item.header.name}`;
  if (kind === "principalField") return `principal ${item.principalField.path}`;
  return IDENTIFIERS[kind] || kind;
}

function matchText(match) {
  if (match.path) {
    const p = match.path.path || {};
    return `path ${p.exact ? `is ${p.exact}` : p.prefix ? `starts with ${p.prefix}` : `matches ${p.regex}`}`;
  }
  if (match.method) return `method is ${match.method.methods.join("/")}`;
  if (match.header) return `header ${match.header.name} ${match.header.present ? "is present" : "matches"}`;
  if (match.queryParam) return `query ${match.queryParam.name} ${match.queryParam.present ? "is present" : "matches"}`;
  if (match.remoteIp) return `client IP ${match.remoteIp.in ? "in" : "not in"} ${(match.remoteIp.in || match.remoteIp.notIn).join(", ")}`;
  return "a condition";
}
