// Keyboard shortcuts, wired once for the whole console: "/" search, "j"/"k" through the rows of the list shown,
// "o" or Enter to open the row reached, "c" a new case, "?" the list of them. None fires while the person types in
// a field, with Ctrl, Alt or Meta held, while a dialog is open, or before sign-in.
import { session } from "./auth.js";
import { t } from "./i18n.js";
import { navigate } from "./router.js";
import { h } from "./ui.js";

// The keys, each with what it does; a function, as the words are in the person's language, known after start.
function shortcuts() {
  return [
    [["/"], t("Search: the search box of this screen, else the case list's")],
    [["j"], t("Next row of the list (cases, tasks, board cards)")],
    [["k"], t("Previous row of the list")],
    [["o", "Enter"], t("Open the row reached with j or k")],
    [["c"], t("Open a new case")],
    [["?"], t("Show these shortcuts")],
  ];
}

// The rows j and k move through: the case list, a task table (My tasks, the team queue), the board's cards.
const ROWS = "#case-table tbody tr, #task-table tbody tr, li.board-card";
const SEARCH = "input[type=search]";
const TEXT_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "image", "range", "color", "file"]);
let searchAfterRender = false;

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.closest("textarea, select, [contenteditable]")) return true;
  return target.tagName === "INPUT" && !TEXT_INPUTS.has(target.type);
}

function rows() {
  return [...document.getElementById("view").querySelectorAll(ROWS)].filter((row) => !row.hidden);
}

// Moves the focus to the next (+1) or previous (-1) row, from the row holding the focus, else from the top.
function step(direction) {
  const list = rows();
  if (!list.length) return;
  const current = list.findIndex((row) => row.contains(document.activeElement));
  const next = list[current < 0 ? 0 : Math.min(Math.max(current + direction, 0), list.length - 1)];
  next.tabIndex = -1;
  next.scrollIntoView({ block: "nearest" });
  next.focus({ preventScroll: true });
}

// Opens the case (or task's case) of the row holding the focus: its first link.
function openRow() {
  rows().find((row) => row.contains(document.activeElement))?.querySelector("a[href]")?.click();
}

function focusSearch() {
  const box = document.getElementById("view").querySelector(SEARCH);
  if (box) {
    box.focus();
    box.select();
    return;
  }
  searchAfterRender = true;
  navigate("#/cases");
}

// The view drawn after "/" went to the case list: its search box takes the focus (app.js calls this after each
// drawing, once the view has taken the focus itself).
export function viewShown() {
  if (!searchAfterRender) return;
  searchAfterRender = false;
  document.getElementById("view").querySelector(SEARCH)?.focus();
}

function showHelp() {
  const before = document.activeElement;
  const element = h("dialog", { class: "shortcuts-help", "aria-labelledby": "shortcuts-title" },
    h("h2", { id: "shortcuts-title" }, t("Keyboard shortcuts")),
    h("p", { class: "hint" }, t("Not while typing in a field.")),
    h("dl", { class: "shortcuts-list" }, shortcuts().map(([keys, what]) =>
      h("div", {}, h("dt", {}, keys.map((key, i) => [i ? [" ", t("or"), " "] : null, h("kbd", {}, key)])), h("dd", {}, what)))),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => element.close() }, t("Close"))));
  element.addEventListener("close", () => {
    element.remove();
    if (before?.isConnected) before.focus();
  });
  document.body.append(element);
  element.showModal();
}

const ACTIONS = {
  "/": focusSearch,
  j: () => step(1),
  k: () => step(-1),
  o: openRow,
  Enter: openRow,
  c: () => { if (session.user()?.role !== "viewer") navigate("#/cases/new"); },
  "?": showHelp,
};

function onKey(event) {
  const action = ACTIONS[event.key];
  if (!action || event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
  if (typing(event.target) || document.querySelector("dialog[open]") || !session.user()) return;
  // Enter keeps its own meaning (a link, a button) except on a row reached with j or k.
  if (event.key === "Enter" && !event.target.matches?.(ROWS)) return;
  event.preventDefault();
  action();
}

export function enableShortcuts() {
  document.addEventListener("keydown", onKey);
}
