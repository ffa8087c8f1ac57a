// "My tasks": the open tasks of open cases that are mine — assigned to me, or to a role I hold on the case
// (the role I participate with, or a template role whose groups include one of my groups) — soonest due first.
import { api } from "../api.js";
import { announce, clear, fill, formatDate, h, loading, problemBox, visuallyHidden } from "../ui.js";

const MAX_CASES = 500;
const versions = new Map(); // "key@version" → definition; a published version never changes

export function register(route) {
  route("/tasks", myTasks, { nav: "tasks" });
}

function versionOf(key, version) {
  const id = `${key}@${version}`;
  if (!versions.has(id)) {
    versions.set(id, api.get(`/templates/${encodeURIComponent(key)}/versions/${version}`)
      .then((published) => published.definition)
      .catch((problem) => { versions.delete(id); throw problem; }));
  }
  return versions.get(id);
}

function internalRolesOf(definition, groups) {
  return (definition.roles || [])
    .filter((role) => (role.kind || "internal") === "internal" && (role.groups || []).some((group) => groups.includes(group)))
    .map((role) => role.key);
}

// The roles the user holds on a case: the ones they participate with, and the ones their groups give.
function heldRoles(caseItem, definition, user) {
  const roles = new Set(internalRolesOf(definition, user.groups));
  for (const participant of caseItem.participants || []) {
    if (participant.user_id && participant.user_id === user.sub) roles.add(participant.role);
  }
  return roles;
}

function byDue(a, b) {
  const left = a.task.due_at ? Date.parse(a.task.due_at) : Infinity;
  const right = b.task.due_at ? Date.parse(b.task.due_at) : Infinity;
  return left - right || a.caseItem.title.localeCompare(b.caseItem.title) || a.task.title.localeCompare(b.task.title);
}

async function loadMyCases(user) {
  // Cases I participate in, and the open cases of every template where my groups give me a role.
  const [participating, templates] = await Promise.all([
    api.all("/cases", { participant: user.sub, status: "open" }, MAX_CASES),
    api.all("/templates"),
  ]);
  const latest = await Promise.all(templates.map(async (template) => {
    const definition = await versionOf(template.key, template.latest_version);
    return internalRolesOf(definition, user.groups).length ? template.key : null;
  }));
  const byRole = await Promise.all(latest.filter(Boolean).map((key) =>
    api.all("/cases", { template_key: key, status: "open" }, MAX_CASES)));
  const cases = new Map();
  for (const caseItem of [...participating, ...byRole.flat()]) {
    if (caseItem.status === "open") cases.set(caseItem.id, caseItem);
  }
  return [...cases.values()];
}

async function myTasks(main, _params, _query, user) {
  loading(main, "Loading your tasks…");
  const cases = await loadMyCases(user);
  const pairs = [...new Set(cases.map((caseItem) => `${caseItem.template_key}@${caseItem.template_version}`))];
  const definitions = new Map(await Promise.all(pairs.map(async (pair) => {
    const [key, version] = pair.split("@");
    return [pair, await versionOf(key, version)];
  })));

  const mine = [];
  for (const caseItem of cases) {
    const definition = definitions.get(`${caseItem.template_key}@${caseItem.template_version}`);
    const roles = heldRoles(caseItem, definition, user);
    for (const task of caseItem.tasks || []) {
      if (task.status !== "open") continue;
      const assignedToMe = task.assignee === user.sub;
      const byMyRole = !task.assignee && task.assignee_role && roles.has(task.assignee_role);
      if (assignedToMe || byMyRole) mine.push({ caseItem, task, definition });
    }
  }
  mine.sort(byDue);

  const canComplete = user.role !== "viewer";
  const now = Date.now();
  const alerts = h("div", { id: "task-alerts" });
  const summary = h("p", { id: "task-summary", class: "task-summary" });
  const body = h("tbody");
  const setSummary = () => {
    const open = body.rows.length;
    const overdue = body.querySelectorAll("tr.task-overdue").length;
    summary.textContent = open
      ? `${open} open ${open === 1 ? "task" : "tasks"}${overdue ? `, ${overdue} overdue` : ""}.`
      : "You have no open tasks.";
  };

  async function complete(entry, button, rowElement) {
    button.disabled = true;
    button.textContent = "Completing…";
    try {
      await api.post(`/cases/${encodeURIComponent(entry.caseItem.id)}/tasks/${encodeURIComponent(entry.task.id)}/complete`, {});
      clear(alerts);
      const next = rowElement.nextElementSibling || rowElement.previousElementSibling;
      rowElement.remove();
      setSummary();
      announce(`Completed “${entry.task.title}” on “${entry.caseItem.title}”.`);
      (next?.querySelector("button, a") || summary).focus?.();
      if (!body.rows.length) table.hidden = true;
    } catch (error) {
      button.disabled = false;
      button.textContent = "Complete";
      const problem = error?.status ? error : { title: "The task could not be completed", detail: error?.message };
      const box = problemBox({ ...problem, title: `“${entry.task.title}” could not be completed: ${problem.title || "error"}` });
      box.tabIndex = -1;
      fill(alerts, box);
      box.focus();
    }
  }

  const fragment = document.createDocumentFragment();
  for (const entry of mine) {
    const { caseItem, task, definition } = entry;
    const overdue = task.due_at && Date.parse(task.due_at) < now;
    const stage = definition.stages.find((candidate) => candidate.key === task.stage);
    const role = (definition.roles || []).find((candidate) => candidate.key === task.assignee_role);
    const taskId = `task-${caseItem.id}-${task.id}`;
    const rowElement = h("tr", { class: overdue ? "task-overdue" : null, dataset: { taskId: task.id, caseId: caseItem.id } },
      h("th", { scope: "row", id: taskId }, task.title, task.required ? h("span", { class: "task-required" }, " (required)") : null),
      h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(caseItem.id)}` }, caseItem.title)),
      h("td", {}, stage ? stage.name : task.stage),
      h("td", {}, task.assignee === user.sub ? "You" : `Role: ${role ? role.name : task.assignee_role}`),
      h("td", { class: "task-due" },
        task.due_at ? h("time", { datetime: task.due_at }, formatDate(task.due_at)) : h("span", { class: "hint" }, "No due date"),
        overdue ? h("span", { class: "badge task-overdue-badge" }, "Overdue") : null));
    if (canComplete) {
      const button = h("button", { type: "button", class: "complete-task", "aria-describedby": taskId }, "Complete");
      button.addEventListener("click", () => complete(entry, button, rowElement));
      rowElement.append(h("td", {}, button));
    }
    fragment.append(rowElement);
  }
  body.append(fragment);
  const table = h("table", { id: "task-table", class: "task-table", hidden: !mine.length },
    h("caption", { class: "visually-hidden" }, "My open tasks, soonest due first"),
    h("thead", {}, h("tr", {},
      ["Task", "Case", "Stage", "Assigned to", "Due"].map((name) => h("th", { scope: "col" }, name)),
      canComplete ? h("th", { scope: "col" }, visuallyHidden("Actions")) : null)),
    body);
  setSummary();

  fill(main,
    h("h1", {}, "My tasks"),
    h("p", { class: "hint" },
      "Open tasks assigned to you, or to a role you hold on the case, on the open cases you may see. Soonest due first."),
    summary, alerts,
    h("div", { class: "work-table-scroll" }, table));
  if (cases.length >= MAX_CASES) {
    main.append(h("p", { class: "hint" }, `Only the first ${MAX_CASES} cases of each kind were looked at.`));
  }
}
