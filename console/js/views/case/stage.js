// The stage section: where the case stands, what the next move needs, the move itself (forward, or back and
// skipping with an override), and closing, cancelling and reopening.
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { announce, clear, dialog, h, labelled, problemBox, showFieldErrors, statusName, uid } from "../../ui.js";
import { P } from "./access.js";
import { checkbox, toProblem } from "./common.js";

export function stageSection(page) {
  let criteria;

  async function loadCriteria() {
    if (page.case.status !== "open") { criteria = null; renderCriteria(); return; }
    try {
      criteria = await api.get(page.path("/criteria"));
    } catch {
      criteria = null;
    }
    renderCriteria();
  }

  function renderCriteria() {
    const slot = document.getElementById("case-criteria");
    if (!slot) return;
    clear(slot);
    const report = criteria;
    if (!report || report.stage !== page.case.stage) return;
    const entries = Object.entries(report.next_stages || {});
    if (!entries.length) return;
    slot.append(h("h3", {}, t("What the next move needs")), h("ul", { class: "criteria" }, entries.map(([key, unmet]) =>
      h("li", {}, h("strong", {}, page.stageName(key)), ": ",
        unmet.length ? h("ul", {}, unmet.map((item) => h("li", {}, item.description))) : t("nothing is missing.")))));
  }

  function renderMove() {
    const slot = clear(page.slots.move);
    const c = page.case;
    const forward = page.forwardStages();
    const final = forward.length === 0;
    slot.append(h("p", {}, t("The case is in"), " ", h("strong", {}, page.stageName(c.stage)),
      final ? [" — ", t("a final stage.")] : ".", c.status !== "open" ? [" ", t("It is {status}.", { status: statusName(c.status) })] : ""));
    slot.append(h("div", { id: "case-criteria", class: "criteria-slot" }));
    renderCriteria();
    if (page.access.readOnly) return;
    const status = h("div", { class: "form-status", id: "case-move-status" });
    const override = page.access.can(P.OVERRIDE);
    if (c.status === "open" && page.access.can(P.TRANSITION) && (forward.length || override)) {
      const others = page.template.stages.map((s) => s.key).filter((key) => key !== c.stage && !forward.includes(key));
      const to = h("select", { id: "case-move-to", name: "to" },
        forward.length ? h("optgroup", { label: t("Next stages") }, forward.map((key) => h("option", { value: key }, page.stageName(key)))) : null,
        override && others.length ? h("optgroup", { label: t("Back or skip (needs a reason)") },
          others.map((key) => h("option", { value: key }, page.stageName(key)))) : null);
      const reason = override ? h("textarea", { id: "case-move-reason", name: "reason", rows: 2, dataset: { pointer: "/reason" } }) : null;
      const force = override ? checkbox(t("Move even if criteria are unmet (force)"), { id: "case-move-force", name: "force" }) : null;
      const button = h("button", { type: "submit", class: "primary", id: "case-move-submit" }, t("Move case"));
      const form = h("form", { class: "move-form", novalidate: true },
        h("div", { class: "inline" }, labelled(t("Move to"), to),
          reason ? labelled(t("Reason"), reason, { hint: t("Needed to go back, skip a stage or force a move.") }) : null),
        force?.element, status, h("div", { class: "actions" }, button));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const target = to.value;
        const body = { to: target };
        if (reason?.value.trim()) body.reason = reason.value.trim();
        if (force?.input.checked) body.force = true;
        clear(status);
        showFieldErrors(form, { errors: [] });
        button.disabled = true;
        try {
          const next = await api.post(page.path("/transitions"), body);
          page.applyCase(next, { focus: "case-move-title" });
          announce(t("Moved the case to {stage}.", { stage: page.stageName(next.stage) }));
        } catch (error) {
          const problem = toProblem(error);
          const left = showFieldErrors(form, problem);
          const box = problem.unmet?.length
            ? problemBox({ title: t("The case cannot move to “{stage}” yet", { stage: page.stageName(target) }),
              detail: t("What is still needed:"), unmet: problem.unmet })
            : problemBox({ ...problem, errors: left });
          status.append(box);
          const words = problem.unmet?.length ? problem.unmet.map((u) => u.description).join("; ") : (problem.detail || problem.title);
          announce(t("Not moved. {reason}", { reason: words }));
        } finally {
          button.disabled = false;
        }
      });
      slot.append(form);
    } else if (c.status === "open" && !final && !page.access.can(P.TRANSITION)) {
      slot.append(h("p", { class: "hint" }, t("Your role on this case does not move it between stages.")));
    }
    const buttons = [];
    if (c.status === "open" && final && page.access.can(P.CLOSE)) {
      buttons.push(h("button", { type: "button", id: "case-close", onclick: () => statusChange("close") }, t("Close case")));
    }
    if (c.status === "open" && page.access.can(P.CLOSE)) {
      buttons.push(h("button", { type: "button", class: "danger", id: "case-cancel", onclick: () => statusChange("cancel") }, t("Cancel case")));
    }
    if (c.status !== "open" && page.access.can(P.REOPEN)) {
      buttons.push(h("button", { type: "button", id: "case-reopen", onclick: () => statusChange("reopen") }, t("Reopen case")));
    }
    if (buttons.length) slot.append(h("div", { class: "actions status-actions" }, buttons));
  }

  async function statusChange(kind) {
    const titles = { close: t("Close the case"), cancel: t("Cancel the case"), reopen: t("Reopen the case") };
    const reason = h("textarea", { id: uid("reason"), name: "reason", rows: 3, dataset: { pointer: "/reason" } });
    const override = kind === "close" && page.access.can(P.OVERRIDE);
    const force = override ? checkbox(t("Close even if criteria are unmet (force)"), { name: "force" }) : null;
    const body = h("div", {}, labelled(t("Reason"), reason, { required: kind !== "close", hint: kind === "close" ? t("Optional unless forcing.") : undefined }),
      force?.element);
    let next = null;
    const done = await dialog(titles[kind], body, {
      submitLabel: { close: t("Close case"), cancel: t("Cancel case"), reopen: t("Reopen case") }[kind],
      onSubmit: async (values) => {
        const request = {};
        if (values.reason?.trim()) request.reason = values.reason.trim();
        if (force?.input.checked) request.force = true;
        try {
          next = await api.post(page.path(`/${kind}`), request);
        } catch (error) {
          const problem = toProblem(error);
          if (problem.unmet?.length) throw { ...problem, title: t("The case cannot be closed yet"), detail: t("What is still needed:") };
          throw problem;
        }
      },
    });
    if (done && next) {
      page.applyCase(next, { focus: "case-move-title" });
      announce({ close: t("Closed the case."), cancel: t("Cancelled the case."), reopen: t("Reopened the case.") }[kind]);
    }
  }

  return { render: renderMove, loadCriteria };
}
