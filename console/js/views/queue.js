// "Team queue": the open tasks of each role my groups give me (GET /tasks?role=…), unassigned ones only unless
// asked otherwise, soonest due first; "Assign to me" claims a task in one click.
import { api } from "../api.js";
import { formatNumber, t, tn } from "../i18n.js";
import { announce, fill, h, humanize, loading, problemBox, uid } from "../ui.js";
import { expectInMyTasks, pagedTasks, refreshTaskBadges, taskTable } from "./tasks.js";

export function register(route) {
  route("/queue", teamQueue, { nav: "queue" });
}

async function teamQueue(main, _params, query, user) {
  loading(main, t("Loading your team queues…"));
  const counts = await refreshTaskBadges() || await api.get("/tasks/counts");
  const roles = counts.team.map((queue) => queue.role);
  if (!roles.length) {
    fill(main, h("h1", {}, t("Team queue")),
      h("p", {}, t("None of your groups holds a role on a template, so you have no team queue.")));
    return;
  }
  const role = roles.includes(query.role) ? query.role : roles[0];
  const everyone = query.all === "1";
  const canClaim = user.role !== "viewer";
  const alerts = h("div", { id: "queue-alerts" });

  async function claim(task, button) {
    // One key per click: the API answers a repeated request with the first one's result instead of assigning again.
    const key = crypto.randomUUID();
    button.disabled = true;
    button.textContent = t("Assigning…");
    try {
      await api.post(`/cases/${encodeURIComponent(task.case_id)}/tasks/${encodeURIComponent(task.task_id)}/assignment`,
        { assignee: user.sub, assignee_role: task.assignee_role }, { headers: { "Idempotency-Key": key } });
      fill(alerts);
      const rowElement = button.closest("tr");
      rowElement.querySelector(".task-assignee").textContent = t("You");
      button.replaceWith(h("a", { href: "#/tasks" }, t("In my tasks")));
      expectInMyTasks(task);
      refreshTaskBadges();
      announce(t("“{task}” is assigned to you.", { task: task.title }));
      rowElement.querySelector("a").focus();
    } catch (error) {
      button.disabled = false;
      button.textContent = t("Assign to me");
      const problem = error?.status ? error : { title: t("The task could not be assigned"), detail: error?.message };
      const box = problemBox({ ...problem, title: t("“{task}” could not be assigned to you: {reason}", { task: task.title, reason: problem.title || t("error") }) });
      box.tabIndex = -1;
      fill(alerts, box);
      box.focus();
    }
  }

  const table = taskTable({
    caption: t("Open tasks of the {role} role, soonest due first", { role: humanize(role) }),
    user,
    actions: canClaim ? (task, taskId) => {
      if (task.assignee === user.sub) return h("a", { href: "#/tasks" }, t("In my tasks"));
      const button = h("button", { type: "button", class: "claim-task", "aria-describedby": taskId }, t("Assign to me"));
      button.addEventListener("click", () => claim(task, button));
      return button;
    } : null,
  });
  const summary = h("p", { id: "queue-summary", class: "task-summary", role: "status" });
  const params = { role, status: "open", ...(everyone ? {} : { unassigned: "true" }) };
  const pages = pagedTasks(params, table, () => {
    const shown = table.body.rows.length;
    table.table.hidden = !shown;
    summary.textContent = shown
      ? tn("{count} task.", "{count} tasks.", pages.more.hidden ? shown : 2, { count: `${formatNumber(shown)}${pages.more.hidden ? "" : "+"}` })
      : everyone ? t("No open tasks for this role.") : t("Nothing unassigned for this role.");
  });
  await pages.load();

  const link = (target, showAll) => `#/queue?role=${encodeURIComponent(target)}${showAll ? "&all=1" : ""}`;
  const tabs = h("ul", { class: "queue-roles" }, counts.team.map((queue) => h("li", {},
    h("a", { href: link(queue.role, everyone), "aria-current": queue.role === role ? "page" : null },
      humanize(queue.role), h("span", { class: "badge" }, formatNumber(queue.unassigned))))));
  const filterId = uid("queue-all");
  const filter = h("p", { class: "queue-filter" },
    h("input", { type: "checkbox", id: filterId, checked: everyone,
      onchange: (event) => { window.location.hash = link(role, event.target.checked); } }),
    h("label", { for: filterId }, " ", t("Show tasks already assigned")));
  fill(main,
    h("h1", {}, t("Team queue")),
    h("p", { class: "hint" }, t("Open tasks for the roles your groups give you, on the cases you may see."), " ",
      t("Overdue first, then soonest due. Take one with “Assign to me”.")),
    h("nav", { "aria-label": t("Your roles") }, tabs),
    filter, summary, alerts,
    h("div", { class: "work-table-scroll" }, table.table),
    pages.more);
}
