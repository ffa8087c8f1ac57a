// The tasks section: the case's tasks, the current stage's first, with completing, reopening and assigning them,
// and the form for an ad hoc task.
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { announce, clear, dialog, formatDate, h, labelled, problemBox, showFieldErrors, uid, visuallyHidden } from "../../ui.js";
import { peopleOptions, personName, subjectOf } from "../../people.js";
import { P } from "./access.js";
import { attempt, checkbox, select, tableWrap, toProblem } from "./common.js";

export function tasksSection(page) {
  function renderTasks() {
    const slot = clear(page.slots.tasks);
    const c = page.case;
    const tasks = [...(c.tasks || [])].sort((a, b) =>
      (a.stage === c.stage ? 0 : 1) - (b.stage === c.stage ? 0 : 1) || String(a.created_at).localeCompare(String(b.created_at)));
    const status = h("div", { class: "form-status", id: "case-tasks-status" });
    const canComplete = page.editable && page.access.can(P.TASK_COMPLETE);
    const canManage = page.editable && page.access.can(P.TASK_MANAGE);
    if (!tasks.length) slot.append(h("p", {}, t("No tasks yet.")));
    else {
      const now = Date.now();
      slot.append(tableWrap(h("table", { class: "tasks" },
        h("caption", { class: "visually-hidden" }, t("Tasks of this case")),
        h("thead", {}, h("tr", {}, [t("Task"), t("Stage"), t("Required"), t("Status"), t("Assigned to"), t("Due"), canComplete || canManage ? t("Actions") : null]
          .filter(Boolean).map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, tasks.map((task) => {
          const overdue = task.status === "open" && task.due_at && Date.parse(task.due_at) < now;
          const actions = [];
          if (canComplete && task.status === "open") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-complete`, onclick: (e) => completeTask(task, e.currentTarget, status) },
              t("Complete"), visuallyHidden(` “${task.title}”`)));
          }
          if (canManage && task.status === "done") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-reopen`, onclick: () => reopenTask(task) }, t("Reopen"), visuallyHidden(` “${task.title}”`)));
          }
          if (canManage && task.status === "open") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-assign`, onclick: () => assignTask(task) }, t("Assign"), visuallyHidden(` “${task.title}”`)));
          }
          // data-label: on a phone each row is a card, and each value says what it is (case.css).
          return h("tr", { class: task.status === "done" ? "done" : undefined },
            h("td", {}, h("span", { class: "task-title" }, task.title),
              task.reason ? h("p", { class: "hint" }, t("Ad hoc: {reason}", { reason: task.reason })) : null),
            h("td", { "data-label": t("Stage") }, page.stageName(task.stage), task.stage === c.stage ? visuallyHidden([" ", t("(current)")]) : null),
            h("td", { "data-label": t("Required") }, task.required ? t("Required") : t("Optional")),
            h("td", { "data-label": t("Status") }, task.status === "done"
              ? [h("span", { class: "badge task-done" }, t("Done")), h("p", { class: "hint" }, t("{date} by {person}", { date: formatDate(task.completed_at), person: personName(task.completed_by) || "—" }))]
              : h("span", { class: "badge task-open" }, t("Open"))),
            h("td", { "data-label": t("Assigned to") }, [personName(task.assignee), task.assignee_role ? t("role: {role}", { role: page.roleName(task.assignee_role) }) : null].filter(Boolean).join(" · ") || "—"),
            h("td", { "data-label": t("Due") }, task.due_at ? formatDate(task.due_at) : "—", overdue ? h("span", { class: "badge overdue" }, t("Overdue")) : null),
            canComplete || canManage ? h("td", { class: "row-actions" }, actions) : null);
        })))));
    }
    slot.append(status);
    if (canManage) slot.append(addTaskForm());
  }

  async function completeTask(task, button, status) {
    const outcome = await attempt(status, button, () => api.post(page.path(`/tasks/${encodeURIComponent(task.id)}/complete`)),
      t("Task “{task}” is done.", { task: task.title }));
    if (outcome.ok) page.applyCase(outcome.result, { focus: "case-tasks-title" });
  }

  async function reopenTask(task) {
    const reason = h("textarea", { id: uid("reason"), name: "reason", rows: 3, dataset: { pointer: "/reason" } });
    let next = null;
    const done = await dialog(t("Reopen “{task}”", { task: task.title }), labelled(t("Reason"), reason, { required: true }), {
      submitLabel: t("Reopen task"),
      onSubmit: async (values) => {
        next = await api.post(page.path(`/tasks/${encodeURIComponent(task.id)}/reopen`), { reason: values.reason.trim() || null });
      },
    });
    if (done && next) {
      page.applyCase(next, { focus: "case-tasks-title" });
      announce(t("Task “{task}” is open again.", { task: task.title }));
    }
  }

  async function assignTask(task) {
    const people = peopleOptions(uid("assignee-people"));
    const assignee = h("input", { type: "text", id: uid("assignee"), name: "assignee", value: task.assignee || "", list: people.id, dataset: { pointer: "/assignee" }, autocomplete: "off" });
    const role = select(page.roleOptions(null), { id: uid("role"), name: "assignee_role", dataset: { pointer: "/assignee_role" } }, task.assignee_role || "");
    let next = null;
    const done = await dialog(t("Assign “{task}”", { task: task.title }), h("div", {},
      labelled(t("Assignee"), assignee, { hint: t("A person's name, e-mail address or user id; leave empty to assign a role only.") }),
      people, labelled(t("Role"), role)), {
      submitLabel: t("Assign task"),
      onSubmit: async (values) => {
        const body = {};
        if (values.assignee.trim()) body.assignee = subjectOf(values.assignee);
        if (values.assignee_role) body.assignee_role = values.assignee_role;
        next = await api.post(page.path(`/tasks/${encodeURIComponent(task.id)}/assignment`), body);
      },
    });
    if (done && next) {
      page.applyCase(next, { focus: "case-tasks-title" });
      announce(t("Assigned “{task}”.", { task: task.title }));
    }
  }

  function addTaskForm() {
    const title = h("input", { type: "text", id: "task-new-title", name: "title", dataset: { pointer: "/title" }, autocomplete: "off" });
    const reason = h("textarea", { id: "task-new-reason", name: "reason", rows: 2, dataset: { pointer: "/reason" } });
    const due = h("input", { type: "date", id: "task-new-due", name: "due", dataset: { pointer: "/due_at" } });
    const role = select(page.roleOptions(null), { id: "task-new-role", name: "assignee_role", dataset: { pointer: "/assignee_role" } }, "");
    const required = checkbox(t("Required to leave the stage"), { id: "task-new-required", name: "required" });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "task-new-submit" }, t("Add task"));
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "task-new-heading" },
      h("h3", { id: "task-new-heading" }, t("Add an ad hoc task")),
      h("div", { class: "field-grid" },
        labelled(t("Task title"), title, { required: true }),
        labelled(t("Why it is needed"), reason, { required: true }),
        labelled(t("Due date"), due, { hint: t("Due by the end of that day.") }),
        labelled(t("Assignee role"), role)),
      required.element, status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const body = { title: title.value.trim(), reason: reason.value.trim(), required: required.input.checked };
      if (due.value) {
        const [y, m, d] = due.value.split("-").map(Number);
        body.due_at = new Date(y, m - 1, d, 23, 59, 0).toISOString();
      }
      if (role.value) body.assignee_role = role.value;
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(page.path("/tasks"), body);
        page.applyCase(next, { focus: "task-new-title" });
        announce(t("Added the task “{task}”.", { task: body.title }));
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(t("Task not added: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  return { render: renderTasks };
}
