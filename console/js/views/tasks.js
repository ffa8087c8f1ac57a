// "My tasks": the open tasks assigned to me on the cases I may see, from the task inbox (GET /tasks?assignee=me),
// soonest due first so overdue ones lead, a page at a time. The table and its rows serve the team queue too.
import { api, latestDefinition } from "../api.js";
import { formatNumber, t, tn } from "../i18n.js";
import { personName } from "../people.js";
import { announce, fill, formatDate, h, humanize, loading, problemBox, visuallyHidden } from "../ui.js";

const PAGE = 25;

export function register(route) {
  route("/tasks", myTasks, { nav: "tasks" });
}


// The nav's badges: my open tasks (and how many are overdue), and my teams' unassigned ones.
export async function refreshTaskBadges() {
  const mine = document.getElementById("badge-tasks");
  const team = document.getElementById("badge-queue");
  if (!mine || !team) return null;
  let counts;
  try {
    counts = await api.get("/tasks/counts");
  } catch {
    mine.hidden = team.hidden = true;
    return null;
  }
  // "1 open task", "2 open tasks", "1+ open tasks": the badges' words, read out by screen readers.
  const more = counts.exact ? "" : "+";
  const plural = (count) => (more ? 2 : count);
  mine.hidden = !counts.mine_open;
  const overdue = counts.mine_overdue ? [", ", t("{count} overdue", { count: `${formatNumber(counts.mine_overdue)}${more}` })] : "";
  fill(mine, `${formatNumber(counts.mine_open)}${more}`,
    visuallyHidden([" ", tn("open task", "open tasks", plural(counts.mine_open)), overdue]));
  mine.classList.toggle("nav-badge-overdue", counts.mine_overdue > 0);
  team.hidden = !counts.team_unassigned;
  fill(team, `${formatNumber(counts.team_unassigned)}${more}`,
    visuallyHidden([" ", tn("unassigned task in your teams' queues", "unassigned tasks in your teams' queues", plural(counts.team_unassigned))]));
  return counts;
}

// A role's or stage's name in a template, or its key as words.
const nameIn = (items, key) => items?.find((item) => item.key === key)?.name || humanize(key);

// A table of tasks whose rows `append` adds page by page; `actions(task)` gives a row's last cell, if any.
export function taskTable({ caption, actions, user }) {
  const body = h("tbody");
  const table = h("table", { id: "task-table", class: "task-table" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {},
      [t("Task"), t("Case"), t("Stage"), t("Assigned to"), t("Due")].map((name) => h("th", { scope: "col" }, name)),
      actions ? h("th", { scope: "col" }, visuallyHidden(t("Actions"))) : null)),
    body);

  function row(task, definition) {
    const taskId = `task-${task.case_id}-${task.task_id}`;
    const assigned = task.assignee === user.sub ? t("You")
      : personName(task.assignee) || (task.assignee_role ? t("Role: {role}", { role: nameIn(definition?.roles, task.assignee_role) }) : t("Nobody"));
    return h("tr", { class: task.overdue ? "task-overdue" : null, dataset: { taskId: task.task_id, caseId: task.case_id } },
      h("th", { scope: "row", id: taskId }, task.title, task.required ? h("span", { class: "task-required" }, " ", t("(required)")) : null),
      h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(task.case_id)}` }, task.case_title),
        h("span", { class: "hint task-template" }, ` ${definition?.name || humanize(task.template_key)}`)),
      h("td", {}, nameIn(definition?.stages, task.stage)),
      h("td", { class: "task-assignee" }, assigned),
      h("td", { class: "task-due" },
        task.due_at ? h("time", { datetime: task.due_at }, formatDate(task.due_at)) : h("span", { class: "hint" }, t("No due date")),
        task.overdue ? h("span", { class: "badge task-overdue-badge" }, t("Overdue")) : null),
      actions ? h("td", {}, actions(task, taskId)) : null);
  }

  return {
    table,
    body,
    // The tasks' templates name their roles and stages; one that cannot be read leaves the keys as words.
    async append(tasks) {
      const keys = [...new Set(tasks.map((task) => task.template_key))];
      const definitions = new Map(await Promise.all(keys.map(async (key) => [key, await latestDefinition(key)])));
      body.append(...tasks.map((task) => row(task, definitions.get(task.template_key))));
    },
  };
}

// Pages of GET /tasks into a table, with a "Load more" button while the inbox has more.
export function pagedTasks(params, table, onPage) {
  let cursor = null;
  const more = h("button", { type: "button", id: "task-more", hidden: true }, t("Load more"));
  async function load() {
    more.disabled = true;
    const page = await api.get("/tasks", { ...params, limit: PAGE, cursor });
    await table.append(page.items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    onPage();
    return page;
  }
  more.addEventListener("click", async () => {
    const focusAfter = table.body.rows.length;
    await load();
    (table.body.rows[focusAfter]?.querySelector("a") || more).focus();
  });
  return { more, load, reset() { cursor = null; } };
}

// The inbox is a projection: a task just claimed reaches it a moment later. My tasks waits for it (a few reads,
// "catching up" meanwhile) instead of saying "no open tasks", and the badges are read again once it has caught up.
const CLAIMED = "caseline.claimedTask";
const CATCH_UP_READS = 6;
const CATCH_UP_PAUSE_MS = 700;

export function expectInMyTasks(task) {
  sessionStorage.setItem(CLAIMED, JSON.stringify({ case_id: task.case_id, task_id: task.task_id }));
}

function claimedTask() {
  try {
    return JSON.parse(sessionStorage.getItem(CLAIMED) || "null");
  } catch {
    return null;
  }
}

// "3 open tasks shown, 1 overdue." (shown: more pages to load)
function tasksSummary(count, overdue, partial) {
  if (!count) return t("You have no open tasks.");
  const values = { overdue: formatNumber(overdue) };
  if (partial && overdue) return tn("{count} open task shown, {overdue} overdue.", "{count} open tasks shown, {overdue} overdue.", count, values);
  if (partial) return tn("{count} open task shown.", "{count} open tasks shown.", count);
  if (overdue) return tn("{count} open task, {overdue} overdue.", "{count} open tasks, {overdue} overdue.", count, values);
  return tn("{count} open task.", "{count} open tasks.", count);
}

async function myTasks(main, _params, _query, user) {
  loading(main, t("Loading your tasks…"));
  const canComplete = user.role !== "viewer";
  const alerts = h("div", { id: "task-alerts" });
  const summary = h("p", { id: "task-summary", class: "task-summary", role: "status" });

  async function complete(task, button, rowElement) {
    button.disabled = true;
    button.textContent = t("Completing…");
    try {
      await api.post(`/cases/${encodeURIComponent(task.case_id)}/tasks/${encodeURIComponent(task.task_id)}/complete`, {});
      fill(alerts);
      const next = rowElement.nextElementSibling || rowElement.previousElementSibling;
      rowElement.remove();
      setSummary();
      refreshTaskBadges();
      setTimeout(refreshTaskBadges, CATCH_UP_PAUSE_MS * 2); // once the inbox has the change too
      announce(t("Completed “{task}” on “{case}”.", { task: task.title, case: task.case_title }));
      (next?.querySelector("button, a") || summary).focus?.();
    } catch (error) {
      button.disabled = false;
      button.textContent = t("Complete");
      const problem = error?.status ? error : { title: t("The task could not be completed"), detail: error?.message };
      const box = problemBox({ ...problem, title: t("“{task}” could not be completed: {reason}", { task: task.title, reason: problem.title || t("error") }) });
      box.tabIndex = -1;
      fill(alerts, box);
      box.focus();
    }
  }

  const table = taskTable({
    caption: t("My open tasks, soonest due first"),
    user,
    actions: canComplete ? (task, taskId) => {
      const button = h("button", { type: "button", class: "complete-task", "aria-describedby": taskId }, t("Complete"));
      button.addEventListener("click", () => complete(task, button, button.closest("tr")));
      return button;
    } : null,
  });
  const pages = pagedTasks({ assignee: "me", status: "open" }, table, () => setSummary());

  function setSummary() {
    const shown = table.body.rows.length;
    const overdue = table.body.querySelectorAll("tr.task-overdue").length;
    table.table.hidden = !shown;
    summary.textContent = tasksSummary(shown, overdue, !pages.more.hidden);
  }

  await pages.load();
  const claimed = claimedTask();
  const listed = () => !claimed || [...table.body.rows].some((row) =>
    row.dataset.caseId === claimed.case_id && row.dataset.taskId === claimed.task_id);
  for (let read = 1; !listed() && read < CATCH_UP_READS; read += 1) {
    loading(main, t("Catching up with the task you just took…"));
    await new Promise((resolve) => { setTimeout(resolve, CATCH_UP_PAUSE_MS); });
    table.body.replaceChildren();
    pages.reset();
    await pages.load();
  }
  if (claimed) {
    sessionStorage.removeItem(CLAIMED);
    refreshTaskBadges();
  }
  fill(main,
    h("h1", {}, t("My tasks")),
    h("p", { class: "hint" }, t("Open tasks assigned to you on the open cases you may see. Overdue first, then soonest due."), " ",
      t("Tasks for a role of yours that nobody has taken are in the"), " ", h("a", { href: "#/queue" }, t("team queue")), "."),
    summary, alerts,
    h("div", { class: "work-table-scroll" }, table.table),
    pages.more);
}
