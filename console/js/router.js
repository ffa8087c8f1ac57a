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

// A view with work that would be lost (the template builder's unsaved changes) asks before the person leaves it:
// `question()` answers what to ask, or null when nothing would be lost. Cleared on every route change.
let leaveQuestion = null;

export function guardLeaving(question) {
  leaveQuestion = question;
}

export function leavingQuestion() {
  return leaveQuestion?.() || null;
}

// Every history entry the console makes is numbered (in history.state), so a hash change refused by the person
// can be undone in the direction it went: Back is undone by going forward, a link or Forward by going back.
let position = 0;
let undoing = false;

export function numberEntry() {
  if (Number.isInteger(window.history.state?.position)) position = window.history.state.position;
  else {
    position += 1;
    window.history.replaceState({ ...window.history.state, position }, "");
  }
}

// Whether a hash change may go ahead; when the person chose to stay, the change is undone.
export function mayLeave() {
  if (undoing) { undoing = false; return false; }
  const question = leavingQuestion();
  if (!question || window.confirm(question)) return true;
  const arrived = window.history.state?.position;
  undoing = true;
  window.history.go(Number.isInteger(arrived) && arrived < position ? 1 : -1);
  return false;
}
