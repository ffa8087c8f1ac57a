// Notifications: the bell in the header (the unread count, read at most every 30 s and on navigation), the list
// (#/notifications: newest first, mark one or all read, links to the case) and how the person hears of each kind.
import { api } from "../api.js";
import { formatNumber, t, tn } from "../i18n.js";
import { personName } from "../people.js";
import { announce, fill, formatDate, h, labelled, loading, problemBox, showFieldErrors, visuallyHidden } from "../ui.js";

const PAGE = 25;
const REFRESH_MS = 30_000;
// Functions, as the words are those of the language chosen at start.
const KINDS = [
  ["assigned", () => t("A case or task assigned to me")],
  ["mentioned", () => t("Mentioned in a comment")],
  ["client_activity", () => t("A client acted in the portal on my case")],
  ["sla", () => t("An SLA warning or breach on my case or task")],
];
const CHANNELS = [["in_app", () => t("In the app")], ["email", () => t("By e-mail")], ["both", () => t("Both")], ["none", () => t("None")]];

export function register(route) {
  route("/notifications", notificationsView, { nav: "notifications" });
}

let lastRead = 0;
let timer = null;

function showUnread(unread, exact = true) {
  const badge = document.getElementById("bell-count");
  const bell = document.getElementById("bell");
  if (!badge || !bell) return;
  const more = exact ? "" : "+";
  badge.hidden = !unread;
  badge.textContent = `${formatNumber(unread)}${more}`;
  bell.setAttribute("aria-label", unread ? t("Notifications, {count} unread", { count: `${formatNumber(unread)}${more}` })
    : t("Notifications, none unread"));
}

// The bell's count, unless it was read less than 30 s ago (navigation calls this on every route change); `force`
// after marking read. A timer keeps it fresh while the tab is visible.
export async function refreshBell({ force = false } = {}) {
  if (!timer) {
    timer = window.setInterval(() => { if (!document.hidden) refreshBell(); }, REFRESH_MS);
  }
  if (!force && Date.now() - lastRead < REFRESH_MS) return;
  lastRead = Date.now();
  try {
    const page = await api.get("/notifications", { limit: 1 });
    showUnread(page.unread, page.unread_exact);
  } catch {
    showUnread(0);
  }
}

function item(notification, onRead) {
  const actor = notification.actor ? personName(notification.actor) : null;
  const button = notification.read ? null : h("button", {
    type: "button", class: "link",
    onclick: async () => {
      const marked = await api.post(`/notifications/${encodeURIComponent(notification.id)}/read`);
      onRead(marked.unread);
      li.classList.remove("unread");
      button.remove();
      announce(t("Marked read"));
    },
  }, t("Mark read"), visuallyHidden(`: ${notification.summary}`));
  const li = h("li", { class: notification.read ? "notification" : "notification unread", dataset: { id: notification.id } },
    h("p", { class: "notification-summary" }, notification.read ? null : visuallyHidden([t("Unread:"), " "]), notification.summary),
    h("p", { class: "hint" },
      h("a", { href: `#/cases/${encodeURIComponent(notification.case_id)}` }, notification.case_title),
      actor ? ` · ${actor}` : "",
      " · ", h("time", { datetime: notification.occurred_at }, formatDate(notification.occurred_at))),
    button);
  return li;
}

function preferencesForm(preferences) {
  const selects = KINDS.map(([kind, label]) => {
    const select = h("select", { name: kind, dataset: { pointer: `/${kind}` } },
      CHANNELS.map(([value, text]) => h("option", { value, selected: preferences[kind] === value }, text())));
    return labelled(label(), select);
  });
  const status = h("div", { class: "form-status" });
  const form = h("form", { class: "notification-preferences", "aria-labelledby": "preferences-heading" },
    h("h2", { id: "preferences-heading" }, t("How I hear of them")), selects,
    h("button", { type: "submit" }, t("Save")), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries(KINDS.map(([kind]) => [kind, form.elements[kind].value]));
    try {
      await api.put("/notifications/preferences", chosen);
      fill(status);
      announce(t("Notification settings saved"));
    } catch (problem) {
      showFieldErrors(form, problem);
      fill(status, problemBox(problem));
    }
  });
  return form;
}

async function notificationsView(main) {
  loading(main);
  const [page, preferences] = await Promise.all([
    api.get("/notifications", { limit: PAGE }), api.get("/notifications/preferences")]);
  const list = h("ul", { class: "notification-list", id: "notification-list" });
  const onRead = (unread) => { lastRead = Date.now(); showUnread(unread); };
  let cursor = page.next_cursor;
  const more = h("button", { type: "button", hidden: !cursor, onclick: async () => {
    const next = await api.get("/notifications", { limit: PAGE, cursor });
    list.append(...next.items.map((notification) => item(notification, onRead)));
    cursor = next.next_cursor;
    more.hidden = !cursor;
  } }, t("Load more"));
  const allRead = h("button", { type: "button", onclick: async () => {
    const marked = await api.post("/notifications/read");
    onRead(marked.unread);
    for (const li of list.querySelectorAll(".unread")) {
      li.classList.remove("unread");
      li.querySelector("button")?.remove();
      li.querySelector(".notification-summary .visually-hidden")?.remove();
    }
    announce(tn("{count} marked read", "{count} marked read", marked.marked));
  } }, t("Mark all read"));
  list.append(...page.items.map((notification) => item(notification, onRead)));
  showUnread(page.unread, page.unread_exact);
  fill(main,
    h("h1", {}, t("Notifications")),
    h("div", { class: "toolbar" }, allRead),
    page.items.length ? list : h("p", { class: "empty" }, t("Nothing yet: you hear here when a case or task is assigned to you, someone mentions you, a client acts on your case or an SLA is at risk.")),
    more,
    preferencesForm(preferences));
}
