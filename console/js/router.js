// Hash routes: "#/cases/:id" → the view registered for it. A view is async (main, params, query) => void.

const routes = [];

export function route(pattern, view, { adminOnly = false, nav } = {}) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:([a-z_]+)/g, (_m, name) => { names.push(name); return "([^/]+)"; })}$`);
  routes.push({ regex, names, view, adminOnly, nav });
}

export function currentRoute() {
  const [path, query = ""] = (window.location.hash.slice(1) || "/").split("?");
  for (const candidate of routes) {
    const match = candidate.regex.exec(path);
    if (match) {
      const params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      return { ...candidate, params, query: new URLSearchParams(query) };
    }
  }
  return null;
}

export function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = hash;
}
