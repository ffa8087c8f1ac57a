// Where the console opens for a person (signed in, at its root): the last list of work they used (a board, the
// case list with its filters, My tasks, the team queue), kept in this browser per person; else "My tasks" for
// staff and the case list for viewers, who have no tasks.
import { session } from "./auth.js";

const WORK_VIEW = /^#\/(board\/[^/?]+|cases|tasks|queue)(\?.*)?$/;
const keyOf = (user) => `caseline.lastView.${user.sub}`;

export function landingHash(user) {
  let last = null;
  try { last = localStorage.getItem(keyOf(user)); } catch { /* storage disabled: nothing remembered */ }
  if (last && WORK_VIEW.test(last)) return last;
  return user.role === "viewer" ? "#/cases" : "#/tasks";
}

// Keeps `hash` as the signed-in person's last work view, if it is one.
export function rememberWorkView(hash = window.location.hash) {
  const user = session.user();
  if (!user || !WORK_VIEW.test(hash)) return;
  try { localStorage.setItem(keyOf(user), hash); } catch { /* storage disabled: nothing to remember */ }
}

// A view's URL may change in place (the case list's filters), so a view is kept as it was when left: on a
// navigation (the view left, then the one reached), and when the tab closes.
export function trackWorkViews() {
  window.addEventListener("hashchange", (event) => {
    rememberWorkView(new URL(event.oldURL).hash);
    rememberWorkView(new URL(event.newURL).hash);
  });
  window.addEventListener("pagehide", () => rememberWorkView());
}
