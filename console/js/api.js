// The public Caseline API, with the signed-in user's token. Errors come back as RFC 9457 problems.
import { session } from "./auth.js";

let base = "";

export function configureApi(apiBase) {
  base = apiBase || "";
}

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    Object.assign(this, problem);
    this.status = status;
  }
}

async function call(method, path, { body, params, ifMatch, headers = {}, accept, signal, raw = false } = {}) {
  const url = new URL(`${base}${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const request = { method, headers: { ...headers }, signal };
  const token = session.token();
  if (token) request.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    request.headers["Content-Type"] = "application/json";
    request.body = JSON.stringify(body);
  }
  if (ifMatch !== undefined) request.headers["If-Match"] = `"${ifMatch}"`;
  if (accept) request.headers.Accept = accept;
  const response = await fetch(url, request);
  if (response.status === 401) {
    session.expired();
  }
  if (!response.ok) {
    let problem = { title: response.statusText };
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiProblem(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.blob();
}

export const api = {
  get: (path, params, options = {}) => call("GET", path, { ...options, params }),
  post: (path, body, options = {}) => call("POST", path, { ...options, body }),
  put: (path, body, options = {}) => call("PUT", path, { ...options, body }),
  patch: (path, body, options = {}) => call("PATCH", path, { ...options, body }),
  delete: (path, options = {}) => call("DELETE", path, options),
  download: (path, accept) => call("GET", path, { accept }),
  // A file to save: its bytes and the name the API gives it (Content-Disposition), else `fallbackName`.
  async file(path, params, accept, fallbackName) {
    const response = await call("GET", path, { params, accept, raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const named = /filename="([^"]+)"/.exec(disposition) || /filename=([^;\s]+)/.exec(disposition);
    return { blob: await response.blob(), filename: named ? named[1] : fallbackName };
  },
  // Every page of a list, up to `max` items.
  async all(path, params = {}, max = 500) {
    const items = [];
    let cursor;
    do {
      const page = await call("GET", path, { params: { ...params, limit: 100, cursor } });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < max);
    return items;
  },
};

const definitions = new Map(); // template key → its latest published definition (null when it cannot be read)

// A template's latest definition, read once a page load: what turns stage, role and option keys into names.
export function latestDefinition(key) {
  if (!definitions.has(key)) {
    definitions.set(key, api.get(`/templates/${encodeURIComponent(key)}`)
      .then((published) => published.definition)
      .catch(() => null));
  }
  return definitions.get(key);
}
