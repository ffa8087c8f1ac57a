// The board: a column per stage of a template, a card per open case. Drag a card, or use its "Move to"
// control, to ask for a transition; a refused move shows the unmet criteria and leaves the card in place.
import { api } from "../api.js";
import { formatNumber, t, tn } from "../i18n.js";
import { personName } from "../people.js";
import { navigate } from "../router.js";
import {
  announce, clear, dialog, field, fill, formatDate, forwardStages, h, loading, problemBox, slaBadge, visuallyHidden,
} from "../ui.js";

const LAST_TEMPLATE = "caseline.board.template";
const MAX_CASES = 500;
const OTHER_COLUMN = "__other__";

export function register(route) {
  route("/board", chooseTemplate, { nav: "board" });
  route("/board/:key", showBoard, { nav: "board" });
}

function remembered() {
  try { return localStorage.getItem(LAST_TEMPLATE); } catch { return null; }
}

function remember(key) {
  try { localStorage.setItem(LAST_TEMPLATE, key); } catch { /* storage disabled: nothing to remember */ }
}

// "#/board": straight to the last board used, unless asked for the list (#/board?choose=1).
async function chooseTemplate(main, _params, query) {
  loading(main);
  const templates = await api.all("/templates");
  const last = remembered();
  if (!query.has("choose") && last && templates.some((template) => template.key === last)) {
    window.location.replace(`#/board/${encodeURIComponent(last)}`);
    return;
  }
  // This entry is the list from now on: Back from the board chosen here comes back to the list, rather than
  // to "#/board", which would go straight to that board again.
  if (!query.has("choose")) window.history.replaceState(window.history.state, "", "#/board?choose=1");
  fill(main,
    h("h1", {}, t("Board")),
    h("p", {}, t("Choose a template to see its open cases, a column per stage.")),
    templates.length
      ? h("ul", { class: "template-choices", "aria-label": t("Templates") }, templates.map((template) =>
        h("li", {},
          h("a", { href: `#/board/${encodeURIComponent(template.key)}`, class: "template-choice" },
            h("span", { class: "template-choice-name" }, template.name),
            h("span", { class: "template-choice-meta" }, t("{key} · version {version}", { key: template.key, version: template.latest_version }))))))
      : h("p", {}, t("There are no templates yet.")));
}

function countText(element, count) {
  // The number stands out; the word is for screen readers.
  fill(element, formatNumber(count), " ", visuallyHidden(tn("case", "cases", count)));
}

function byDue(a, b) {
  const left = a.stage_due_at ? Date.parse(a.stage_due_at) : Infinity;
  const right = b.stage_due_at ? Date.parse(b.stage_due_at) : Infinity;
  return left - right || a.title.localeCompare(b.title);
}

async function showBoard(main, params, _query, user) {
  const requested = performance.now();
  const key = params.key;
  loading(main, t("Loading the board…"));
  const [published, cases, templates] = await Promise.all([
    api.get(`/templates/${encodeURIComponent(key)}`),
    api.all("/cases", { template_key: key, status: "open" }, MAX_CASES),
    api.all("/templates").catch(() => []),
  ]);
  remember(key);
  const started = performance.now();
  const definition = published.definition;
  const canMove = user.role !== "viewer";
  const stageNames = new Map(definition.stages.map((stage) => [stage.key, stage.name]));
  const roleNames = new Map((definition.roles || []).map((role) => [role.key, role.name]));
  const shown = cases.slice(0, MAX_CASES);
  const byId = new Map(shown.map((item) => [item.id, item]));

  const columnOf = (item) => (stageNames.has(item.stage) ? item.stage : OTHER_COLUMN);
  const stageName = (stageKey) => stageNames.get(stageKey) || stageKey;

  const now = Date.now();

  // A card's skeleton, built once; each card is a deep clone filled in with text and ids (500 cards: cloning
  // beats building every element anew).
  const skeleton = h("li", { class: "board-card", draggable: canMove ? "true" : null },
    h("article", { class: "board-card-body" },
      h("h3", { class: "board-card-title" },
        canMove ? h("span", { class: "board-drag-handle", "aria-hidden": "true" }, "⠿") : null,
        h("a", {})),
      h("dl", { class: "board-card-meta" }, h("div", {}, h("dt", {}, t("Owner")), h("dd", {}))),
      canMove
        ? h("div", { class: "board-card-move" },
          h("label", {}, t("Move to")),
          h("div", { class: "board-card-move-row" },
            h("select", { name: "to" }),
            h("button", { type: "button", class: "move-button" }, t("Move"))))
        : null));
  const metaLine = h("div", {}, h("dt", {}), h("dd", {}));

  function meta(list, label, value) {
    const line = metaLine.cloneNode(true);
    line.firstChild.textContent = label;
    line.lastChild.append(value);
    list.append(line);
  }

  // One card: everything it shows comes from the case already loaded, no further request.
  function card(item) {
    const element = skeleton.cloneNode(true);
    const article = element.firstChild;
    const [heading, list] = article.children;
    const titleId = `card-${item.id}`;
    element.dataset.caseId = item.id;
    article.setAttribute("aria-labelledby", titleId);
    heading.id = titleId;
    const link = heading.lastChild;
    link.href = `#/cases/${encodeURIComponent(item.id)}`;
    link.textContent = item.title;
    list.firstChild.lastChild.textContent = personName(item.owner);
    if (item.assigned_role) meta(list, t("Role"), roleNames.get(item.assigned_role) || item.assigned_role);
    if (item.stage_due_at) meta(list, t("Due"), h("time", { datetime: item.stage_due_at }, formatDate(item.stage_due_at)));
    if (columnOf(item) === OTHER_COLUMN) meta(list, t("Stage"), t("{stage} (version {version})", { stage: item.stage, version: item.template_version }));
    const badge = slaBadge(item, now);
    if (badge) list.after(badge);
    if (canMove) {
      const control = article.lastChild;
      const select = control.querySelector("select");
      select.id = `move-${item.id}`;
      control.firstChild.htmlFor = select.id;
      select.append(moveOptions(item.stage).cloneNode(true));
      control.querySelector("button").dataset.caseId = item.id;
    }
    return element;
  }

  // The "Move to" choices for a case in a stage: built once per stage, cloned per card.
  const optionsByStage = new Map();
  function moveOptions(stageKey) {
    if (!optionsByStage.has(stageKey)) {
      const forward = forwardStages(definition, stageKey);
      const others = definition.stages.filter((stage) => stage.key !== stageKey && !forward.includes(stage.key));
      const options = document.createDocumentFragment();
      options.append(h("option", { value: "" }, t("Choose a stage…")));
      if (forward.length) {
        options.append(h("optgroup", { label: t("Next") },
          forward.map((next) => h("option", { value: next }, stageName(next)))));
      }
      if (others.length) {
        options.append(h("optgroup", { label: t("Back or skip (needs a reason)") },
          others.map((stage) => h("option", { value: stage.key }, stage.name))));
      }
      optionsByStage.set(stageKey, options);
    }
    return optionsByStage.get(stageKey);
  }

  // Build every column and card into one fragment, then attach it once.
  const lists = new Map();
  const counts = new Map();
  const columnKeys = definition.stages.map((stage) => stage.key);
  const grouped = new Map(columnKeys.map((stageKey) => [stageKey, []]));
  for (const item of shown) {
    const column = columnOf(item);
    if (!grouped.has(column)) grouped.set(column, []);
    grouped.get(column).push(item);
  }
  if (grouped.has(OTHER_COLUMN)) columnKeys.push(OTHER_COLUMN);

  const boardElement = h("div", { class: "board", id: "board" });
  const fragment = document.createDocumentFragment();
  for (const column of columnKeys) {
    const items = grouped.get(column).sort(byDue);
    const headingId = `column-${column}`;
    const count = h("p", { class: "board-column-count" });
    countText(count, items.length);
    const list = h("ul", { class: "board-column-cards", "aria-labelledby": headingId });
    const cardsFragment = document.createDocumentFragment();
    for (const item of items) cardsFragment.append(card(item));
    list.append(cardsFragment);
    lists.set(column, list);
    counts.set(column, count);
    fragment.append(h("section", { class: "board-column", "aria-labelledby": headingId, dataset: { stage: column } },
      h("div", { class: "board-column-header" },
        h("h2", { class: "board-column-heading", id: headingId },
          column === OTHER_COLUMN ? t("Stages of older versions") : stageName(column)),
        count),
      list));
  }
  boardElement.append(fragment);

  const alerts = h("div", { class: "board-alerts", id: "board-alerts" });
  const summary = h("p", { class: "board-summary", id: "board-summary" });
  const updateSummary = () => {
    const total = byId.size;
    summary.textContent = [tn("{count} open case.", "{count} open cases.", total),
      cases.length >= MAX_CASES ? t("The first {count} are shown.", { count: formatNumber(MAX_CASES) }) : null,
      canMove ? t("Drag a card to another column, or use its “Move to” control.") : null].filter(Boolean).join(" ");
  };
  updateSummary();

  const switcher = h("select", { id: "board-template" },
    (templates.length ? templates : [{ key, name: definition.name }]).map((template) =>
      h("option", { value: template.key, selected: template.key === key }, template.name)));
  switcher.addEventListener("change", () => navigate(`#/board/${encodeURIComponent(switcher.value)}`));

  fill(main,
    h("h1", {}, t("Board: {name}", { name: definition.name })),
    h("div", { class: "toolbar" },
      field(t("Template"), switcher),
      h("p", { class: "board-version" }, t("Version {version}", { version: published.version })),
      h("a", { href: "#/board?choose=1" }, t("All templates")),
      user.role === "viewer" ? null
        : h("a", { class: "button primary", href: `#/cases/new?template=${encodeURIComponent(key)}` }, t("Open a case"))),
    summary, alerts, boardElement);

  function showRefusal(item, target, error) {
    const problem = error?.status ? error : { title: t("The move could not be sent"), detail: error?.message };
    const unmet = problem.unmet || [];
    const box = problemBox({
      ...problem,
      title: t("“{title}” cannot move to {stage}", { title: item.title, stage: stageName(target) }),
      detail: unmet.length ? t("It stays where it is until these are done:") : problem.detail || problem.title,
    });
    box.tabIndex = -1;
    box.append(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => { box.remove(); focusCard(item.id); } }, t("Dismiss"))));
    fill(alerts, box);
    box.focus();
  }

  function focusCard(caseId, selector = "select") {
    boardElement.querySelector(`li.board-card[data-case-id="${CSS.escape(caseId)}"] ${selector}`)?.focus();
  }

  // cases with a move under way: a second move (a double click, a drop) is ignored until it ends
  const moving = new Set();

  async function requestMove(caseId, target) {
    if (moving.has(caseId)) return;
    moving.add(caseId);
    try {
      await move(caseId, target);
    } finally {
      moving.delete(caseId);
    }
  }

  async function move(caseId, target) {
    const item = byId.get(caseId);
    if (!item || !target || target === item.stage) return;
    const body = { to: target };
    const forward = forwardStages(definition, item.stage);
    if (!forward.includes(target)) {
      const answer = await dialog(t("Move “{title}” to {stage}", { title: item.title, stage: stageName(target) }),
        h("div", {},
          h("p", {}, t("Moving back or skipping stages needs the override permission and a reason, which the timeline records.")),
          field(t("Reason"), h("textarea", { name: "reason", required: true, maxlength: 2000 }))),
        { submitLabel: t("Move") });
      if (!answer) { focusCard(caseId); return; }
      body.reason = answer.reason;
    }
    const element = boardElement.querySelector(`li.board-card[data-case-id="${CSS.escape(caseId)}"]`);
    element?.classList.add("is-moving");
    element?.setAttribute("aria-busy", "true");
    try {
      const moved = await api.post(`/cases/${encodeURIComponent(caseId)}/transitions`, body);
      clear(alerts);
      placeCard(item, moved);
      announce(t("Moved “{title}” to {stage}.", { title: moved.title, stage: stageName(moved.stage) }));
    } catch (problem) {
      element?.classList.remove("is-moving");
      element?.removeAttribute("aria-busy");
      showRefusal(item, target, problem);
      announce(t("“{title}” was not moved.", { title: item.title }));
    }
  }

  // Put the case where the API says it now is (an automation may have moved it further, or closed it).
  function placeCard(before, after) {
    const old = boardElement.querySelector(`li.board-card[data-case-id="${CSS.escape(before.id)}"]`);
    const fromColumn = columnOf(before);
    old?.remove();
    setCount(fromColumn);
    if (after.status !== "open") {
      byId.delete(after.id);
      updateSummary();
      return;
    }
    byId.set(after.id, after);
    const column = columnOf(after);
    const list = lists.get(column);
    if (!list) { byId.delete(after.id); updateSummary(); return; }
    const replacement = card(after);
    const siblings = [...list.children];
    const next = siblings.find((sibling) => byDue(after, byId.get(sibling.dataset.caseId)) < 0);
    list.insertBefore(replacement, next || null);
    setCount(column);
    updateSummary();
    replacement.querySelector("select")?.focus();
  }

  function setCount(column) {
    const count = counts.get(column);
    if (count) countText(count, lists.get(column).children.length);
  }

  if (canMove) {
    // Event delegation: one listener per kind for the whole board, however many cards it holds.
    boardElement.addEventListener("click", (event) => {
      const button = event.target.closest("button.move-button");
      if (!button) return;
      const select = button.parentElement.querySelector("select");
      if (!select.value) {
        select.focus();
        announce(t("Choose a stage to move the case to first."));
        return;
      }
      requestMove(button.dataset.caseId, select.value);
    });
    let dragged = null;
    boardElement.addEventListener("dragstart", (event) => {
      const element = event.target.closest?.("li.board-card");
      if (!element) return;
      dragged = element.dataset.caseId;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged);
      element.classList.add("is-dragging");
    });
    boardElement.addEventListener("dragend", (event) => {
      event.target.closest?.("li.board-card")?.classList.remove("is-dragging");
      for (const column of boardElement.querySelectorAll(".is-drop-target")) column.classList.remove("is-drop-target");
      dragged = null;
    });
    boardElement.addEventListener("dragover", (event) => {
      const column = event.target.closest?.(".board-column");
      if (!column || !dragged || column.dataset.stage === OTHER_COLUMN) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      for (const other of boardElement.querySelectorAll(".is-drop-target")) if (other !== column) other.classList.remove("is-drop-target");
      column.classList.add("is-drop-target");
    });
    boardElement.addEventListener("dragleave", (event) => {
      const column = event.target.closest?.(".board-column");
      if (column && !column.contains(event.relatedTarget)) column.classList.remove("is-drop-target");
    });
    boardElement.addEventListener("drop", (event) => {
      const column = event.target.closest?.(".board-column");
      if (!column) return;
      event.preventDefault();
      column.classList.remove("is-drop-target");
      const caseId = event.dataTransfer.getData("text/plain") || dragged;
      dragged = null;
      const item = byId.get(caseId);
      if (item && column.dataset.stage !== OTHER_COLUMN && column.dataset.stage !== item.stage) {
        requestMove(caseId, column.dataset.stage);
      }
    });
  }

  // For bench/: building the DOM once the data is in, and the whole load including the API.
  performance.measure("caseline:board-render", { start: started });
  performance.measure("caseline:board-load", { start: requested });
  boardElement.dataset.renderMs = String(Math.round(performance.now() - started));
}
